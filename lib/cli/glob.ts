// find's -name: an fnmatch(3) glob matched against a file's last name, with
// no FNM_PERIOD ('*' matches a leading dot, as find has done since 4.2.2).
// Matched on bytes (latin1 strings, one char a byte), so a name that is not
// UTF-8 matches as fnmatch in the C locale would match it.
import { UsageError } from './output';

const escapeRegExp = (ch: string): string => ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** The glob as a test of a name's bytes. */
export function compileGlob(glob: string): (name: Buffer) => boolean {
  const g = Buffer.from(glob).toString('latin1');
  let source = '';
  for (let i = 0; i < g.length; i++) {
    const ch = g[i]!;
    if (ch === '*') source += '[^]*';
    else if (ch === '?') source += '[^]';
    else if (ch === '\\' && i + 1 < g.length) source += escapeRegExp(g[++i]!);
    else if (ch === '[') {
      // A bracket expression: [abc], [a-z], [!x] or [^x], ']' first is literal.
      let j = i + 1;
      let negate = false;
      if (g[j] === '!' || g[j] === '^') {
        negate = true;
        j++;
      }
      let set = '';
      let first = true;
      for (; j < g.length && (first || g[j] !== ']'); j++, first = false) {
        const c = g[j]!;
        if (c === '\\' && j + 1 < g.length) set += escapeRegExp(g[++j]!);
        else if (c === '-' && !first && g[j + 1] !== ']' && j + 1 < g.length) set += '-';
        else set += escapeRegExp(c);
      }
      if (j >= g.length)
        source += '\\['; // no closing ']': a literal '['
      else {
        source += `[${negate ? '^' : ''}${set}]`;
        i = j;
      }
    } else source += escapeRegExp(ch);
  }
  let re: RegExp;
  try {
    re = new RegExp(`^${source}$`);
  } catch {
    throw new UsageError(`--name: cannot read the pattern '${glob}'`);
  }
  return (name) => re.test(name.toString('latin1'));
}

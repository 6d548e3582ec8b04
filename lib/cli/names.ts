// Names as bytes, printed safely.  A container's names are written by
// whoever runs in it: a name may hold a newline, an
// escape sequence that reprograms the terminal, or bytes that are not UTF-8.
// Nothing here prints a control character raw to a terminal.

/** One character of a name: a decoded code point, or a byte that is not part of valid UTF-8 (`bad`). */
interface Char {
  /** The code point, or the byte when bad. */
  code: number;
  /** The bytes it came from. */
  bytes: Buffer;
  bad: boolean;
}

/** The name's characters, as a UTF-8 decoder that keeps invalid bytes one by one sees them. */
function* chars(name: Buffer): Generator<Char> {
  let i = 0;
  while (i < name.length) {
    const b = name[i]!;
    let len = 0;
    let min = 0;
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) [len, min] = [2, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [len, min] = [3, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [len, min] = [4, 0x10000];
    let code = len === 1 ? b : b & (0xff >> (len + 1));
    let ok = len > 0 && i + len <= name.length;
    for (let k = 1; ok && k < len; k++) {
      const c = name[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      else code = (code << 6) | (c & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if (ok && len > 1 && (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)) ok = false;
    if (ok) {
      yield { code, bytes: name.subarray(i, i + len), bad: false };
      i += len;
    } else {
      yield { code: b, bytes: name.subarray(i, i + 1), bad: true };
      i += 1;
    }
  }
}

/** C0 controls, DEL and the C1 controls: what a terminal may act on. */
const isControl = (code: number): boolean => code < 0x20 || (code >= 0x7f && code < 0xa0);

/** True when the bytes are valid UTF-8 (then `toString('utf8')` gives them back exactly). */
export function isUtf8(name: Buffer): boolean {
  for (const c of chars(name)) if (c.bad) return false;
  return true;
}

// GNU quotearg's shell characters: a name holding one is quoted.  '#' and
// '~' only at the start.
const SHELL_SPECIAL = new Set(' !"$&\'()*;<=>?[\\^`|');
// Characters that C's double quotes and the shell's read alike: a name whose
// only special character is a single quote is shown in double quotes ("it's").
const DOUBLE_QUOTE_SAFE = /^[A-Za-z0-9%+,\-./:\]_{}@ ]$/;
/** SHELL_SPECIAL (the quote among them) as a table of ASCII codes, for plainAscii. */
const NOT_PLAIN = new Uint8Array(128);
for (const ch of SHELL_SPECIAL) NOT_PLAIN[ch.charCodeAt(0)] = 1;

/** True for a name of printable ASCII, none of it NOT_PLAIN, not starting with # or ~: it prints as it is. */
function plainAscii(name: Buffer): boolean {
  if (name.length === 0 || name[0] === 0x23 || name[0] === 0x7e) return false;
  for (const b of name) if (b < 0x21 || b > 0x7e || NOT_PLAIN[b] === 1) return false;
  return true;
}

const C_ESCAPES: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r' };

/**
 * A name as GNU `ls` prints it on a terminal (its default quoting there,
 * `--quoting-style=shell-escape`, in a UTF-8 locale): plain when nothing in
 * it is special to a shell, else in single quotes, with each control
 * character and each byte that is not UTF-8 written as `$'\n'` or `$'\377'`
 * (the result pasted into a shell gives the name back).
 */
export function shellEscape(name: Buffer): string {
  // Most names are printable ASCII with nothing special to a shell: those
  // print as they are, without the per-character decoding below (which cost
  // several milliseconds on a directory of a hundred names, in a command
  // whose whole run is start-up and one directory).
  if (plainAscii(name)) return name.toString('latin1');
  const list = [...chars(name)];
  if (list.length === 0) return "''";
  let plain = true;
  let doubleQuotable = true;
  let hasQuote = false;
  list.forEach((c, i) => {
    const ch = String.fromCodePoint(c.code);
    if (c.bad || isControl(c.code)) {
      plain = false;
      doubleQuotable = false;
    } else if (c.code === 0x27) {
      plain = false;
      hasQuote = true;
    } else if (c.code < 0x80 && (SHELL_SPECIAL.has(ch) || (i === 0 && (ch === '#' || ch === '~')))) {
      plain = false;
      if (ch !== ' ' && !(i === 0 && (ch === '#' || ch === '~'))) doubleQuotable = false;
    } else if (c.code < 0x80 && !DOUBLE_QUOTE_SAFE.test(ch)) {
      doubleQuotable = false;
    }
  });
  if (plain) return name.toString('utf8');
  if (hasQuote && doubleQuotable) return `"${name.toString('utf8')}"`;
  let out = "'";
  let escaping = false;
  for (const c of list) {
    if (c.bad || isControl(c.code)) {
      if (!escaping) out += "'$'";
      escaping = true;
      for (const byte of c.bytes) out += C_ESCAPES[byte] !== undefined ? `\\${C_ESCAPES[byte]}` : `\\${byte.toString(8).padStart(3, '0')}`;
      continue;
    }
    if (c.code === 0x27) {
      out += "'\\''";
      escaping = false;
      continue;
    }
    if (escaping) out += "''";
    escaping = false;
    out += String.fromCodePoint(c.code);
  }
  return `${out}'`;
}

/** True when `ls` shows the name in quotes (then the plain names of an `ls -l` listing get a space to line up). */
export const isQuoted = (shown: string): boolean => shown.startsWith("'") || shown.startsWith('"');

/**
 * A name as GNU `find` prints it to a terminal: each control character and
 * each byte that is not UTF-8 as '?'.  Where output is not a terminal find
 * prints names raw, and so do `find`'s own callers here.
 */
export function questionMarks(name: Buffer): Buffer {
  let clean = true;
  for (const c of chars(name)) if (c.bad || isControl(c.code)) clean = false;
  if (clean) return name;
  const parts: Buffer[] = [];
  for (const c of chars(name)) parts.push(c.bad || isControl(c.code) ? Buffer.from('?') : c.bytes);
  return Buffer.concat(parts);
}

/**
 * A name's JSON fields: `{ [key]: string }` when it is UTF-8, else the
 * string with U+FFFD where bytes were not UTF-8 and `[key]Base64` with the
 * exact bytes (what a consumer must use to reach the file).
 */
export function jsonName(key: string, name: Buffer): Record<string, string> {
  const text = name.toString('utf8');
  return isUtf8(name) ? { [key]: text } : { [key]: text, [`${key}Base64`]: name.toString('base64') };
}

/**
 * Where the last `depth` names of a walked entry's full path start (names
 * hold no '/'): the length of the walk's root and its slash, the same for
 * every entry of a walk.
 */
export function relativeStart(fullPath: string, depth: number): number {
  let start = fullPath.length;
  for (let k = 0; k < depth && start > 0; k++) {
    // The first name ends the path; each next one ends at the '/' before the last found.
    const from = k === 0 ? start - 1 : start - 2;
    start = fullPath.lastIndexOf('/', from) + 1;
  }
  return start;
}

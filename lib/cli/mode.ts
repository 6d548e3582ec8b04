// chmod's MODE, as GNU chmod reads and applies it (gnulib's modechange.c):
// octal (`755`, `2755`) or symbolic clauses (`u+x,g-w,o=r`, `a+X`,
// `g=u`, `+t`).  Symbolic clauses without a who (`+x`) leave the bits of
// the umask alone, and on a directory the set-user/group-id bits stay
// unless the mode names them, as GNU chmod does.
import { UsageError } from './output';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IRWXU = 0o700;
const S_IRWXG = 0o070;
const S_IRWXO = 0o007;
const ALL = 0o7777;
const READ = 0o444;
const WRITE = 0o222;
const EXEC = 0o111;

/** One clause's one operation. */
interface Change {
  op: '=' | '+' | '-';
  /** 'x-if-any-x' for X; 'copy' for =u, +g, -o. */
  flag: 'ordinary' | 'copy' | 'x-if-any-x';
  /** The who bits (0: none written, the umask applies). */
  affected: number;
  value: number;
  /** The bits the clause names (what a directory's set-id bits need to change). */
  mentioned: number;
}

/** A compiled MODE. */
export interface Mode {
  changes: readonly Change[];
  /** Whether it needs the umask (a clause without who). */
  usesUmask: boolean;
  /**
   * Written as an option (`-w`): GNU chmod then tells a mode the umask
   * made other than the clause says ("new permissions are ..."), exit 1.
   */
  diagnoseSurprises: boolean;
}

/** Compiles MODE; a usage error for one GNU chmod would not take ("invalid mode"). */
export function parseMode(text: string): Mode {
  const invalid = (): UsageError => new UsageError(`invalid mode: '${text}'`);
  if (/^[0-7]+$/.test(text)) {
    const mode = parseInt(text, 8);
    if (mode > ALL) throw invalid();
    // Fewer than 5 digits keep a directory's set-id bits unless they are set (GNU chmod).
    const mentioned = text.length < 5 ? (mode & (S_ISUID | S_ISGID)) | S_ISVTX | 0o777 : ALL;
    return { changes: [{ op: '=', flag: 'ordinary', affected: ALL, value: mode, mentioned }], usesUmask: false, diagnoseSurprises: false };
  }
  const changes: Change[] = [];
  let usesUmask = false;
  for (const clause of text.split(',')) {
    let i = 0;
    let affected = 0;
    for (; i < clause.length && 'ugoa'.includes(clause[i]!); i++) {
      affected |= { u: S_ISUID | S_IRWXU, g: S_ISGID | S_IRWXG, o: S_ISVTX | S_IRWXO, a: ALL }[clause[i] as 'u' | 'g' | 'o' | 'a'];
    }
    if (i >= clause.length || !'=+-'.includes(clause[i]!)) throw invalid();
    while (i < clause.length && '=+-'.includes(clause[i]!)) {
      const op = clause[i++] as Change['op'];
      let value = 0;
      let flag: Change['flag'] = 'ordinary';
      if (i < clause.length && 'ugo'.includes(clause[i]!)) {
        value = { u: S_IRWXU, g: S_IRWXG, o: S_IRWXO }[clause[i++] as 'u' | 'g' | 'o'];
        flag = 'copy';
      } else {
        for (; i < clause.length && 'rwxXst'.includes(clause[i]!); i++) {
          const c = clause[i]!;
          if (c === 'X') flag = 'x-if-any-x';
          else value |= { r: READ, w: WRITE, x: EXEC, s: S_ISUID | S_ISGID, t: S_ISVTX }[c as 'r' | 'w' | 'x' | 's' | 't'];
        }
      }
      if (affected === 0) usesUmask = true;
      changes.push({ op, flag, affected, value, mentioned: affected !== 0 ? affected & value : value });
    }
    if (i !== clause.length) throw invalid();
  }
  return { changes, usesUmask, diagnoseSurprises: usesUmask && text.startsWith('-') };
}

/** The mode bits a file of mode `old` gets (gnulib's mode_adjust). */
export function applyMode(mode: Mode, old: number, isDirectory: boolean, umask: number): number {
  let result = old & ALL;
  for (const change of mode.changes) {
    const omit = (isDirectory ? S_ISUID | S_ISGID : 0) & ~change.mentioned;
    let value = change.value;
    if (change.flag === 'copy') {
      value &= result;
      value |= (value & READ ? READ : 0) | (value & WRITE ? WRITE : 0) | (value & EXEC ? EXEC : 0);
    } else if (change.flag === 'x-if-any-x' && ((result & EXEC) !== 0 || isDirectory)) {
      value |= EXEC;
    }
    value &= (change.affected !== 0 ? change.affected : ~umask & ALL) & ~omit;
    if (change.op === '=') {
      const preserved = (change.affected !== 0 ? ~change.affected : 0) | omit;
      result = (result & preserved) | value;
    } else if (change.op === '+') {
      result |= value;
    } else {
      result &= ~value;
    }
  }
  return result & ALL;
}

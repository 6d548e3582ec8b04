// find's -printf format, compiled once: the directives and escapes GNU find
// users write most, each a function of one found file.  Paths and output are
// "binary" strings (latin1: one char a byte), so a name that is not UTF-8
// goes out as its bytes, and a walk of a million entries builds strings, not
// Buffers.
import type { BigIntStats, StatField, Stats } from '../index';
import { epochSeconds, findType, modeString } from './format';
import { UsageError } from './output';

/** One file as find's directives see it. */
export interface Found {
  /** As find prints it: the start point as written, then the path below it (latin1). */
  path: string;
  /** Where the path below the start point begins in `path` (%P): its length for the start point itself. */
  relativeAt: number;
  /** 0 for the start point. */
  depth: number;
  /** lstat of the file, when the format asked for stats (bigint ones when it prints %T@ or %i). */
  stats: Stats | BigIntStats | undefined;
  /** A symlink's target, when the format asked for it (latin1). */
  target: string | undefined;
}

/** How directive values become text. */
export interface PrintContext {
  /** The target's user and group names (numbers when it has none), latin1. */
  user(uid: number): string;
  group(gid: number): string;
  /** Applied to what names files (%p %P %f %h %l %u %g): find's '?' for a terminal, else the bytes as they are. */
  name(latin1: string): string;
}

type Piece = string | ((f: Found, ctx: PrintContext) => string);

/** What a compiled format needs of each file. */
export interface Format {
  pieces: Piece[];
  /** It prints a stat field: the walk must stat. */
  needsStats: boolean;
  /**
   * The stat fields it prints, for the walk to ask for those only (WalkOptions.stat):
   * fewer bytes from the worker and less to decode per entry.
   */
  fields: StatField[];
  /** It prints %u or %g: the target's user and group names are read. */
  needsNames: boolean;
  /**
   * It prints %T@ or %i: stats in bigint, for the nanoseconds and for inode
   * numbers past 2^53 (an xino overlay's lower layers: 2^63 + ino), which a
   * double rounds.  Other formats keep number stats, cheaper per entry.
   */
  needsBigInt: boolean;
  /** It prints %l: symlinks are read. */
  needsTarget: boolean;
}

/** Where the path's last name starts (find's base name; trailing slashes belong to it), -1 for a path of slashes only. */
function lastNameAt(path: string): number {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return end === 0 ? -1 : path.lastIndexOf('/', end - 1) + 1;
}

/**
 * find's %f: the last name of the path as written, with one of the slashes
 * that end it ('hostile/' for a start point 'dir/hostile//', '/' for '//').
 */
function baseName(path: string): string {
  const at = lastNameAt(path);
  return (at < 0 ? path : path.slice(at)).replace(/\/\/+$/, '/');
}

/** find's %h: the path before its last name, without the '/' ('.' when it has none, '' for '/'). */
function dirName(path: string): string {
  const at = lastNameAt(path);
  if (at < 0) return '';
  return at === 0 ? '.' : path.slice(0, at - 1);
}

const num = (f: Found, key: 'mode' | 'nlink' | 'uid' | 'gid' | 'size'): number => Number(f.stats![key]);

/**
 * Directives by letter: [function, the stat fields it prints, needs the link
 * target].  %l needs none: the walk tells a symlink by its type.
 */
const DIRECTIVES: Record<string, [(f: Found, ctx: PrintContext) => string, StatField[], boolean]> = {
  p: [(f, ctx) => ctx.name(f.path), [], false],
  P: [(f, ctx) => ctx.name(f.path.slice(f.relativeAt)), [], false],
  f: [(f, ctx) => ctx.name(baseName(f.path)), [], false],
  h: [(f, ctx) => ctx.name(dirName(f.path)), [], false],
  d: [(f) => String(f.depth), [], false],
  s: [(f) => String(f.stats!.size), ['size'], false],
  m: [(f) => (num(f, 'mode') & 0o7777).toString(8), ['mode'], false],
  M: [(f) => modeString(num(f, 'mode')), ['mode'], false],
  y: [(f) => findType(num(f, 'mode')), ['mode'], false],
  n: [(f) => String(f.stats!.nlink), ['nlink'], false],
  i: [(f) => String(f.stats!.ino), ['ino'], false],
  U: [(f) => String(f.stats!.uid), ['uid'], false],
  G: [(f) => String(f.stats!.gid), ['gid'], false],
  u: [(f, ctx) => ctx.name(ctx.user(num(f, 'uid'))), ['uid'], false],
  g: [(f, ctx) => ctx.name(ctx.group(num(f, 'gid'))), ['gid'], false],
  l: [(f, ctx) => (f.target !== undefined ? ctx.name(f.target) : ''), [], true],
};

const ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 0x5c };

/** Compiles a -printf format; a usage error names what it does not know. */
export function compileFormat(format: string): Format {
  const pieces: Piece[] = [];
  let literal: number[] = [];
  const fields = new Set<StatField>();
  let needsBigInt = false;
  let needsNames = false;
  let needsTarget = false;
  const bytes = Buffer.from(format);
  const flush = (): void => {
    if (literal.length > 0) pieces.push(Buffer.from(literal).toString('latin1'));
    literal = [];
  };
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x5c /* \ */) {
      const next = String.fromCharCode(bytes[i + 1] ?? 0);
      const octal = /^[0-7]{1,3}/.exec(bytes.toString('latin1', i + 1, i + 4));
      if (octal) {
        literal.push(parseInt(octal[0], 8) & 0xff);
        i += octal[0].length;
      } else if (ESCAPES[next] !== undefined) {
        literal.push(ESCAPES[next]);
        i++;
      } else {
        throw new UsageError(`--printf: unknown escape '\\${next}'`);
      }
    } else if (c === 0x25 /* % */) {
      const next = String.fromCharCode(bytes[i + 1] ?? 0);
      if (next === '%') {
        literal.push(0x25);
        i++;
        continue;
      }
      if (next === 'T' && bytes[i + 2] === 0x40 /* @ */) {
        flush();
        pieces.push((f) => epochSeconds(f.stats as BigIntStats));
        fields.add('mtime');
        needsBigInt = true;
        i += 2;
        continue;
      }
      const directive = DIRECTIVES[next];
      if (!directive)
        throw new UsageError(`--printf: unknown directive '%${next}' (known: %p %P %f %h %d %s %m %M %y %n %i %u %g %U %G %l %T@ %%)`);
      flush();
      pieces.push(directive[0]);
      for (const field of directive[1]) fields.add(field);
      needsTarget ||= directive[2];
      needsNames ||= next === 'u' || next === 'g';
      needsBigInt ||= next === 'i';
      i++;
    } else {
      literal.push(c);
    }
  }
  flush();
  return { pieces, needsStats: fields.size > 0, fields: [...fields], needsBigInt, needsTarget, needsNames };
}

/** One file's output under a compiled format (latin1). */
export function render(format: Format, found: Found, ctx: PrintContext): string {
  let out = '';
  for (const piece of format.pieces) out += typeof piece === 'string' ? piece : piece(found, ctx);
  return out;
}

// unshare-fs find: the start point and everything under it, as GNU find
// prints it (-print, -print0 or -printf), streamed: each batch the walk
// sends is written before the next is asked for, so a tree of millions of
// entries costs one batch of memory.
import type { BigIntStats, EntryType, Stats } from '../index';
import { entryType, typeOfFindLetter } from './format';
import { compileGlob } from './glob';
import { jsonName, questionMarks, relativeStart } from './names';
import { jsonLine, UsageError, type Output } from './output';
import { compileFormat, render, type Format, type Found, type PrintContext } from './printf';
import type { Target } from './target';
import { NUMERIC, readIdNames } from './users';

export interface FindOptions {
  maxdepth?: number;
  type?: string[];
  name?: string;
  exclude?: string[];
  printf?: string;
  print0?: boolean;
  json?: boolean;
}

/** find's `-type f,d`: the entry types asked for; a usage error for a letter find does not know. */
function parseTypes(values: string[] | undefined): Set<EntryType> | undefined {
  if (!values || values.length === 0) return undefined;
  const types = new Set<EntryType>();
  for (const letter of values.flatMap((v) => v.split(','))) {
    const type = typeOfFindLetter(letter);
    if (!type) throw new UsageError(`--type: unknown type '${letter}' (f d l b c p s)`);
    types.add(type);
  }
  return types;
}

/** Checks the options before anything is opened: a usage error comes before any session. */
export function checkFindOptions(options: FindOptions): void {
  parseTypes(options.type);
  if (options.name !== undefined) compileGlob(options.name);
  if (options.printf !== undefined) compileFormat(options.printf);
}

/** Walks `target` and writes what find would print. */
export async function find(target: Target, options: FindOptions, out: Output): Promise<void> {
  const { fs } = target;
  const types = parseTypes(options.type);
  const nameMatches = options.name !== undefined ? compileGlob(options.name) : undefined;
  const terminator = options.print0 ? '\0' : '\n';
  const format: Format =
    options.printf !== undefined
      ? compileFormat(options.printf)
      : { pieces: [], needsStats: false, fields: [], needsBigInt: false, needsTarget: false, needsNames: false };
  const json = !!options.json;
  // --json prints every field; a format, only those it names.
  const stat = json ? true : format.needsStats && format.fields;
  const bigint = json || format.needsBigInt;
  const needsTarget = json || format.needsTarget;
  const names = format.needsNames ? await readIdNames(fs) : NUMERIC;
  // Names from passwd are text; output is bytes as latin1 strings.
  const asBytes = (text: string): string => Buffer.from(text).toString('latin1');
  const users = new Map<number, string>();
  const groups = new Map<number, string>();
  const tty = (process.stdout as { isTTY?: boolean }).isTTY === true;
  const ctx: PrintContext = {
    user: (uid) => users.get(uid) ?? users.set(uid, asBytes(names.user(uid) ?? String(uid))).get(uid)!,
    group: (gid) => groups.get(gid) ?? groups.set(gid, asBytes(names.group(gid) ?? String(gid))).get(gid)!,
    name: tty ? (latin1) => questionMarks(Buffer.from(latin1, 'latin1')).toString('latin1') : (latin1) => latin1,
  };
  const root = Buffer.from(target.path).toString('latin1');
  const slash = root.endsWith('/') ? '' : '/';

  /** Whether the file is printed; the format's %l needs its link read first (readLink). */
  const wanted = (found: Found, type: EntryType): boolean => {
    if (types && !types.has(type)) return false;
    return !nameMatches || nameMatches(Buffer.from(baseOf(found), 'latin1'));
  };
  const readLink = async (found: Found): Promise<void> => {
    try {
      found.target = (await fs.readlink(Buffer.from(found.path, 'latin1'), { encoding: 'buffer' })).toString('latin1');
    } catch (error) {
      out.fail(error, target.prefix);
    }
  };
  // %s from number stats: a size past 2^53 (a sparse file, on tmpfs, xfs or
  // btrfs) is a rounded double, so that file alone is stat'ed again with
  // bigint stats, and printed exact, as GNU find prints it.
  const exactSizes = !bigint && format.fields.includes('size');
  const makeExact = async (found: Found): Promise<void> => {
    try {
      found.stats = await fs.lstat(Buffer.from(found.path, 'latin1'), { bigint: true });
    } catch (error) {
      out.fail(error, target.prefix);
    }
  };
  const print = (found: Found, type: EntryType): void => {
    if (json) out.write(jsonLine(jsonOf(found, type)));
    else if (options.printf !== undefined) out.writeBytes(render(format, found, ctx));
    else out.writeBytes(ctx.name(found.path) + terminator);
  };

  const top = bigint ? await fs.lstat(target.path, { bigint: true }) : await fs.lstat(target.path);
  const topType = entryType(Number(top.mode));
  const start: Found = { path: root, relativeAt: root.length, depth: 0, stats: top, target: undefined };
  if (wanted(start, topType)) {
    if (needsTarget && topType === 'symlink') await readLink(start);
    if (exactSizes && (top.size as number) > Number.MAX_SAFE_INTEGER) await makeExact(start);
    print(start, topType);
  }
  if (topType !== 'directory' || options.maxdepth === 0) return out.flush(true);
  // An entry at a time (walk, not walkBatches): a batch's entries held in
  // an array all live through the young generation's collections, which
  // copied them; one by one they die young (about 3% less time over 41
  // interleaved runs, for an await each).  Names and paths come as latin1 strings, one
  // char a byte (what this file prints): no Buffer made for each.
  // Every entry's fullPath starts with the walk's own root and a slash
  // (Entry's contract: the root as written, or as the host resolved it):
  // its length is read from the first entry.  When that is the root as
  // given, an entry's path is its fullPath, whole.
  let rootLength = -1;
  let same = false;
  // One Found for every entry, filled anew: nothing keeps it past print().
  const found: Found = { path: '', relativeAt: 0, depth: 0, stats: undefined, target: undefined };
  let counted = 0; // entries not yet told to the progress line
  for await (const entry of fs.walk(target.path, {
    encoding: 'latin1',
    stat,
    bigint,
    ...(options.maxdepth !== undefined && { maxDepth: options.maxdepth }),
    ...(options.exclude && options.exclude.length > 0 && { exclude: options.exclude }),
    signal: out.closed.signal,
    onError: (error) => out.fail(error, target.prefix),
  })) {
    if (++counted === 1024) {
      out.progress.add({ entries: counted });
      counted = 0;
    }
    const fullPath = entry.fullPath;
    if (rootLength < 0) {
      rootLength = relativeStart(fullPath, entry.depth);
      same = fullPath.slice(0, rootLength) === root + slash;
    }
    // The path below the start point is not cut out unless printed (%P):
    // a slice of the path would flatten it, a copy an entry.
    if (same) {
      found.path = fullPath;
      found.relativeAt = rootLength;
    } else {
      found.path = root + slash + fullPath.slice(rootLength);
      found.relativeAt = root.length + slash.length;
    }
    found.depth = entry.depth;
    found.stats = entry.stats;
    found.target = undefined;
    if (!wanted(found, entry.type)) continue;
    if (needsTarget && entry.type === 'symlink') await readLink(found);
    if (exactSizes && (entry.stats as Stats).size > Number.MAX_SAFE_INTEGER) await makeExact(found);
    print(found, entry.type);
    if (out.full) await out.flush();
  }
  out.progress.add({ entries: counted });
  return out.flush(true);
}

/** The last name of a found file (the start point's own, for it, less the slashes that end it). */
function baseOf(found: Found): string {
  const path = found.path;
  let end = path.length;
  while (end > 1 && path[end - 1] === '/') end--;
  return path.slice(path.lastIndexOf('/', end - 1) + 1, end);
}

/** One file's --json line: documented field names (README, Command line); size and ino exact (bigints). */
function jsonOf(found: Found, type: EntryType): Record<string, unknown> {
  const s = found.stats as BigIntStats | undefined;
  return {
    ...jsonName('path', Buffer.from(found.path, 'latin1')),
    type,
    depth: found.depth,
    ...(s && {
      mode: Number(s.mode),
      nlink: Number(s.nlink),
      uid: Number(s.uid),
      gid: Number(s.gid),
      size: s.size,
      ino: s.ino,
      mtimeNs: String(s.mtimeNs),
    }),
    ...(found.target !== undefined && jsonName('target', Buffer.from(found.target, 'latin1'))),
  };
}

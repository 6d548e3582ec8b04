// What an overlay's upper layer changed against the layers below it, with
// the rules containers/storage's overlay driver applies for `podman diff`
// (and Docker's for `docker diff`), read through a session, so that the
// layers are seen with the ids and permissions of the namespace that owns
// them.
import * as nodePath from 'node:path';

import type { StatField } from './protocol';
import type { BigIntStats, Stats } from './stats';

/** How a path differs from the layers below. */
export type ChangeKind = 'added' | 'changed' | 'deleted';

/** One line of `podman diff`: `A`, `C` or `D` and a path as seen inside the container. */
export interface LayerChange {
  readonly path: string;
  readonly kind: ChangeKind;
}

export interface DiffOptions {
  /** Stops the diff and its walk. */
  signal?: AbortSignal;
}

/** What the diff needs of a FileSystem (kept narrow so that it can be tested on its own). */
export interface DiffSource {
  walk(
    root: string,
    options: { stat: readonly StatField[]; maxDepth?: number; signal?: AbortSignal },
  ): AsyncIterable<{ path: string; name: string; stats: Stats | undefined }>;
  lstat(path: string, options: { bigint: true; signal?: AbortSignal }): Promise<BigIntStats>;
  xattrs(path: string, options: { signal?: AbortSignal }): Promise<Map<string, Buffer>>;
}

/** Overlay's opaque-directory marker: trusted.* as the host's root writes it, user.* in a user namespace (userxattr). */
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'];

/** True when a directory's xattrs mark it opaque, in either namespace. */
export const isOpaque = (xattrs: Map<string, Buffer>): boolean => OPAQUE_XATTRS.some((name) => xattrs.get(name)?.toString() === 'y');
/** Lower-layer lookups in flight at once. */
const CONCURRENCY = 64;

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFDIR = 0o040000;
/** What the walks read: enough to tell whiteouts, directories, and directories that differ. */
const FIELDS: readonly StatField[] = ['mode', 'size', 'rdev', 'mtime'];

const isWhiteout = (st: Stats | null): boolean => st !== null && (st.mode & S_IFMT) === S_IFCHR && st.rdev === 0;
const isDir = (st: Stats | null): boolean => st !== null && (st.mode & S_IFMT) === S_IFDIR;

/** Components in a path: 0 for '/', 1 for '/a'. */
const depth = (path: string): number => (path === '/' ? 0 : path.split('/').length - 1);

/** The directories above `path` ('/a/b/c' gives '/a/b', '/a'), nearest first. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let dir = nodePath.posix.dirname(path); dir !== '/'; dir = nodePath.posix.dirname(dir)) out.push(dir);
  return out;
}

/** Byte order of paths: a parent before its children. */
const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** `work` for every item, CONCURRENCY at a time. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let from = 0; from < items.length; from += CONCURRENCY) await Promise.all(items.slice(from, from + CONCURRENCY).map(work));
}

/** Go's sameFsTime: equal, or equal seconds where either side has no nanoseconds. */
function sameTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  const second = 1000000000n;
  return a / second === b / second && (a % second === 0n || b % second === 0n);
}

/**
 * The changes of `upperDir` against `lowerDirs` (top to bottom), sorted by
 * path.  A whiteout (a 0/0 character device) is a deletion; an opaque
 * directory that hides one below is a deletion too, and what it holds is
 * added; anything else is a change where a lower layer has the path (not
 * hidden by a whiteout of it or of a directory above it) and an addition
 * where none has.  A directory whose size, mode and mtime equal the one
 * below is left out, unless something under it was added or deleted.
 * Entries are never followed: a symlink in a layer is compared as itself.
 */
export async function diffLayers(fs: DiffSource, upperDir: string, lowerDirs: readonly string[], options: DiffOptions = {}): Promise<LayerChange[]> {
  const { signal } = options;
  const upper = nodePath.posix.resolve('/', upperDir);
  const lowers = lowerDirs.map((dir) => nodePath.posix.resolve('/', dir));

  const upperEntries: { path: string; stats: Stats }[] = [];
  for await (const entry of fs.walk(upper, { stat: FIELDS, signal })) {
    if (entry.stats === undefined) continue;
    upperEntries.push({ path: entry.path.slice(upper === '/' ? 0 : upper.length), stats: entry.stats });
  }
  // Parents before their children, as podman's walk visits them.
  upperEntries.sort(byPath);

  // Each lower layer's entries, read a directory at a time, only for the
  // directories the upper layer has (where its entries are looked up), and
  // only where the layer has that directory: its parent's listing says so.
  // A big upper dir costs one listing per layer, not a request per entry.
  const wanted = new Set<string>(['/']);
  for (const { path } of upperEntries) wanted.add(nodePath.posix.dirname(path));
  const byDepth = [...wanted].sort((a, b) => depth(a) - depth(b));
  const listings = lowers.map(() => new Map<string, Map<string, Stats> | null>());
  const list = async (layer: string, dir: string): Promise<Map<string, Stats> | null> => {
    const names = new Map<string, Stats>();
    try {
      for await (const entry of fs.walk(dir === '/' ? layer : layer + dir, { stat: FIELDS, maxDepth: 1, signal })) {
        if (entry.stats !== undefined) names.set(entry.name, entry.stats);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw error;
    }
    return names;
  };
  await Promise.all(
    lowers.map(async (layer, i) => {
      const known = listings[i]!;
      for (let at = 0; at < byDepth.length; ) {
        const level = depth(byDepth[at]!);
        const dirs: string[] = [];
        while (at < byDepth.length && depth(byDepth[at]!) === level) dirs.push(byDepth[at++]!);
        await inBatches(dirs, async (dir) => {
          const parent = dir === '/' ? undefined : known.get(nodePath.posix.dirname(dir));
          const here = parent?.get(nodePath.posix.basename(dir));
          known.set(dir, dir === '/' || isDir(here ?? null) ? await list(layer, dir) : null);
        });
      }
    }),
  );
  /** The entry at `path` in lower layer `i`, or null. */
  const lowerStat = (i: number, path: string): Stats | null =>
    listings[i]!.get(nodePath.posix.dirname(path))?.get(nodePath.posix.basename(path)) ?? null;
  /** True when lower layer `i` whites out `path` or a directory above it. */
  const hiddenIn = (i: number, path: string): boolean => isWhiteout(lowerStat(i, path)) || ancestors(path).some((dir) => isWhiteout(lowerStat(i, dir)));

  /** What the layers say of one upper entry: a kind, or null to leave it out. */
  const classify = ({ path, stats }: { path: string; stats: Stats }, opaque: boolean, same: Set<string>): ChangeKind | null => {
    if (isWhiteout(stats)) return 'deleted';
    if (opaque) {
      // Opaque: a deletion where a lower layer still shows the path.
      for (let i = 0; i < lowers.length; i++) {
        const below = lowerStat(i, path);
        if (below !== null) {
          if (isWhiteout(below)) break;
          return 'deleted';
        }
        if (hiddenIn(i, path)) break;
      }
    }
    for (let i = 0; i < lowers.length; i++) {
      if (hiddenIn(i, path)) return 'added';
      const below = lowerStat(i, path);
      if (below === null) continue;
      if (isDir(below) && isDir(stats) && same.has(`${i}:${path}`)) return null;
      return 'changed';
    }
    return 'added';
  };

  // Opaque or not matters only for a directory some lower layer has too:
  // only those are asked for their xattrs.
  const opaque = new Set<string>();
  const askOpaque = upperEntries.filter(({ path, stats }) => isDir(stats) && lowers.some((_, i) => lowerStat(i, path) !== null));
  await inBatches(askOpaque, async ({ path }) => {
    if (isOpaque(await fs.xattrs(upper + path, { signal }))) opaque.add(path);
  });
  // A directory equal to the one below (size, mode, mtime to the
  // nanosecond, which only bigint stats carry) is no change by itself.
  const same = new Set<string>();
  const candidates: [number, string][] = [];
  for (const { path, stats } of upperEntries) {
    if (!isDir(stats)) continue;
    lowers.forEach((_, i) => {
      const below = lowerStat(i, path);
      if (isDir(below) && below!.size === stats.size && below!.mode === stats.mode && Math.abs(below!.mtimeMs - stats.mtimeMs) < 1) candidates.push([i, path]);
    });
  }
  await inBatches(candidates, async ([i, path]) => {
    const [a, b] = await Promise.all([fs.lstat(upper + path, { bigint: true, signal }), fs.lstat(lowers[i] + path, { bigint: true, signal })]);
    if (a.size === b.size && a.mode === b.mode && sameTime(a.mtimeNs, b.mtimeNs)) same.add(`${i}:${path}`);
  });
  const kinds = upperEntries.map((entry) => classify(entry, opaque.has(entry.path), same));

  const changes: LayerChange[] = [];
  const changedDirs = new Set<string>();
  for (let i = 0; i < upperEntries.length; i++) {
    const kind = kinds[i]!;
    if (kind === null) continue;
    const { path, stats } = upperEntries[i]!;
    if (isDir(stats)) changedDirs.add(path);
    if (kind !== 'changed') {
      // An addition or a deletion changes every directory above it.
      for (const dir of ancestors(path).reverse()) {
        if (changedDirs.has(dir)) continue;
        changedDirs.add(dir);
        changes.push({ path: dir, kind: 'changed' });
      }
    }
    changes.push({ path, kind });
  }
  return changes.sort(byPath);
}

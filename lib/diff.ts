// What an overlay's upper layer changed against the layers below it, with
// the rules containers/storage's overlay driver applies for `podman diff`
// (and Docker's for `docker diff`), read through a session, so that the
// layers are seen with the ids and permissions of the namespace that owns
// them.
import * as nodePath from 'node:path';

import type { BigIntStats } from './stats';

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
  walk(root: string, options: { stat: true; bigint: true; signal?: AbortSignal }): AsyncIterable<{ path: string; stats: BigIntStats | undefined }>;
  lstat(path: string, options: { bigint: true; signal?: AbortSignal }): Promise<BigIntStats>;
  xattrs(path: string, options: { signal?: AbortSignal }): Promise<Map<string, Buffer>>;
}

/** Overlay's opaque-directory marker: trusted.* as the host's root writes it, user.* in a user namespace (userxattr). */
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'];
/** Lower-layer lookups in flight at once. */
const CONCURRENCY = 64;

const S_IFMT = 0o170000n;
const S_IFCHR = 0o020000n;
const S_IFDIR = 0o040000n;

const isWhiteout = (st: BigIntStats | null): boolean => st !== null && (st.mode & S_IFMT) === S_IFCHR && st.rdev === 0n;
const isDir = (st: BigIntStats | null): boolean => st !== null && (st.mode & S_IFMT) === S_IFDIR;

/** The directories above `path` ('/a/b/c' gives '/a/b', '/a'), nearest first. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let dir = nodePath.posix.dirname(path); dir !== '/'; dir = nodePath.posix.dirname(dir)) out.push(dir);
  return out;
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

  const upperEntries: { path: string; stats: BigIntStats }[] = [];
  for await (const entry of fs.walk(upper, { stat: true, bigint: true, signal })) {
    if (entry.stats === undefined) continue;
    upperEntries.push({ path: entry.path.slice(upper === '/' ? 0 : upper.length), stats: entry.stats });
  }
  // Parents before their children, as podman's walk visits them.
  upperEntries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const lowerStats = new Map<string, Promise<BigIntStats | null>>();
  const lowerStat = (layer: string, path: string): Promise<BigIntStats | null> => {
    const full = layer + path;
    let found = lowerStats.get(full);
    if (found === undefined) {
      found = fs.lstat(full, { bigint: true, signal }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
        throw error;
      });
      lowerStats.set(full, found);
    }
    return found;
  };
  /** True when `layer` whites out `path` or a directory above it. */
  const hiddenIn = async (layer: string, path: string): Promise<boolean> => {
    for (const dir of [path, ...ancestors(path)]) if (isWhiteout(await lowerStat(layer, dir))) return true;
    return false;
  };

  /** What the layers say of one upper entry: a kind, or null to leave it out. */
  const classify = async ({ path, stats }: { path: string; stats: BigIntStats }): Promise<ChangeKind | null> => {
    if (isWhiteout(stats)) return 'deleted';
    if (isDir(stats) && lowers.length > 0) {
      const xattrs = await fs.xattrs(upper + path, { signal });
      if (OPAQUE_XATTRS.some((name) => xattrs.get(name)?.toString() === 'y')) {
        // Opaque: a deletion where a lower layer still shows the path.
        for (const layer of lowers) {
          const below = await lowerStat(layer, path);
          if (below !== null) {
            if (isWhiteout(below)) break;
            return 'deleted';
          }
          if (await hiddenIn(layer, path)) break;
        }
      }
    }
    for (const layer of lowers) {
      if (await hiddenIn(layer, path)) return 'added';
      const below = await lowerStat(layer, path);
      if (below === null) continue;
      if (isDir(below) && isDir(stats) && below.size === stats.size && below.mode === stats.mode && sameTime(below.mtimeNs, stats.mtimeNs)) {
        return null;
      }
      return 'changed';
    }
    return 'added';
  };

  const kinds: (ChangeKind | null)[] = new Array(upperEntries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < upperEntries.length) {
      const i = next++;
      kinds[i] = await classify(upperEntries[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, upperEntries.length) }, worker));

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
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

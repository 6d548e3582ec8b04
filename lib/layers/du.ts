// du -s through a session: one walk with the stat fields du needs, the
// numbers summed as GNU du sums them.
import { progressTicker, type ProgressOptions } from '../core/progress';
import type { BigIntStats, StatField } from '../core/stats';

/** What `du -s` tells of a tree, and how many entries it holds. */
export interface DiskUsage {
  /** Names in the tree, the top one included (`find path | wc -l`). */
  readonly entries: number;
  /** Bytes the files say they hold (`du -s --apparent-size -B1`), a hard-linked file once. */
  readonly apparentBytes: number;
  /** Bytes of disk they take (st_blocks × 512: `du -s -B1`), a hard-linked file once. */
  readonly allocatedBytes: number;
}

/**
 * Options of FileSystem#du.  `onProgress` counts entries and apparent
 * bytes as DiskUsage does (its last call: `entries`, `apparentBytes`).
 */
export interface DuOptions extends ProgressOptions {
  /** Do not descend into directories on another device than `path` (`du -x`). */
  oneFileSystem?: boolean;
  /** Stops the walk. */
  signal?: AbortSignal;
}

/** What du needs of a FileSystem. */
export interface DuSource {
  lstat(path: string, options: { bigint: true; signal?: AbortSignal }): Promise<BigIntStats>;
  walkBatches(
    root: string,
    options: { stat: readonly StatField[]; bigint: true; oneFileSystem: boolean; signal?: AbortSignal },
  ): AsyncIterable<{ stats: BigIntStats | undefined }[]>;
}

const FIELDS: readonly StatField[] = ['mode', 'nlink', 'size', 'ino', 'dev', 'blocks'];
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** How podman counts, for the library's own use. */
interface PodmanCounts {
  /** false: directories are left out of every count (a container's and a volume's size). */
  directories?: boolean;
  /** false: each name of a hard-linked file counts (a volume's size). */
  linksOnce?: boolean;
}

/** du -s of `path` through `fs`. */
export async function du(fs: DuSource, path: string, options: DuOptions & PodmanCounts = {}): Promise<DiskUsage> {
  const { signal, oneFileSystem = false, directories = true, linksOnce = true } = options;
  const ticker = progressTicker(options.onProgress);
  let entries = 0;
  let apparentBytes = 0;
  let allocatedBytes = 0;
  // dev:ino of every entry with more than one link, counted the first time.
  // Exact (bigint stats): overlayfs with xino puts the layer's fsid in the
  // top bits of st_ino, so a lower layer's inodes are 2^63 + ino, and as
  // doubles distinct inodes would be equal and a file left out.
  const linked = new Set<string>();
  const add = (st: BigIntStats): void => {
    const isDir = (Number(st.mode) & S_IFMT) === S_IFDIR; // no bigint made per entry
    if (!directories && isDir) return;
    entries++;
    if (linksOnce && st.nlink > 1n && !isDir) {
      const key = `${st.dev}:${st.ino}`;
      if (linked.has(key)) {
        ticker?.add(1, 0);
        return;
      }
      linked.add(key);
    }
    const size = Number(st.size);
    apparentBytes += size;
    allocatedBytes += Number(st.blocks) * 512;
    ticker?.add(1, size);
  };
  const top = await fs.lstat(path, { bigint: true, signal });
  add(top);
  if (top.isDirectory()) {
    for await (const batch of fs.walkBatches(path, { stat: FIELDS, bigint: true, oneFileSystem, signal })) {
      for (const { stats } of batch) {
        // du -x leaves a mount point out, the directory itself too.
        if (stats !== undefined && !(oneFileSystem && stats.dev !== top.dev)) add(stats);
      }
    }
  }
  ticker?.end();
  return { entries, apparentBytes, allocatedBytes };
}

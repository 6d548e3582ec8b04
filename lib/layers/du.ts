// du -s through a session: one summing walk (the server stats and adds up,
// WalkFlag.Summarize), the numbers counted as GNU du counts them.
import type { WalkOptions } from '../core/options';
import { progressTicker, type ProgressOptions } from '../core/progress';
import type { BigIntStats } from '../core/stats';
import { SUMMARY_VALUES, SummaryField, SummaryKind } from '../wire/protocol';

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
  /**
   * What an error inside the tree does (a directory that cannot be read, an
   * entry gone before its lstat), as a walk's `onError`: 'throw' (the
   * default) ends du with it, 'skip' leaves the entry out, a function hears
   * it and du goes on (unless it returns false or throws).
   */
  onError?: WalkOptions['onError'];
}

/** What du needs of a FileSystem. */
export interface DuSource {
  lstat(path: string, options: { bigint: true; signal?: AbortSignal }): Promise<BigIntStats>;
  /**
   * A summing walk of `path` (WalkFlag.Summarize): the server stats every
   * entry and sends sums, not entries; each SUMMARY record's sums go to
   * `onSums` (a SummaryKind plus a SummaryField each), the errors inside
   * the tree to `onError` as a walk's do.
   */
  sumTree(path: string, options: SumTreeOptions): Promise<void>;
}

export interface SumTreeOptions {
  oneFileSystem: boolean;
  signal?: AbortSignal | undefined;
  onError?: DuOptions['onError'] | undefined;
  onSums(sums: readonly bigint[]): void;
}

/** How podman counts, for the library's own use. */
interface PodmanCounts {
  /** false: directories are left out of every count (a container's and a volume's size). */
  directories?: boolean;
  /** false: each name of a hard-linked file counts (a volume's size). */
  linksOnce?: boolean;
}

const SumDirs: number = SummaryKind.SumDirs;
const SumFiles: number = SummaryKind.SumFiles;
const SumLinks: number = SummaryKind.SumLinks;
const SumEntries: number = SummaryField.SumEntries;
const SumApparent: number = SummaryField.SumApparent;
const SumAllocated: number = SummaryField.SumAllocated;
const KINDS = [SumDirs, SumFiles, SumLinks];

/**
 * du -s of `path` through `fs`.  The tree is summed in the server (the
 * entries' stats never cross to node); the sums stay bigints until the
 * end, so st_size of sparse files past 2^53 adds up exactly.
 */
export async function du(fs: DuSource, path: string, options: DuOptions & PodmanCounts = {}): Promise<DiskUsage> {
  const { signal, oneFileSystem = false, directories = true, linksOnce = true } = options;
  const ticker = progressTicker(options.onProgress);
  // The three kinds of entry (SummaryKind): directories are left out
  // without `directories`; the further names of a hard-linked file count
  // as entries, and their bytes only without `linksOnce`.
  const counted = (kind: number): boolean => directories || kind !== SumDirs;
  const bytesCounted = (kind: number): boolean => counted(kind) && (kind !== SumLinks || !linksOnce);
  const totals = new Array<bigint>(SUMMARY_VALUES).fill(0n);
  const add = (sums: readonly bigint[]): void => {
    let entries = 0n;
    let bytes = 0n;
    for (const kind of KINDS) {
      for (let i = 0; i < 3; i++) totals[kind + i]! += sums[kind + i]!;
      if (counted(kind)) entries += sums[kind + SumEntries]!;
      if (bytesCounted(kind)) bytes += sums[kind + SumApparent]!;
    }
    ticker?.add(Number(entries), Number(bytes));
  };
  const top = await fs.lstat(path, { bigint: true, signal });
  const topSums = new Array<bigint>(SUMMARY_VALUES).fill(0n);
  const topKind = top.isDirectory() ? SumDirs : SumFiles;
  topSums[topKind + SumEntries] = 1n;
  topSums[topKind + SumApparent] = top.size;
  topSums[topKind + SumAllocated] = top.blocks * 512n;
  add(topSums);
  if (top.isDirectory()) await fs.sumTree(path, { oneFileSystem, signal, onError: options.onError, onSums: add });
  ticker?.end();
  const sum = (value: number, kinds: (kind: number) => boolean): number =>
    Number(KINDS.reduce((total, kind) => (kinds(kind) ? total + totals[kind + value]! : total), 0n));
  return {
    entries: sum(SumEntries, counted),
    apparentBytes: sum(SumApparent, bytesCounted),
    allocatedBytes: sum(SumAllocated, bytesCounted),
  };
}

// Walk and readdir results.
import type { BigIntStats, Stats } from './stats';

/**
 * What an entry's `stats` can be: a whole {@link Stats} or
 * {@link BigIntStats}, or one with only the fields a walk asked for.
 */
export type StatsLike = Partial<Stats> | Partial<BigIntStats>;

/** What an entry is: its directory's d_type, or its lstat where the filesystem gives none (or stats were asked for). */
export type EntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

/** Entry types by d_type value (DT_* in <dirent.h>). */
export const TYPE_BY_DTYPE: readonly EntryType[] = (() => {
  const types = new Array<EntryType>(16).fill('unknown');
  types[1] = 'fifo';
  types[2] = 'char-device';
  types[4] = 'directory';
  types[6] = 'block-device';
  types[8] = 'file';
  types[10] = 'symlink';
  types[12] = 'socket';
  return types;
})();

/**
 * One directory entry found by a walk or a readdir, shaped like node's
 * fs.Dirent: `name` and `parentPath` are what node gives (so
 * `path.join(entry.parentPath, entry.name)` is the entry's path), and
 * `fullPath` is that path already joined.  Paths are of the walk's encoding
 * (Buffers with `encoding: 'buffer'`); `parentPath` is the walk's root as
 * the caller wrote it for the root's own entries and that root joined with
 * the directory's path below it for the others, not normalized further.
 */
export class Entry<Name extends string | Buffer = string, S extends StatsLike | undefined = Stats | undefined> {
  constructor(
    /** The directory the entry is in, as fs.Dirent's `parentPath`. */
    public readonly parentPath: Name,
    /** The entry's own name (no slash). */
    public readonly name: Name,
    /** The entry's path: `parentPath` joined with `name`. */
    public readonly fullPath: Name,
    /** What the entry is ('file', 'directory', 'symlink' …). */
    public readonly type: EntryType,
    /** 1 for the root's own entries, 2 for theirs, and so on. */
    public readonly depth: number,
    /**
     * The stats the walk asked for: undefined without `stat` (and in
     * readdir's entries), only the fields named with a field list.
     */
    public readonly stats: S,
  ) {}

  /**
   * The same as `parentPath`: fs.Dirent's deprecated alias (node 20-22).
   * Not the entry's own path: that is `fullPath`.
   * @deprecated Use `parentPath`, or `fullPath` for the entry's own path.
   */
  get path(): Name {
    return this.parentPath;
  }

  /** True for a regular file. */
  isFile(): boolean {
    return this.type === 'file';
  }
  /** True for a directory. */
  isDirectory(): boolean {
    return this.type === 'directory';
  }
  /** True for a symlink (never followed). */
  isSymbolicLink(): boolean {
    return this.type === 'symlink';
  }
  /** True for a FIFO (named pipe). */
  isFIFO(): boolean {
    return this.type === 'fifo';
  }
  /** True for a Unix socket. */
  isSocket(): boolean {
    return this.type === 'socket';
  }
  /** True for a character device (an overlay whiteout is one, 0, 0). */
  isCharacterDevice(): boolean {
    return this.type === 'char-device';
  }
  /** True for a block device. */
  isBlockDevice(): boolean {
    return this.type === 'block-device';
  }
}

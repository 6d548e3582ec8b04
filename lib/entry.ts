// Walk and readdir results.
import type { BigIntStats, Stats } from './stats';

export type EntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'fifo'
  | 'socket'
  | 'char-device'
  | 'block-device'
  | 'unknown';

/** Entry types by d_type value (DT_* in <dirent.h>). */
export const TYPE_BY_DTYPE: readonly EntryType[] = (() => {
  const types: EntryType[] = new Array(16).fill('unknown');
  types[1] = 'fifo';
  types[2] = 'char-device';
  types[4] = 'directory';
  types[6] = 'block-device';
  types[8] = 'file';
  types[10] = 'symlink';
  types[12] = 'socket';
  return types;
})();

/** One directory entry found by a walk or a readdir. */
export class Entry<Name extends string | Buffer = string, S extends Stats | BigIntStats = Stats> {
  constructor(
    /** The full path: the walk's root joined with the path below it. */
    public readonly path: Name,
    public readonly name: Name,
    public readonly type: EntryType,
    /** 1 for the root's own entries, 2 for theirs, and so on. */
    public readonly depth: number,
    /** Present when the walk asked for stats. */
    public readonly stats: S | undefined,
  ) {}

  isFile(): boolean {
    return this.type === 'file';
  }
  isDirectory(): boolean {
    return this.type === 'directory';
  }
  isSymbolicLink(): boolean {
    return this.type === 'symlink';
  }
  isFIFO(): boolean {
    return this.type === 'fifo';
  }
  isSocket(): boolean {
    return this.type === 'socket';
  }
  isCharacterDevice(): boolean {
    return this.type === 'char-device';
  }
  isBlockDevice(): boolean {
    return this.type === 'block-device';
  }
}

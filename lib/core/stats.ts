// Stats shaped like node's fs.Stats, decoded from packed stat fields.
import { constants } from 'node:fs';

const S_IFMT = constants.S_IFMT;
/** The bytes of every stat field: 4 u32, 4 u64, blocks and blksize, 3 times. */
export const ALL_STAT_BYTES = 4 * 4 + 4 * 8 + 12 + 3 * 12;

function typeBits(mode: number | bigint): number {
  return Number(mode) & S_IFMT;
}

/** The file-type tests of fs.Stats, over the type bits of `mode`. */
abstract class FileTypeTests {
  // Not a method: the tests are the public surface, the mode's bits are read here.
  abstract mode: number | bigint;

  /** True if the inode is a regular file. */
  isFile(): boolean {
    return typeBits(this.mode) === constants.S_IFREG;
  }
  /** True if the inode is a directory. */
  isDirectory(): boolean {
    return typeBits(this.mode) === constants.S_IFDIR;
  }
  /** True if the inode is a symbolic link. */
  isSymbolicLink(): boolean {
    return typeBits(this.mode) === constants.S_IFLNK;
  }
  /** True if the inode is a FIFO (named pipe). */
  isFIFO(): boolean {
    return typeBits(this.mode) === constants.S_IFIFO;
  }
  /** True if the inode is a socket. */
  isSocket(): boolean {
    return typeBits(this.mode) === constants.S_IFSOCK;
  }
  /** True if the inode is a character device. */
  isCharacterDevice(): boolean {
    return typeBits(this.mode) === constants.S_IFCHR;
  }
  /** True if the inode is a block device. */
  isBlockDevice(): boolean {
    return typeBits(this.mode) === constants.S_IFBLK;
  }
}

/** What the library knows of an inode; the fields a walk did not ask for are undefined. */
export class Stats extends FileTypeTests {
  constructor(
    /** The id of the device holding the file. */
    public dev: number,
    /** The file's inode number on that device. */
    public ino: number,
    /** File type and permission bits (`S_IFMT` and `0o7777`). */
    public mode: number,
    /** How many names the inode has (hard links). */
    public nlink: number,
    /** The owner, as the namespace the session is in sees it (the container's view). */
    public uid: number,
    /** The group, as the namespace the session is in sees it. */
    public gid: number,
    /** The device a character or block device file stands for. */
    public rdev: number,
    /** Bytes: a file's length, a symlink's target length. */
    public size: number,
    /** The preferred block size for I/O. */
    public blksize: number,
    /** 512-byte blocks allocated. */
    public blocks: number,
    /** Last access, milliseconds since the epoch. */
    public atimeMs: number,
    /** Last change of the content, milliseconds since the epoch. */
    public mtimeMs: number,
    /** Last change of the inode, milliseconds since the epoch. */
    public ctimeMs: number,
    /** The owner as the host sees it (through the namespace's uid_map). */
    public hostUid: number,
    /** The group as the host sees it (through the namespace's gid_map). */
    public hostGid: number,
  ) {
    super();
  }

  /** Last access, as a Date. */
  get atime(): Date {
    return new Date(this.atimeMs);
  }
  /** Last change of the content, as a Date. */
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  /** Last change of the inode, as a Date. */
  get ctime(): Date {
    return new Date(this.ctimeMs);
  }
}

/** The same with every number a bigint, and nanosecond times, as fs.Stats with `bigint: true`. */
export class BigIntStats extends FileTypeTests {
  constructor(
    /** The id of the device holding the file. */
    public dev: bigint,
    /** The file's inode number on that device. */
    public ino: bigint,
    /** File type and permission bits (`S_IFMT` and `0o7777`). */
    public mode: bigint,
    /** How many names the inode has (hard links). */
    public nlink: bigint,
    /** The owner, as the namespace the session is in sees it (the container's view). */
    public uid: bigint,
    /** The group, as the namespace the session is in sees it. */
    public gid: bigint,
    /** The device a character or block device file stands for. */
    public rdev: bigint,
    /** Bytes: a file's length, a symlink's target length. */
    public size: bigint,
    /** The preferred block size for I/O. */
    public blksize: bigint,
    /** 512-byte blocks allocated. */
    public blocks: bigint,
    /** Last access, nanoseconds since the epoch. */
    public atimeNs: bigint,
    /** Last change of the content, nanoseconds since the epoch. */
    public mtimeNs: bigint,
    /** Last change of the inode, nanoseconds since the epoch. */
    public ctimeNs: bigint,
    /** The owner as the host sees it (through the namespace's uid_map). */
    public hostUid: bigint,
    /** The group as the host sees it (through the namespace's gid_map). */
    public hostGid: bigint,
  ) {
    super();
  }

  /** Last access, milliseconds since the epoch. */
  get atimeMs(): bigint {
    return this.atimeNs / 1000000n;
  }
  /** Last change of the content, milliseconds since the epoch. */
  get mtimeMs(): bigint {
    return this.mtimeNs / 1000000n;
  }
  /** Last change of the inode, milliseconds since the epoch. */
  get ctimeMs(): bigint {
    return this.ctimeNs / 1000000n;
  }
  /** Last access, as a Date. */
  get atime(): Date {
    return new Date(Number(this.atimeMs));
  }
  /** Last change of the content, as a Date. */
  get mtime(): Date {
    return new Date(Number(this.mtimeMs));
  }
  /** Last change of the inode, as a Date. */
  get ctime(): Date {
    return new Date(Number(this.ctimeMs));
  }
}

/** Maps an id seen inside a namespace to the host's view. */
export type IdMapper = (id: number) => number;
export const identity: IdMapper = (id) => id;

/**
 * Reads the stat fields selected by `mask` at `offset`; returns the Stats and
 * the offset after them.  Kept monomorphic: one reader per result kind.
 */
export class StatReader {
  offset = 0;
  constructor(
    private readonly view: DataView,
    private readonly mask: number,
    private readonly mapUid: IdMapper,
    private readonly mapGid: IdMapper,
  ) {}

  read(offset: number): Stats {
    const v = this.view;
    const m = this.mask;
    let o = offset;
    let mode: number | undefined, uid: number | undefined, gid: number | undefined;
    let nlink: number | undefined, size: number | undefined, ino: number | undefined;
    let dev: number | undefined, rdev: number | undefined, blocks: number | undefined;
    let blksize: number | undefined, atimeMs: number | undefined, mtimeMs: number | undefined;
    let ctimeMs: number | undefined;
    if (m & 1) {
      mode = v.getUint32(o, true);
      o += 4;
    }
    if (m & 2) {
      uid = v.getUint32(o, true);
      o += 4;
    }
    if (m & 4) {
      gid = v.getUint32(o, true);
      o += 4;
    }
    if (m & 8) {
      nlink = v.getUint32(o, true);
      o += 4;
    }
    if (m & 16) {
      size = u64(v, o);
      o += 8;
    }
    if (m & 32) {
      ino = u64(v, o);
      o += 8;
    }
    if (m & 64) {
      dev = u64(v, o);
      o += 8;
    }
    if (m & 128) {
      rdev = u64(v, o);
      o += 8;
    }
    if (m & 256) {
      blocks = u64(v, o);
      blksize = v.getUint32(o + 8, true);
      o += 12;
    }
    if (m & 512) {
      atimeMs = timeMs(v, o);
      o += 12;
    }
    if (m & 1024) {
      mtimeMs = timeMs(v, o);
      o += 12;
    }
    if (m & 2048) {
      ctimeMs = timeMs(v, o);
      o += 12;
    }
    this.offset = o;
    return new Stats(
      dev as number,
      ino as number,
      mode as number,
      nlink as number,
      uid as number,
      gid as number,
      rdev as number,
      size as number,
      blksize as number,
      blocks as number,
      atimeMs as number,
      mtimeMs as number,
      ctimeMs as number,
      uid === undefined ? (undefined as unknown as number) : this.mapUid(uid),
      gid === undefined ? (undefined as unknown as number) : this.mapGid(gid),
    );
  }

  /**
   * Every field (`stat: true`, the common case), ALL_STAT_BYTES of them:
   * straight-line, with u64() and timeMs() written out, so that the code a
   * walk runs before V8 optimizes it makes no calls but the DataView reads.
   */
  readAll(o: number): Stats {
    const v = this.view;
    const uid = v.getUint32(o + 4, true);
    const gid = v.getUint32(o + 8, true);
    return new Stats(
      v.getUint32(o + 36, true) * 4294967296 + v.getUint32(o + 32, true), // dev
      v.getUint32(o + 28, true) * 4294967296 + v.getUint32(o + 24, true), // ino
      v.getUint32(o, true), // mode
      v.getUint32(o + 12, true), // nlink
      uid,
      gid,
      v.getUint32(o + 44, true) * 4294967296 + v.getUint32(o + 40, true), // rdev
      v.getUint32(o + 20, true) * 4294967296 + v.getUint32(o + 16, true), // size
      v.getUint32(o + 56, true), // blksize
      v.getUint32(o + 52, true) * 4294967296 + v.getUint32(o + 48, true), // blocks
      (v.getInt32(o + 64, true) * 4294967296 + v.getUint32(o + 60, true)) * 1000 + v.getUint32(o + 68, true) / 1e6,
      (v.getInt32(o + 76, true) * 4294967296 + v.getUint32(o + 72, true)) * 1000 + v.getUint32(o + 80, true) / 1e6,
      (v.getInt32(o + 88, true) * 4294967296 + v.getUint32(o + 84, true)) * 1000 + v.getUint32(o + 92, true) / 1e6,
      this.mapUid(uid),
      this.mapGid(gid),
    );
  }

  /**
   * The same as bigints.  Locals, not an array: du reads bigint stats for
   * exact dev:ino keys, and an array per entry made its walk ~10% slower.
   */
  readBigInt(offset: number): BigIntStats {
    const v = this.view;
    const m = this.mask;
    let o = offset;
    let mode: bigint | undefined, uid: number | undefined, gid: number | undefined;
    let nlink: bigint | undefined, size: bigint | undefined, ino: bigint | undefined;
    let dev: bigint | undefined, rdev: bigint | undefined, blocks: bigint | undefined;
    let blksize: bigint | undefined, atimeNs: bigint | undefined, mtimeNs: bigint | undefined;
    let ctimeNs: bigint | undefined;
    if (m & 1) {
      mode = BigInt(v.getUint32(o, true));
      o += 4;
    }
    if (m & 2) {
      uid = v.getUint32(o, true);
      o += 4;
    }
    if (m & 4) {
      gid = v.getUint32(o, true);
      o += 4;
    }
    if (m & 8) {
      nlink = BigInt(v.getUint32(o, true));
      o += 4;
    }
    if (m & 16) {
      size = v.getBigUint64(o, true);
      o += 8;
    }
    if (m & 32) {
      ino = v.getBigUint64(o, true);
      o += 8;
    }
    if (m & 64) {
      dev = v.getBigUint64(o, true);
      o += 8;
    }
    if (m & 128) {
      rdev = v.getBigUint64(o, true);
      o += 8;
    }
    if (m & 256) {
      blocks = v.getBigUint64(o, true);
      blksize = BigInt(v.getUint32(o + 8, true));
      o += 12;
    }
    if (m & 512) {
      atimeNs = timeNs(v, o);
      o += 12;
    }
    if (m & 1024) {
      mtimeNs = timeNs(v, o);
      o += 12;
    }
    if (m & 2048) {
      ctimeNs = timeNs(v, o);
      o += 12;
    }
    this.offset = o;
    return new BigIntStats(
      dev as bigint,
      ino as bigint,
      mode as bigint,
      nlink as bigint,
      (uid === undefined ? undefined : BigInt(uid)) as bigint,
      (gid === undefined ? undefined : BigInt(gid)) as bigint,
      rdev as bigint,
      size as bigint,
      blksize as bigint,
      blocks as bigint,
      atimeNs as bigint,
      mtimeNs as bigint,
      ctimeNs as bigint,
      (uid === undefined ? undefined : BigInt(this.mapUid(uid))) as bigint,
      (gid === undefined ? undefined : BigInt(this.mapGid(gid))) as bigint,
    );
  }
}

function u64(v: DataView, o: number): number {
  return v.getUint32(o + 4, true) * 4294967296 + v.getUint32(o, true);
}

function timeMs(v: DataView, o: number): number {
  const seconds = v.getInt32(o + 4, true) * 4294967296 + v.getUint32(o, true);
  return seconds * 1000 + v.getUint32(o + 8, true) / 1e6;
}

function timeNs(v: DataView, o: number): bigint {
  return v.getBigInt64(o, true) * 1000000000n + BigInt(v.getUint32(o + 8, true));
}

/** The stat fields a walk can ask for, in the order they are packed. */
export const STAT_FIELDS = ['mode', 'uid', 'gid', 'nlink', 'size', 'ino', 'dev', 'rdev', 'blocks', 'atime', 'mtime', 'ctime'] as const;
/**
 * A stat field a walk can ask for (WalkOptions.stat).
 * @useDeclaredType
 */
export type StatField = (typeof STAT_FIELDS)[number];

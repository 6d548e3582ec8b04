// The wire format of native/core/protocol.h, for the TypeScript side.  The
// addon exports the same constants (native().protocol): the loader compares
// PROTOCOL_VERSION, and test/protocol.test.ts compares the rest.
import { fsError, type FsError } from '../core/errors';
import { STAT_FIELDS, type StatField } from '../core/stats';

/** Bumped with native/core/protocol.h's kProtocolVersion. */
export const PROTOCOL_VERSION = 6;

export const FRAME_HEADER = 12;
/** Requests the server reads (longer ones get E2BIG); paths are far shorter. */
export const MAX_REQUEST = 64 * 1024;
/** Largest data frame a read may ask for, and most frames a stream may run ahead. */
export const MAX_CHUNK = 1 << 20;
export const MAX_WINDOW = 64;
export const MAX_WALK_THREADS = 16;
/** A walk's exclude patterns: at most this many, each at most this many bytes. */
export const MAX_EXCLUDES = 256;
export const MAX_EXCLUDE_BYTES = 4095;
/** An end frame flag: the request was cut short (cancelled, or the server stopping). */
export const END_CANCELLED = 1;
/** A read's end (exclusive) that means "to the end of the file". */
export const TO_END = 0xffffffffffffffffn;

export const enum Op {
  Lstat = 1,
  Stat = 2,
  Readlink = 3,
  ReadFile = 4,
  Walk = 5,
  Credit = 6,
  Cancel = 7,
  Mount = 8,
  Unmount = 9,
  SetRoot = 10,
  Mkdir = 11,
  Unlink = 12,
  Rmdir = 13,
  Rename = 14,
  Link = 15,
  Symlink = 16,
  Chmod = 17,
  Chown = 18,
  Utimes = 19,
  Truncate = 20,
  Write = 21,
  WriteData = 22,
  WriteEnd = 23,
  Remove = 24,
  ChownTree = 25,
  /** Answered by one data frame: records u32 name length, name, u32 value length, value. */
  Xattrs = 26,
  /** u32 mode (type bits too), u64 rdev, u32 uid, u32 gid, path. */
  Mknod = 27,
  /** Strings: name, value, path. */
  SetXattr = 28,
  /** u32 tar flags, u32 window, u32 chunk bytes, path: answered by data frames of a tar stream, then an end frame. */
  Tar = 29,
  /** u32 window, u32 lower count, strings (the lower dirs), upper dir: answered by data frames of change records ("A" | "C" | "D", "d" | "-", path, NUL), then an end frame. */
  Diff = 30,
}

export const enum Reply {
  Stat = 1,
  Data = 2,
  Batch = 3,
  End = 4,
  Error = 5,
  Ready = 6,
  /** u32 data frames a write has written: room for as many more. */
  Credit = 7,
  /** u64 entries a tree job has done so far. */
  Progress = 8,
  /** An error payload, for one entry of a tree job that goes on. */
  EntryError = 9,
}

/** An id a change leaves as it is (-1 in node:fs's chown). */
export const NO_ID = 0xffffffff;
export const MKDIR_RECURSIVE = 1;
/** chown and utimes: on a symlink itself. */
export const NO_FOLLOW = 1;
export const WRITE_TRUNCATE = 1;
export const WRITE_APPEND = 2;
export const WRITE_EXCLUSIVE = 4;
export const TREE_RECURSIVE = 1;
export const TREE_FORCE = 2;
export const TREE_KEEP_GOING = 4;
export const TREE_ALLOW_ROOT = 8;
export const TREE_CROSS_MOUNTS = 16;
/**
 * Tar flags: each entry's xattrs; an overlay upper dir as an OCI layer; a
 * copy (the root itself first as '.', not followed; times to the nanosecond).
 */
export const TAR_XATTRS = 1;
export const TAR_LAYER = 2;
export const TAR_COPY = 4;
/** Entries a tree job does between two progress frames. */
export const PROGRESS_EVERY = 1024;

/** A walk batch starts with u32 names offset, u32 flags; then records, then names. */
export const BATCH_HEADER = 8;
export const BATCH_NAMES_ASCII = 1;

export const enum RecordTag {
  Dir = 1,
  Entry = 2,
  Error = 3,
}

export { STAT_FIELDS, type StatField };
export const ALL_STAT = (1 << STAT_FIELDS.length) - 1;

export const WALK_ONE_FILE_SYSTEM = 1;
export const WALK_THREADS_SHIFT = 8;

/** Encodes one request frame: header, fixed u32 fields, then trailing bytes. */
export function encodeRequest(id: number, op: Op, fields: readonly number[], tail?: Buffer): Buffer {
  const tailLength = tail ? tail.length : 0;
  const frame = Buffer.allocUnsafe(FRAME_HEADER + fields.length * 4 + tailLength);
  frame.writeUInt32LE(frame.length - 4, 0);
  frame.writeUInt32LE(id, 4);
  frame.writeUInt32LE(op, 8);
  let offset = FRAME_HEADER;
  for (const field of fields) {
    frame.writeUInt32LE(field >>> 0, offset);
    offset += 4;
  }
  if (tail) tail.copy(frame, offset);
  return frame;
}

/** A diff request's tail: u32 window, u32 lower count, the lower dirs as strings, the upper dir. */
export function encodeDiff(window: number, lowers: readonly Buffer[], upper: Buffer): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(window, 0);
  head.writeUInt32LE(lowers.length, 4);
  return Buffer.concat([head, encodeStrings(lowers), upper]);
}

/** A tar request's tail: u32 tar flags, u32 window, u32 chunk bytes, path. */
export function encodeTar(flags: number, window: number, chunkBytes: number, path: Buffer): Buffer {
  const tail = Buffer.allocUnsafe(12 + path.length);
  tail.writeUInt32LE(flags, 0);
  tail.writeUInt32LE(window, 4);
  tail.writeUInt32LE(chunkBytes, 8);
  path.copy(tail, 12);
  return tail;
}

/** A read request's tail: u64 start, u64 end (exclusive), u64 limit, u32 window, u32 chunk bytes, path. */
export function encodeRead(
  start: number,
  end: bigint,
  limit: bigint,
  window: number,
  chunkBytes: number,
  path: Buffer,
): Buffer {
  const tail = Buffer.allocUnsafe(32 + path.length);
  tail.writeBigUInt64LE(BigInt(start), 0);
  tail.writeBigUInt64LE(end, 8);
  tail.writeBigUInt64LE(limit, 16);
  tail.writeUInt32LE(window, 24);
  tail.writeUInt32LE(chunkBytes, 28);
  path.copy(tail, 32);
  return tail;
}

/** Length-prefixed strings, as the mount request carries them. */
export function encodeStrings(values: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const value of values) {
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(bytes.length, 0);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

/** The node:fs style error an error reply carries: i32 errno, u16 length, syscall, path. */
export function errorFromPayload(payload: Buffer): FsError {
  const errno = payload.readInt32LE(0);
  const syscallLength = payload.readUInt16LE(4);
  const syscall = payload.toString('latin1', 6, 6 + syscallLength);
  const path = payload.toString('utf8', 6 + syscallLength);
  return fsError(errno, syscall, path.length > 0 ? path : undefined);
}

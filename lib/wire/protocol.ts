// The wire format of native/core/protocol.h, for the TypeScript side; its
// request frames are built in requests.ts.  The addon exports the same
// constants (native().protocol): the loader compares PROTOCOL_VERSION, and
// test/protocol.test.ts compares the rest.
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

/** The node:fs style error an error reply carries: i32 errno, u16 length, syscall, path. */
export function errorFromPayload(payload: Buffer): FsError {
  const errno = payload.readInt32LE(0);
  const syscallLength = payload.readUInt16LE(4);
  const syscall = payload.toString('latin1', 6, 6 + syscallLength);
  const path = payload.toString('utf8', 6 + syscallLength);
  return fsError(errno, syscall, path.length > 0 ? path : undefined);
}

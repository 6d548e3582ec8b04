// One encoder per op: each builds a whole request frame, its fields named
// for what they mean and written in the order native/core/request.cc's
// ParseRequest reads them.  No request frame is built anywhere else
// (test/golden-frames.test.ts sends each through the C++ parser).
import { FRAME_HEADER, NO_ID, Op } from './protocol';

/**
 * A request frame, header and body, whose id the channel writes when it
 * sends it (Channel#request, Channel#control): built for one send.
 */
export type RequestFrame = Buffer & { readonly requestFrame: true };

const U32 = 4;
const U64 = 8;

/** Bytes a length-prefixed string takes: u32 length, the bytes. */
function stringBytes(value: Buffer): number {
  return U32 + value.length;
}

/** Writes one frame front to back; `done()` checks it was filled exactly. */
class FrameWriter {
  readonly frame: Buffer;
  private at = FRAME_HEADER;

  constructor(op: Op, bodyBytes: number) {
    const frame = Buffer.allocUnsafe(FRAME_HEADER + bodyBytes);
    frame.writeUInt32LE(frame.length - 4, 0);
    frame.writeUInt32LE(0, 4); // the id: Channel writes it
    frame.writeUInt32LE(op, 8);
    this.frame = frame;
  }

  u32(value: number): this {
    this.frame.writeUInt32LE(value >>> 0, this.at);
    this.at += U32;
    return this;
  }

  u64(value: bigint): this {
    this.frame.writeBigUInt64LE(value, this.at);
    this.at += U64;
    return this;
  }

  i64(value: bigint): this {
    this.frame.writeBigInt64LE(value, this.at);
    this.at += U64;
    return this;
  }

  /** A length-prefixed string. */
  string(value: Buffer): this {
    this.u32(value.length);
    return this.bytes(value);
  }

  /** Bytes to the end of the frame (a path, a write's data). */
  bytes(value: Uint8Array): this {
    this.frame.set(value, this.at);
    this.at += value.length;
    return this;
  }

  done(): RequestFrame {
    if (this.at !== this.frame.length) throw new Error(`unshare-fs: a request frame of ${this.frame.length} bytes written to ${this.at}`);
    return this.frame as RequestFrame;
  }
}

function pathOnly(op: Op, path: Buffer): RequestFrame {
  return new FrameWriter(op, path.length).bytes(path).done();
}

// ------------------------------------------------------------ reads

/** lstat(2) of `path`: answered by a stat frame. */
export function encodeLstat(path: Buffer): RequestFrame {
  return pathOnly(Op.Lstat, path);
}

/** stat(2) of `path`: answered by a stat frame. */
export function encodeStat(path: Buffer): RequestFrame {
  return pathOnly(Op.Stat, path);
}

/** readlink(2) of `path`: answered by a data frame. */
export function encodeReadlink(path: Buffer): RequestFrame {
  return pathOnly(Op.Readlink, path);
}

/** The xattrs of `path` itself: one data frame of records (u32 name length, name, u32 value length, value). */
export function encodeXattrs(path: Buffer): RequestFrame {
  return pathOnly(Op.Xattrs, path);
}

export interface ReadFileRequest {
  /** The first byte read. */
  start: bigint;
  /** Where the read stops (exclusive); TO_END for the end of the file. */
  end: bigint;
  /** Bytes past which the read fails with EFBIG (readFile's limit). */
  limit: bigint;
  /** Data frames the server may send ahead of credit. */
  window: number;
  /** Bytes per data frame. */
  chunkBytes: number;
}

/** A read of `path`: a stat frame of the open file, data frames against credit, an end frame. */
export function encodeReadFile(read: ReadFileRequest, path: Buffer): RequestFrame {
  return new FrameWriter(Op.ReadFile, 3 * U64 + 2 * U32 + path.length)
    .u64(read.start)
    .u64(read.end)
    .u64(read.limit)
    .u32(read.window)
    .u32(read.chunkBytes)
    .bytes(path)
    .done();
}

export interface WalkRequest {
  /** Levels below the root walked (0xffffffff: all). */
  maxDepth: number;
  /** The stat fields each entry carries, a bit per STAT_FIELDS name. */
  statMask: number;
  /** WALK_ONE_FILE_SYSTEM, and the thread count << WALK_THREADS_SHIFT. */
  flags: number;
  /** Batches the server may send ahead of credit. */
  window: number;
  /** The most bytes of one batch. */
  batchBytes: number;
}

/** A walk of the tree under `root`: batches against credit, then an end frame. */
export function encodeWalk(walk: WalkRequest, excludes: readonly Buffer[], root: Buffer): RequestFrame {
  let bytes = 6 * U32 + root.length;
  for (const pattern of excludes) bytes += stringBytes(pattern);
  const writer = new FrameWriter(Op.Walk, bytes)
    .u32(walk.maxDepth)
    .u32(walk.statMask)
    .u32(walk.flags)
    .u32(walk.window)
    .u32(walk.batchBytes)
    .u32(excludes.length);
  for (const pattern of excludes) writer.string(pattern);
  return writer.bytes(root).done();
}

/**
 * Bytes of a walk request before its exclude patterns and root: what a
 * walk with neither takes, measured on the encoder itself.
 */
export const WALK_FIXED_BYTES =
  encodeWalk({ maxDepth: 0, statMask: 0, flags: 0, window: 0, batchBytes: 0 }, [], Buffer.alloc(0)).length - FRAME_HEADER;

/** The bytes an exclude pattern adds to a walk request. */
export function excludeBytes(pattern: Buffer): number {
  return stringBytes(pattern);
}

export interface TarRequest {
  /** TAR_XATTRS, TAR_LAYER, TAR_COPY. */
  flags: number;
  /** Data frames the server may send ahead of credit. */
  window: number;
  /** Bytes per data frame. */
  chunkBytes: number;
}

/** The tree under `path` as a tar stream: data frames against credit, then an end frame. */
export function encodeTar(tar: TarRequest, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Tar, 3 * U32 + path.length).u32(tar.flags).u32(tar.window).u32(tar.chunkBytes).bytes(path).done();
}

/**
 * What the overlay upper dir `upper` changed against `lowers` (top to
 * bottom): data frames of change records against credit, then an end frame.
 */
export function encodeDiff(window: number, lowers: readonly Buffer[], upper: Buffer, flags = 0): RequestFrame {
  let bytes = 3 * U32 + upper.length;
  for (const lower of lowers) bytes += stringBytes(lower);
  const writer = new FrameWriter(Op.Diff, bytes).u32(flags).u32(window).u32(lowers.length);
  for (const lower of lowers) writer.string(lower);
  return writer.bytes(upper).done();
}

// ------------------------------------------------------------ a running request's control frames

/** Room for `frames` more frames of a running stream. */
export function encodeCredit(frames: number): RequestFrame {
  return new FrameWriter(Op.Credit, U32).u32(frames).done();
}

/** Stops a running request; it ends with an end frame flagged END_CANCELLED. */
export function encodeCancel(): RequestFrame {
  return new FrameWriter(Op.Cancel, 0).done();
}

/** The server's counters (a data frame of u32s, Counter's order): what tests read to see that nothing happened. */
export function encodeCounters(): RequestFrame {
  return new FrameWriter(Op.Counters, 0).done();
}

/** Bytes for a running write (at most MAX_REQUEST - FRAME_HEADER). */
export function encodeWriteData(data: Uint8Array): RequestFrame {
  return new FrameWriter(Op.WriteData, data.length).bytes(data).done();
}

/**
 * A pruning walk's answer about the directories it listed since the last
 * one (at most PRUNE_ASK): a byte each, 1 to descend, 0 to prune.
 */
export function encodeDescend(verdicts: Uint8Array): RequestFrame {
  return new FrameWriter(Op.Descend, verdicts.length).bytes(verdicts).done();
}

/** The end of a running write's data: the file is closed, then an end frame. */
export function encodeWriteEnd(): RequestFrame {
  return new FrameWriter(Op.WriteEnd, 0).done();
}

// ------------------------------------------------------------ changes

export interface MkdirRequest {
  /** Permission bits (07777). */
  mode: number;
  /** MKDIR_RECURSIVE. */
  flags: number;
  /** Owner, as the server sees ids; NO_ID leaves it. */
  uid: number;
  gid: number;
}

/** mkdir(2) of `path`: an end frame, a recursive one's carrying the first directory made. */
export function encodeMkdir(mkdir: MkdirRequest, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Mkdir, 4 * U32 + path.length).u32(mkdir.mode).u32(mkdir.flags).u32(mkdir.uid).u32(mkdir.gid).bytes(path).done();
}

/** unlink(2) of `path`. */
export function encodeUnlink(path: Buffer): RequestFrame {
  return pathOnly(Op.Unlink, path);
}

/** rmdir(2) of `path`. */
export function encodeRmdir(path: Buffer): RequestFrame {
  return pathOnly(Op.Rmdir, path);
}

function twoStrings(op: Op, first: Buffer, second: Buffer): RequestFrame {
  return new FrameWriter(op, stringBytes(first) + stringBytes(second)).string(first).string(second).done();
}

/** rename(2) of `oldPath` to `newPath`. */
export function encodeRename(oldPath: Buffer, newPath: Buffer): RequestFrame {
  return twoStrings(Op.Rename, oldPath, newPath);
}

/** link(2): a hard link `newPath` to `existingPath`. */
export function encodeLink(existingPath: Buffer, newPath: Buffer): RequestFrame {
  return twoStrings(Op.Link, existingPath, newPath);
}

/** A copy of the regular file `from` to `to` made in the server (CopyFlag: exclusive, source not followed). */
export function encodeCopyFile(flags: number, from: Buffer, to: Buffer): RequestFrame {
  return new FrameWriter(Op.CopyFile, U32 + stringBytes(from) + stringBytes(to)).u32(flags).string(from).string(to).done();
}

/** symlink(2): a symlink at `path` whose target is `target`, as given. */
export function encodeSymlink(target: Buffer, path: Buffer): RequestFrame {
  return twoStrings(Op.Symlink, target, path);
}

/** chmod(2) of `path` to `mode` (permission bits). */
export function encodeChmod(mode: number, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Chmod, U32 + path.length).u32(mode).bytes(path).done();
}

export interface ChownRequest {
  /** As the server sees ids; NO_ID leaves one as it is. */
  uid: number;
  gid: number;
  /** NO_FOLLOW: the symlink itself. */
  flags: number;
}

/** chown(2) (or lchown) of `path`. */
export function encodeChown(chown: ChownRequest, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Chown, 3 * U32 + path.length).u32(chown.uid).u32(chown.gid).u32(chown.flags).bytes(path).done();
}

export interface UtimesRequest {
  atimeSeconds: bigint;
  atimeNanoseconds: number;
  mtimeSeconds: bigint;
  mtimeNanoseconds: number;
  /** NO_FOLLOW: the symlink itself. */
  flags: number;
}

/** utimensat(2) of `path`. */
export function encodeUtimes(times: UtimesRequest, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Utimes, 2 * (U64 + U32) + U32 + path.length)
    .i64(times.atimeSeconds)
    .u32(times.atimeNanoseconds)
    .i64(times.mtimeSeconds)
    .u32(times.mtimeNanoseconds)
    .u32(times.flags)
    .bytes(path)
    .done();
}

/** truncate(2) of `path` to `length` bytes. */
export function encodeTruncate(length: bigint, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Truncate, U64 + path.length).u64(length).bytes(path).done();
}

export interface WriteRequestFields {
  /** WriteFlag bits: Truncate, Append, Exclusive, NoCreate, Sync, Flush. */
  flags: number;
  /** Permission bits of a file the write creates. */
  mode: number;
  /** Owner of a file the write creates; NO_ID: the server's. */
  uid: number;
  gid: number;
  /** Data frames the client may send ahead of the server's credit. */
  window: number;
  /** The offset the writes begin at (createWriteStream's `start`); 0 by default. */
  position?: bigint;
}

/** Opens `path` for a streamed write: WriteData frames against credit, then WriteEnd. */
export function encodeWrite(write: WriteRequestFields, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Write, 5 * U32 + 8 + path.length)
    .u32(write.flags)
    .u32(write.mode)
    .u32(write.uid)
    .u32(write.gid)
    .u32(write.window)
    .u64(write.position ?? 0n)
    .bytes(path)
    .done();
}

export interface MknodRequest {
  /** The type bits (S_IFIFO, S_IFCHR, S_IFBLK) and the permission bits. */
  mode: number;
  /** The device number, as the kernel encodes a dev_t (makedev). */
  rdev: bigint;
  uid: number;
  gid: number;
}

/** The kernel's encoding of a dev_t (glibc's makedev). */
export function makedev(major: number, minor: number): bigint {
  return (BigInt(major & 0xfffff000) << 32n) | (BigInt(major & 0xfff) << 8n) | (BigInt(minor & 0xffffff00) << 12n) | BigInt(minor & 0xff);
}

/** mknod(2) of `path`. */
export function encodeMknod(mknod: MknodRequest, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Mknod, U32 + U64 + 2 * U32 + path.length)
    .u32(mknod.mode)
    .u64(mknod.rdev)
    .u32(mknod.uid)
    .u32(mknod.gid)
    .bytes(path)
    .done();
}

/** lsetxattr(2): the attribute `name` of `path` itself set to `value`. */
export function encodeSetXattr(name: Buffer, value: Buffer, path: Buffer): RequestFrame {
  return new FrameWriter(Op.SetXattr, stringBytes(name) + stringBytes(value) + stringBytes(path))
    .string(name)
    .string(value)
    .string(path)
    .done();
}

export interface TreeRequest {
  /** TREE_* flags. */
  flags: number;
  /** chown -R's ids (NO_ID for rm). */
  uid: number;
  gid: number;
}

function treeJob(op: Op, tree: TreeRequest, path: Buffer): RequestFrame {
  return new FrameWriter(op, 3 * U32 + path.length).u32(tree.flags).u32(tree.uid).u32(tree.gid).bytes(path).done();
}

/** rm (-r) of `path` as a job: progress frames, entry errors, an end frame with its counts. */
export function encodeRemove(flags: number, path: Buffer): RequestFrame {
  return treeJob(Op.Remove, { flags, uid: NO_ID, gid: NO_ID }, path);
}

/** chown -R of `path` as a job, as encodeRemove's. */
export function encodeChownTree(tree: TreeRequest, path: Buffer): RequestFrame {
  return treeJob(Op.ChownTree, tree, path);
}

// ------------------------------------------------------------ requests only the library's own objects make

export interface MountRequest {
  /** MS_* flags. */
  flags: bigint;
  source: Buffer;
  target: Buffer;
  fstype: Buffer;
  /** The options string (overlay's lowerdir=…). */
  data: Buffer;
}

/** mount(2) in the server's mount namespace: only a Namespace's own worker accepts it. */
export function encodeMount(mount: MountRequest): RequestFrame {
  const bytes = U64 + stringBytes(mount.source) + stringBytes(mount.target) + stringBytes(mount.fstype) + stringBytes(mount.data);
  return new FrameWriter(Op.Mount, bytes)
    .u64(mount.flags)
    .string(mount.source)
    .string(mount.target)
    .string(mount.fstype)
    .string(mount.data)
    .done();
}

/** umount2(2) of `target` with `flags` (MNT_*): only a Namespace's own worker accepts it. */
export function encodeUnmount(flags: number, target: Buffer): RequestFrame {
  return new FrameWriter(Op.Unmount, U32 + target.length).u32(flags).bytes(target).done();
}

/** Makes the server resolve every later path inside `dir` (RESOLVE_IN_ROOT); a worker takes it once. */
export function encodeSetRoot(dir: Buffer): RequestFrame {
  return pathOnly(Op.SetRoot, dir);
}

// ------------------------------------------------------------ node:fs's other path calls

/** access(2) of `path` with `mode` (F_OK, or R_OK | W_OK | X_OK): an end frame. */
export function encodeAccess(mode: number, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Access, U32 + path.length).u32(mode).bytes(path).done();
}

/** The canonical path of `path`, resolved by the server: a data frame. */
export function encodeRealpath(path: Buffer): RequestFrame {
  return pathOnly(Op.Realpath, path);
}

/** statfs(2) of `path`: a data frame of STATFS_FIELDS u64s. */
export function encodeStatfs(path: Buffer): RequestFrame {
  return pathOnly(Op.Statfs, path);
}

// ------------------------------------------------------------ open files

/** open(2) of `path` (Linux O_* `flags` within OPEN_FLAGS, `mode` a created file's): a data frame of the u32 handle. */
export function encodeOpen(flags: number, mode: number, path: Buffer): RequestFrame {
  return new FrameWriter(Op.Open, 2 * U32 + path.length).u32(flags).u32(mode).bytes(path).done();
}

/** At most `length` bytes of `handle` at `position` (TO_END: the file's own position): a data frame. */
export function encodeHandleRead(handle: number, length: number, position: bigint): RequestFrame {
  return new FrameWriter(Op.HandleRead, 2 * U32 + U64).u32(handle).u32(length).u64(position).done();
}

/** `data` written to `handle` at `position` (TO_END: the file's own position): a data frame of the u32 count written. */
export function encodeHandleWrite(handle: number, position: bigint, data: Uint8Array): RequestFrame {
  return new FrameWriter(Op.HandleWrite, U32 + U64 + data.length).u32(handle).u64(position).bytes(data).done();
}

/** fstat(2) of `handle`: a stat frame. */
export function encodeHandleStat(handle: number): RequestFrame {
  return new FrameWriter(Op.HandleStat, U32).u32(handle).done();
}

/** ftruncate(2) of `handle` to `length` bytes. */
export function encodeHandleTruncate(handle: number, length: bigint): RequestFrame {
  return new FrameWriter(Op.HandleTruncate, U32 + U64).u32(handle).u64(length).done();
}

/** fchmod(2) of `handle` to `mode` (permission bits). */
export function encodeHandleChmod(handle: number, mode: number): RequestFrame {
  return new FrameWriter(Op.HandleChmod, 2 * U32).u32(handle).u32(mode).done();
}

/** fchown(2) of `handle` (ids as the server sees them; NO_ID leaves one). */
export function encodeHandleChown(handle: number, uid: number, gid: number): RequestFrame {
  return new FrameWriter(Op.HandleChown, 3 * U32).u32(handle).u32(uid).u32(gid).done();
}

/** fsync(2) of `handle`, or fdatasync(2) with SYNC_DATA. */
export function encodeHandleSync(handle: number, flags: number): RequestFrame {
  return new FrameWriter(Op.HandleSync, 2 * U32).u32(handle).u32(flags).done();
}

/** The next entries of the directory `handle` holds open: a data frame of one walk batch, one without records at the end. */
export function encodeHandleReaddir(handle: number): RequestFrame {
  return new FrameWriter(Op.HandleReaddir, U32).u32(handle).done();
}

/** close(2) of `handle`: the handle is gone once this is sent. */
export function encodeClose(handle: number): RequestFrame {
  return new FrameWriter(Op.Close, U32).u32(handle).done();
}

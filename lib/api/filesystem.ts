// The file API served over a channel: the same for host paths (an in-process
// server thread) and for namespace sessions (a forked worker).
import { constants, promises as fsp, statfsSync } from 'node:fs';
import * as nodePath from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';

import { FileWriteStream, chunkBytes, treeJob, writeAll, type WriteTarget } from '../wire/change';
import type { Channel } from '../wire/channel';
import { copyIn, copyOut, type CheckedCopyOptions, type CopyInOptions, type CopyOptions, type CopyResult } from '../layers/copy';
import { ChangeList, LAYER_FORMATS, type DiffOptions, type LayerChange } from '../layers/diff';
import { checkCpOptions, cp, CP_OPTIONS, type CopyProgress, type CpOptions } from './cp';
import { du, type DiskUsage, type DuOptions, type DuSource, type SumTreeOptions } from '../layers/du';
import { TAR_CHUNK, tarFlags, tarProgress, type ExportOptions, type LayerExportOptions } from '../layers/export';
import { checkProgress, progressTicker } from '../core/progress';
import { extractTar, type ExtractOptions, type ExtractResult } from '../layers/extract';
import { CallSite, abortError, errnoError, systemFsError, withCallerStack, type FsError } from '../core/errors';
import { ERRNO } from '../core/errno';
import {
  checkBoolean,
  checkInteger,
  checkMode,
  checkNameEncoding,
  checkNoHandle,
  checkOnError,
  checkOpenBits,
  checkOpenFlags,
  checkOneOf,
  checkOptionsObject,
  checkOwnerId,
  checkPath,
  checkPathLength,
  checkSignal,
  checkString,
  checkTime,
  invalid,
  invalidValue,
  pathOf,
  type OpenFlags,
} from '../core/checks';
import { checkWalkOptions } from '../wire/walk-request';
import { Dir, handleSource, walkSource } from './dir';
import { FileHandle } from './file-handle';
import type * as Crypto from 'node:crypto';
import {
  CopyFlag,
  DiffFlag,
  MKDIR_RECURSIVE,
  NO_FOLLOW,
  NO_ID,
  StatfsField,
  TarFlag,
  TreeFlag,
  WalkFlag,
  WriteFlag as WriteBit,
} from '../wire/protocol';
import {
  encodeAccess,
  encodeOpen,
  encodeRealpath,
  encodeStatfs,
  encodeChmod,
  encodeChown,
  encodeChownTree,
  encodeCopyFile,
  encodeDiff,
  encodeLink,
  encodeLstat,
  encodeMkdir,
  encodeMknod,
  makedev,
  encodeReadlink,
  encodeRemove,
  encodeRename,
  encodeRmdir,
  encodeSetXattr,
  encodeStat,
  encodeSymlink,
  encodeTar,
  encodeTruncate,
  encodeUnlink,
  encodeUtimes,
  encodeXattrs,
  type RequestFrame,
} from '../wire/requests';
import { FileReadStream, rangeRequest, readWhole, receive } from '../wire/read-stream';
import { request, statAnswer, xattrRecords } from '../wire/answer';
import { Entry } from '../core/entry';
import type { BigIntStats, IdMapper, Stats } from '../core/stats';
import { BatchIterator, BatchStream, EntryIterator } from '../wire/walk-stream';
import type {
  AccessMode,
  ChownOptions,
  MkdtempOptions,
  OpendirOptions,
  StatFs,
  Dirent,
  MkdirOptions,
  MknodOptions,
  PathLike,
  ReadFileOptions,
  ReaddirOptions,
  ReadlinkOptions,
  ReadStreamOptions,
  RmdirOptions,
  RmOptions,
  SignalOptions,
  StatOptions,
  TreeOptions,
  TreeResult,
  WalkOptions,
  WalkResult,
  WriteData,
  WriteFileOptions,
  WriteStreamOptions,
} from '../core/options';

/** The errors node's rm retries after (lib/internal/fs/rimraf.js). */
/** Whether this node's StatFs has `frsize` (node 22 and later): statfs gives what node gives.  Asked at the first statfs, not at import. */
let nodeStatfsFrsize: boolean | undefined;

const RETRYABLE = new Set(['EBUSY', 'EMFILE', 'ENFILE', 'ENOTEMPTY', 'EPERM']);

/** How paths given to the API become paths the server opens. */
export type PathResolver = (path: string) => string;

/** What a FileSystem is served by: its owner's, never reachable from the object. */
export interface Backend {
  /** The channel to the server; throws ECLOSED once the owner is closed. */
  channel(): Channel;
  resolvePath: PathResolver;
  mapUid: IdMapper;
  mapGid: IdMapper;
  /** From a host id to the id seen inside (copyFromHost with preserveOwnership). */
  unmapUid: IdMapper;
  unmapGid: IdMapper;
}

const READ_FILE_OPTIONS = ['encoding', 'flag', 'signal'];
/** mkdtemp's suffix characters, glibc's. */
const TEMP_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Names mkdtemp tries before giving up with EEXIST. */
const MKDTEMP_ATTEMPTS = 100;
const SLASH = 0x2f;
const DOT = 0x2e;
const DEFAULT_STREAM_CHUNK = 64 * 1024;
const RM_OPTIONS = ['recursive', 'force', 'maxRetries', 'retryDelay', 'allowRoot', 'onError', 'onProgress', 'crossMounts', 'signal'];
/** fs.createReadStream's options; `fd` and `fs` only as null (checkNoHandle). */
const READ_STREAM_OPTIONS = ['flags', 'encoding', 'fd', 'mode', 'autoClose', 'emitClose', 'start', 'end', 'highWaterMark', 'fs', 'signal'];
/** fs.createWriteStream's options, and the owner's ids. */
const WRITE_STREAM_OPTIONS = [
  ...['flags', 'encoding', 'fd', 'mode', 'autoClose', 'emitClose', 'start', 'fs', 'signal', 'highWaterMark', 'flush'],
  ...['uid', 'gid'],
];
/** Frames of change records a diff sends ahead of the reader. */
const DIFF_WINDOW = 4;

let backendOf: (fs: FileSystem) => Backend;

/**
 * What the library's du (layers/du.ts) needs of `fs`: its lstat, and a
 * summing walk that no method offers (the server sums the tree, node gets
 * the sums).  For FileSystem#du and podman's sizes.
 */
export let duSourceOf: (fs: FileSystem) => DuSource;

/**
 * The backend of `fs`, for the library's own requests that are no methods
 * (lib/wire/privileged.ts): never reachable from the object itself.
 */
export function serverOf(fs: FileSystem): Backend {
  return backendOf(fs);
}

/**
 * The file API: reads (walk, stat, readdir, readFile, streams …) and changes
 * (mkdir, writeFile, rm, chown …), served by a worker inside a container's
 * namespaces (a Session) or by a thread of this process for host paths (`host`).
 * Paths are as the server sees them; ids in stats and options are the ids
 * seen inside.  Errors are node:fs style (`code`, `errno`, `syscall`, `path`).
 */
export abstract class FileSystem {
  readonly #backend: Backend;

  static {
    backendOf = (fs) => fs.#backend;
    duSourceOf = (fs) => ({
      lstat: (path, options) => fs.lstat(path, options),
      sumTree: (path, options) => fs.#sumTree(path, options),
    });
  }

  /**
   * Not for use: sessions and `host` make file systems, each with a backend of its own.
   * @internal
   */
  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /**
   * Walks the tree under `root` (not `root` itself), one entry at a time:
   * fs.Dirent-shaped entries (`name`, `parentPath`, the `is…()` methods)
   * with `fullPath`, `type`, `depth` and the stats asked for.  `exclude`
   * prunes in the walker (an excluded directory is never opened), `prune`
   * by a JavaScript predicate on each directory (the walker waits for its
   * answer); `filter` only keeps or drops entries.  Symlinks are never
   * followed.  As node's fs.Dirent, an entry's `parentPath` (and `path`)
   * is the directory it is in: its full path is `fullPath`.
   *
   * @example
   * ```ts
   * import { walk } from 'unshare-fs';
   *
   * let bytes = 0;
   * for await (const entry of walk('/var/lib/app', { stat: ['size'], exclude: ['node_modules', '.git'] })) {
   *   if (entry.isFile()) bytes += entry.stats.size;
   * }
   * console.log(`${bytes} bytes`);
   * ```
   * @throws through the iteration, node:fs-style errors: those of `root` itself (`ENOENT`, `ENOTDIR`, `EACCES`; `scandir`), and with `onError: 'throw'` (the default) the first one inside the tree; UnshareFsError `ECLOSED` (the session closed), `EWORKERDIED` (its worker ended); an `AbortError` when `signal` aborts.
   * `TypeError` or `RangeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`) for bad options, at the call.
   */
  walk(root: PathLike): AsyncIterableIterator<Entry<string, undefined>>;
  walk<const O extends WalkOptions>(root: PathLike, options: O): AsyncIterableIterator<WalkResult<O>>;
  walk(root: PathLike, options?: WalkOptions): AsyncIterableIterator<WalkResult<WalkOptions>>;
  walk(root: PathLike, options?: WalkOptions): AsyncIterableIterator<WalkResult<WalkOptions>> {
    return new EntryIterator(this.#startWalk(root, options, this.walk, 'walk')) as AsyncIterableIterator<WalkResult<WalkOptions>>;
  }

  /** Walks the tree under `root` as walk() does, an array per batch the walker sends (hundreds of entries with stats, thousands without). */
  walkBatches(root: PathLike): AsyncIterableIterator<Entry<string, undefined>[]>;
  walkBatches<const O extends WalkOptions>(root: PathLike, options: O): AsyncIterableIterator<WalkResult<O>[]>;
  walkBatches(root: PathLike, options?: WalkOptions): AsyncIterableIterator<WalkResult<WalkOptions>[]>;
  walkBatches(root: PathLike, options?: WalkOptions): AsyncIterableIterator<WalkResult<WalkOptions>[]> {
    return new BatchIterator(this.#startWalk(root, options, this.walkBatches, 'walkBatches')) as AsyncIterableIterator<
      WalkResult<WalkOptions>[]
    >;
  }

  /**
   * lstat(2) of `path`: the entry itself, a final symlink not followed.  Stats shaped like
   * fs.Stats, ids as seen inside; BigIntStats with `bigint: true`.
   */
  lstat(path: PathLike, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.#stat(encodeLstat, 'lstat', path, options);
  }

  /** As lstat(), of what a final symlink points to (stat(2)). */
  stat(path: PathLike, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  stat(path: PathLike, options?: StatOptions): Promise<Stats>;
  stat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.#stat(encodeStat, 'stat', path, options);
  }

  /**
   * The names in a directory, as fs.promises.readdir gives them; entries
   * (fs.Dirent's fields and methods) with `withFileTypes`.  With
   * `recursive`, everything under `path`, in one walk in the server: names
   * relative to `path` ('a/b/c'), entries with their own `parentPath`.
   * In walk order (a directory's entries together), not sorted.  Another
   * Buffer encoding than utf8 ('latin1', 'hex' …) gives names in it, as
   * node's: the names are read as bytes and encoded here.
   */
  readdir(path: PathLike, options: ReaddirOptions & { withFileTypes: true; encoding: 'buffer' }): Promise<Dirent<Buffer>[]>;
  readdir(path: PathLike, options: ReaddirOptions & { withFileTypes: true }): Promise<Dirent[]>;
  readdir(path: PathLike, options: (ReaddirOptions & { encoding: 'buffer' }) | 'buffer'): Promise<Buffer[]>;
  readdir(path: PathLike, options?: ReaddirOptions | BufferEncoding): Promise<string[]>;
  async readdir(
    path: PathLike,
    options?: ReaddirOptions | BufferEncoding | 'buffer',
  ): Promise<(string | Buffer | Dirent<string | Buffer>)[]> {
    const o =
      typeof options === 'string'
        ? { encoding: options }
        : checkOptionsObject(options, ['withFileTypes', 'encoding', 'recursive', 'signal'], 'readdir');
    const nameEncoding = checkNameEncoding(o.encoding);
    // Names read as bytes, then encoded as asked; Dirents of a Buffer path
    // keep that Buffer as their parent, as node's do.
    const viaBytes = nameEncoding !== 'utf8' || (o.withFileTypes === true && Buffer.isBuffer(plainPath(path)));
    if (nameEncoding !== 'buffer' && viaBytes) {
      const raw = (await this.readdir(path, { ...o, encoding: 'buffer' } as ReaddirOptions & { encoding: 'buffer' })) as (
        | Buffer
        | Dirent<Buffer>
      )[];
      return raw.map((item) => (Buffer.isBuffer(item) ? item.toString(nameEncoding) : encodedDirent(item, nameEncoding, path)));
    }
    const encoding = nameEncoding;
    const withFileTypes = checkBoolean('withFileTypes', o.withFileTypes);
    const recursive = checkBoolean('recursive', o.recursive);
    const walkOptions = { maxDepth: recursive ? Infinity : 1, encoding, signal: checkSignal(o.signal) } as const;
    const stream = this.#startWalk(path, walkOptions, this.readdir, 'readdir');
    const out: (string | Buffer | Dirent<string | Buffer>)[] = [];
    if (withFileTypes || !recursive) {
      for await (const batch of stream) {
        for (const entry of batch) out.push(withFileTypes ? (entry as Dirent<string | Buffer>) : entry.name);
      }
      return out;
    }
    // Paths relative to `path`: each entry's full path less the root's prefix.
    const prefix = stream.root.endsWith('/') ? stream.root : `${stream.root}/`;
    const skip = encoding === 'buffer' ? Buffer.byteLength(prefix) : prefix.length;
    for await (const batch of stream) {
      for (const entry of batch) {
        const full = entry.fullPath;
        out.push(entry.depth === 1 ? entry.name : typeof full === 'string' ? full.slice(skip) : full.subarray(skip));
      }
    }
    return out;
  }

  /**
   * The target of the symlink `path`, as stored; a Buffer with `encoding:
   * 'buffer'`, a string in another Buffer encoding with that one.
   */
  readlink(path: PathLike, options: (ReadlinkOptions & { encoding: 'buffer' }) | 'buffer'): Promise<Buffer>;
  readlink(path: PathLike, options?: ReadlinkOptions | BufferEncoding): Promise<string>;
  async readlink(path: PathLike, options?: ReadlinkOptions | BufferEncoding | 'buffer'): Promise<string | Buffer> {
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options, ['encoding', 'signal'], 'readlink');
    const encoding = checkNameEncoding(o.encoding);
    const target = await this.#query(encodeReadlink, 'readlink', path, checkSignal(o.signal), this.readlink);
    return encoding === 'buffer' ? target : target.toString(encoding);
  }

  /**
   * Whether the server may reach `path` as `mode` asks (F_OK, or R_OK |
   * W_OK | X_OK): resolves, or rejects with node's errors (ENOENT, EACCES
   * …).  The server's credentials decide: in a namespace the worker's, the
   * container's root, as they would for a process running there.
   */
  async access(path: PathLike, mode?: AccessMode, options?: SignalOptions): Promise<void> {
    const bits = checkInteger('mode', mode ?? undefined, 0, 7, 0);
    return this.#change('access', () => encodeAccess(bits, this.#pathBytes(path, 'access')), options, this.access);
  }

  /**
   * The canonical path of `path`: every symlink followed, as the server
   * resolves them (inside the session's root, never the host's view of
   * it), '.' and '..' gone; ELOOP past 40 symlinks, as node's.  A Buffer
   * with `encoding: 'buffer'`.
   */
  realpath(path: PathLike, options: (ReadlinkOptions & { encoding: 'buffer' }) | 'buffer'): Promise<Buffer>;
  realpath(path: PathLike, options?: ReadlinkOptions | BufferEncoding): Promise<string>;
  async realpath(path: PathLike, options?: ReadlinkOptions | BufferEncoding | 'buffer'): Promise<string | Buffer> {
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options, ['encoding', 'signal'], 'realpath');
    const encoding = checkNameEncoding(o.encoding);
    const resolved = await this.#query(encodeRealpath, 'realpath', path, checkSignal(o.signal), this.realpath);
    return encoding === 'buffer' ? resolved : resolved.toString(encoding);
  }

  /** statfs(2) of the file system holding `path`, as node's StatFs; bigints with `bigint: true`. */
  statfs(path: PathLike, options: StatOptions & { bigint: true }): Promise<StatFs<bigint>>;
  statfs(path: PathLike, options?: StatOptions): Promise<StatFs<number>>;
  async statfs(path: PathLike, options?: StatOptions): Promise<StatFs<number> | StatFs<bigint>> {
    const o = checkOptionsObject(options, ['bigint', 'signal'], 'statfs');
    const bigint = checkBoolean('bigint', o.bigint);
    const answer = await this.#query(encodeStatfs, 'statfs', path, checkSignal(o.signal), this.statfs);
    const field = (at: StatfsField): bigint => answer.readBigUInt64LE(at * 8);
    const fields = {
      type: field(StatfsField.Type),
      bsize: field(StatfsField.Bsize),
      blocks: field(StatfsField.Blocks),
      bfree: field(StatfsField.Bfree),
      bavail: field(StatfsField.Bavail),
      files: field(StatfsField.Files),
      ffree: field(StatfsField.Ffree),
      ...((nodeStatfsFrsize ??= 'frsize' in statfsSync('/')) && { frsize: field(StatfsField.Frsize) }),
    };
    if (bigint) return fields;
    const numbers = {} as StatFs<number>;
    for (const [key, value] of Object.entries(fields)) numbers[key as keyof StatFs<number>] = Number(value);
    return numbers;
  }

  /**
   * The directory `path` open for reading, as node's fs.Dir: entries
   * (readdir's `withFileTypes` Dirents) come in batches as they are read,
   * from the directory the server holds open (one of the session's
   * MAX_HANDLES, as node's Dir holds an fd), or with `recursive` from a
   * walk in the server.  `bufferSize` is accepted and checked as node's;
   * the server's batches decide how many are held.
   */
  opendir(path: PathLike, options: OpendirOptions & { encoding: 'buffer' }): Promise<Dir<Buffer>>;
  opendir(path: PathLike, options?: OpendirOptions): Promise<Dir<string>>;
  async opendir(path: PathLike, options?: OpendirOptions): Promise<Dir<string> | Dir<Buffer>> {
    const o = checkOptionsObject(options, ['encoding', 'bufferSize', 'recursive', 'signal'], 'opendir');
    const encoding = checkNameEncoding(o.encoding);
    if (encoding !== 'utf8' && encoding !== 'buffer') throw invalidValue('encoding', "'utf8' or 'buffer'", o.encoding);
    checkInteger('bufferSize', o.bufferSize, 1, 2 ** 32 - 1, 32);
    const recursive = checkBoolean('recursive', o.recursive);
    const signal = checkSignal(o.signal);
    const shown = plainPath(path).toString();
    // The errors of the open and of the walk name their own syscalls; node's opendir names itself.
    const renamed = (error: unknown): Error => {
      const { code, syscall } = error as FsError;
      const named =
        (syscall === 'scandir' || syscall === 'open') && code in ERRNO ? errnoError(code as keyof typeof ERRNO, 'opendir', shown) : error;
      return withCallerStack(named as Error, this.opendir);
    };
    if (recursive) {
      const stream = this.#startWalk(path, { maxDepth: Infinity, encoding, signal }, this.opendir, 'opendir');
      let first: IteratorResult<Dirent<string | Buffer>[]>;
      try {
        first = (await stream.next()) as IteratorResult<Dirent<string | Buffer>[]>;
      } catch (error) {
        throw renamed(error);
      }
      const batches = stream as AsyncIterator<Dirent<string | Buffer>[]>;
      return new Dir(shown, walkSource(batches), first.done ? [] : first.value) as Dir<string> | Dir<Buffer>;
    }
    if (signal?.aborted) throw withCallerStack(abortError(signal), this.opendir);
    const backend = this.#backend;
    const bytes = this.#pathBytes(path, 'opendir');
    let handle: number;
    try {
      handle = (await request(backend.channel(), encodeOpen(constants.O_RDONLY | constants.O_DIRECTORY, 0, bytes))).readUInt32LE(0);
    } catch (error) {
      throw renamed(error);
    }
    const channel = (): Channel => backend.channel();
    // The entries' parentPath, as a walk's root gives it.
    const plain = plainPath(path);
    const root = typeof plain === 'string' ? bytes.toString('utf8') : backend.resolvePath(checkPath(plain).toString('utf8'));
    const source = handleSource<string | Buffer>(channel, handle, {
      root,
      statMask: 0,
      bigint: false,
      encoding,
      mapUid: backend.mapUid,
      mapGid: backend.mapGid,
    });
    // Aborted while the open was answered: the directory is let go at once.
    if (signal?.aborted) {
      await source.close().catch(() => undefined);
      throw withCallerStack(abortError(signal), this.opendir);
    }
    return new Dir(shown, source, []) as Dir<string> | Dir<Buffer>;
  }

  /**
   * Makes a directory `prefix` + six random characters (mode 0700), as
   * node's mkdtemp: the name is chosen here and made by a mkdir in the
   * server that fails on EEXIST, then another name is tried.  Resolves
   * with the path as given, not resolved.
   */
  mkdtemp(prefix: string, options: (MkdtempOptions & { encoding: 'buffer' }) | 'buffer'): Promise<Buffer>;
  mkdtemp(prefix: string, options?: MkdtempOptions | BufferEncoding): Promise<string>;
  async mkdtemp(prefix: string, options?: MkdtempOptions | BufferEncoding | 'buffer'): Promise<string | Buffer> {
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options, ['encoding', 'signal'], 'mkdtemp');
    const encoding = checkNameEncoding(o.encoding);
    checkPath(prefix, 'prefix');
    const base = plainPath(prefix).toString();
    const signal = checkSignal(o.signal);
    // node:crypto loaded on first use, not by every user of the package entry.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { randomInt } = require('node:crypto') as typeof Crypto;
    for (let attempt = 0; ; attempt++) {
      let name = base;
      for (let i = 0; i < 6; i++) name += TEMP_CHARS[randomInt(TEMP_CHARS.length)];
      try {
        await this.mkdir(name, { mode: 0o700, signal });
        return encoding === 'buffer' ? Buffer.from(name) : Buffer.from(name).toString(encoding);
      } catch (error) {
        const code = (error as FsError).code;
        // glibc's mkdtemp tries TMP_MAX names; a few hundred collisions in a row mean something else is wrong.
        if (code === 'EEXIST' && attempt < MKDTEMP_ATTEMPTS) continue;
        const renamed = code in ERRNO ? errnoError(code as keyof typeof ERRNO, 'mkdtemp', name) : (error as Error);
        throw withCallerStack(renamed, this.mkdtemp);
      }
    }
  }

  /**
   * Opens `path` in the server, as node's fs/promises open: a FileHandle
   * whose every call is a request naming the file the server holds open.
   * `flags` are node's (strings or O_* numbers; 'r' by default), `mode` a
   * created file's (0666).  Opened with O_NONBLOCK (so a FIFO without a
   * writer opens at once, one without a reader is ENXIO, and a read with
   * nothing to read is EAGAIN, never a wait); see FileHandle for `fd`.
   */
  async open(path: PathLike, flags?: string | number, mode?: number | string): Promise<FileHandle> {
    const bits = checkOpenBits('flags', flags, 'r');
    const created = checkMode('mode', mode, 0o666);
    const frame = encodeOpen(bits, created, this.#pathBytes(path, 'open'));
    let answer: Buffer;
    try {
      answer = await request(this.#backend.channel(), frame);
    } catch (error) {
      throw withCallerStack(error as Error, this.open);
    }
    return new FileHandle(this.#backend, answer.readUInt32LE(0));
  }

  /** A one-answer request about `path` (its data frame), errors with the stack of `caller`'s caller. */
  async #query(
    encode: (path: Buffer) => RequestFrame,
    syscall: string,
    path: PathLike,
    signal: AbortSignal | undefined,
    caller: (...args: never[]) => unknown,
  ): Promise<Buffer> {
    const frame = encode(this.#pathBytes(path, syscall));
    try {
      return await request(this.#backend.channel(), frame, signal);
    } catch (error) {
      throw withCallerStack(error as Error, caller);
    }
  }

  /**
   * The extended attributes of the entry itself (a final symlink is not
   * followed), name to value; empty where the filesystem keeps none.  What
   * the worker may read: user.* inside a user namespace, trusted.* only as
   * the host's root.
   */
  async xattrs(path: PathLike, options?: SignalOptions): Promise<Map<string, Buffer>> {
    const o = checkOptionsObject(options, ['signal'], 'xattrs');
    return xattrRecords(await this.#query(encodeXattrs, 'getxattr', path, checkSignal(o.signal), this.xattrs));
  }

  /**
   * What the overlay layer `upperDir` changed against `lowerDirs` (top to
   * bottom), with the rules of `podman diff` and `docker diff`, sorted by
   * path.  A whiteout (a 0/0 character device) is a deletion; an opaque
   * directory that hides one below is a deletion too, and what it holds is
   * added; anything else is a change where a lower layer has the path (not
   * hidden by a whiteout of it or of a directory above it) and an addition
   * where none has.  A directory whose size, mode and mtime equal the one
   * below is left out, unless something under it was added or deleted.
   * Entries are never followed.  Walk the layers where they are owned:
   * podman.enterStorage() for rootless podman's.  `format: 'fuse-overlayfs'`
   * for layers fuse-overlayfs wrote (see DiffOptions.format).
   */
  async diffLayers(upperDir: string, lowerDirs: readonly string[], options?: DiffOptions): Promise<LayerChange[]> {
    const upper = checkString('upperDir', upperDir);
    if (!Array.isArray(lowerDirs)) throw invalid('lowerDirs', 'an array of strings', lowerDirs);
    const lowers = lowerDirs.map((dir, i) => this.#pathBytes(checkString(`lowerDirs[${i}]`, dir), 'scandir'));
    const o = checkOptionsObject(options, ['signal', 'format'], 'diffLayers');
    const signal = checkSignal(o.signal);
    const fuse = checkOneOf('format', o.format, LAYER_FORMATS, 'overlay') === 'fuse-overlayfs';
    try {
      const frame = encodeDiff(DIFF_WINDOW, lowers, this.#pathBytes(upper, 'scandir'), fuse ? DiffFlag.FuseOverlayfs : 0);
      return await receive(this.#backend.channel(), upper, frame, signal, new ChangeList(fuse));
    } catch (error) {
      throw withCallerStack(error as Error, this.diffLayers);
    }
  }

  /**
   * A `Readable` of a POSIX (pax) tar of the tree under `path`, names
   * relative to it: ids and modes as the session sees them, mtimes,
   * symlinks, hard links (a file once, then links to its first name),
   * devices, FIFOs, xattrs, any name.  Streamed as it is read: the worker
   * reads ahead only as far as the stream is consumed.  `onProgress(entries,
   * bytes)` hears the members and file bytes sent so far, at most every
   * 100 ms, and the totals before the stream's 'end'.
   *
   * @example
   * ```ts
   * import { createWriteStream } from 'node:fs';
   * import { pipeline } from 'node:stream/promises';
   * import { podman } from 'unshare-fs';
   *
   * await using volume = await podman.enterVolume('data');
   * await pipeline(volume.exportTar('/'), createWriteStream('data.tar'));
   * ```
   * @throws as the stream's `'error'`: node:fs-style errors of the tree (`ENOENT`, `ENOTDIR`, `EACCES` of `path`; an entry that cannot be read); UnshareFsError `ECLOSED`, `EWORKERDIED`; an `AbortError` when `signal` aborts.
   * `TypeError` (`ERR_INVALID_ARG_TYPE`) for a bad path or options, at the call.
   */
  exportTar(path: string, options?: ExportOptions): Readable {
    return this.#export(checkString('path', path), options, 'exportTar', false);
  }

  /**
   * The overlay upper dir `upperDir` as an OCI layer tar: exportTar, with
   * each whiteout device as `.wh.<name>`, each opaque directory marked by
   * `<dir>/.wh..wh..opq`, and overlay's own xattrs left out; with
   * `format: 'fuse-overlayfs'` fuse-overlayfs's markers read as such and
   * written as those (see LayerExportOptions.format).
   */
  exportDiff(upperDir: string, options?: LayerExportOptions): Readable {
    return this.#export(checkString('upperDir', upperDir), options, 'exportDiff', true);
  }

  /** exportTar and exportDiff: one tar request, streamed. */
  #export(root: string, options: LayerExportOptions | undefined, what: string, layer: boolean): Readable {
    const o = checkOptionsObject(options, layer ? ['signal', 'xattrs', 'onProgress', 'format'] : ['signal', 'xattrs', 'onProgress'], what);
    const signal = checkSignal(o.signal);
    const ticker = progressTicker(checkProgress(o.onProgress, what));
    const format = checkOneOf('format', o.format, LAYER_FORMATS, 'overlay');
    const flags = tarFlags(o.xattrs === undefined ? true : checkBoolean('xattrs', o.xattrs), layer, format);
    const backend = this.#backend;
    const pathBytes = this.#pathBytes(root, 'scandir');
    return new FileReadStream({
      channel: () => backend.channel(),
      path: root,
      request: (window, chunkBytes) => encodeTar({ flags, window, chunkBytes }, pathBytes),
      highWaterMark: TAR_CHUNK,
      signal,
      graft: (error) => error,
      ...(ticker === undefined ? {} : { observe: tarProgress(ticker) }),
    });
  }

  /**
   * The tar of `path` a copy reads (TarFlag.Copy): `path` itself first as '.',
   * not followed, and every entry opened by the server relative to a
   * directory it holds, never through a path.
   */
  #copyArchive(path: string, signal: AbortSignal | undefined): Readable {
    const backend = this.#backend;
    const pathBytes = this.#pathBytes(path, 'open');
    return new FileReadStream({
      channel: () => backend.channel(),
      path,
      request: (window, chunkBytes) => encodeTar({ flags: TarFlag.Copy, window, chunkBytes }, pathBytes),
      highWaterMark: TAR_CHUNK,
      signal,
      graft: (error) => error,
    });
  }

  /**
   * Unpacks the tar `source` (a Readable or any async iterable of bytes)
   * into the directory `dir`, each entry with the ids, mode, mtime and
   * xattrs the archive gives it (ids as seen inside).  Never writes outside
   * `dir`: '..' in a name or a hard link is ETARPATH, the archive's
   * symlinks are made after everything else.  With `overlay`, OCI
   * whiteouts become overlayfs's (see lib/layers/extract.ts).
   * `onProgress(entries, bytes)` hears the entries made and file bytes
   * written so far, at most every 100 ms, and the totals before the
   * promise resolves.
   */
  async extractTar(source: AsyncIterable<Buffer | Uint8Array | string>, dir: string, options?: ExtractOptions): Promise<ExtractResult> {
    if (
      source === null ||
      source === undefined ||
      typeof (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== 'function'
    ) {
      throw invalid('source', 'a Readable or an async iterable of Buffers', source);
    }
    const destination = checkString('dir', dir);
    const o = checkOptionsObject(options, ['signal', 'overlay', 'onProgress'], 'extractTar');
    const overlay = o.overlay === undefined ? undefined : checkOneOf('overlay', o.overlay, ['user', 'trusted'], 'user');
    const onProgress = checkProgress(o.onProgress, 'extractTar');
    try {
      return await extractTar(this, source, destination, { signal: checkSignal(o.signal), overlay, onProgress });
    } catch (error) {
      throw withCallerStack(error as Error, this.extractTar);
    }
  }

  /**
   * `du -s` of `path` in one walk, summed in the server (no entry crosses
   * to node): entries, apparent and allocated bytes, a hard-linked file
   * counted once.  `onProgress(entries, bytes)` hears the entries and
   * apparent bytes counted so far, at most every 100 ms, and the totals
   * before the promise resolves; `onError` hears of what cannot be read,
   * as a walk's does.
   */
  async du(path: string, options?: DuOptions): Promise<DiskUsage> {
    const top = checkString('path', path);
    const o = checkOptionsObject(options, ['oneFileSystem', 'signal', 'onProgress', 'onError'], 'du');
    const checked = {
      oneFileSystem: checkBoolean('oneFileSystem', o.oneFileSystem),
      signal: checkSignal(o.signal),
      onProgress: checkProgress(o.onProgress, 'du'),
      onError: checkOnError(o.onError),
    };
    try {
      return await du(duSourceOf(this), top, checked);
    } catch (error) {
      throw withCallerStack(error as Error, this.du);
    }
  }

  /**
   * The whole content of the file `path`: a Buffer, or a string when an encoding is given
   * (as the options or as the second argument).
   */
  readFile(path: PathLike, options: BufferEncoding | (ReadFileOptions & { encoding: BufferEncoding })): Promise<string>;
  readFile(path: PathLike, options?: ReadFileOptions): Promise<Buffer>;
  async readFile(path: PathLike, options?: ReadFileOptions | BufferEncoding): Promise<string | Buffer> {
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options, READ_FILE_OPTIONS, 'readFile');
    const encoding = o.encoding ?? null;
    if (encoding !== null && !Buffer.isEncoding(encoding as string)) {
      throw invalidValue('encoding', 'a Buffer encoding', encoding);
    }
    const flags = checkOpenFlags('flag', o.flag, 'r');
    const signal = checkSignal(o.signal);
    const bytes = this.#pathBytes(path, 'open');
    const shown = plainPath(path).toString();
    let data: Buffer;
    try {
      // A flag that creates or truncates does so first, as node's open does.
      if (flags.create || flags.truncate) {
        const target = { flags: writeBits(flags, false), mode: 0o666, uid: NO_ID, gid: NO_ID };
        await writeAll(this.#backend.channel(), shown, bytes, target, new Uint8Array(0), 'utf8', signal);
      }
      if (!flags.read) throw errnoError('EBADF', 'read');
      data = await readWhole(this.#backend.channel(), shown, bytes, signal);
    } catch (error) {
      throw withCallerStack(error as Error, this.readFile);
    }
    return encoding === null ? data : data.toString(encoding as BufferEncoding);
  }

  /**
   * A Readable of the file's bytes from `start` to `end` (inclusive), read
   * by the server only as fast as the stream is consumed.  Errors (ENOENT,
   * EISDIR …) come as the stream's 'error' event, as with fs.createReadStream.
   * fs.createReadStream's options, with the differences
   * {@link ReadStreamOptions} gives.
   */
  createReadStream(path: PathLike, options?: ReadStreamOptions | BufferEncoding): Readable {
    const site = new CallSite(this.createReadStream);
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options, READ_STREAM_OPTIONS, 'createReadStream');
    const flags = checkOpenFlags('flags', o.flags, 'r');
    if (flags.create || flags.truncate || !flags.read) {
      throw invalidValue('flags', "a flag that reads without creating or truncating ('r', 'rs', 'r+' …)", o.flags);
    }
    const encoding = o.encoding === undefined || o.encoding === null ? undefined : checkBufferEncoding(o.encoding);
    checkMode('mode', o.mode, 0o666);
    checkBoolean('autoClose', o.autoClose);
    const emitClose = o.emitClose === undefined ? true : checkBoolean('emitClose', o.emitClose);
    checkNoHandle(o, 'createReadStream');
    const start = checkInteger('start', o.start, 0, Number.MAX_SAFE_INTEGER, 0);
    const end = o.end === undefined || o.end === Infinity ? undefined : checkInteger('end', o.end, start, Number.MAX_SAFE_INTEGER, 0) + 1;
    const highWaterMark = checkInteger('highWaterMark', o.highWaterMark, 1, 2 ** 30, DEFAULT_STREAM_CHUNK);
    const signal = checkSignal(o.signal);
    const pathBytes = this.#pathBytes(path, 'open');
    const backend = this.#backend;
    const stream = new FileReadStream({
      channel: () => backend.channel(),
      path: plainPath(path).toString(),
      request: rangeRequest(pathBytes, { start, end }),
      highWaterMark,
      signal,
      emitClose,
      graft: (error) => site.graft(error),
    });
    if (encoding !== undefined) stream.setEncoding(encoding);
    return stream;
  }

  // ------------------------------------------------------------ changes

  /** Makes a directory; with `recursive`, resolves with the first directory it made (undefined if none). */
  async mkdir(path: PathLike, options?: MkdirOptions | number | string): Promise<string | undefined> {
    const o =
      typeof options === 'object' ? checkOptionsObject(options, ['recursive', 'mode', 'uid', 'gid', 'signal'], 'mkdir') : { mode: options };
    const recursive = checkBoolean('recursive', o.recursive);
    const mode = checkMode('mode', o.mode, 0o777);
    const [uid, gid] = ownerIds(o);
    const signal = checkSignal(o.signal);
    const frame = encodeMkdir({ mode, flags: recursive ? MKDIR_RECURSIVE : 0, uid, gid }, this.#entryBytes(path, 'mkdir'));
    let first: Buffer;
    try {
      first = await request(this.#backend.channel(), frame, signal);
    } catch (error) {
      throw withCallerStack(error as Error, this.mkdir);
    }
    return first.length > 0 ? first.toString('utf8') : undefined;
  }

  /** Removes a file or a symlink (a directory is EISDIR: see rmdir() and rm()). */
  async unlink(path: PathLike, options?: SignalOptions): Promise<void> {
    return this.#change('unlink', () => encodeUnlink(this.#entryBytes(path, 'unlink')), options, this.unlink);
  }

  /**
   * Removes an empty directory (rm() removes trees).  node's deprecated
   * `recursive` removes a directory's tree as rm() with `recursive` does
   * (ENOTDIR for anything else), with `maxRetries` and `retryDelay`, which
   * are ignored without it, as in node.
   */
  async rmdir(path: PathLike, options?: RmdirOptions): Promise<void> {
    const o = checkOptionsObject(options, ['recursive', 'maxRetries', 'retryDelay', 'signal'], 'rmdir');
    const retries = checkRetries(o);
    const signal = checkSignal(o.signal);
    if (!checkBoolean('recursive', o.recursive)) {
      return this.#change('rmdir', () => encodeRmdir(this.#entryBytes(path, 'rmdir')), { signal }, this.rmdir);
    }
    const site = new CallSite(this.rmdir);
    try {
      if (!(await this.lstat(path, { signal })).isDirectory()) throw errnoError('ENOTDIR', 'rmdir', plainPath(path).toString());
      await this.#retried(retries, signal, () => this.rm(path, { recursive: true, signal }));
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  /** Renames `oldPath` to `newPath`, as rename(2): an existing `newPath` is replaced where rename(2) allows it. */
  async rename(oldPath: PathLike, newPath: PathLike, options?: SignalOptions): Promise<void> {
    return this.#change(
      'rename',
      () => encodeRename(this.#entryBytes(oldPath, 'rename'), this.#entryBytes(newPath, 'rename')),
      options,
      this.rename,
    );
  }

  /** A hard link `newPath` to `existingPath` (a symlink is linked itself, not followed). */
  async link(existingPath: PathLike, newPath: PathLike, options?: SignalOptions): Promise<void> {
    return this.#change(
      'link',
      () => encodeLink(this.#entryBytes(existingPath, 'link'), this.#entryBytes(newPath, 'link')),
      options,
      this.link,
    );
  }

  /** A symlink at `path` whose target is `target`, as given (node's `type` means nothing on Linux). */
  async symlink(target: PathLike, path: PathLike, type?: string | null | SignalOptions): Promise<void> {
    const options = typeof type === 'object' && type !== null ? type : undefined;
    if (typeof type !== 'object' && type !== undefined) checkOneOf('type', type, ['file', 'dir', 'junction'], 'file');
    const targetBytes = checkPath(target, 'target');
    if (targetBytes.length >= 4096) {
      throw withCallerStack(errnoError('ENAMETOOLONG', 'symlink', plainPath(target).toString()), this.symlink);
    }
    return this.#change('symlink', () => encodeSymlink(targetBytes, this.#entryBytes(path, 'symlink')), options, this.symlink);
  }

  /**
   * Makes a FIFO or a device node (mknod(2)) with the ids given.  Devices
   * need CAP_MKNOD where the worker runs, except a character device 0, 0:
   * an overlay whiteout, which a user namespace may make too.
   */
  async mknod(path: PathLike, options?: MknodOptions): Promise<void> {
    const o = checkOptionsObject(options, ['type', 'mode', 'major', 'minor', 'uid', 'gid', 'signal'], 'mknod');
    const type = checkOneOf('type', o.type, ['fifo', 'char-device', 'block-device'], 'fifo');
    const mode = checkMode('mode', o.mode, 0o666) | { fifo: 0o010000, 'char-device': 0o020000, 'block-device': 0o060000 }[type];
    const major = checkInteger('major', o.major, 0, 0xfffff, 0);
    const minor = checkInteger('minor', o.minor, 0, 0xfffff, 0);
    const [uid, gid] = ownerIds(o);
    const signal = { signal: o.signal as AbortSignal | undefined };
    const mknod = { mode, rdev: makedev(major, minor), uid, gid };
    return this.#change('mknod', () => encodeMknod(mknod, this.#entryBytes(path, 'mknod')), signal, this.mknod);
  }

  /** Sets the extended attribute `name` of the entry itself (a final symlink not followed). */
  async setXattr(path: PathLike, name: string, value: string | Buffer, options?: SignalOptions): Promise<void> {
    const key = checkString('name', name);
    if (key === '' || key.includes('\0')) throw invalidValue('name', 'an attribute name', name);
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) throw invalid('value', 'a string or a Buffer', value);
    return this.#change(
      'setxattr',
      () => encodeSetXattr(Buffer.from(key), Buffer.from(value), this.#entryBytes(path, 'setxattr')),
      options,
      this.setXattr,
    );
  }

  /** Sets the mode of the file `path` names (a symlink's target, inside the session's root). */
  async chmod(path: PathLike, mode: number | string, options?: SignalOptions): Promise<void> {
    const bits = checkMode('mode', mode === undefined ? null : mode, 0);
    return this.#change('chmod', () => encodeChmod(bits, this.#entryBytes(path, 'chmod')), options, this.chmod);
  }

  /**
   * Sets the owner of `path` (ids as seen inside; -1 leaves one as it is).
   * With `recursive`, of everything under it too, as a job in the server
   * that never follows a symlink: resolves with its counts.
   */
  chown(path: PathLike, uid: number, gid: number, options: ChownOptions & { recursive: true }): Promise<TreeResult>;
  chown(path: PathLike, uid: number, gid: number, options?: ChownOptions): Promise<void | TreeResult>;
  async chown(path: PathLike, uid: number, gid: number, options?: ChownOptions): Promise<void | TreeResult> {
    const ids = { uid: checkOwnerId('uid', uid, false) >>> 0, gid: checkOwnerId('gid', gid, false) >>> 0 };
    const o = checkOptionsObject(options, ['recursive', 'onError', 'onProgress', 'crossMounts', 'signal'], 'chown');
    if (!checkBoolean('recursive', o.recursive)) {
      const tree = checkTreeOptions(o, 'chown');
      if (tree.keepGoing || tree.onProgress || tree.crossMounts) {
        throw invalidValue('recursive', 'true with onError, onProgress or crossMounts', o.recursive);
      }
      const signal = { signal: o.signal as AbortSignal | undefined };
      return this.#change('chown', () => encodeChown({ ...ids, flags: 0 }, this.#entryBytes(path, 'chown')), signal, this.chown);
    }
    return this.#tree((flags, bytes) => encodeChownTree({ flags, ...ids }, bytes), 'chown', path, TreeFlag.Recursive, o, this.chown);
  }

  /** Sets the owner of `path` itself, a symlink included. */
  async lchown(path: PathLike, uid: number, gid: number, options?: SignalOptions): Promise<void> {
    const chown = { uid: checkOwnerId('uid', uid, false) >>> 0, gid: checkOwnerId('gid', gid, false) >>> 0, flags: NO_FOLLOW };
    return this.#change('lchown', () => encodeChown(chown, this.#entryBytes(path, 'lchown')), options, this.lchown);
  }

  /** Sets access and modification times (seconds, numeric strings or Dates) of the file `path` names. */
  async utimes(path: PathLike, atime: number | string | Date, mtime: number | string | Date, options?: SignalOptions): Promise<void> {
    return this.#utimes(path, atime, mtime, 0, options, this.utimes);
  }

  /** As utimes(), on a symlink itself. */
  async lutimes(path: PathLike, atime: number | string | Date, mtime: number | string | Date, options?: SignalOptions): Promise<void> {
    return this.#utimes(path, atime, mtime, NO_FOLLOW, options, this.lutimes);
  }

  /** Cuts or extends the file to `len` bytes (default 0). */
  async truncate(path: PathLike, len = 0, options?: SignalOptions): Promise<void> {
    const length = checkInteger('len', len, 0, Number.MAX_SAFE_INTEGER, 0);
    return this.#change('open', () => encodeTruncate(BigInt(length), this.#entryBytes(path, 'open')), options, this.truncate);
  }

  /**
   * Writes `data` to the file, created if missing.  Bytes stream to the
   * server as it takes them (a window of 1 MiB), so an async iterable or a
   * Readable of any size is written with bounded memory.  `flag` is any of
   * node:fs's (see `WriteFlag`); `flush` fsyncs before the close.
   */
  async writeFile(path: PathLike, data: WriteData, options?: WriteFileOptions | BufferEncoding): Promise<void> {
    return this.#writeFile(path, data, options, 'w', this.writeFile);
  }

  /** writeFile() with flag 'a' unless another is given, as node's appendFile. */
  async appendFile(path: PathLike, data: WriteData, options?: WriteFileOptions | BufferEncoding): Promise<void> {
    return this.#writeFile(path, data, options, 'a', this.appendFile);
  }

  async #writeFile(
    path: PathLike,
    data: WriteData,
    options: WriteFileOptions | BufferEncoding | undefined,
    defaultFlag: string,
    caller: (...args: never[]) => unknown,
  ): Promise<void> {
    const what = defaultFlag === 'a' ? 'appendFile' : 'writeFile';
    const o =
      typeof options === 'string'
        ? { encoding: options }
        : checkOptionsObject(options, ['encoding', 'mode', 'flag', 'flush', 'uid', 'gid', 'signal'], what);
    const encoding = checkBufferEncoding(o.encoding);
    const { target, flags } = writeTarget(o, 'flag', defaultFlag);
    const signal = checkSignal(o.signal);
    const bytes = writeData(data, encoding);
    const pathBytes = this.#entryBytes(path, 'open');
    const shown = plainPath(path).toString();
    try {
      // A read-only flag: node opens the file (ENOENT when it is missing) and its write fails.
      if (!flags.write) {
        try {
          await this.stat(path, { signal });
        } catch (error) {
          const code = (error as FsError).code;
          throw code in ERRNO ? errnoError(code as keyof typeof ERRNO, 'open', shown) : error;
        }
        throw errnoError('EBADF', 'write');
      }
      await writeAll(this.#backend.channel(), shown, pathBytes, target, bytes, encoding, signal);
    } catch (error) {
      throw withCallerStack(error as Error, caller);
    }
  }

  /**
   * A Writable to the file: the server takes chunks only as fast as it
   * writes them.  Errors come as 'error' events.  fs.createWriteStream's
   * options: `start` is where the writes begin, `flush` fsyncs before the
   * close; `autoClose` has no effect and `fd`/`fs` are refused unless null
   * (see {@link WriteStreamOptions}: the server opens the file by path).
   */
  createWriteStream(path: PathLike, options?: WriteStreamOptions | BufferEncoding): Writable {
    const site = new CallSite(this.createWriteStream);
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options, WRITE_STREAM_OPTIONS, 'createWriteStream');
    const { target, flags } = writeTarget(o, 'flags', 'w');
    if (!flags.write) throw invalidValue('flags', "a flag that writes ('w', 'a', 'r+' …)", o.flags);
    target.position = BigInt(checkInteger('start', o.start, 0, Number.MAX_SAFE_INTEGER, 0));
    checkBoolean('autoClose', o.autoClose);
    const emitClose = o.emitClose === undefined ? true : checkBoolean('emitClose', o.emitClose);
    checkNoHandle(o, 'createWriteStream');
    const encoding = checkBufferEncoding(o.encoding);
    const highWaterMark = checkInteger('highWaterMark', o.highWaterMark, 1, 2 ** 30, DEFAULT_STREAM_CHUNK);
    const signal = checkSignal(o.signal);
    const pathBytes = this.#entryBytes(path, 'open');
    const backend = this.#backend;
    const stream = new FileWriteStream({
      channel: () => backend.channel(),
      path: plainPath(path).toString(),
      pathBytes,
      target,
      highWaterMark,
      signal,
      emitClose,
      graft: (error) => site.graft(error),
    });
    stream.setDefaultEncoding(encoding);
    return stream;
  }

  /**
   * Removes a file, or with `recursive` a directory and everything under
   * it: a job in the server, fd-relative, that never follows a symlink and
   * leaves mount points alone (EBUSY) unless `crossMounts`.  Resolves with
   * its counts.  The session's root is only emptied with `allowRoot`.
   * `maxRetries` and `retryDelay` retry a recursive job as node's rm does.
   *
   * @example
   * ```ts
   * import { podman } from 'unshare-fs';
   *
   * // A directory a rootless container filled with its own ids, which `rm -rf` cannot remove.
   * await using volume = await podman.enterVolume('data');
   * const { entries, errors } = await volume.rm('/cache', { recursive: true, force: true });
   * console.log(`${entries} removed, ${errors} failed`);
   * ```
   * @throws node:fs-style errors: `ENOENT` (without `force`; `syscall` `lstat`, as node's), `ERR_FS_EISDIR` (node's SystemError: a directory without `recursive`), `EBUSY` (a mount point, without `crossMounts`), `EPERM` (the session's root without `allowRoot`), `EACCES`, `ENOTEMPTY`; UnshareFsError `ECLOSED`, `EWORKERDIED`; an `AbortError` when `signal` aborts.
   * `TypeError` or `RangeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`) for bad options.
   */
  async rm(path: PathLike, options?: RmOptions): Promise<TreeResult> {
    const o = checkOptionsObject(options, RM_OPTIONS, 'rm');
    const recursive = checkBoolean('recursive', o.recursive);
    let flags = recursive ? TreeFlag.Recursive : 0;
    if (checkBoolean('force', o.force)) flags |= TreeFlag.Force;
    if (checkBoolean('allowRoot', o.allowRoot)) flags |= TreeFlag.AllowRoot;
    // node retries a recursive rm only; without `recursive` the counts are checked and ignored.
    const retries = checkRetries(o);
    const signal = checkSignal(o.signal);
    try {
      if (!recursive) return await this.#tree(encodeRemove, 'rm', path, flags, o, this.rm);
      return await this.#retried(retries, signal, () => this.#tree(encodeRemove, 'rm', path, flags, o, this.rm));
    } catch (error) {
      throw asNodeRmError(error as FsError);
    }
  }

  /**
   * Runs `job` again after one of node's retryable errors, waiting
   * `retryDelay` ms longer each time (node's rimraf: a linear backoff).
   */
  async #retried<T>(retries: Retries, signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await job();
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (attempt > retries.maxRetries || typeof code !== 'string' || !RETRYABLE.has(code)) throw error;
        await delay(attempt * retries.retryDelay, undefined, { signal });
      }
    }
  }

  /**
   * Copies `hostPath` from the host (read as the calling user) to `path`,
   * with node's fs.cp options and rules for what is there.  Where `path`
   * is an existing directory, the copy goes into it, under `hostPath`'s
   * last name, as `cp` and `podman cp` copy; a directory found there is
   * merged into, a file or symlink replaced (`force`, the default: removed,
   * then made anew with O_EXCL, so a symlink planted there is never written
   * through), left as it is (`force: false`) or ERR_FS_CP_EEXIST
   * (`errorOnExist`).  What is copied belongs to the session's own user
   * unless `preserveOwnership`; modes and (unless `preserveTimestamps:
   * false`) file times are kept; symlinks are copied as links, targets
   * verbatim (unless `dereference`); FIFOs, sockets and devices are
   * skipped.  See CopyOptions for each option across the boundary.  Names
   * are bytes.  A copy that fails or is aborted removes what it made,
   * unless it merged into a directory that was there (where that fails
   * too, the error's `partialOutput` says where).
   */
  async copyFromHost(hostPath: string, path: string, options?: CopyInOptions): Promise<CopyResult> {
    const o = checkOptionsObject(options, [...CP_OPTIONS, 'preserveOwnership'], 'copyFromHost');
    const checked = {
      ...copyOptions(o, 'copyFromHost'),
      preserveOwnership: checkBoolean('preserveOwnership', o.preserveOwnership),
    };
    checkPath(hostPath, 'hostPath');
    // '.' or '..' last is EINVAL before it is looked at: never "into" the directory above.
    this.#entryBytes(path, 'mkdir');
    const { unmapUid, unmapGid } = this.#backend;
    try {
      const into = await this.stat(path, { signal: checked.signal }).then(
        (st) => st.isDirectory(),
        () => false,
      );
      const dest = into ? intoDirectory(path, hostPath) : path;
      return await copyIn(this, { uid: unmapUid, gid: unmapGid }, hostPath, dest, checked);
    } catch (error) {
      throw withCallerStack(error as Error, this.copyFromHost);
    }
  }

  /**
   * Copies `path` to `hostPath` on the host, with node's fs.cp options and
   * rules for what is there; into it, under `path`'s last name, where
   * `hostPath` is an existing directory (as `cp` and `podman cp` copy),
   * then as copyFromHost: a directory there merged into, a file or symlink
   * replaced (`force`, default; a symlink planted on the host is removed,
   * never written through), left (`force: false`) or ERR_FS_CP_EEXIST
   * (`errorOnExist`).  With `dereference`, `path` is first resolved inside
   * the session's root (realpath); links under it stay links.  What is
   * copied belongs to the calling user, with the modes (less set-id bits)
   * and (unless `preserveTimestamps: false`) file times of the originals; symlinks are
   * copied as links, hard links within the tree as links; FIFOs and devices
   * are skipped, and so is a file that became one during the copy (never
   * waited on); sockets are left out.  One job in the server reads the
   * tree, every entry opened relative to a directory it holds, never
   * through a symlink (`path` itself included): a directory swapped for a
   * symlink mid-copy is never read through.  Names are bytes.  A copy that
   * fails or is aborted removes what it made (where that fails too, the
   * error's `partialOutput` says where).
   */
  async copyToHost(path: string, hostPath: string, options?: CopyOptions): Promise<CopyResult> {
    const o = checkOptionsObject(options, CP_OPTIONS, 'copyToHost');
    const checked = copyOptions(o, 'copyToHost');
    checkPath(path);
    checkPath(hostPath, 'hostPath');
    try {
      const into = await fsp.stat(hostPath).then(
        (st) => st.isDirectory(),
        () => false,
      );
      const dest = into ? intoDirectory(hostPath, path) : hostPath;
      // The job never follows a link; dereference resolves the top first, inside the root.
      const from = checked.dereference ? await this.realpath(path, { signal: checked.signal }) : path;
      return await copyOut(this.#copyArchive(from, checked.signal), path, dest, checked);
    } catch (error) {
      throw withCallerStack(error as Error, this.copyToHost);
    }
  }

  /**
   * Copies `src` to `dest` as node's fs.promises.cp does, with its options
   * and its errors (ERR_FS_CP_EINVAL for a directory into itself,
   * ERR_FS_CP_DIR_TO_NON_DIR, ERR_FS_EISDIR without `recursive`,
   * ERR_FS_CP_FIFO_PIPE and ERR_FS_CP_SOCKET …), both paths in this file
   * system.  File contents are copied by the server (copy_file_range or
   * sendfile), never through this process.  Differences from node's, for
   * hostile trees: a device is EINVAL, not read; a file that became a
   * symlink after its lstat is ELOOP (unless `dereference`); a destination
   * file's name is never written through a symlink.  `onProgress` is told
   * the entries and bytes copied at most every 100 ms; `signal` stops the
   * copy between two entries.  Resolves with the counts.
   *
   * @example
   * ```ts
   * import { podman } from 'unshare-fs';
   *
   * // A backup of a directory inside the container, owners and modes kept as the container sees them.
   * await using c = await podman.enterMerged('web');
   * const { entries, bytes } = await c.cp('/var/www', '/var/www.bak', { recursive: true, preserveTimestamps: true });
   * console.log(`${entries} entries, ${bytes} bytes copied`);
   * ```
   * @throws node's SystemErrors (`code` `ERR_FS_CP_EINVAL` a directory into itself, `ERR_FS_CP_DIR_TO_NON_DIR`, `ERR_FS_CP_NON_DIR_TO_DIR`, `ERR_FS_EISDIR` a directory without `recursive`, `ERR_FS_CP_EEXIST` with `errorOnExist`, `ERR_FS_CP_FIFO_PIPE`, `ERR_FS_CP_SOCKET`, `ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY`, `ERR_FS_CP_UNKNOWN`); node:fs-style errors (`ENOENT`, `EACCES`, `EINVAL` a device, `ELOOP` a symlink swapped in); UnshareFsError `ECLOSED`, `EWORKERDIED`; an `AbortError` when `signal` aborts.
   * `TypeError` or `RangeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_INCOMPATIBLE_OPTION_PAIR`) for bad options.
   */
  async cp(src: PathLike, dest: PathLike, options?: CpOptions): Promise<CopyProgress> {
    const o = checkOptionsObject(options, CP_OPTIONS, 'cp');
    const checked = checkCpOptions(o);
    const from = cpPath(src, 'src');
    const to = cpPath(dest, 'dest');
    const backend = this.#backend;
    const host = {
      fs: this,
      resolve: (path: string) => backend.resolvePath(path),
      copyFile: (a: string, b: string, exclusive: boolean, follow: boolean, signal: AbortSignal | undefined) =>
        this.#copyFile(a, b, (exclusive ? CopyFlag.Exclusive : 0) | (follow ? 0 : CopyFlag.NoFollow), signal),
    };
    try {
      return await cp(host, from, to, checked);
    } catch (error) {
      throw withCallerStack(error as Error, this.cp);
    }
  }

  /**
   * Copies the file `src` to `dest` as fs.promises.copyFile does (`mode`
   * fs.constants.COPYFILE_EXCL: `dest` must not exist), in the server:
   * the bytes never reach this process.  `src` must be a regular file once
   * open (EISDIR for a directory, EINVAL for a FIFO or a device, never
   * read); `dest`'s own name is never written through a symlink (ELOOP).
   */
  async copyFile(src: PathLike, dest: PathLike, mode?: number): Promise<void> {
    const exclusive = (checkInteger('mode', mode, 0, 7, 0) & 1) !== 0;
    try {
      await this.#copyFile(src, dest, exclusive ? CopyFlag.Exclusive : 0, undefined);
    } catch (error) {
      throw withCallerStack(error as Error, this.copyFile);
    }
  }

  /** The server's CopyFile; its error names both paths, as node's copyfile errors do. */
  async #copyFile(src: PathLike, dest: PathLike, flags: number, signal: AbortSignal | undefined): Promise<void> {
    const from = this.#entryBytes(src, 'copyfile');
    const to = this.#entryBytes(dest, 'copyfile');
    try {
      await request(this.#backend.channel(), encodeCopyFile(flags, from, to), signal);
    } catch (error) {
      const e = error as FsError & { dest?: string };
      if (e.syscall === 'copyfile' && typeof e.path === 'string') {
        e.dest = to.toString();
        e.message = `${e.message} -> '${e.dest}'`;
      }
      throw e;
    }
  }

  async #tree(
    encode: (flags: number, path: Buffer) => RequestFrame,
    syscall: string,
    path: PathLike,
    flags: number,
    o: Record<string, unknown>,
    caller: (...args: never[]) => unknown,
  ): Promise<TreeResult> {
    const site = new CallSite(caller);
    const tree = checkTreeOptions(o, syscall);
    const signal = checkSignal(o.signal);
    if (tree.keepGoing) flags |= TreeFlag.KeepGoing;
    if (tree.crossMounts) flags |= TreeFlag.CrossMounts;
    let bytes: Buffer;
    let channel: Channel;
    try {
      bytes = this.#entryBytes(path, syscall);
      channel = this.#backend.channel();
    } catch (error) {
      throw site.graft(error as Error);
    }
    try {
      return await treeJob(channel, encode(flags, bytes), bytes, { onError: tree.onError, onProgress: tree.onProgress, signal });
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  #utimes(
    path: PathLike,
    atime: number | string | Date,
    mtime: number | string | Date,
    flags: number,
    options: SignalOptions | undefined,
    caller: (...args: never[]) => unknown,
  ): Promise<void> {
    const [as, ans] = checkTime('atime', atime);
    const [ms, mns] = checkTime('mtime', mtime);
    const times = { atimeSeconds: BigInt(as), atimeNanoseconds: ans, mtimeSeconds: BigInt(ms), mtimeNanoseconds: mns, flags };
    const syscall = flags ? 'lutime' : 'utime';
    return this.#change(syscall, () => encodeUtimes(times, this.#entryBytes(path, syscall)), options, caller);
  }

  /**
   * A change answered by an end frame: `encode` builds its request (of
   * checked paths, resolved) inside the call's error handling.
   */
  async #change(
    syscall: string,
    encode: () => RequestFrame,
    options: SignalOptions | undefined,
    caller: (...args: never[]) => unknown,
  ): Promise<void> {
    const site = new CallSite(caller);
    let frame: RequestFrame;
    let signal: AbortSignal | undefined;
    let channel: Channel;
    try {
      signal = checkSignal(checkOptionsObject(options, ['signal'], syscall).signal);
      frame = encode();
      channel = this.#backend.channel();
    } catch (error) {
      throw site.graft(error as Error);
    }
    try {
      await request(channel, frame, signal);
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  /** A summing walk (layers/du.ts): the server sends sums, not entries; nothing else to read. */
  async #sumTree(path: string, options: SumTreeOptions): Promise<void> {
    const { onSums, ...walk } = options;
    const stream = this.#startWalk(path, walk, this.du, 'du', onSums);
    while (await stream.nextBatch()) while (stream.nextEntry() !== undefined);
  }

  #startWalk(
    root: PathLike,
    options: WalkOptions | undefined,
    caller: (...args: never[]) => unknown,
    what: string,
    onSummary?: (sums: bigint[]) => void,
  ): BatchStream {
    const site = new CallSite(caller);
    root = plainPath(root);
    const bytes = checkPath(root, 'root');
    const checked = checkWalkOptions(options, what);
    if (onSummary !== undefined) {
      checked.flags |= WalkFlag.Summarize;
      checked.onSummary = onSummary;
    }
    let rootBytes: Buffer;
    try {
      rootBytes = this.#pathBytes(root, 'scandir');
    } catch (error) {
      throw site.graft(error as Error);
    }
    const resolved = typeof root === 'string' ? rootBytes.toString('utf8') : this.#backend.resolvePath(bytes.toString('utf8'));
    const backend = this.#backend;
    return new BatchStream(() => backend.channel(), resolved, rootBytes, checked, backend.mapUid, backend.mapGid, site);
  }

  async #stat(
    encode: (path: Buffer) => RequestFrame,
    syscall: string,
    path: PathLike,
    options: StatOptions | undefined,
  ): Promise<Stats | BigIntStats> {
    const o = checkOptionsObject(options, ['bigint', 'signal'], syscall);
    const bigint = checkBoolean('bigint', o.bigint);
    const signal = checkSignal(o.signal);
    const frame = encode(this.#pathBytes(path, syscall));
    let payload: Buffer;
    try {
      payload = await request(this.#backend.channel(), frame, signal);
    } catch (error) {
      throw withCallerStack(error as Error, this.#stat);
    }
    return statAnswer(payload, bigint, this.#backend.mapUid, this.#backend.mapGid);
  }

  /**
   * The bytes of a path a change acts on: as #pathBytes, and a last
   * component '.' or '..' is EINVAL however the path is written (resolving
   * a relative path would collapse it, and act on the directory above).
   */
  #entryBytes(path: PathLike, syscall: string): Buffer {
    const plain = plainPath(path);
    if (endsInDots(checkPath(plain))) throw errnoError('EINVAL', syscall, plain.toString());
    return this.#pathBytes(plain, syscall);
  }

  /** The bytes the server opens for `path`: resolved, and checked as the kernel would. */
  #pathBytes(path: PathLike, syscall: string): Buffer {
    const plain = plainPath(path);
    const bytes = checkPath(plain);
    if (bytes.length === 0) checkPathLength(bytes, syscall, plain);
    const resolved = resolveBytes(this.#backend.resolvePath, plain, bytes);
    checkPathLength(resolved, syscall, plain);
    return resolved;
  }
}

/**
 * A Dirent read as bytes, with its name in `encoding`, as node's: the
 * parent is the path as given for the directory's own entries (node's
 * recursive readdir cannot read deeper ones in such an encoding; here they
 * keep their parent's path as UTF-8).
 */
function encodedDirent(entry: Dirent<Buffer>, encoding: BufferEncoding, given: PathLike): Dirent<string> {
  const parent = entry.depth === 1 ? plainPath(given) : entry.parentPath.toString('utf8');
  const name = entry.name.toString(encoding);
  return new Entry(parent as string, name, entry.fullPath.toString('utf8'), entry.type, entry.depth, undefined);
}

/** uid and gid options: -1 or absent is NO_ID. */
function ownerIds(o: Record<string, unknown>): [number, number] {
  return [checkOwnerId('uid', o.uid, true) >>> 0, checkOwnerId('gid', o.gid, true) >>> 0];
}

function checkBufferEncoding(value: unknown): BufferEncoding {
  if (value === undefined || value === null) return 'utf8';
  if (typeof value !== 'string') throw invalid('encoding', 'a Buffer encoding', value);
  if (!Buffer.isEncoding(value)) throw invalidValue('encoding', 'a Buffer encoding', value);
  return value;
}

/** The open flags and the write request's target of writeFile's or createWriteStream's options. */
function writeTarget(o: Record<string, unknown>, flagName: string, fallback: string): { target: WriteTarget; flags: OpenFlags } {
  const flags = checkOpenFlags(flagName, o[flagName], fallback);
  const flush = checkBoolean('flush', o.flush);
  const [uid, gid] = ownerIds(o);
  return { target: { flags: writeBits(flags, flush), mode: checkMode('mode', o.mode, 0o666), uid, gid }, flags };
}

/** The write request's flags for open flags; '+' (reading too) changes nothing for a write. */
function writeBits(flags: OpenFlags, flush: boolean): number {
  let bits = 0;
  if (flags.truncate) bits |= WriteBit.Truncate;
  if (flags.append) bits |= WriteBit.Append;
  // O_EXCL means nothing without O_CREAT (open(2)).
  if (flags.exclusive && flags.create) bits |= WriteBit.Exclusive;
  if (!flags.create) bits |= WriteBit.NoCreate;
  if (flags.sync) bits |= WriteBit.Sync;
  if (flush) bits |= WriteBit.Flush;
  return bits;
}

interface Retries {
  maxRetries: number;
  retryDelay: number;
}

/** rm's and rmdir's retry counts, checked as node checks them (uint32s). */
function checkRetries(o: Record<string, unknown>): Retries {
  return {
    maxRetries: checkInteger('maxRetries', o.maxRetries, 0, 2 ** 32 - 1, 0),
    retryDelay: checkInteger('retryDelay', o.retryDelay, 0, 2 ** 32 - 1, 100),
  };
}

/**
 * copyToHost's and copyFromHost's options, checked as node's cp checks
 * them; `preserveTimestamps` defaults to true here (the times were always
 * kept, as `podman cp` keeps them).
 */
function copyOptions(o: Record<string, unknown>, what: string): CheckedCopyOptions {
  const c = checkCpOptions(o);
  return {
    recursive: c.recursive,
    force: c.force,
    errorOnExist: c.errorOnExist,
    filter: c.filter,
    dereference: c.dereference,
    preserveTimestamps: o.preserveTimestamps === undefined ? true : c.preserveTimestamps,
    signal: c.signal,
    onProgress: checkProgress(o.onProgress, what),
  };
}

/**
 * Where a copy of `source` goes in the existing directory `dir`: under its
 * last name ('/' and names ending in '.' or '..' have none to give: EEXIST,
 * as copying onto the directory itself would be).
 */
function intoDirectory(dir: string, source: string): string {
  const name = nodePath.posix.basename(source);
  if (name === '' || name === '.' || name === '..') throw errnoError('EEXIST', 'copy', dir);
  return nodePath.posix.join(dir, name);
}

/** A path of cp as a string (node's cp takes strings and URLs only). */
function cpPath(path: PathLike, name: string): string {
  const plain = plainPath(path);
  if (typeof plain !== 'string') throw invalid(name, 'a string or a file: URL', path);
  checkPath(plain, name);
  return plain;
}

/** A path argument with a file: URL made its path (checked later, where it is used). */
function plainPath(path: PathLike): string | Buffer {
  return pathOf(path) as string | Buffer;
}

/** writeFile's data as bytes, or as the iterable to take chunks from. */
function writeData(data: unknown, encoding: BufferEncoding): Uint8Array | Iterable<unknown> | AsyncIterable<unknown> {
  if (typeof data !== 'string' && !ArrayBuffer.isView(data) && data !== null && typeof data === 'object') {
    if (Symbol.asyncIterator in data || Symbol.iterator in data) return data as Iterable<unknown> | AsyncIterable<unknown>;
  }
  return chunkBytes(data, encoding, 'data');
}

function checkTreeOptions(
  o: Record<string, unknown>,
  what: string,
): Pick<TreeOptions, 'onError' | 'onProgress'> & { keepGoing: boolean; crossMounts: boolean } {
  const onError = checkOnError(o.onError);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw invalid(`${what} onProgress`, 'a function', o.onProgress);
  return {
    onError,
    onProgress: o.onProgress as TreeOptions['onProgress'],
    keepGoing: onError !== 'throw',
    crossMounts: checkBoolean('crossMounts', o.crossMounts),
  };
}

/** Whether the last component of `path` (trailing slashes aside) is '.' or '..'. */
function endsInDots(path: Buffer): boolean {
  let end = path.length;
  while (end > 0 && path[end - 1] === SLASH) end--;
  if (end === 0) return false;
  const start = path.lastIndexOf(SLASH, end - 1) + 1;
  const length = end - start;
  return (length === 1 || length === 2) && path[start] === DOT && path[end - 1] === DOT;
}

function resolveBytes(resolvePath: PathResolver, path: PathLike, bytes: Buffer): Buffer {
  if (typeof path === 'string') return Buffer.from(resolvePath(path));
  // Buffer paths may not be UTF-8: resolve only when relative, byte for
  // byte (latin1 gives each byte a character of its own, '/' and '.'
  // themselves), against the base in the same form.
  if (bytes[0] === SLASH) return bytes;
  const base = Buffer.from(resolvePath('.')).toString('latin1');
  return Buffer.from(nodePath.posix.resolve(base, bytes.toString('latin1')), 'latin1');
}

/** Resolves relative paths against a base directory, as the server would not. */
export function resolverFrom(base: () => string): PathResolver {
  return (path) => (path.startsWith('/') ? path : nodePath.posix.resolve(base(), path));
}

/**
 * rm's errors as node's rm gives them: a directory without `recursive` is
 * its SystemError ERR_FS_EISDIR, and a path that is not there is ENOENT of
 * the lstat node's rm starts with.  Others are the server's, as they are.
 */
function asNodeRmError(error: FsError): Error {
  if (error.syscall !== 'rm' || error.path === undefined) return error;
  let node: Error | undefined;
  if (error.code === 'EISDIR') node = systemFsError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', 'rm', 'is a directory', error.path);
  else if (error.code === 'ENOENT') node = errnoError('ENOENT', 'lstat', error.path);
  if (node === undefined) return error;
  node.stack = `${node.name}: ${node.message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`;
  return node;
}

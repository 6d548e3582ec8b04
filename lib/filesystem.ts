// The file API served over a channel: the same for host paths (an in-process
// server thread) and for namespace sessions (a forked worker).
import * as nodePath from 'node:path';
import type { Readable } from 'node:stream';

import type { Channel } from './channel';
import type { Entry, EntryType } from './entry';
import { CallSite, abortError, withCallerStack } from './errors';
import {
  checkBoolean,
  checkEncoding,
  checkInteger,
  checkOptionsObject,
  checkPath,
  checkPathLength,
  checkSignal,
  checkWalkOptions,
  invalidValue,
  type PathLike,
  type WalkOptions,
} from './options';
import { ALL_STAT, Op, Reply, encodeStrings, errorFromPayload } from './protocol';
import { FileReadStream, readWhole } from './read-stream';
import { StatReader, type BigIntStats, type IdMapper, type Stats } from './stats';
import { BatchIterator, BatchStream, EntryIterator } from './walk-stream';

export interface StatOptions {
  bigint?: boolean;
  /** Rejects the call with an AbortError (the answer, if it comes, is dropped). */
  signal?: AbortSignal;
}

export interface ReaddirOptions {
  withFileTypes?: boolean;
  encoding?: 'utf8' | 'buffer';
  signal?: AbortSignal;
}

export interface ReadlinkOptions {
  encoding?: 'utf8' | 'buffer';
  signal?: AbortSignal;
}

export interface ReadFileOptions {
  /** Decode the bytes with this encoding; without it a Buffer comes back. */
  encoding?: BufferEncoding | null;
  /** Stops the read in the server too, wherever it waits. */
  signal?: AbortSignal;
}

export interface ReadStreamOptions {
  /** First byte to read (default 0). */
  start?: number;
  /** Last byte to read, inclusive, as fs.createReadStream has it (default: to the end). */
  end?: number;
  /** Bytes per chunk and the stream's buffer (default 64 KiB); at most a few chunks are in flight. */
  highWaterMark?: number;
  /** Destroys the stream with an AbortError and stops the read in the server. */
  signal?: AbortSignal;
}

/** A readdir result with file types, shaped like fs.Dirent. */
export type Dirent<Name extends string | Buffer = string> = Entry<Name, Stats>;

export type WalkEntry = Entry<string, Stats>;

type WalkResult<O extends WalkOptions | undefined> = O extends { encoding: 'buffer' }
  ? O extends { bigint: true }
    ? Entry<Buffer, BigIntStats>
    : Entry<Buffer, Stats>
  : O extends { bigint: true }
    ? Entry<string, BigIntStats>
    : Entry<string, Stats>;

export { type EntryType };

/** How paths given to the API become paths the server opens. */
export type PathResolver = (path: string) => string;

/** What a FileSystem is served by: its owner's, never reachable from the object. */
export interface Backend {
  /** The channel to the server; throws ECLOSED once the owner is closed. */
  channel(): Channel;
  resolvePath: PathResolver;
  mapUid: IdMapper;
  mapGid: IdMapper;
}

const READ_FILE_OPTIONS = ['encoding', 'signal'];
const DEFAULT_STREAM_CHUNK = 64 * 1024;

let backendOf: (fs: FileSystem) => Backend;

export abstract class FileSystem {
  readonly #backend: Backend;

  static {
    backendOf = (fs) => fs.#backend;
  }

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Walks the tree under `root`, one entry at a time. */
  walk<O extends WalkOptions | undefined = undefined>(root: PathLike, options?: O): AsyncIterableIterator<WalkResult<O>> {
    return new EntryIterator(this.#startWalk(root, options, this.walk, 'walk')) as AsyncIterableIterator<WalkResult<O>>;
  }

  /** Walks the tree under `root` as walk() does, an array per batch the walker sends (hundreds of entries with stats, thousands without). */
  walkBatches<O extends WalkOptions | undefined = undefined>(
    root: PathLike,
    options?: O,
  ): AsyncIterableIterator<WalkResult<O>[]> {
    return new BatchIterator(this.#startWalk(root, options, this.walkBatches, 'walkBatches')) as AsyncIterableIterator<WalkResult<O>[]>;
  }

  lstat(path: PathLike, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.#stat(Op.Lstat, 'lstat', path, options);
  }

  stat(path: PathLike, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  stat(path: PathLike, options?: StatOptions): Promise<Stats>;
  stat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.#stat(Op.Stat, 'stat', path, options);
  }

  readdir(path: PathLike, options: ReaddirOptions & { withFileTypes: true; encoding: 'buffer' }): Promise<Dirent<Buffer>[]>;
  readdir(path: PathLike, options: ReaddirOptions & { withFileTypes: true }): Promise<Dirent[]>;
  readdir(path: PathLike, options: ReaddirOptions & { encoding: 'buffer' }): Promise<Buffer[]>;
  readdir(path: PathLike, options?: ReaddirOptions): Promise<string[]>;
  async readdir(path: PathLike, options?: ReaddirOptions): Promise<(string | Buffer | Dirent<string | Buffer>)[]> {
    const o = checkOptionsObject(options, ['withFileTypes', 'encoding', 'signal'], 'readdir');
    const encoding = checkEncoding(o.encoding) ? 'buffer' : 'utf8';
    const withFileTypes = checkBoolean('withFileTypes', o.withFileTypes);
    const walkOptions = { maxDepth: 1, encoding, signal: checkSignal(o.signal) } as const;
    const stream = this.#startWalk(path, walkOptions, this.readdir, 'readdir');
    const out: (string | Buffer | Dirent<string | Buffer>)[] = [];
    for await (const batch of stream) {
      for (const entry of batch) out.push(withFileTypes ? (entry as Dirent<string | Buffer>) : entry.name);
    }
    return out;
  }

  readlink(path: PathLike, options?: ReadlinkOptions & { encoding?: 'utf8' }): Promise<string>;
  readlink(path: PathLike, options: ReadlinkOptions & { encoding: 'buffer' }): Promise<Buffer>;
  async readlink(path: PathLike, options?: ReadlinkOptions): Promise<string | Buffer> {
    const o = checkOptionsObject(options, ['encoding', 'signal'], 'readlink');
    const buffer = checkEncoding(o.encoding);
    const signal = checkSignal(o.signal);
    const bytes = this.#pathBytes(path, 'readlink');
    let target: Buffer;
    try {
      target = await request(this.#backend.channel(), Op.Readlink, [], bytes, signal);
    } catch (error) {
      throw withCallerStack(error as Error, this.readlink);
    }
    return buffer ? target : target.toString('utf8');
  }

  readFile(path: PathLike, options: BufferEncoding | (ReadFileOptions & { encoding: BufferEncoding })): Promise<string>;
  readFile(path: PathLike, options?: ReadFileOptions): Promise<Buffer>;
  async readFile(path: PathLike, options?: ReadFileOptions | BufferEncoding): Promise<string | Buffer> {
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options, READ_FILE_OPTIONS, 'readFile');
    const encoding = o.encoding ?? null;
    if (encoding !== null && !Buffer.isEncoding(encoding as string)) {
      throw invalidValue('encoding', 'a Buffer encoding', encoding);
    }
    const signal = checkSignal(o.signal);
    const bytes = this.#pathBytes(path, 'open');
    let data: Buffer;
    try {
      data = await readWhole(this.#backend.channel(), path.toString(), bytes, signal);
    } catch (error) {
      throw withCallerStack(error as Error, this.readFile);
    }
    return encoding === null ? data : data.toString(encoding as BufferEncoding);
  }

  /**
   * A Readable of the file's bytes from `start` to `end` (inclusive), read
   * by the server only as fast as the stream is consumed.  Errors (ENOENT,
   * EISDIR …) come as the stream's 'error' event, as with fs.createReadStream.
   */
  createReadStream(path: PathLike, options?: ReadStreamOptions): Readable {
    const site = new CallSite(this.createReadStream);
    const o = checkOptionsObject(options, ['start', 'end', 'highWaterMark', 'signal'], 'createReadStream');
    const start = checkInteger('start', o.start, 0, Number.MAX_SAFE_INTEGER, 0);
    const end = o.end === undefined || o.end === Infinity ? undefined : checkInteger('end', o.end, start, Number.MAX_SAFE_INTEGER, 0) + 1;
    const highWaterMark = checkInteger('highWaterMark', o.highWaterMark, 1, 2 ** 30, DEFAULT_STREAM_CHUNK);
    const signal = checkSignal(o.signal);
    const pathBytes = this.#pathBytes(path, 'open');
    const backend = this.#backend;
    return new FileReadStream({
      channel: () => backend.channel(),
      path: path.toString(),
      pathBytes,
      range: { start, end },
      highWaterMark,
      signal,
      graft: (error) => site.graft(error),
    });
  }

  #startWalk(root: PathLike, options: WalkOptions | undefined, caller: (...args: never[]) => unknown, what: string): BatchStream {
    const site = new CallSite(caller);
    const bytes = checkPath(root, 'root');
    const checked = checkWalkOptions(options, what);
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

  async #stat(op: Op, syscall: string, path: PathLike, options: StatOptions | undefined): Promise<Stats | BigIntStats> {
    const o = checkOptionsObject(options, ['bigint', 'signal'], syscall);
    const bigint = checkBoolean('bigint', o.bigint);
    const signal = checkSignal(o.signal);
    const bytes = this.#pathBytes(path, syscall);
    let payload: Buffer;
    try {
      payload = await request(this.#backend.channel(), op, [], bytes, signal);
    } catch (error) {
      throw withCallerStack(error as Error, this.#stat);
    }
    const { mapUid, mapGid } = this.#backend;
    const reader = new StatReader(new DataView(payload.buffer, payload.byteOffset, payload.byteLength), ALL_STAT, mapUid, mapGid);
    return bigint ? reader.readBigInt(0) : reader.read(0);
  }

  /** The bytes the server opens for `path`: resolved, and checked as the kernel would. */
  #pathBytes(path: PathLike, syscall: string): Buffer {
    const bytes = checkPath(path);
    if (bytes.length === 0) checkPathLength(bytes, syscall, path);
    const resolved = resolveBytes(this.#backend.resolvePath, path, bytes);
    checkPathLength(resolved, syscall, path);
    return resolved;
  }
}

function resolveBytes(resolvePath: PathResolver, path: PathLike, bytes: Buffer): Buffer {
  if (typeof path === 'string') return Buffer.from(resolvePath(path));
  // Buffer paths may not be UTF-8: resolve only when relative.
  if (bytes[0] === 0x2f) return bytes;
  return Buffer.from(resolvePath(bytes.toString('utf8')));
}

/**
 * One request answered by one frame (a stat, data, an end) or an error.
 * Its errors have no useful stack yet: callers give them theirs.  An abort
 * rejects at once; the answer, when it comes, is dropped.
 */
function request(channel: Channel, op: Op, fields: number[], tail: Buffer, signal?: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let id = 0;
    const settle = (error: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      channel.release();
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(value!);
    };
    const onAbort = (): void => {
      channel.forget(id);
      settle(abortError(signal!));
    };
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    channel.hold();
    try {
      id = channel.request(op, fields, tail, {
        frame(kind, _flags, payload) {
          if (kind === Reply.Error) settle(errorFromPayload(payload));
          else if (kind === Reply.End) settle(undefined, Buffer.alloc(0));
          else settle(undefined, Buffer.from(payload));
          return true;
        },
        fail(error) {
          settle(error);
        },
      });
    } catch (error) {
      settle(error as Error);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A request answered by an end or an error, whose error gets the stack of `caller`'s caller. */
function voidRequest(fs: FileSystem, op: Op, fields: number[], tail: Buffer, caller: (...args: never[]) => unknown): Promise<void> {
  const site = new CallSite(caller);
  let channel: Channel;
  try {
    channel = backendOf(fs).channel();
  } catch (error) {
    return Promise.reject(site.graft(error as Error));
  }
  return request(channel, op, fields, tail).then(
    () => undefined,
    (error: Error) => Promise.reject(site.graft(error)),
  );
}

// Requests only the library's own objects make: not methods, so that no
// public object reaches them (the server refuses them where they do not
// belong as well).

/** mount(2) in the server's mount namespace: only a Namespace's own worker accepts it. */
export function mountRequest(
  fs: FileSystem,
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string,
  caller: (...args: never[]) => unknown,
): Promise<void> {
  const resolved = backendOf(fs).resolvePath(target);
  checkPathLength(Buffer.from(resolved), 'mount', target);
  const flagBytes = Buffer.alloc(8);
  flagBytes.writeBigUInt64LE(BigInt(flags), 0);
  const tail = Buffer.concat([flagBytes, encodeStrings([source, resolved, fstype, data])]);
  return voidRequest(fs, Op.Mount, [], tail, caller);
}

/** umount2(2) in the server's mount namespace: only a Namespace's own worker accepts it. */
export function unmountRequest(fs: FileSystem, target: string, flags: number, caller: (...args: never[]) => unknown): Promise<void> {
  const resolved = Buffer.from(backendOf(fs).resolvePath(target));
  checkPathLength(resolved, 'umount', target);
  return voidRequest(fs, Op.Unmount, [flags], resolved, caller);
}

/** Makes the server resolve every later path inside `dir` (RESOLVE_IN_ROOT); a worker takes it once. */
export function setRootRequest(fs: FileSystem, dir: string, caller: (...args: never[]) => unknown): Promise<void> {
  const bytes = checkPath(dir, 'root');
  checkPathLength(bytes, 'open', dir);
  return voidRequest(fs, Op.SetRoot, [], bytes, caller);
}

/** Resolves relative paths against a base directory, as the server would not. */
export function resolverFrom(base: () => string): PathResolver {
  return (path) => (path.startsWith('/') ? path : nodePath.posix.resolve(base(), path));
}

// The file API served over a channel: the same for host paths (an in-process
// server thread) and for namespace sessions (a forked worker).
import * as nodePath from 'node:path';

import type { Channel } from './channel';
import type { Entry, EntryType } from './entry';
import { CallSite, abortError, withCallerStack } from './errors';
import {
  checkEncoding,
  checkOptionsObject,
  checkPath,
  checkWalkOptions,
  emptyPathError,
  type PathLike,
  type WalkOptions,
} from './options';
import { ALL_STAT, Op, Reply, encodeStrings, errorFromPayload } from './protocol';
import { StatReader, identity, type BigIntStats, type IdMapper, type Stats } from './stats';
import { BatchStream, EntryIterator } from './walk-stream';

export interface StatOptions {
  bigint?: boolean;
}

export interface ReaddirOptions {
  withFileTypes?: boolean;
  encoding?: 'utf8' | 'buffer';
}

export interface ReadFileOptions {
  /** Decode the bytes with this encoding; without it a Buffer comes back. */
  encoding?: BufferEncoding | null;
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

export abstract class FileSystem {
  protected mapUid: IdMapper = identity;
  protected mapGid: IdMapper = identity;

  protected abstract channel(): Channel;
  protected abstract resolvePath: PathResolver;

  /** Walks the tree under `root`, one entry at a time. */
  walk<O extends WalkOptions | undefined = undefined>(
    root: PathLike,
    options?: O,
  ): AsyncIterableIterator<WalkResult<O>> {
    return new EntryIterator(this.startWalk(root, options, this.walk)) as AsyncIterableIterator<
      WalkResult<O>
    >;
  }

  /** Walks the tree under `root` as walk() does, an array per batch the walker sends (hundreds of entries with stats, thousands without). */
  walkBatches<O extends WalkOptions | undefined = undefined>(
    root: PathLike,
    options?: O,
  ): AsyncIterableIterator<WalkResult<O>[]> {
    return this.startWalk(root, options, this.walkBatches) as AsyncIterableIterator<WalkResult<O>[]>;
  }

  lstat(path: PathLike, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.statRequest(Op.Lstat, 'lstat', path, options);
  }

  stat(path: PathLike, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  stat(path: PathLike, options?: StatOptions): Promise<Stats>;
  stat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.statRequest(Op.Stat, 'stat', path, options);
  }

  readdir(path: PathLike, options: ReaddirOptions & { withFileTypes: true; encoding: 'buffer' }): Promise<Dirent<Buffer>[]>;
  readdir(path: PathLike, options: ReaddirOptions & { withFileTypes: true }): Promise<Dirent[]>;
  readdir(path: PathLike, options: ReaddirOptions & { encoding: 'buffer' }): Promise<Buffer[]>;
  readdir(path: PathLike, options?: ReaddirOptions): Promise<string[]>;
  async readdir(path: PathLike, options?: ReaddirOptions): Promise<(string | Buffer | Dirent<string | Buffer>)[]> {
    const o = checkOptionsObject(options);
    const encoding = checkEncoding(o.encoding) ? 'buffer' : 'utf8';
    const stream = this.startWalk(path, { maxDepth: 1, encoding }, this.readdir);
    const out: (string | Buffer | Dirent<string | Buffer>)[] = [];
    const withFileTypes = o.withFileTypes === true;
    for await (const batch of stream) {
      for (const entry of batch) out.push(withFileTypes ? (entry as Dirent<string | Buffer>) : entry.name);
    }
    return out;
  }

  readlink(path: PathLike, options?: { encoding?: 'utf8' | 'buffer' }): Promise<string>;
  readlink(path: PathLike, options: { encoding: 'buffer' }): Promise<Buffer>;
  async readlink(path: PathLike, options?: { encoding?: 'utf8' | 'buffer' }): Promise<string | Buffer> {
    const buffer = checkEncoding(checkOptionsObject(options).encoding);
    const bytes = await this.dataRequest(Op.Readlink, 'readlink', path, undefined);
    return buffer ? bytes : bytes.toString('utf8');
  }

  readFile(path: PathLike, options: BufferEncoding | (ReadFileOptions & { encoding: BufferEncoding })): Promise<string>;
  readFile(path: PathLike, options?: ReadFileOptions): Promise<Buffer>;
  async readFile(path: PathLike, options?: ReadFileOptions | BufferEncoding): Promise<string | Buffer> {
    const o = typeof options === 'string' ? { encoding: options } : checkOptionsObject(options);
    const encoding = o.encoding ?? null;
    if (encoding !== null && !Buffer.isEncoding(encoding as string)) {
      throw new TypeError(`Expected a Buffer encoding for encoding but received '${String(encoding)}'`);
    }
    const bytes = await this.dataRequest(Op.ReadFile, 'open', path, o.signal as AbortSignal | undefined);
    return encoding === null ? bytes : bytes.toString(encoding as BufferEncoding);
  }

  /** Runs mount(2) in the server's mount namespace (namespaces made by the library). */
  protected mountRequest(
    source: string,
    target: string,
    fstype: string,
    flags: number,
    data: string,
    caller: (...args: never[]) => unknown,
  ): Promise<void> {
    const tail = Buffer.concat([u64(flags), encodeStrings([source, this.resolvePath(target), fstype, data])]);
    return this.voidRequest(Op.Mount, [], tail, caller);
  }

  /** Makes the server resolve every later path inside `dir` (RESOLVE_IN_ROOT). */
  protected setRootRequest(dir: string, caller: (...args: never[]) => unknown): Promise<void> {
    const bytes = checkPath(dir, 'root');
    return this.voidRequest(Op.SetRoot, [], this.pathBytes(dir, bytes), caller);
  }

  protected unmountRequest(target: string, flags: number, caller: (...args: never[]) => unknown): Promise<void> {
    return this.voidRequest(Op.Unmount, [flags], Buffer.from(this.resolvePath(target)), caller);
  }

  /** A request answered by an end or an error, whose error gets the stack of `caller`'s caller. */
  private voidRequest(op: Op, fields: number[], tail: Buffer, caller: (...args: never[]) => unknown): Promise<void> {
    const site = new CallSite(caller);
    return this.simpleRequest(op, fields, tail).then(
      () => undefined,
      (error: Error) => Promise.reject(site.graft(error)),
    );
  }

  private startWalk(root: PathLike, options: WalkOptions | undefined, caller: (...args: never[]) => unknown): BatchStream {
    const site = new CallSite(caller);
    const bytes = checkPath(root, 'root');
    const checked = checkWalkOptions(options);
    if (bytes.length === 0) throw site.graft(emptyPathError('scandir'));
    const resolved = this.resolvePath(bytes.toString('utf8'));
    const rootBytes = typeof root === 'string' ? Buffer.from(resolved) : this.resolveBytes(bytes);
    return new BatchStream(this.channel(), resolved, rootBytes, checked, this.mapUid, this.mapGid, site);
  }

  private resolveBytes(bytes: Buffer): Buffer {
    // Buffer paths may not be UTF-8: resolve only when relative.
    if (bytes[0] === 0x2f) return bytes;
    return Buffer.from(this.resolvePath(bytes.toString('utf8')));
  }

  private async statRequest(
    op: Op,
    syscall: string,
    path: PathLike,
    options: StatOptions | undefined,
  ): Promise<Stats | BigIntStats> {
    const bigint = checkOptionsObject(options).bigint === true;
    const bytes = checkPath(path);
    if (bytes.length === 0) throw emptyPathError(syscall);
    let payload: Buffer;
    try {
      payload = await this.simpleRequest(op, [], this.pathBytes(path, bytes));
    } catch (error) {
      throw withCallerStack(error as Error, this.statRequest);
    }
    const reader = new StatReader(new DataView(payload.buffer, payload.byteOffset, payload.byteLength), ALL_STAT, this.mapUid, this.mapGid);
    return bigint ? reader.readBigInt(0) : reader.read(0);
  }

  private async dataRequest(op: Op, syscall: string, path: PathLike, signal: AbortSignal | undefined): Promise<Buffer> {
    const bytes = checkPath(path);
    if (bytes.length === 0) throw emptyPathError(syscall);
    try {
      return await this.simpleRequest(op, [], this.pathBytes(path, bytes), signal);
    } catch (error) {
      throw withCallerStack(error as Error, this.dataRequest);
    }
  }

  private pathBytes(path: PathLike, bytes: Buffer): Buffer {
    return typeof path === 'string' ? Buffer.from(this.resolvePath(path)) : this.resolveBytes(bytes);
  }

  /**
   * One request whose replies are collected: a stat, data chunks, or an end.
   * Its errors have no useful stack yet: callers give them theirs.
   */
  private simpleRequest(op: Op, fields: number[], tail: Buffer, signal?: AbortSignal): Promise<Buffer> {
    const channel = this.channel();
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
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
      channel.hold();
      if (signal?.aborted) {
        onAbort();
        return;
      }
      try {
        id = channel.request(op, fields, tail, {
          frame(kind, _flags, payload) {
            if (kind === Reply.Data) {
              chunks.push(Buffer.from(payload));
              if (op !== Op.ReadFile) settle(undefined, chunks[0]);
              return op !== Op.ReadFile;
            }
            if (kind === Reply.Stat) settle(undefined, Buffer.from(payload));
            else if (kind === Reply.End) settle(undefined, Buffer.concat(chunks));
            else if (kind === Reply.Error) settle(errorFromPayload(payload));
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
}

function u64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(value), 0);
  return bytes;
}

/** Resolves relative paths against a base directory, as the server would not. */
export function resolverFrom(base: () => string): PathResolver {
  return (path) => (path.startsWith('/') ? path : nodePath.posix.resolve(base(), path));
}

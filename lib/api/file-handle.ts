// node:fs/promises' FileHandle over a session's channel: the file is open in
// the server (the worker, inside the session's namespaces, or the host
// server thread), which holds its fd; every call is a request naming it.
import type { Channel } from '../wire/channel';
import { request, statAnswer } from '../wire/answer';
import {
  encodeClose,
  encodeHandleChmod,
  encodeHandleChown,
  encodeHandleRead,
  encodeHandleStat,
  encodeHandleSync,
  encodeHandleTruncate,
  encodeHandleWrite,
  type RequestFrame,
} from '../wire/requests';
import { MAX_CHUNK, SYNC_DATA, TO_END } from '../wire/protocol';
import { CallSite, type FsError } from '../core/errors';
import { ERRNO } from '../core/errno';
import { checkInteger, checkMode, checkOptionsObject, checkOwnerId, checkSignal, invalid } from '../core/checks';
import type { BigIntStats, IdMapper, Stats } from '../core/stats';
import type { StatOptions } from '../core/options';

/** Bytes of one write request: well inside a request frame (MAX_REQUEST, 64 KiB). */
const WRITE_CHUNK = 32 * 1024;
/** Bytes one read request asks for while reading a whole file. */
const READ_CHUNK = 64 * 1024;
/** What node's filehandle.read() allocates when given no buffer. */
const DEFAULT_READ_BYTES = 16 * 1024;
/** The most a readFile gives, as node's (kIoMaxLength, 2 GiB). */
const MAX_READ_FILE = 2 ** 31 - 1;

/** What a FileHandle is served by: its session's channel and id mappers. */
export interface HandleServer {
  channel(): Channel;
  mapUid: IdMapper;
  mapGid: IdMapper;
}

/** filehandle.read()'s answer, as node's. */
export interface FileReadResult<T extends NodeJS.ArrayBufferView = Buffer> {
  /** Bytes read: fewer than asked at the end of the file, 0 past it. */
  bytesRead: number;
  /** The buffer read into. */
  buffer: T;
}

/** filehandle.write()'s answer, as node's. */
export interface FileWriteResult<T = Buffer> {
  /** Bytes written. */
  bytesWritten: number;
  /** The data given. */
  buffer: T;
}

/** filehandle.read()'s options object. */
export interface FileReadOptions<T extends NodeJS.ArrayBufferView = Buffer> {
  /** Where to read into; 16 KiB of a new Buffer by default. */
  buffer?: T;
  /** Where in `buffer` to start; 0 by default. */
  offset?: number;
  /** Bytes to read at most; the rest of `buffer` by default. */
  length?: number;
  /** Where to read; null, undefined or -1: the file's own position, which the read moves. */
  position?: number | bigint | null;
}

/**
 * Files whose FileHandle was collected unclosed: closed in the server, with
 * the warning node gives when it closes one on garbage collection, so a
 * program that forgets close() does not fill the session's MAX_HANDLES.
 * The held value names the file, never the handle itself.
 */
const collected = new FinalizationRegistry<{ server: HandleServer; handle: number }>(({ server, handle }) => {
  process.emitWarning(`Closing file descriptor ${handle} on garbage collection`);
  try {
    request(server.channel(), encodeClose(handle)).catch(() => undefined);
  } catch {
    // The session is closed, and its files with it.
  }
});

/** A position node's way: null, undefined or -1 for the file's own. */
function checkPosition(value: unknown): bigint {
  if (value === null || value === undefined || value === -1 || value === -1n) return TO_END;
  if (typeof value === 'bigint') {
    if (value < 0n || value > 2n ** 63n - 1n) throw invalid('position', 'an integer >= 0', value);
    return value;
  }
  return BigInt(checkInteger('position', value, 0, Number.MAX_SAFE_INTEGER, 0));
}

/** The error node's FileHandle gives once closed: EBADF 'file closed' for the call's syscall. */
function closedError(syscall: string): FsError {
  const error = new Error('file closed') as FsError;
  error.code = 'EBADF';
  error.errno = -ERRNO.EBADF;
  error.syscall = syscall;
  return error;
}

/**
 * A file open in the server, as node:fs/promises' FileHandle: read and
 * write at positions, readFile, writeFile, truncate, stat, chmod, chown,
 * sync, close, `await using`.  `fd` is the server's own descriptor (the
 * worker's, in a namespace): a number to tell handles apart, never usable
 * in this process.  A session (and `host`, for this process) holds at most
 * MAX_HANDLES (256) open at once (one more is EMFILE); what is left open is closed with the session, and
 * every call after either close is EBADF, as node's closed FileHandle.  A
 * handle collected unclosed is closed in the server, with node's warning.
 */
export class FileHandle {
  readonly #server: HandleServer;
  #handle: number;

  /** @internal: made by FileSystem.open(). */
  constructor(server: HandleServer, handle: number) {
    this.#server = server;
    this.#handle = handle;
    collected.register(this, { server, handle }, this);
  }

  /** The server's descriptor (not this process's); -1 once closed, as node's. */
  get fd(): number {
    return this.#handle;
  }

  /**
   * Reads into `buffer` (16 KiB of a new one when none is given) from
   * `position` (the file's own when null): node's three forms, (buffer,
   * offset, length, position), (buffer, options) and (options).
   */
  async read<T extends NodeJS.ArrayBufferView = Buffer>(
    buffer?: T | FileReadOptions<T>,
    offset?: number | FileReadOptions<T> | null,
    length?: number | null,
    position?: number | bigint | null,
  ): Promise<FileReadResult<T>> {
    const site = new CallSite(this.read);
    let o: FileReadOptions<T>;
    if (buffer === undefined || buffer === null || !ArrayBuffer.isView(buffer)) {
      o = checkOptionsObject(buffer ?? {}, ['buffer', 'offset', 'length', 'position'], 'read') as FileReadOptions<T>;
    } else if (offset !== null && typeof offset === 'object') {
      o = { ...(checkOptionsObject(offset, ['offset', 'length', 'position'], 'read') as FileReadOptions<T>), buffer };
    } else {
      o = { buffer, offset: offset ?? undefined, length: length ?? undefined, position };
    }
    const target = (o.buffer ?? Buffer.alloc(DEFAULT_READ_BYTES)) as T;
    if (!ArrayBuffer.isView(target)) throw invalid('buffer', 'a Buffer, TypedArray or DataView', target);
    const bytes = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
    const at = checkInteger('offset', o.offset, 0, bytes.length, 0);
    const want = checkInteger('length', o.length, 0, bytes.length - at, bytes.length - at);
    const start = checkPosition(o.position);
    let done = 0;
    try {
      // One request per MAX_CHUNK; a short answer (the end, a pipe) ends it, as one read(2) would.
      while (done < want) {
        const ask = Math.min(want - done, MAX_CHUNK);
        const where = start === TO_END ? TO_END : start + BigInt(done);
        const data = await this.#ask('read', (h) => encodeHandleRead(h, ask, where));
        bytes.set(data, at + done);
        done += data.length;
        if (data.length < ask) break;
      }
    } catch (error) {
      throw site.graft(error as Error);
    }
    return { bytesRead: done, buffer: target };
  }

  /**
   * Writes `data` at `position` (the file's own when null; the end with
   * 'a' flags, as pwrite(2) does on Linux): node's forms (buffer, offset,
   * length, position), (buffer, options) and (string, position, encoding).
   */
  async write<T extends NodeJS.ArrayBufferView | string>(
    data: T,
    offsetOrPosition?: number | bigint | null | { offset?: number; length?: number; position?: number | bigint | null },
    lengthOrEncoding?: number | BufferEncoding | null,
    position?: number | bigint | null,
  ): Promise<FileWriteResult<T>> {
    const site = new CallSite(this.write);
    let bytes: Uint8Array;
    let where: bigint;
    if (typeof data === 'string') {
      const encoding = (lengthOrEncoding ?? 'utf8') as BufferEncoding;
      if (!Buffer.isEncoding(encoding)) throw invalid('encoding', 'a Buffer encoding', encoding);
      bytes = Buffer.from(data, encoding);
      where = checkPosition(offsetOrPosition);
    } else if (ArrayBuffer.isView(data)) {
      const all = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const o =
        offsetOrPosition !== null && typeof offsetOrPosition === 'object'
          ? checkOptionsObject(offsetOrPosition, ['offset', 'length', 'position'], 'write')
          : { offset: offsetOrPosition, length: lengthOrEncoding, position };
      const at = checkInteger('offset', o.offset ?? undefined, 0, all.length, 0);
      const length = checkInteger('length', o.length ?? undefined, 0, all.length - at, all.length - at);
      bytes = all.subarray(at, at + length);
      where = checkPosition(o.position);
    } else {
      throw invalid('buffer', 'a string, Buffer, TypedArray or DataView', data);
    }
    let written: number;
    try {
      written = await this.#writeAll(bytes, where);
    } catch (error) {
      throw site.graft(error as Error);
    }
    return { bytesWritten: written, buffer: data };
  }

  /** Bytes written, a request per WRITE_CHUNK, until all are or one write is short. */
  async #writeAll(bytes: Uint8Array, where: bigint): Promise<number> {
    let done = 0;
    do {
      const chunk = bytes.subarray(done, done + WRITE_CHUNK);
      const at = where === TO_END ? TO_END : where + BigInt(done);
      const answer = await this.#ask('write', (h) => encodeHandleWrite(h, at, chunk));
      const n = answer.readUInt32LE(0);
      done += n;
      if (n < chunk.length) break;
    } while (done < bytes.length);
    return done;
  }

  /** The rest of the file from its own position: a Buffer, or a string in `encoding`. */
  readFile(options: BufferEncoding | { encoding: BufferEncoding; signal?: AbortSignal }): Promise<string>;
  readFile(options?: { encoding?: null; signal?: AbortSignal } | null): Promise<Buffer>;
  async readFile(options?: BufferEncoding | { encoding?: BufferEncoding | null; signal?: AbortSignal } | null): Promise<string | Buffer> {
    const site = new CallSite(this.readFile);
    const o =
      typeof options === 'string' ? { encoding: options } : checkOptionsObject(options ?? {}, ['encoding', 'signal', 'flag'], 'readFile');
    const encoding = (o.encoding ?? null) as BufferEncoding | null;
    if (encoding !== null && !Buffer.isEncoding(encoding)) throw invalid('encoding', 'a Buffer encoding', encoding);
    const signal = checkSignal(o.signal);
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const data = await this.#ask('read', (h) => encodeHandleRead(h, READ_CHUNK, TO_END));
        if (data.length === 0) break;
        total += data.length;
        if (total > MAX_READ_FILE)
          throw Object.assign(new RangeError('File size is greater than 2 GiB'), { code: 'ERR_FS_FILE_TOO_LARGE' });
        chunks.push(data);
      }
    } catch (error) {
      throw site.graft(error as Error);
    }
    const whole = Buffer.concat(chunks, total);
    return encoding === null ? whole : whole.toString(encoding);
  }

  /** Writes `data` from the file's own position (node's filehandle.writeFile): a string, bytes, or an iterable of them. */
  async writeFile(
    data: string | NodeJS.ArrayBufferView | Iterable<string | NodeJS.ArrayBufferView> | AsyncIterable<string | NodeJS.ArrayBufferView>,
    options?:
      | BufferEncoding
      | { encoding?: BufferEncoding | null; signal?: AbortSignal; mode?: number; flag?: string; flush?: boolean }
      | null,
  ): Promise<void> {
    const site = new CallSite(this.writeFile);
    const o =
      typeof options === 'string'
        ? { encoding: options }
        : checkOptionsObject(options ?? {}, ['encoding', 'signal', 'mode', 'flag', 'flush'], 'writeFile');
    const encoding = (o.encoding ?? 'utf8') as BufferEncoding;
    if (!Buffer.isEncoding(encoding)) throw invalid('encoding', 'a Buffer encoding', encoding);
    const signal = checkSignal(o.signal);
    const toBytes = (piece: unknown): Uint8Array => {
      if (typeof piece === 'string') return Buffer.from(piece, encoding);
      if (ArrayBuffer.isView(piece)) return new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
      throw invalid('data', 'a string, Buffer, TypedArray, DataView or an iterable of them', piece);
    };
    try {
      const pieces = typeof data === 'string' || ArrayBuffer.isView(data) ? [data] : (data as AsyncIterable<unknown> | Iterable<unknown>);
      if (pieces === null || typeof pieces !== 'object' || !(Symbol.asyncIterator in pieces || Symbol.iterator in pieces)) {
        throw invalid('data', 'a string, Buffer, TypedArray, DataView or an iterable of them', data);
      }
      for await (const piece of pieces) {
        signal?.throwIfAborted();
        const bytes = toBytes(piece);
        let done = 0;
        while (done < bytes.length) done += await this.#writeAll(bytes.subarray(done), TO_END);
      }
      if (o.flush === true) await this.#ask('fsync', (h) => encodeHandleSync(h, 0));
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  /** Cuts or extends the file to `len` bytes (default 0). */
  async truncate(len = 0): Promise<void> {
    const length = BigInt(checkInteger('len', len, 0, Number.MAX_SAFE_INTEGER, 0));
    await this.#change('ftruncate', (h) => encodeHandleTruncate(h, length), this.truncate);
  }

  /** The open file's stats (ids as seen inside); BigIntStats with `bigint: true`. */
  stat(options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  stat(options?: StatOptions): Promise<Stats>;
  async stat(options?: StatOptions): Promise<Stats | BigIntStats> {
    const site = new CallSite(this.stat);
    const o = checkOptionsObject(options, ['bigint', 'signal'], 'stat');
    const bigint = o.bigint === true;
    let payload: Buffer;
    try {
      payload = await this.#ask('fstat', (h) => encodeHandleStat(h));
    } catch (error) {
      throw site.graft(error as Error);
    }
    return statAnswer(payload, bigint, this.#server.mapUid, this.#server.mapGid);
  }

  /** Sets the open file's mode. */
  async chmod(mode: number | string): Promise<void> {
    const bits = checkMode('mode', mode === undefined ? null : mode, 0);
    await this.#change('fchmod', (h) => encodeHandleChmod(h, bits), this.chmod);
  }

  /** Sets the open file's owner (ids as seen inside; -1 leaves one). */
  async chown(uid: number, gid: number): Promise<void> {
    const ids = [checkOwnerId('uid', uid, false) >>> 0, checkOwnerId('gid', gid, false) >>> 0] as const;
    await this.#change('fchown', (h) => encodeHandleChown(h, ids[0], ids[1]), this.chown);
  }

  /** fsync(2) of the open file. */
  async sync(): Promise<void> {
    await this.#change('fsync', (h) => encodeHandleSync(h, 0), this.sync);
  }

  /** fdatasync(2) of the open file. */
  async datasync(): Promise<void> {
    await this.#change('fdatasync', (h) => encodeHandleSync(h, SYNC_DATA), this.datasync);
  }

  /**
   * Closes the file in the server; every later call is EBADF.  A second
   * close, or one after the session closed, resolves as node's does.
   */
  async close(): Promise<void> {
    const handle = this.#handle;
    if (handle < 0) return;
    this.#handle = -1;
    collected.unregister(this);
    let channel: Channel;
    try {
      channel = this.#server.channel();
    } catch {
      return; // the session is closed, and its files with it
    }
    const site = new CallSite(this.close);
    try {
      await request(channel, encodeClose(handle));
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ECLOSED') return;
      throw site.graft(error as Error);
    }
  }

  /** close(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #change(syscall: string, encode: (handle: number) => RequestFrame, caller: (...args: never[]) => unknown): Promise<void> {
    const site = new CallSite(caller);
    try {
      await this.#ask(syscall, encode);
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  /** One request on the open file: EBADF once it or its session is closed. */
  async #ask(syscall: string, encode: (handle: number) => RequestFrame): Promise<Buffer> {
    if (this.#handle < 0) throw closedError(syscall);
    let channel: Channel;
    try {
      channel = this.#server.channel();
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ECLOSED') {
        this.#handle = -1;
        collected.unregister(this);
        throw closedError(syscall);
      }
      throw error;
    }
    return request(channel, encode(this.#handle));
  }
}

// Changing files over a channel: the streamed write (data frames sent
// against credit, so a writer holds a window of them whatever it writes),
// and the tree jobs (recursive rm and chown) with their progress.
import { Writable } from 'node:stream';

import type { Channel } from './channel';
import { abortError, cutShortError, protocolError } from '../core/errors';
import { invalid } from '../core/checks';
import { END_CANCELLED, FRAME_HEADER, MAX_REQUEST, Reply, errorFromPayload } from './protocol';
import { PendingRequest } from './pending';
import { encodeWrite, encodeWriteData, encodeWriteEnd, type RequestFrame } from './requests';
import { destroyOnAbort } from './read-stream';
import type { TreeOptions, TreeResult } from '../core/options';

/** Bytes per data frame: a request frame of at most MAX_REQUEST. */
export const WRITE_CHUNK = MAX_REQUEST - FRAME_HEADER;
/** Data frames sent ahead of the server's credit (1 MiB). */
const WRITE_WINDOW = 16;

export interface WriteTarget {
  /** WriteFlag bits. */
  flags: number;
  mode: number;
  uid: number;
  gid: number;
  /** Where the writes begin (createWriteStream's `start`); 0 when absent. */
  position?: bigint;
}

/**
 * One write request in flight: sends data frames while it has credit, and
 * waits for more when it has none.  Settles once with the server's end
 * frame or error (or the channel's end).  An abort of `signal` cancels it
 * in the server (what was written stays).
 */
export class WriteRequest extends PendingRequest {
  #credit = WRITE_WINDOW;
  #wake: (() => void) | undefined;
  readonly #done: Promise<void>;
  #settle!: (error?: Error) => void;

  constructor(
    private readonly path: string,
    /** Told of the request's error as soon as it comes, even with no write waiting. */
    private readonly onError?: (error: Error) => void,
    signal?: AbortSignal,
  ) {
    super(signal);
    this.#done = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error ? reject(error) : resolve());
    });
    // Awaited only through write() and end(); an error nobody awaits is
    // told to onError.
    this.#done.catch(() => undefined);
  }

  start(channel: Channel, target: WriteTarget, pathBytes: Buffer): void {
    this.send(channel, encodeWrite({ ...target, window: WRITE_WINDOW }, pathBytes));
  }

  frame(kind: Reply, flags: number, payload: Buffer): boolean {
    if (kind === Reply.Credit) {
      this.#credit += payload.readUInt32LE(0);
      this.#wakeUp();
      return false;
    }
    if (kind === Reply.End) {
      this.#finish(flags & END_CANCELLED ? cutShortError('write', this.path) : undefined);
    } else if (kind === Reply.Error) {
      this.#finish(errorFromPayload(payload));
    } else {
      this.#finish(protocolError(`a reply of kind ${kind} to the write of '${this.path}'`));
    }
    return true;
  }

  fail(error: Error): void {
    this.#finish(error);
  }

  /** Sends `bytes`, waiting for credit as it goes; rejects once the request failed. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; at += WRITE_CHUNK) {
      while (this.#credit === 0 && !this.finished) await new Promise<void>((resolve) => (this.#wake = resolve));
      if (this.finished) {
        await this.#done;
        throw cutShortError('write', this.path); // ended without an error: only by a cancel
      }
      this.#credit--;
      this.control(encodeWriteData(bytes.subarray(at, Math.min(bytes.length, at + WRITE_CHUNK))));
    }
  }

  /** Ends the data; resolves once the file is written and closed. */
  end(): Promise<void> {
    if (!this.finished) this.control(encodeWriteEnd());
    return this.#done;
  }

  /** Settles with the request, failed or not: the server is done with the file. */
  settled(): Promise<void> {
    return this.#done.catch(() => undefined);
  }

  /** Stops the write in the server (what was written stays). */
  stop(): void {
    if (!this.finished) this.cancel();
  }

  get over(): boolean {
    return this.finished;
  }

  protected aborted(error: Error): void {
    // Not sent yet: nothing to stop in the server.
    if (this.id === 0) this.#finish(error);
    else this.stop();
  }

  #finish(error: Error | undefined): void {
    if (!this.finish()) return;
    this.#settle(error);
    this.#wakeUp();
    if (error) this.onError?.(error);
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Bytes of one chunk of writeFile's data: strings in `encoding`, any view of bytes as it is. */
export function chunkBytes(chunk: unknown, encoding: BufferEncoding, name = 'data chunk'): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding);
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw invalid(name, 'a string, a Buffer, a typed array or an (async) iterable of them', chunk);
}

/** Writes all of `data` through a write request; aborts with `signal`. */
export async function writeAll(
  channel: Channel,
  path: string,
  pathBytes: Buffer,
  target: WriteTarget,
  data: Uint8Array | AsyncIterable<unknown> | Iterable<unknown>,
  encoding: BufferEncoding,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal?.aborted) throw abortError(signal);
  const request = new WriteRequest(path, undefined, signal);
  request.start(channel, target, pathBytes);
  try {
    if (data instanceof Uint8Array) {
      await request.write(data);
    } else {
      for await (const chunk of data as AsyncIterable<unknown>) {
        if (signal?.aborted) break;
        await request.write(chunkBytes(chunk, encoding));
      }
    }
    if (signal?.aborted) request.stop();
    await request.end();
  } catch (error) {
    request.stop();
    // Rejected once the server has stopped: the caller may then remove the
    // file, and no write of this request comes after.
    await request.settled();
    if (signal?.aborted) throw abortError(signal);
    throw error;
  }
  if (signal?.aborted) throw abortError(signal);
}

export interface WriteStreamParts {
  channel(): Channel;
  path: string;
  pathBytes: Buffer;
  target: WriteTarget;
  highWaterMark: number;
  signal: AbortSignal | undefined;
  /** Emit 'close' once destroyed (fs.createWriteStream's emitClose; default true). */
  emitClose?: boolean;
  graft(error: Error): Error;
}

/**
 * A Writable over a write request: each chunk goes out as the server gives
 * credit, so a fast producer waits (its writes return false) instead of
 * filling memory.
 */
export class FileWriteStream extends Writable {
  /** The path, as fs.WriteStream has it. */
  readonly path: string;
  /** Bytes the server has been sent so far. */
  bytesWritten = 0;
  #request: WriteRequest | undefined;
  readonly #parts: WriteStreamParts;
  readonly #onAbort = (): void => {
    this.destroy(abortError(this.#parts.signal!));
  };

  constructor(parts: WriteStreamParts) {
    super({ highWaterMark: parts.highWaterMark, decodeStrings: true, emitClose: parts.emitClose ?? true });
    this.#parts = parts;
    this.path = parts.path;
    destroyOnAbort(this, parts.signal, this.#onAbort);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    try {
      const request = new WriteRequest(this.path, (error) => this.destroy(this.#parts.graft(error)));
      request.start(this.#parts.channel(), this.#parts.target, this.#parts.pathBytes);
      this.#request = request;
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#request!.write(chunk).then(
      () => {
        this.bytesWritten += chunk.length;
        callback();
      },
      (error: Error) => callback(this.#parts.graft(error)),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#request!.end().then(
      () => callback(),
      (error: Error) => callback(this.#parts.graft(error)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#request?.stop();
    this.#parts.signal?.removeEventListener('abort', this.#onAbort);
    callback(error);
  }
}

type TreeJobOptions = { onError: TreeOptions['onError']; onProgress: TreeOptions['onProgress']; signal: AbortSignal | undefined };

/** A tree job in flight: its progress and entry errors told as they come, its counts at the end. */
class TreeJob extends PendingRequest {
  constructor(
    private readonly pathBytes: Buffer,
    private readonly options: TreeJobOptions,
    private readonly resolve: (result: TreeResult) => void,
    private readonly reject: (error: Error) => void,
  ) {
    super(options.signal);
  }

  start(channel: Channel, frame: RequestFrame): void {
    try {
      this.send(channel, frame);
    } catch (error) {
      this.#settle(error as Error);
    }
  }

  frame(kind: Reply, flags: number, payload: Buffer): boolean {
    const { onError, onProgress, signal } = this.options;
    try {
      if (kind === Reply.Progress) {
        onProgress?.(Number(payload.readBigUInt64LE(0)));
        return false;
      }
      if (kind === Reply.EntryError) {
        if (typeof onError === 'function') onError(errorFromPayload(payload));
        return false;
      }
    } catch (error) {
      // A throwing callback stops the job, as a throwing onError stops a walk.
      this.cancel();
      this.forget();
      this.#settle(error as Error);
      return true;
    }
    if (kind === Reply.Error) {
      this.#settle(errorFromPayload(payload));
    } else if (kind === Reply.End && payload.length >= 16) {
      const result = { entries: Number(payload.readBigUInt64LE(0)), errors: Number(payload.readBigUInt64LE(8)) };
      if (!(flags & END_CANCELLED)) this.#settle(undefined, result);
      else if (signal?.aborted) this.#settle(Object.assign(abortError(signal), result));
      else this.#settle(Object.assign(cutShortError('job', this.pathBytes.toString()), result));
    } else {
      this.#settle(protocolError(`a reply of kind ${kind} to a tree job`));
    }
    return true;
  }

  fail(error: Error): void {
    this.#settle(error);
  }

  protected aborted(error: Error): void {
    // Not sent yet: nothing done.  Sent: the server stops, and its end
    // frame brings the counts of what it did.
    if (this.id === 0) this.#settle(Object.assign(error, { entries: 0 }));
    else this.cancel();
  }

  #settle(error: Error | undefined, result?: TreeResult): void {
    if (!this.finish()) return;
    if (error) this.reject(error);
    else this.resolve(result!);
  }
}

/** Runs a tree job (encodeRemove or encodeChownTree of `pathBytes`): resolves with its counts. */
export function treeJob(channel: Channel, frame: RequestFrame, pathBytes: Buffer, options: TreeJobOptions): Promise<TreeResult> {
  return new Promise<TreeResult>((resolve, reject) => new TreeJob(pathBytes, options, resolve, reject).start(channel, frame));
}

// File contents from the server: data frames, each sent against a credit,
// so a reader holds at most a window of them whatever the file is (a
// 50 GiB sparse file, /dev/zero, a FIFO that never ends).
import { constants } from 'node:fs';
import { Readable } from 'node:stream';

import type { Channel } from './channel';
import { ERRNO } from '../core/errno';
import { abortError, cutShortError, protocolError } from '../core/errors';
import { PendingRequest } from './pending';
import { END_CANCELLED, Reply, STAT_FIELD_BYTES, TO_END, errorFromPayload } from './protocol';
import { encodeReadFile, type RequestFrame } from './requests';

/** node:fs's kIoMaxLength: readFile refuses more (ERR_FS_FILE_TOO_LARGE). */
export const READ_FILE_LIMIT = 2 ** 31 - 1;
/** Data frames of a readFile, and how many run ahead of the reader. */
const READ_FILE_CHUNK = 256 * 1024;
const READ_FILE_WINDOW = 4;
/** Frames a stream lets run ahead of its consumer. */
const STREAM_WINDOW = 4;
/** Where the size sits in a stat record of every field: after mode, uid, gid and nlink. */
const STAT_SIZE_OFFSET = STAT_FIELD_BYTES.slice(0, 4).reduce((sum, bytes) => sum + bytes, 0);
const { S_IFMT, S_IFREG } = constants;

export interface ReadRange {
  start: number;
  /** Exclusive; undefined for the whole file. */
  end: number | undefined;
}

/** The error node:fs gives for a file readFile will not hold. */
function tooLarge(path: string): RangeError {
  return Object.assign(new RangeError(`File is larger than 2 GiB (the most readFile holds): '${path}'`), {
    code: 'ERR_FS_FILE_TOO_LARGE',
  });
}

/**
 * One read request in flight: hands each data frame to `onData` and gives
 * its credit back when `onData` says the consumer wants more (or later,
 * with resume()).
 */
class ReadRequest extends PendingRequest {
  private owed = 0;

  constructor(
    private readonly path: string,
    private readonly sink: {
      /** The open file's size, before any data, when it is a regular file that says one. */
      size?(bytes: number): void;
      /** A data frame's bytes (valid during the call only); false pauses credit. */
      data(bytes: Buffer): boolean;
      end(): void;
      error(error: Error): void;
    },
    signal?: AbortSignal,
  ) {
    super(signal);
  }

  /** Sends the request: a read (encodeReadFile), a tar stream (encodeTar) or a diff (encodeDiff). */
  start(channel: Channel, frame: RequestFrame): void {
    this.send(channel, frame);
  }

  frame(kind: Reply, flags: number, payload: Buffer): boolean {
    if (this.finished) return true;
    if (kind === Reply.Stat) {
      // The open file's stat, before its data (layout: ../core/stats.ts).
      const mode = payload.readUInt32LE(0);
      const size = Number(payload.readBigUInt64LE(STAT_SIZE_OFFSET));
      if ((mode & S_IFMT) === S_IFREG && size > 0) this.sink.size?.(size);
      return false;
    }
    if (kind === Reply.Data) {
      this.owed++;
      if (this.sink.data(payload)) this.resume();
      return false;
    }
    this.finish();
    if (kind === Reply.End) {
      if (flags & END_CANCELLED) {
        this.sink.error(cutShortError('read', this.path));
      } else {
        this.sink.end();
      }
    } else if (kind === Reply.Error) {
      const error = errorFromPayload(payload);
      this.sink.error(-error.errno === ERRNO.EFBIG ? tooLarge(this.path) : error);
    } else {
      this.sink.error(protocolError(`a reply of kind ${kind} to the read of '${this.path}'`));
    }
    return true;
  }

  fail(error: Error): void {
    if (this.finish()) this.sink.error(error);
  }

  /** Gives back the credit of the frames consumed so far. */
  resume(): void {
    if (this.finished || this.owed === 0) return;
    this.credit(this.owed);
    this.owed = 0;
  }

  /** Stops the read in the server; nothing more reaches the sink. */
  stop(): void {
    if (this.finished) return;
    this.cancel();
    this.forget();
    this.finish();
  }

  protected aborted(error: Error): void {
    if (this.finished) return;
    this.stop();
    this.sink.error(error);
  }
}

/** What takes a streamed answer's frames: the data, and what it comes to at the end. */
export interface AnswerSink<T> {
  /** The open file's size, when a read's stat frame says one. */
  size?(bytes: number): void;
  /** A data frame's bytes (valid during the call only); false holds back credit. */
  data(bytes: Buffer): boolean;
  /** The result, once the end frame has come; may throw. */
  result(): T;
}

/** A streamed answer (a read, a diff's records), frame by frame into `sink`: resolves with sink.result() at its end. */
export function receive<T>(
  channel: Channel,
  path: string,
  frame: RequestFrame,
  signal: AbortSignal | undefined,
  sink: AnswerSink<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const request = new ReadRequest(
      path,
      {
        size: sink.size && ((bytes) => sink.size!(bytes)),
        data: (bytes) => sink.data(bytes),
        end: () => {
          try {
            resolve(sink.result());
          } catch (failure) {
            reject(failure as Error);
          }
        },
        error: reject,
      },
      signal,
    );
    request.start(channel, frame);
  });
}

/**
 * A whole file, as readFile gives it: at most READ_FILE_LIMIT bytes.  When
 * the file says its size, its bytes go straight into one buffer of that
 * size (one copy, no concatenation); a file that grows meanwhile, or says
 * no size (/proc, a FIFO, a device), is gathered in chunks.
 */
export function readWhole(channel: Channel, path: string, pathBytes: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let whole: Buffer | undefined;
  let filled = 0;
  const frame = encodeReadFile(
    { start: 0n, end: TO_END, limit: BigInt(READ_FILE_LIMIT), window: READ_FILE_WINDOW, chunkBytes: READ_FILE_CHUNK },
    pathBytes,
  );
  return receive(channel, path, frame, signal, {
    size(bytes) {
      whole = Buffer.allocUnsafe(bytes);
    },
    data(bytes) {
      if (whole && filled + bytes.length <= whole.length) {
        bytes.copy(whole, filled);
        filled += bytes.length;
        // All of it is here: no credit for more (the end frame follows).
        return filled < whole.length;
      }
      if (whole) {
        chunks.push(whole.subarray(0, filled));
        whole = undefined;
      }
      chunks.push(Buffer.from(bytes));
      return true;
    },
    result() {
      if (whole) return filled === whole.length ? whole : whole.subarray(0, filled);
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    },
  });
}

/** A read of `range` of the file at `pathBytes`, as a stream asks for it. */
export function rangeRequest(pathBytes: Buffer, range: ReadRange): StreamParts['request'] {
  const end = range.end === undefined ? TO_END : BigInt(range.end);
  const start = BigInt(range.start);
  return (window, chunkBytes) => encodeReadFile({ start, end, limit: BigInt(Number.MAX_SAFE_INTEGER), window, chunkBytes }, pathBytes);
}

export interface StreamParts {
  channel(): Channel;
  path: string;
  /** The request to send (a read or a tar stream), for a window of frames of `chunkBytes` bytes. */
  request(window: number, chunkBytes: number): RequestFrame;
  highWaterMark: number;
  signal: AbortSignal | undefined;
  /** Emit 'close' once destroyed (fs.createReadStream's emitClose; default true). */
  emitClose?: boolean;
  /** Gives an error the stack of the createReadStream call. */
  graft(error: Error): Error;
  /**
   * Sees each data frame before it is pushed, and the end before the
   * stream's (an export's progress); what it throws destroys the stream.
   */
  observe?: { data(bytes: Buffer): void; end(): void };
}

/** Destroys a stream with an AbortError when `signal` aborts (on the next tick if it has). */
export function destroyOnAbort(stream: { destroy(error: Error): void }, signal: AbortSignal | undefined, onAbort: () => void): void {
  if (signal?.aborted) process.nextTick(() => stream.destroy(abortError(signal)));
  else signal?.addEventListener('abort', onAbort, { once: true });
}

/**
 * A Readable over a read request: the server sends a frame only when the
 * consumer has taken the ones before (a window of them), so a stream of any
 * size holds a few chunks at a time.
 */
export class FileReadStream extends Readable {
  /** The path, as fs.ReadStream has it. */
  readonly path: string;
  #request: ReadRequest | undefined;
  readonly #parts: StreamParts;
  readonly #onAbort = (): void => {
    this.destroy(abortError(this.#parts.signal!));
  };

  constructor(parts: StreamParts) {
    super({ highWaterMark: parts.highWaterMark, emitClose: parts.emitClose ?? true });
    this.#parts = parts;
    this.path = parts.path;
    destroyOnAbort(this, parts.signal, this.#onAbort);
  }

  override _read(): void {
    if (this.#request) {
      this.#request.resume();
      return;
    }
    let channel: Channel;
    try {
      channel = this.#parts.channel();
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    const chunk = Math.max(1, Math.min(this.#parts.highWaterMark, 1 << 20));
    const observe = this.#parts.observe;
    this.#request = new ReadRequest(this.path, {
      data: (bytes) => {
        if (observe !== undefined && !this.#observed(() => observe.data(bytes))) return false;
        return this.push(Buffer.from(bytes));
      },
      end: () => {
        if (observe === undefined || this.#observed(() => observe.end())) this.push(null);
      },
      error: (error) => this.destroy(this.#parts.graft(error)),
    });
    this.#request.start(channel, this.#parts.request(STREAM_WINDOW, chunk));
  }

  /** Runs an observer's call: false (the stream destroyed with it) when it throws. */
  #observed(call: () => void): boolean {
    try {
      call();
      return true;
    } catch (error) {
      this.destroy(error as Error);
      return false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#request?.stop();
    this.#parts.signal?.removeEventListener('abort', this.#onAbort);
    callback(error);
  }
}

// A scripted server behind a hand-made transport: it parses the frames a
// Channel writes, and serves reply bytes split however a test likes, as the
// addon's Port would deliver them (level-triggered, from the event loop,
// never from inside a call the channel makes).
import { constants } from 'node:os';

import { Channel } from '../../lib/wire/channel';
import { UnshareFsError } from '../../lib/core/errors';
import { PORT_READABLE, PORT_WRITABLE, type NativePort } from '../../lib/wire/native';
import { FRAME_HEADER, type Op, type Reply } from '../../lib/wire/protocol';

const EAGAIN = constants.errno.EAGAIN;

/** A request frame as the server reads it. */
export interface RequestFrame {
  id: number;
  op: Op;
  flags: number;
  payload: Buffer;
  /** The payload's u32 fields, as many as fit. */
  fields: number[];
}

/** One reply frame: u32 length, u32 id, u8 kind, u8 flags, u16 reserved, payload. */
export function replyFrame(id: number, kind: Reply, payload: Buffer = Buffer.alloc(0), flags = 0): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER + payload.length);
  frame.writeUInt32LE(frame.length - 4, 0);
  frame.writeUInt32LE(id, 4);
  frame[8] = kind;
  frame[9] = flags;
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

/** An error reply's payload: i32 errno, u16 syscall length, syscall, path. */
export function errorPayload(errno: number, syscall: string, path = ''): Buffer {
  const head = Buffer.alloc(6);
  head.writeInt32LE(errno, 0);
  head.writeUInt16LE(syscall.length, 4);
  return Buffer.concat([head, Buffer.from(syscall, 'latin1'), Buffer.from(path)]);
}

/** Cuts `bytes` at the given offsets (sorted, inside it) into pieces. */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  pieces.push(bytes.subarray(from));
  return pieces.filter((piece) => piece.length > 0);
}

export class FakeTransport implements NativePort {
  /** Request frames written by the channel, in order. */
  readonly requests: RequestFrame[] = [];
  /** Called with each request frame as it is written (replies it pushes come later, from the loop). */
  onRequest: ((frame: RequestFrame) => void) | undefined;
  /** False: writes fail with -EAGAIN, as on a full socket. */
  writable = true;
  /** The most bytes one write takes (partial writes), when set. */
  writeLimit = Infinity;
  watched = 0;
  refs = 0;
  shutdowns = 0;
  closed = false;
  /** Calls made after close(): a channel must make none. */
  readonly misuse: string[] = [];

  private onEvents!: (events: number) => void;
  private readonly inbound: Buffer[] = []; // each piece is what one read() returns at most
  private written = Buffer.alloc(0); // request bytes not yet a whole frame
  private writtenTotal = 0;
  private unreadBytes = 0;
  private eof = false;
  private pendingError = 0;
  private scheduled = false;
  private deliveries = 0;
  private delivering = false;

  /** The factory a Channel is built with. */
  readonly factory = (onEvents: (events: number) => void): NativePort => {
    this.onEvents = onEvents;
    return this;
  };

  // The server's side.

  /** Queues reply bytes; each piece is handed out by one read() (or more, when the reader has less room). */
  push(...pieces: Buffer[]): void {
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      this.inbound.push(piece);
      this.unreadBytes += piece.length;
    }
    this.schedule();
  }

  /** Ends the stream once the queued bytes are read. */
  end(): void {
    this.eof = true;
    this.schedule();
  }

  /** Makes the next poll report a failure (a negative libuv status). */
  failPoll(errno: number): void {
    this.pendingError = errno;
    this.schedule();
  }

  /** Lets writes through again and reports the socket writable. */
  setWritable(writable: boolean): void {
    this.writable = writable;
    if (writable) this.schedule();
  }

  /** Bytes queued and not yet read by the channel. */
  get unread(): number {
    return this.unreadBytes;
  }

  /** Requests with this op. */
  sent(op: Op): RequestFrame[] {
    return this.requests.filter((frame) => frame.op === op);
  }

  /** Runs the event loop until the transport has nothing more to deliver. */
  async idle(): Promise<void> {
    do {
      await new Promise((resolve) => setImmediate(resolve));
    } while (this.scheduled);
  }

  /**
   * What `promise` settles to, or a rejection when the transport has nothing
   * left to deliver and it is still pending: nothing else could settle it,
   * so the test fails there instead of waiting forever.
   */
  async settle<T>(promise: Promise<T>): Promise<T> {
    let pending = true;
    promise.then(
      () => (pending = false),
      () => (pending = false),
    );
    for (let quiet = 0; pending && quiet < 2; ) {
      const before = this.deliveries;
      await this.idle();
      quiet = this.deliveries === before ? quiet + 1 : 0;
    }
    if (pending) throw new Error('fake transport: still waiting, and the server has nothing more to send');
    return promise;
  }

  // The NativePort the channel sees.

  read(buffer: Uint8Array, offset: number, length: number): number {
    if (this.closed) this.misuse.push('read');
    const piece = this.inbound[0];
    if (piece === undefined) return this.eof ? 0 : -EAGAIN;
    const n = Math.min(length, piece.length);
    buffer.set(piece.subarray(0, n), offset);
    this.unreadBytes -= n;
    if (n === piece.length) this.inbound.shift();
    else this.inbound[0] = piece.subarray(n);
    return n;
  }

  write(buffer: Uint8Array, offset: number, length: number): number {
    if (this.closed) this.misuse.push('write');
    if (!this.writable) return -EAGAIN;
    const n = Math.min(length, this.writeLimit);
    this.written = Buffer.concat([this.written, buffer.subarray(offset, offset + n)]);
    this.writtenTotal += n;
    this.parseRequests();
    return n;
  }

  watch(events: number): void {
    if (this.closed) this.misuse.push('watch');
    this.watched = events;
    this.schedule();
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    this.refs--;
  }

  shutdown(): number {
    if (this.closed) this.misuse.push('shutdown');
    this.shutdowns++;
    return 0;
  }

  close(): void {
    this.closed = true;
    this.watched = 0;
  }

  private parseRequests(): void {
    while (this.written.length >= 4) {
      const length = this.written.readUInt32LE(0);
      if (this.written.length < 4 + length) return;
      const frame = this.written.subarray(0, 4 + length);
      this.written = this.written.subarray(4 + length);
      const payload = Buffer.from(frame.subarray(FRAME_HEADER));
      const fields: number[] = [];
      for (let o = 0; o + 4 <= payload.length; o += 4) fields.push(payload.readUInt32LE(o));
      const request: RequestFrame = { id: frame.readUInt32LE(4), op: frame.readUInt8(8) as Op, flags: frame.readUInt8(9), payload, fields };
      this.requests.push(request);
      this.onRequest?.(request);
    }
  }

  /** Readiness comes from the loop, as with uv_poll: never inside a call the channel makes. */
  private schedule(): void {
    if (this.scheduled || this.delivering) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    this.deliveries++;
    this.delivering = true;
    try {
      // Level-triggered, as uv_poll is: called again while the condition holds.
      while (!this.closed) {
        if (this.pendingError !== 0) {
          const errno = this.pendingError;
          this.pendingError = 0;
          this.onEvents(-errno);
          continue;
        }
        let events = 0;
        if (this.watched & PORT_WRITABLE && this.writable) events |= PORT_WRITABLE;
        if (this.watched & PORT_READABLE && (this.inbound.length > 0 || this.eof)) events |= PORT_READABLE;
        if (events === 0) return;
        const { unreadBytes, writtenTotal, watched } = this;
        this.onEvents(events);
        if (!this.closed && this.unreadBytes === unreadBytes && this.writtenTotal === writtenTotal && this.watched === watched) {
          throw new Error(`fake transport: events ${events} moved nothing: the channel would spin`);
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}

/** An error the channel's onEnd gives, remembering the cause it was told. */
export function endError(cause?: Error): UnshareFsError {
  return new UnshareFsError('ECLOSED', 'test: the channel ended', { cause });
}

/** A channel over a fresh fake transport. */
export function fakeChannel(onEnd: (cause?: Error) => Error | Promise<Error> = endError): { channel: Channel; server: FakeTransport } {
  const server = new FakeTransport();
  const channel = new Channel(server.factory, onEnd);
  return { channel, server };
}

// One socket to a server (the in-process thread or a namespace worker):
// frames requests, routes reply frames to their request by id, and keeps the
// event loop alive only while somebody awaits an answer.
import { ERRNO } from '../core/errno';
import { fsError, protocolError } from '../core/errors';
import { PORT_READABLE, PORT_WRITABLE, native, type NativePort } from './native';
import { FRAME_HEADER, type Reply } from './protocol';
import type { RequestFrame } from './requests';

/**
 * What a channel reads and writes: the addon's Port on a socket, or, in
 * tests, a hand-made one that serves frames from a script.
 */
export type Transport = NativePort;
/** Makes the transport, given the function it must call with readiness events. */
export type TransportFactory = (onEvents: (events: number) => void) => Transport;

/** The addon's Port over `fd` (it owns the fd from then on). */
export function socketTransport(fd: number): TransportFactory {
  return (onEvents) => new (native().Port)(fd, onEvents);
}

export interface ReplyHandler {
  /**
   * A reply frame for this request; returns true when the request is over.
   * `payload` is only valid during the call unless it is borrowed.
   */
  frame(kind: Reply, flags: number, payload: Buffer): boolean;
  /** The channel died before the request was over. */
  fail(error: Error): void;
}

const EAGAIN = ERRNO.EAGAIN;
// Replies are read into chunks this big and handed out as views, so nothing
// is copied on the way.  A chunk is written over again only once it is no
// longer the one being read into and no view of it is borrowed.
const CHUNK_BYTES = 512 * 1024;
// Spares kept: a walk's credit window (2 MiB) of chunks, so a stream that
// runs ahead recycles its chunks instead of leaving them to the GC.
const SPARE_CHUNKS = 4;
// Room wanted for one read: a walk batch and then some.
const READ_ROOM = 80 * 1024;
// Bytes read in one turn of the event loop, at most (a little more).
const READ_TURN = 1024 * 1024;
// No server frame comes near this (walk batches are at most 8 MiB).
const MAX_FRAME = 64 * 1024 * 1024;

export class Channel {
  private readonly port: Transport;
  private readonly handlers = new Map<number, ReplyHandler>();
  private nextId = 1;
  private chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private framedTo = 0; // bytes of `chunk` already handed out as frames
  private readTo = 0; // bytes of `chunk` received
  private readonly borrowed = new Map<ArrayBufferLike, number>(); // views kept, by chunk
  private readonly retired = new Map<ArrayBufferLike, Buffer>(); // old chunks with views kept
  private readonly spare: Buffer[] = []; // old chunks free to be read into
  private readonly outbox: Buffer[] = [];
  private holds = 0;
  private shuttingDown = false;
  private ended = false;
  private failure: Error | undefined;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  /**
   * @param onEnd called once when the peer closes (or the socket fails); its
   *   answer is the error every pending and later request fails with.
   */
  constructor(
    transport: TransportFactory,
    private readonly onEnd: (cause?: Error) => Promise<Error> | Error,
  ) {
    this.closed = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
    this.port = transport((events) => this.onEvents(events));
    this.port.watch(PORT_READABLE);
  }

  get isOpen(): boolean {
    return this.failure === undefined && !this.ended;
  }

  /**
   * Sends a request (a frame of lib/wire/requests.ts, given its id here);
   * `handler` gets its reply frames until it says it is over.
   */
  request(frame: RequestFrame, handler: ReplyHandler): number {
    if (this.failure) throw this.failure;
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    this.handlers.set(id, handler);
    frame.writeUInt32LE(id, 4);
    this.send(frame);
    return id;
  }

  /** Routes replies with this id (the worker's unsolicited id 0) to `handler`. */
  expect(id: number, handler: ReplyHandler): void {
    this.handlers.set(id, handler);
  }

  /** A frame for a running request (credit, cancel, a write's data). */
  control(id: number, frame: RequestFrame): void {
    if (this.failure || !this.handlers.has(id)) return;
    frame.writeUInt32LE(id, 4);
    this.send(frame);
  }

  /** Forgets a request whose further replies nobody wants. */
  forget(id: number): void {
    this.handlers.delete(id);
  }

  /** Keeps a frame's payload valid after its frame() call, until it is given back. */
  borrow(payload: Buffer): void {
    this.borrowed.set(payload.buffer, (this.borrowed.get(payload.buffer) ?? 0) + 1);
  }

  /** Ends a borrow: the payload must not be read any more. */
  giveBack(payload: Buffer): void {
    const chunk = payload.buffer;
    const left = (this.borrowed.get(chunk) ?? 0) - 1;
    if (left > 0) {
      this.borrowed.set(chunk, left);
      return;
    }
    this.borrowed.delete(chunk);
    const retired = this.retired.get(chunk);
    if (retired) {
      this.retired.delete(chunk);
      this.keepSpare(retired);
    }
  }

  /** Keeps the event loop alive while somebody awaits an answer. */
  hold(): void {
    if (this.holds++ === 0) this.port.ref();
  }
  release(): void {
    if (--this.holds === 0) this.port.unref();
  }

  /** Closes our end; resolves once the peer's end is closed too. */
  async close(): Promise<void> {
    // Awaiting the close must keep the process alive, like any request.
    this.hold();
    try {
      if (!this.shuttingDown && !this.ended) {
        this.shuttingDown = true;
        if (this.outbox.length === 0) this.port.shutdown();
      }
      await this.closed;
    } finally {
      this.release();
    }
  }

  /**
   * Ends the channel now, whatever the peer does: pending and later requests
   * fail with `error`.  For a peer that cannot be waited for.
   */
  abandon(error: Error): void {
    if (this.failure) return;
    this.ended = true;
    this.outbox.length = 0;
    this.port.close();
    this.failure = error;
    const handlers = [...this.handlers.values()];
    this.handlers.clear();
    for (const handler of handlers) handler.fail(error);
    this.resolveClosed();
  }

  /** Resolves when the channel is over, whoever closed it. */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  private onEvents(events: number): void {
    if (events < 0) {
      this.end(fsError(-events, 'poll'));
      return;
    }
    if (events & PORT_WRITABLE) this.flush();
    if (events & PORT_READABLE) this.receive();
  }

  private send(frame: Buffer): void {
    if (this.ended) return;
    if (this.outbox.length === 0) {
      const n = this.port.write(frame, 0, frame.length);
      if (n === frame.length) return;
      if (n < 0 && n !== -EAGAIN) return; // the peer is gone: reading sees the end
      this.outbox.push(n > 0 ? frame.subarray(n) : frame);
      this.port.watch(PORT_READABLE | PORT_WRITABLE);
    } else {
      this.outbox.push(frame);
    }
  }

  private flush(): void {
    for (;;) {
      const frame = this.outbox[0];
      if (frame === undefined) break;
      const n = this.port.write(frame, 0, frame.length);
      if (n === -EAGAIN) return;
      if (n < 0) {
        this.outbox.length = 0;
        break;
      }
      if (n < frame.length) {
        this.outbox[0] = frame.subarray(n);
        return;
      }
      this.outbox.shift();
    }
    if (this.ended) return;
    this.port.watch(PORT_READABLE);
    if (this.shuttingDown) this.port.shutdown();
  }

  private receive(): void {
    let taken = 0;
    while (!this.ended) {
      this.makeRoom();
      const room = this.chunk.length - this.readTo;
      const n = this.port.read(this.chunk, this.readTo, room);
      if (n > 0) {
        this.readTo += n;
        this.dispatchFrames();
        if (n < room) return; // drained; the loop calls again when more comes
        // A stream the server refills as fast as it is read would keep this
        // loop going, and the promises its frames resolved (an lstat's
        // answer, the caller's next request) waiting: give the event loop
        // back now and then (the socket stays readable, so it calls again).
        taken += n;
        if (taken >= READ_TURN) return;
      } else if (n === 0) {
        this.end();
      } else if (n === -EAGAIN) {
        return;
      } else {
        this.end(fsError(-n, 'read'));
      }
    }
  }

  /** Moves the unfinished frame to a new chunk when this one has no room for it. */
  private makeRoom(): void {
    const pending = this.readTo - this.framedTo;
    let need = pending + READ_ROOM;
    if (pending >= 4) need = Math.max(need, 4 + this.chunk.readUInt32LE(this.framedTo));
    if (this.framedTo + need <= this.chunk.length) return;
    const spare = need <= CHUNK_BYTES ? this.spare.pop() : undefined;
    const next = spare ?? Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, need));
    this.chunk.copy(next, 0, this.framedTo, this.readTo);
    if (this.borrowed.has(this.chunk.buffer)) this.retired.set(this.chunk.buffer, this.chunk);
    else this.keepSpare(this.chunk);
    this.chunk = next;
    this.framedTo = 0;
    this.readTo = pending;
  }

  private keepSpare(chunk: Buffer): void {
    if (chunk.length === CHUNK_BYTES && this.spare.length < SPARE_CHUNKS) this.spare.push(chunk);
  }

  private dispatchFrames(): void {
    const chunk = this.chunk;
    while (this.readTo - this.framedTo >= 4 && !this.ended) {
      const start = this.framedTo;
      const length = chunk.readUInt32LE(start);
      if (length < FRAME_HEADER - 4 || length > MAX_FRAME) {
        this.end(protocolError(`a frame of ${length} bytes from the server`));
        return;
      }
      if (this.readTo - start < 4 + length) return;
      this.framedTo = start + 4 + length;
      const id = chunk.readUInt32LE(start + 4);
      const handler = this.handlers.get(id);
      // The whole header is in: bytes 8 and 9 are the kind and the flags.
      if (handler?.frame(chunk[start + 8] as Reply, chunk[start + 9]!, chunk.subarray(start + FRAME_HEADER, this.framedTo))) {
        this.handlers.delete(id);
      }
    }
  }

  /** The stream is over: closes our end and fails what is still pending. */
  private end(cause?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.outbox.length = 0;
    this.port.close();
    void Promise.resolve(this.onEnd(cause)).then((error) => {
      if (this.failure) return; // abandoned meanwhile
      this.failure = error;
      const handlers = [...this.handlers.values()];
      this.handlers.clear();
      for (const handler of handlers) handler.fail(error);
      this.resolveClosed();
    });
  }
}

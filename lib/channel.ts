// One socket to a server (the in-process thread or a namespace worker):
// frames requests, routes reply frames to their request by id, and keeps the
// event loop alive only while somebody awaits an answer.
import * as net from 'node:net';

import { UnshareFsError } from './errors';
import { FRAME_HEADER, Op, Reply, encodeRequest } from './protocol';

export interface ReplyHandler {
  /** A reply frame for this request; returns true when the request is over. */
  frame(kind: Reply, flags: number, payload: Buffer): boolean;
  /** The channel died before the request was over. */
  fail(error: Error): void;
}

export class Channel {
  private readonly socket: net.Socket;
  private readonly handlers = new Map<number, ReplyHandler>();
  private nextId = 1;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private holds = 0;
  private failure: Error | undefined;
  private readonly closed: Promise<void>;

  /**
   * @param onEnd called once when the peer closes (or the socket fails); its
   *   answer is the error every pending and later request fails with.
   */
  constructor(fd: number, onEnd: (cause?: Error) => Promise<Error> | Error) {
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    this.socket.unref();
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    let socketError: Error | undefined;
    this.socket.on('error', (error) => {
      socketError = error;
    });
    this.closed = new Promise<void>((resolve) => {
      this.socket.once('close', () => {
        void Promise.resolve(onEnd(socketError)).then((error) => {
          this.failure = error;
          const handlers = [...this.handlers.values()];
          this.handlers.clear();
          for (const handler of handlers) handler.fail(error);
          resolve();
        });
      });
    });
  }

  get isOpen(): boolean {
    return this.failure === undefined && !this.socket.destroyed;
  }

  /** Sends a request; `handler` gets its reply frames until it says it is over. */
  request(op: Op, fields: readonly number[], tail: Buffer | undefined, handler: ReplyHandler): number {
    if (this.failure) throw this.failure;
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    this.handlers.set(id, handler);
    this.socket.write(encodeRequest(id, op, fields, tail));
    return id;
  }

  /** Routes replies with this id (the worker's unsolicited id 0) to `handler`. */
  expect(id: number, handler: ReplyHandler): void {
    this.handlers.set(id, handler);
  }

  /** A control frame for a running request (credit, cancel). */
  control(id: number, op: Op, fields: readonly number[] = []): void {
    if (this.failure || !this.handlers.has(id)) return;
    this.socket.write(encodeRequest(id, op, fields));
  }

  /** Forgets a request whose further replies nobody wants. */
  forget(id: number): void {
    this.handlers.delete(id);
  }

  /** Keeps the event loop alive while somebody awaits an answer. */
  hold(): void {
    if (this.holds++ === 0) this.socket.ref();
  }
  release(): void {
    if (--this.holds === 0) this.socket.unref();
  }

  /** Closes our end; resolves once the peer's end is closed too. */
  async close(): Promise<void> {
    // Awaiting the close must keep the process alive, like any request.
    this.hold();
    try {
      this.socket.end();
      await this.closed;
    } finally {
      this.release();
    }
  }

  /** Resolves when the channel is over, whoever closed it. */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.merge();
      const length = head.readUInt32LE(0);
      if (this.buffered < 4 + length) return;
      const frame = head.length >= 4 + length ? head : this.merge();
      this.consume(4 + length);
      this.dispatch(frame.subarray(0, 4 + length));
    }
  }

  private merge(): Buffer {
    const merged = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [merged];
    return merged;
  }

  private consume(n: number): void {
    const first = this.chunks[0];
    this.buffered -= n;
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
  }

  private dispatch(frame: Buffer): void {
    if (frame.length < FRAME_HEADER) {
      this.socket.destroy(new UnshareFsError('EPROTO', 'unshare-fs: short frame from the server'));
      return;
    }
    const id = frame.readUInt32LE(4);
    const handler = this.handlers.get(id);
    if (!handler) return;
    if (handler.frame(frame[8] as Reply, frame[9], frame.subarray(FRAME_HEADER))) {
      this.handlers.delete(id);
    }
  }
}

// A request in flight, as every kind of request has one: the single
// answers, the streams (walks, reads, tar, diff), writes and tree jobs each
// extend it for what their frames mean.
import type { Channel, ReplyHandler } from './channel';

import { debug } from '../core/debug';
import { abortError } from '../core/errors';
import { describeRequest } from './describe';
import type { Reply } from './protocol';
import { encodeCancel, encodeCredit, type RequestFrame } from './requests';

/**
 * What a request shares with every other, owned here once:
 *
 * - keep-alive: the channel is held (its socket ref'd, so the event loop
 *   lives) from the send to finish(), or, for a request sent with
 *   `keepAlive: false` (a walk nobody awaits must not keep node alive),
 *   only between hold() and release();
 * - abort: the AbortSignal's listener is added at the send and removed at
 *   finish(); a signal aborted already stops the request before it is
 *   sent; either way aborted() says what the abort means for this kind;
 * - forget: the consumer has gone, the channel drops the request's frames;
 * - cancel: Op.Cancel, for the server to stop (its end frame, flagged
 *   END_CANCELLED, still comes unless the request was forgotten).
 */
export abstract class PendingRequest implements ReplyHandler {
  #channel: Channel | undefined;
  #id = 0;
  #held = false;
  #finished = false;
  readonly #signal: AbortSignal | undefined;
  /** NODE_DEBUG=unshare-fs only: what the request is, and when it was sent. */
  #debugged: { what: string; start: number } | undefined;
  readonly #onAbort = (): void => this.aborted(abortError(this.#signal!));

  constructor(signal?: AbortSignal) {
    this.#signal = signal;
  }

  /** A reply frame; true when it is the request's last. */
  abstract frame(kind: Reply, flags: number, payload: Buffer): boolean;

  /** The channel died before the request was over. */
  abstract fail(error: Error): void;

  /** The signal aborted, before the request was sent (id is 0) or after. */
  protected abstract aborted(error: Error): void;

  /**
   * Sends `frame` on `channel` (opened only now, when it is a function),
   * this request its handler, unless the signal has aborted: then
   * aborted() is told, and nothing is opened or sent.  Throws what opening
   * or the channel throws (a closed session, a channel that failed), the
   * request finished.
   */
  protected send(channel: Channel | (() => Channel), frame: RequestFrame, options?: { keepAlive: boolean }): void {
    const signal = this.#signal;
    if (signal?.aborted) {
      this.aborted(abortError(signal));
      return;
    }
    const open = typeof channel === 'function' ? channel() : channel;
    this.#channel = open;
    if (options?.keepAlive !== false) this.hold();
    try {
      this.#id = open.request(frame, this);
    } catch (error) {
      this.finish();
      throw error;
    }
    if (debug.enabled) {
      this.#debugged = { what: describeRequest(frame), start: performance.now() };
      debug('request %d start: %s', this.#id, this.#debugged.what);
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * Takes the frames of `id` on `channel` as this request's, holding the
   * channel as a sent request does: for what a server sends unasked (a
   * worker's ready frame, on id 0).
   */
  protected listen(channel: Channel, id: number): void {
    this.#channel = channel;
    this.hold();
    channel.expect(id, this);
  }

  /** The channel the request went on (undefined before it was sent). */
  protected get channel(): Channel | undefined {
    return this.#channel;
  }

  /** The request's id on its channel; 0 before it was sent. */
  protected get id(): number {
    return this.#id;
  }

  /** Whether finish() was called: the request's life is over. */
  protected get finished(): boolean {
    return this.#finished;
  }

  /** Keeps the event loop alive for this request (at most one hold each). */
  protected hold(): void {
    if (this.#held || this.#finished || this.#channel === undefined) return;
    this.#held = true;
    this.#channel.hold();
  }

  /** Lets the event loop end as far as this request is concerned. */
  protected release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#channel!.release();
  }

  /** A frame for the running request (a write's data …); dropped once the channel no longer routes it. */
  protected control(frame: RequestFrame): void {
    if (this.#id !== 0) this.#channel!.control(this.#id, frame);
  }

  /** Room for `frames` more frames of a stream. */
  protected credit(frames: number): void {
    this.control(encodeCredit(frames));
  }

  /** Asks the server to stop the request. */
  protected cancel(): void {
    this.control(encodeCancel());
  }

  /** Drops the request's further frames: nobody will read them. */
  protected forget(): void {
    if (this.#id !== 0) this.#channel!.forget(this.#id);
  }

  /**
   * The request's life is over: the keep-alive released, the abort
   * listener removed.  Idempotent; false when it was over already.
   */
  protected finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    if (this.#debugged !== undefined) {
      const { what, start } = this.#debugged;
      debug('request %d end: %s, %s ms', this.#id, what, (performance.now() - start).toFixed(3));
    }
    this.release();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    return true;
  }
}

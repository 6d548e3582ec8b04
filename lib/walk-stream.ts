// A streaming walk: batches arrive from the server, at most `window` ahead
// of the consumer; each batch the consumer takes returns one credit.
import type { Channel, ReplyHandler } from './channel';
import { BatchDecoder } from './decode';
import type { Entry } from './entry';
import { abortError, type CallSite } from './errors';
import type { CheckedWalk } from './options';
import { Op, Reply, errorFromPayload } from './protocol';
import type { BigIntStats, IdMapper, Stats } from './stats';

export const WALK_WINDOW = 8;
const BATCH_BYTES = 64 * 1024;

type AnyEntry = Entry<string | Buffer, Stats | BigIntStats>;

export class BatchStream implements AsyncIterableIterator<AnyEntry[]>, ReplyHandler {
  private readonly queue: Buffer[] = [];
  private readonly decoder: BatchDecoder;
  private id = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: { resolve: () => void } | undefined;
  private finished = false;
  private owed = 0;
  private abortedBySignal = false;
  private readonly onAbort = (): void => this.abort();

  constructor(
    private readonly channel: Channel,
    root: string,
    rootBytes: Buffer,
    private readonly options: CheckedWalk,
    mapUid: IdMapper,
    mapGid: IdMapper,
    private readonly site: CallSite,
  ) {
    this.decoder = new BatchDecoder({
      root,
      statMask: options.statMask,
      bigint: options.bigint,
      buffer: options.buffer,
      mapUid,
      mapGid,
    });
    const { signal } = options;
    if (signal?.aborted) {
      this.failure = abortError(signal);
      this.finished = true;
      return;
    }
    this.id = channel.request(
      Op.Walk,
      [options.maxDepth, options.statMask, options.flags, WALK_WINDOW, BATCH_BYTES],
      rootBytes,
      this,
    );
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Batches received from the server and not yet taken by the consumer. */
  get buffered(): number {
    return this.queue.length;
  }

  /** True once the walk was aborted: buffered entries are not delivered. */
  get aborted(): boolean {
    return this.abortedBySignal;
  }

  frame(kind: Reply, flags: number, payload: Buffer): boolean {
    if (kind === Reply.Batch) {
      this.queue.push(payload);
    } else if (kind === Reply.End) {
      this.ended = true;
    } else if (kind === Reply.Error) {
      this.failure = this.site.graft(errorFromPayload(payload));
      this.ended = true;
    } else {
      return false;
    }
    this.wake();
    return this.ended;
  }

  fail(error: Error): void {
    if (this.ended) return;
    this.failure ??= this.site.graft(error);
    this.ended = true;
    this.wake();
  }

  async next(): Promise<IteratorResult<AnyEntry[]>> {
    for (;;) {
      if (this.failure && (this.queue.length === 0 || this.finished)) {
        const failure = this.failure;
        this.failure = undefined;
        this.finish();
        throw failure;
      }
      const batch = this.queue.shift();
      if (batch) {
        // Credit goes back half a window at a time: the walker never runs
        // dry, and the socket carries one small frame per few batches.
        if (++this.owed >= WALK_WINDOW / 2) {
          this.channel.control(this.id, Op.Credit, [this.owed]);
          this.owed = 0;
        }
        const entries = this.take(batch);
        if (entries.length > 0 || this.failure) return { value: entries, done: false };
        continue;
      }
      if (this.ended || this.finished) {
        this.finish();
        return { value: undefined, done: true };
      }
      await this.wait();
    }
  }

  async return(): Promise<IteratorResult<AnyEntry[]>> {
    this.cancel();
    this.finish();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Applies onError to the batch's errors; returns the entries to deliver. */
  private take(batch: Buffer): AnyEntry[] {
    const { entries, errors, errorPositions } = this.decoder.decode(batch);
    if (errors.length === 0) return entries;
    const { onError } = this.options;
    if (onError === 'skip') return entries;
    if (typeof onError === 'function') {
      for (const error of errors) onError(error);
      return entries;
    }
    this.failure = this.site.graft(errors[0]);
    this.cancel();
    this.finished = true;
    return entries.slice(0, errorPositions[0]);
  }

  private wait(): Promise<void> {
    this.channel.hold();
    return new Promise<void>((resolve) => {
      this.waiter = {
        resolve: () => {
          this.channel.release();
          resolve();
        },
      };
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  private abort(): void {
    if (this.finished || this.ended) return;
    this.abortedBySignal = true;
    this.failure = this.site.graft(abortError(this.options.signal!));
    this.cancel();
    this.finished = true;
    this.queue.length = 0;
    this.wake();
  }

  /** Stops the walk in the server; its remaining frames are dropped. */
  private cancel(): void {
    if (!this.ended && this.id !== 0) {
      this.channel.control(this.id, Op.Cancel);
      this.channel.forget(this.id);
      this.ended = true;
    }
  }

  private finish(): void {
    this.finished = true;
    this.queue.length = 0;
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** Entries one at a time, over a BatchStream. */
export class EntryIterator implements AsyncIterableIterator<AnyEntry> {
  private batch: AnyEntry[] = [];
  private index = 0;

  constructor(private readonly batches: BatchStream) {}

  next(): Promise<IteratorResult<AnyEntry>> {
    if (this.index < this.batch.length && !this.batches.aborted) {
      return Promise.resolve({ value: this.batch[this.index++], done: false });
    }
    return this.refill();
  }

  private async refill(): Promise<IteratorResult<AnyEntry>> {
    for (;;) {
      const result = await this.batches.next();
      if (result.done) return result;
      if (result.value.length === 0) continue;
      this.batch = result.value;
      this.index = 1;
      return { value: this.batch[0], done: false };
    }
  }

  async return(): Promise<IteratorResult<AnyEntry>> {
    this.batch = [];
    await this.batches.return();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

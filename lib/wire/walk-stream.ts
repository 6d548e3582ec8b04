// A streaming walk: batches arrive from the server, at most `window` ahead
// of the consumer; each batch the consumer takes returns one credit.
import type { Channel } from './channel';
import { BatchDecoder } from './decode';
import type { Entry } from '../core/entry';
import { cutShortError, type CallSite, type FsError } from '../core/errors';
import { PendingRequest } from './pending';
import type { CheckedWalk } from './walk-request';
import { BATCH_ASKS, END_CANCELLED, Reply, WALK_BATCH_BYTES, WALK_WINDOW, errorFromPayload } from './protocol';
import { encodeDescend, encodeWalk } from './requests';
import { progressTicker, type ProgressTicker } from '../core/progress';
import type { BigIntStats, IdMapper, Stats } from '../core/stats';

/** Batches a walk may send ahead of its consumer (protocol.h's kWalkWindow), in batches of at most WALK_BATCH_BYTES. */
export { WALK_WINDOW };

type AnyEntry = Entry<string | Buffer, Stats | BigIntStats | undefined>;

/**
 * A walk request and its batches.  It holds the event loop only while the
 * consumer waits for a batch (a walk nobody iterates keeps nothing alive),
 * and its life ends when the consumer is done, not when the server is: an
 * abort after the last batch came still fails it.
 */
export class BatchStream extends PendingRequest implements AsyncIterableIterator<AnyEntry[]> {
  private readonly queue: Buffer[] = []; // borrowed from the channel
  private current: Buffer | undefined; // the batch the decoder reads, borrowed too
  private readonly decoder: BatchDecoder;
  private started = false;
  private ended = false; // no more frames will come
  private failure: Error | undefined;
  private waiter: { resolve: () => void } | undefined;
  private owed = 0;
  /** The server sent the whole walk (an end frame not cut short). */
  private complete = false;
  /** The consumer is done: no more progress after return(). */
  private returned = false;
  private readonly ticker: ProgressTicker | undefined;
  /** A pruning walk's answers about the directories listed since its last answer (1 descend, 0 prune). */
  private verdicts: number[] = [];
  /** The batch being read asks for those answers once it is read. */
  private asks = false;

  constructor(
    private readonly openChannel: () => Channel,
    /** The walk's root as the entries' paths start with it. */
    readonly root: string,
    private readonly rootBytes: Buffer,
    private readonly options: CheckedWalk,
    mapUid: IdMapper,
    mapGid: IdMapper,
    private readonly site: CallSite,
  ) {
    super(options.signal);
    this.ticker = progressTicker(options.onProgress);
    this.decoder = new BatchDecoder({
      root,
      statMask: options.statMask,
      bigint: options.bigint,
      encoding: options.encoding,
      mapUid,
      mapGid,
      onSummary: options.onSummary,
    });
  }

  /**
   * Sends the walk request, on the first call for entries: a walk nobody
   * iterates costs the server nothing.
   */
  private start(): void {
    this.started = true;
    try {
      const { maxDepth, statMask, flags, exclude } = this.options;
      const frame = encodeWalk({ maxDepth, statMask, flags, window: WALK_WINDOW, batchBytes: WALK_BATCH_BYTES }, exclude, this.rootBytes);
      this.send(this.openChannel, frame, { keepAlive: false });
    } catch (error) {
      this.failure = this.site.graft(error as Error);
      this.finish();
    }
  }

  /** Batches received from the server and not yet taken by the consumer. */
  get buffered(): number {
    return this.queue.length;
  }

  frame(kind: Reply, flags: number, payload: Buffer): boolean {
    if (kind === Reply.Batch) {
      this.channel!.borrow(payload);
      this.queue.push(payload);
    } else if (kind === Reply.End) {
      // Cut short by the server (it is closing): never taken for the whole tree.
      if (flags & END_CANCELLED) {
        this.failure = this.site.graft(cutShortError('walk'));
      } else {
        this.complete = true;
      }
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
    while (await this.nextBatch()) {
      const entries: AnyEntry[] = [];
      for (let entry = this.nextEntry(); entry !== undefined; entry = this.nextEntry()) entries.push(entry);
      if (entries.length > 0 || this.failure) return { value: entries, done: false };
    }
    return { value: undefined, done: true };
  }

  /**
   * Starts reading the next batch, waiting for it if need be: false once the
   * walk is over.  Throws what ended the walk, once the batches before it
   * are read.
   */
  async nextBatch(): Promise<boolean> {
    if (!this.started) this.start();
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
          this.credit(this.owed);
          this.owed = 0;
        }
        this.dropCurrent();
        this.current = batch;
        try {
          this.decoder.reset(batch);
        } catch (error) {
          throw this.corrupt(error as Error);
        }
        this.asks = batch.length >= 8 && (batch.readUInt32LE(4) & BATCH_ASKS) !== 0;
        return true;
      }
      if (this.ended || this.finished) {
        this.finish();
        if (this.complete && !this.returned) this.told(() => this.ticker?.end());
        return false;
      }
      await this.wait();
    }
  }

  /** The next entry of the batch being read; undefined when it is used up or the walk failed in it. */
  nextEntry(): AnyEntry | undefined {
    for (;;) {
      let entry: AnyEntry | undefined;
      try {
        entry = this.decoder.next();
      } catch (error) {
        throw this.corrupt(error as Error);
      }
      if (entry !== undefined) {
        const { filter, prune, maxDepth } = this.options;
        // Every directory the walker would descend into is put to prune,
        // whatever filter says of it: the walker waits for the answers.
        if (prune !== undefined && entry.type === 'directory' && entry.depth < maxDepth) {
          this.verdicts.push(this.accepts(prune, entry) ? 0 : 1);
        }
        if (filter !== undefined && !this.accepts(filter, entry)) continue;
        if (this.ticker !== undefined) this.told(() => this.ticker!.add(1, sizeOf(entry)));
        return entry;
      }
      const error = this.decoder.takeError();
      if (error === undefined) {
        this.answer();
        return undefined;
      }
      if (!this.onErrorRecord(error)) return undefined;
    }
  }

  /** At the end of a batch that asks: the answers about the directories listed since the last ones. */
  private answer(): void {
    if (!this.asks) return;
    this.asks = false;
    const verdicts = Uint8Array.from(this.verdicts);
    this.verdicts = [];
    if (!this.ended) this.control(encodeDescend(verdicts));
  }

  async return(): Promise<IteratorResult<AnyEntry[]>> {
    this.returned = true;
    this.started = true;
    this.stop();
    this.finish();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Applies onError to an error inside the tree; false when it ends the walk. */
  private onErrorRecord(error: FsError): boolean {
    const { onError } = this.options;
    if (onError === 'skip') return true;
    if (typeof onError === 'function') {
      let goOn: unknown;
      try {
        goOn = onError(error);
      } catch (thrown) {
        // The callback ends the walk: stop it in the server before the
        // exception reaches the consumer.
        this.stop();
        this.finish();
        throw thrown;
      }
      // false: the walk ends with this error, as with 'throw' (nodelib's errorFilter).
      if (goOn !== false) return true;
    }
    this.failure = this.site.graft(error);
    this.stop();
    this.finish();
    return false;
  }

  /** Tells onProgress; what it throws ends the walk, in the server too. */
  private told(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.stop();
      this.finish();
      throw error;
    }
  }

  /** The filter's answer; what it throws ends the walk, in the server too. */
  private accepts(filter: (entry: AnyEntry) => boolean, entry: AnyEntry): boolean {
    try {
      return filter(entry);
    } catch (error) {
      this.stop();
      this.finish();
      throw error;
    }
  }

  /**
   * A batch the decoder cannot read ends the walk: stopped in the server
   * too, not resumed past the batch on the consumer's next call.
   */
  private corrupt(error: Error): Error {
    this.stop();
    this.finish();
    return this.site.graft(error);
  }

  private wait(): Promise<void> {
    this.hold();
    return new Promise<void>((resolve) => {
      this.waiter = {
        resolve: () => {
          this.release();
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

  protected aborted(error: Error): void {
    // Even a walk the server has finished fails: its consumer asked to stop.
    if (this.finished) return;
    this.failure = this.site.graft(error);
    this.stop();
    this.finish();
    this.wake();
  }

  /** Stops the walk in the server; its remaining frames are dropped. */
  private stop(): void {
    if (!this.ended && this.id !== 0) {
      this.cancel();
      this.forget();
      this.ended = true;
    }
  }

  /** Gives the batch being read back to the channel. */
  private dropCurrent(): void {
    if (this.current === undefined || !this.channel) return;
    this.decoder.clear();
    this.channel.giveBack(this.current);
    this.current = undefined;
  }

  /** The consumer is done: the batches it holds go back to the channel. */
  protected override finish(): boolean {
    const first = super.finish();
    this.dropCurrent();
    for (const batch of this.queue) this.channel?.giveBack(batch);
    this.queue.length = 0;
    return first;
  }
}

/** The size an entry's stats give (0 without it), for a walk's progress. */
function sizeOf(entry: AnyEntry): number {
  const size = entry.stats?.size;
  return size === undefined ? 0 : Number(size);
}

/**
 * Entries one at a time, over a BatchStream, each decoded when it is asked
 * for.  The stream is a private field: nothing of the channel is reachable
 * from the object the caller holds.
 */
export class EntryIterator implements AsyncIterableIterator<AnyEntry> {
  readonly #batches: BatchStream;

  constructor(batches: BatchStream) {
    this.#batches = batches;
  }

  next(): Promise<IteratorResult<AnyEntry>> {
    const entry = this.#batches.nextEntry();
    if (entry !== undefined) return Promise.resolve({ value: entry, done: false });
    return this.#refill();
  }

  async #refill(): Promise<IteratorResult<AnyEntry>> {
    while (await this.#batches.nextBatch()) {
      const entry = this.#batches.nextEntry();
      if (entry !== undefined) return { value: entry, done: false };
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<AnyEntry>> {
    await this.#batches.return();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Batches received and not yet taken, of a walkBatches() iterator: for tests of the credit window. */
export let bufferedOf: (iterator: BatchIterator) => number;

/** A batch at a time, over a BatchStream kept in a private field (see EntryIterator). */
export class BatchIterator implements AsyncIterableIterator<AnyEntry[]> {
  readonly #batches: BatchStream;

  static {
    bufferedOf = (iterator) => iterator.#batches.buffered;
  }

  constructor(batches: BatchStream) {
    this.#batches = batches;
  }

  next(): Promise<IteratorResult<AnyEntry[]>> {
    return this.#batches.next();
  }

  return(): Promise<IteratorResult<AnyEntry[]>> {
    return this.#batches.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

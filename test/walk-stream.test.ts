// Walk streams over a channel to a scripted server: the request, credit as
// the consumer takes batches, cancelling (break, abort, onError), a walk cut
// short, and corrupt batches.  No addon: these run anywhere.
import { type Channel } from '../lib/wire/channel';
import { CallSite, UnshareFsError, type FsError } from '../lib/core/errors';
import { checkWalkOptions } from '../lib/wire/walk-request';
import type { WalkOptions } from '../lib/core/options';
import { ALL_STAT, END_CANCELLED, Op, Reply } from '../lib/wire/protocol';
import { identity } from '../lib/core/stats';
import { BatchStream, EntryIterator, WALK_WINDOW } from '../lib/wire/walk-stream';
import { encodeBatch, type StatValues, type WalkRecord } from './helpers/batch-encoder';
import { errorPayload, fakeChannel, replyFrame, splitAt, type FakeTransport, type RequestFrame } from './helpers/fake-transport';
import { seededRandom } from './helpers/random';

const ROOT = '/srv/root';

/** What a `next()` yielded, undefined once done: IteratorResult types a done result's value as `any`. */
function yielded<T>(result: IteratorResult<T, undefined>): T | undefined {
  return result.done === true ? undefined : result.value;
}

function walkStream(channel: Channel, options?: WalkOptions): BatchStream {
  return new BatchStream(() => channel, ROOT, Buffer.from(ROOT), checkWalkOptions(options), identity, identity, new CallSite(walkStream));
}

function statOf(size: number): StatValues {
  const time = { seconds: 1700000000n, nanoseconds: 0 };
  return {
    mode: 0o100644,
    uid: 1000,
    gid: 1000,
    nlink: 1,
    size: BigInt(size),
    ino: BigInt(size + 7),
    dev: 1n,
    rdev: 0n,
    blocks: 0n,
    blksize: 4096,
    atime: time,
    mtime: time,
    ctime: time,
  };
}

/** A batch of files `${prefix}${i}` in `dir`, each with its index as its size. */
function filesBatch(dir: string, prefix: string, count: number, statMask = 0, from = 0): Buffer {
  const records: WalkRecord[] = [{ tag: 'dir', depth: dir === '' ? 0 : dir.split('/').length, path: Buffer.from(dir) }];
  for (let i = from; i < from + count; i++) records.push({ tag: 'entry', dtype: 8, name: Buffer.from(`${prefix}${i}`), stat: statOf(i) });
  return encodeBatch(records, statMask);
}

/**
 * The server's side of one walk: sends its batches as far as credit goes,
 * then an end frame; remembers what it was sent.
 */
class ScriptedWalk {
  request: RequestFrame | undefined;
  credit = 0;
  sent = 0;
  credited = 0;
  cancelled = false;
  /** Batches sent and not yet credited back, at the most. */
  mostOutstanding = 0;
  private ended = false;

  constructor(
    private readonly server: FakeTransport,
    private readonly batches: Buffer[],
    /** What follows the batches: an end frame (with these flags), an error reply, or nothing yet. */
    private readonly end: { flags: number } | { errno: number; syscall: string } | 'hold' = { flags: 0 },
    /** Each frame cut in pieces like this, to mix walks' frames within reads. */
    private readonly cut: (frame: Buffer) => Buffer[] = (frame) => [frame],
  ) {}

  /** Called with each request frame; true when it was this walk's. */
  hear(frame: RequestFrame): boolean {
    if (frame.op === Op.Walk && this.request === undefined) {
      this.request = frame;
      const creditWindow = frame.fields[3];
      if (creditWindow === undefined) throw new Error(`walk frame ${frame.id} carries no window`);
      this.credit = creditWindow;
    } else if (frame.id !== this.request?.id) {
      return false;
    } else if (frame.op === Op.Credit) {
      const [granted] = frame.fields;
      if (granted === undefined) throw new Error(`credit frame for ${frame.id} carries no amount`);
      this.credit += granted;
      this.credited += granted;
    } else if (frame.op === Op.Cancel) {
      this.cancelled = true;
    }
    this.pump();
    return true;
  }

  private pump(): void {
    if (this.cancelled || this.ended || !this.request) return;
    while (this.credit > 0 && this.sent < this.batches.length) {
      this.server.push(...this.cut(replyFrame(this.request.id, Reply.Batch, this.batches[this.sent])));
      this.sent++;
      this.credit--;
      this.mostOutstanding = Math.max(this.mostOutstanding, this.sent - this.credited);
    }
    if (this.sent < this.batches.length || this.end === 'hold') return;
    this.ended = true;
    if ('flags' in this.end) {
      this.server.push(replyFrame(this.request.id, Reply.End, undefined, this.end.flags));
    } else {
      this.server.push(replyFrame(this.request.id, Reply.Error, errorPayload(this.end.errno, this.end.syscall, ROOT)));
    }
  }
}

function serve(server: FakeTransport, ...walks: ScriptedWalk[]): void {
  server.onRequest = (frame) => {
    for (const walk of walks) if (walk.hear(frame)) return;
  };
}

function walkSetup(
  batches: Buffer[],
  end?: ConstructorParameters<typeof ScriptedWalk>[2],
): { channel: Channel; server: FakeTransport; walk: ScriptedWalk } {
  const { channel, server } = fakeChannel();
  const walk = new ScriptedWalk(server, batches, end);
  serve(server, walk);
  return { channel, server, walk };
}

/** Every entry's name, and what the walk threw; fails when the walk would wait forever. */
async function names(entries: EntryIterator, server: FakeTransport): Promise<{ seen: string[]; thrown: unknown }> {
  const seen: string[] = [];
  try {
    for (let next = await server.settle(entries.next()); !next.done; next = await server.settle(entries.next())) {
      seen.push(next.value.name.toString());
    }
  } catch (thrown) {
    return { seen, thrown };
  }
  return { seen, thrown: undefined };
}

const range = (prefix: string, count: number, from = 0): string[] => Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);

describe('the walk request', () => {
  test('is sent on the first next(), with root, depth, stat mask, flags, window and batch size', async () => {
    const statMask = (1 << 4) | (1 << 10);
    const { channel, server, walk } = walkSetup([filesBatch('', 'f', 2, statMask)]);
    const stream = walkStream(channel, { maxDepth: 3, stat: ['size', 'mtime'], oneFileSystem: true, threads: 4 });
    await server.idle();
    expect(server.requests).toEqual([]);
    const entries = new EntryIterator(stream);
    expect(await names(entries, server)).toEqual({ seen: ['f0', 'f1'], thrown: undefined });
    const request = walk.request!;
    expect(request.op).toBe(Op.Walk);
    const [maxDepth, mask, flags, window, batchBytes] = request.fields;
    expect({ maxDepth, mask, flags, window }).toEqual({ maxDepth: 3, mask: statMask, flags: 1 | (4 << 8), window: WALK_WINDOW });
    expect(batchBytes).toBeGreaterThanOrEqual(4096);
    expect(request.payload.subarray(24).toString()).toBe(ROOT);
  });

  test('entries carry full paths, depths and stats from the batches', async () => {
    const { channel } = walkSetup([filesBatch('', 'top', 1, ALL_STAT), filesBatch('a/b', 'deep', 2, ALL_STAT, 5)]);
    const seen: [string, number, number | undefined][] = [];
    for await (const entry of new EntryIterator(walkStream(channel, { stat: true }))) {
      seen.push([entry.fullPath.toString(), entry.depth, (entry.stats as { size?: number } | undefined)?.size]);
    }
    expect(seen).toEqual([
      [`${ROOT}/top0`, 1, 0],
      [`${ROOT}/a/b/deep5`, 3, 5],
      [`${ROOT}/a/b/deep6`, 3, 6],
    ]);
  });

  test('an error reply for the root rejects with its code, syscall and path', async () => {
    const { channel, server } = walkSetup([], { errno: 2, syscall: 'scandir' });
    const { thrown } = await names(new EntryIterator(walkStream(channel)), server);
    expect(thrown).toMatchObject({ code: 'ENOENT', syscall: 'scandir', path: ROOT });
  });
});

describe('credit', () => {
  test('a consumer that does not read holds the server to the window', async () => {
    const batches = Array.from({ length: 100 }, (_, i) => filesBatch('', `b${i}-`, 1));
    const { channel, server, walk } = walkSetup(batches);
    const stream = walkStream(channel);
    expect(yielded(await stream.next())?.map((entry) => entry.name)).toEqual(['b0-0']);
    await server.idle();
    expect(walk.sent).toBe(WALK_WINDOW);
    expect(server.sent(Op.Credit)).toEqual([]);
    expect(stream.buffered).toBe(WALK_WINDOW - 1);
    await stream.return();
  });

  test('credit goes back as batches are taken, never ahead of them, and the walk completes', async () => {
    const batches = Array.from({ length: 300 }, (_, i) => filesBatch('', `b${i}-`, 2));
    const { channel, server, walk } = walkSetup(batches);
    const stream = walkStream(channel);
    const random = seededRandom(3);
    const seen: string[] = [];
    let taken = 0;
    for (;;) {
      const next = await server.settle(stream.next());
      if (next.done) break;
      taken++;
      seen.push(...next.value.map((entry) => entry.name as string));
      // Credit for batches taken only, and not held back long.
      expect(walk.credited).toBeLessThanOrEqual(taken);
      expect(taken - walk.credited).toBeLessThan(WALK_WINDOW);
      expect(stream.buffered).toBeLessThanOrEqual(WALK_WINDOW);
      // Now and then, let the server run as far ahead as it may.
      if (random() < 0.2) await server.idle();
    }
    expect(seen).toEqual(batches.flatMap((_, i) => range(`b${i}-`, 2)));
    expect(walk.mostOutstanding).toBeLessThanOrEqual(WALK_WINDOW);
    expect(walk.mostOutstanding).toBe(WALK_WINDOW);
    expect(server.sent(Op.Cancel)).toEqual([]);
  });

  test('two walks at different paces on one channel each decode every entry intact', async () => {
    // Batches near their full size, so reply chunks are used up and reused
    // while the slow walk still holds batches from them.
    const { channel, server } = fakeChannel();
    const random = seededRandom(11);
    const cut = (frame: Buffer): Buffer[] => splitAt(frame, random() < 0.5 ? [] : [1 + ((random() * (frame.length - 1)) | 0)]);
    const make = (tag: string): Buffer[] => Array.from({ length: 120 }, (_, i) => filesBatch(`${tag}/${i}`, `${tag}${i}-`, 500, 1 << 4));
    const fast = new ScriptedWalk(server, make('fast'), { flags: 0 }, cut);
    const slow = new ScriptedWalk(server, make('slow'), { flags: 0 }, cut);
    serve(server, fast, slow);
    const walkAll = async (tag: string, pauseEvery: number): Promise<number> => {
      let n = 0;
      const entries = new EntryIterator(walkStream(channel, { stat: ['size'] }));
      for (let next = await server.settle(entries.next()); !next.done; next = await server.settle(entries.next())) {
        const entry = next.value;
        const batch = Math.floor(n / 500);
        const index = n % 500;
        expect([entry.fullPath, entry.stats!.size]).toEqual([`${ROOT}/${tag}/${batch}/${tag}${batch}-${index}`, index]);
        if (++n % pauseEvery === 0) await server.idle();
      }
      return n;
    };
    // The first walk sent is the fast one (requests go out in order).
    expect(await Promise.all([walkAll('fast', 5000), walkAll('slow', 300)])).toEqual([60000, 60000]);
  });
});

describe('stopping a walk', () => {
  test("break sends a Cancel; the walk's later frames are dropped and the channel goes on", async () => {
    const batches = Array.from({ length: 10 }, (_, i) => filesBatch('', `b${i}-`, 3));
    const { channel, server, walk } = walkSetup(batches, 'hold');
    const seen: string[] = [];
    for await (const entry of new EntryIterator(walkStream(channel))) {
      seen.push(entry.name as string);
      if (seen.length === 4) break;
    }
    expect(seen).toEqual(['b0-0', 'b0-1', 'b0-2', 'b1-0']);
    expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([walk.request!.id]);
    expect(walk.cancelled).toBe(true);
    // The server's frames already in flight, then its end.
    server.push(
      replyFrame(walk.request!.id, Reply.Batch, filesBatch('', 'late', 1)),
      replyFrame(walk.request!.id, Reply.End, undefined, END_CANCELLED),
    );
    await server.idle();
    expect(channel.isOpen).toBe(true);
    const again = walkSetup([filesBatch('', 'g', 1)]);
    expect((await names(new EntryIterator(walkStream(again.channel)), again.server)).seen).toEqual(['g0']);
  });

  test('an end frame flagged cancelled rejects with ECLOSED after the entries before it', async () => {
    const { channel, server } = walkSetup([filesBatch('', 'f', 2)], { flags: END_CANCELLED });
    const { seen, thrown } = await names(new EntryIterator(walkStream(channel)), server);
    expect(seen).toEqual(['f0', 'f1']);
    expect(thrown).toBeInstanceOf(UnshareFsError);
    expect(thrown).toMatchObject({ code: 'ECLOSED' });
  });

  test('a plain end frame ends the walk as complete', async () => {
    const { channel, server } = walkSetup([filesBatch('', 'f', 2)], { flags: 0 });
    expect(await names(new EntryIterator(walkStream(channel)), server)).toEqual({ seen: ['f0', 'f1'], thrown: undefined });
  });

  test('the channel ending mid-walk rejects with the error its onEnd gives', async () => {
    const { channel, server } = fakeChannel(() => new UnshareFsError('EWORKERDIED', 'test: the worker died'));
    const walk = new ScriptedWalk(server, [filesBatch('', 'f', 1)], 'hold');
    serve(server, walk);
    const entries = new EntryIterator(walkStream(channel));
    expect(yielded(await entries.next())?.name).toBe('f0');
    const next = entries.next();
    server.end();
    await expect(next).rejects.toMatchObject({ code: 'EWORKERDIED' });
  });

  describe('an abort signal', () => {
    test('sends a Cancel and rejects with AbortError while the consumer waits', async () => {
      const { channel, server, walk } = walkSetup([filesBatch('', 'f', 1)], 'hold');
      const controller = new AbortController();
      const entries = new EntryIterator(walkStream(channel, { signal: controller.signal }));
      expect(yielded(await entries.next())?.name).toBe('f0');
      const waiting = entries.next();
      await server.idle();
      controller.abort();
      await expect(waiting).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([walk.request!.id]);
      expect(await entries.next()).toEqual({ value: undefined, done: true });
    });

    test('already aborted: nothing is sent', async () => {
      const { channel, server } = walkSetup([filesBatch('', 'f', 1)]);
      const controller = new AbortController();
      controller.abort();
      const { thrown } = await names(new EntryIterator(walkStream(channel, { signal: controller.signal })), server);
      expect(thrown).toMatchObject({ name: 'AbortError' });
      expect(server.requests).toEqual([]);
    });
  });
});

describe('errors inside the tree', () => {
  // One directory readable, one not, one more readable after it.
  function treeWithError(): Buffer[] {
    const unreadable: WalkRecord[] = [
      { tag: 'dir', depth: 0, path: Buffer.alloc(0) },
      { tag: 'entry', dtype: 4, name: Buffer.from('closed'), stat: statOf(0) },
      { tag: 'error', errno: 13, syscall: 'scandir', path: Buffer.from('closed') },
      { tag: 'dir', depth: 1, path: Buffer.from('open') },
      { tag: 'entry', dtype: 8, name: Buffer.from('inner'), stat: statOf(0) },
    ];
    return [filesBatch('', 'a', 2), encodeBatch(unreadable, 0), filesBatch('', 'z', 2)];
  }

  test("by default ('throw') the walk rejects with the error, after the entries before it, and is cancelled", async () => {
    const { channel, server, walk } = walkSetup(treeWithError(), 'hold');
    const { seen, thrown } = await names(new EntryIterator(walkStream(channel)), server);
    expect(seen).toEqual(['a0', 'a1', 'closed']);
    expect(thrown).toMatchObject({ code: 'EACCES', errno: -13, syscall: 'scandir', path: `${ROOT}/closed` });
    expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([walk.request!.id]);
  });

  test("'skip' walks on past it", async () => {
    const { channel, server } = walkSetup(treeWithError());
    const { seen, thrown } = await names(new EntryIterator(walkStream(channel, { onError: 'skip' })), server);
    expect(thrown).toBeUndefined();
    expect(seen).toEqual(['a0', 'a1', 'closed', 'inner', 'z0', 'z1']);
    expect(server.sent(Op.Cancel)).toEqual([]);
  });

  test('a callback is told of it, and the walk goes on', async () => {
    const { channel, server } = walkSetup(treeWithError());
    const heard: FsError[] = [];
    const { seen, thrown } = await names(new EntryIterator(walkStream(channel, { onError: (error) => heard.push(error) })), server);
    expect(thrown).toBeUndefined();
    expect(seen).toEqual(['a0', 'a1', 'closed', 'inner', 'z0', 'z1']);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ code: 'EACCES', path: `${ROOT}/closed` });
  });

  test('a callback that throws cancels the walk and its exception reaches the consumer', async () => {
    const { channel, server, walk } = walkSetup(treeWithError(), 'hold');
    const mine = new Error('stop here');
    const entries = new EntryIterator(
      walkStream(channel, {
        onError: () => {
          throw mine;
        },
      }),
    );
    const { seen, thrown } = await names(entries, server);
    expect(thrown).toBe(mine);
    expect(seen).toEqual(['a0', 'a1', 'closed']);
    expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([walk.request!.id]);
    expect(await entries.next()).toEqual({ value: undefined, done: true });
  });

  test('the same through walkBatches: the batch before the error, then the error', async () => {
    const { channel } = walkSetup(treeWithError(), 'hold');
    const stream = walkStream(channel);
    const batchNames = async (): Promise<unknown[]> => (yielded(await stream.next()) ?? []).map((entry) => entry.name);
    expect(await batchNames()).toEqual(['a0', 'a1']);
    expect(await batchNames()).toEqual(['closed']);
    await expect(stream.next()).rejects.toMatchObject({ code: 'EACCES' });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});

describe('a corrupt batch', () => {
  const good = filesBatch('', 'f', 2);
  const badNamesOffset = Buffer.from(good);
  badNamesOffset.writeUInt32LE(good.length + 1, 0);
  const unknownTag = Buffer.from(good);
  unknownTag[8] = 9;
  const nameTooLong = Buffer.from(good);
  // The second entry's name says it runs far past the batch's end.
  nameTooLong.writeUInt16LE(60000, nameTooLong.readUInt32LE(0) - 2);
  const truncatedRecord = Buffer.from(good);
  // The records end inside the second entry record.
  truncatedRecord.writeUInt32LE(good.readUInt32LE(0) - 2, 0);

  test.each([
    ['a names offset past its end', badNamesOffset],
    ['an unknown record tag', unknownTag],
    ['a name past its end', nameTooLong],
    ['a truncated record', truncatedRecord],
  ])('with %s rejects with a clear error, cancels the walk and then is over', async (_what, bad) => {
    const { channel, server, walk } = walkSetup([good, bad, good], 'hold');
    const entries = new EntryIterator(walkStream(channel));
    const { seen, thrown } = await names(entries, server);
    expect(seen.slice(0, 2)).toEqual(['f0', 'f1']);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toMatch(/corrupt walk batch/);
    expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([walk.request!.id]);
    expect(await entries.next()).toEqual({ value: undefined, done: true });
  });
});

// The channel over a scripted transport: framing whatever the reads' sizes,
// failures that end it, a full socket, and reply chunks reused only when no
// borrowed view of them is left.  No addon: these run anywhere.
import { type Channel, type ReplyHandler } from '../lib/wire/channel';
import { UnshareFsError } from '../lib/core/errors';
import { PORT_READABLE, PORT_WRITABLE } from '../lib/wire/native';
import { Op, Reply } from '../lib/wire/protocol';
import { encodeCancel, encodeCredit, encodeLstat, encodeReadFile, encodeWalk } from '../lib/wire/requests';
import { FakeTransport, endError, fakeChannel, replyFrame, splitAt } from './helpers/fake-transport';
import { patternBytes, seededRandom } from './helpers/random';

interface Heard {
  kind: Reply;
  flags: number;
  payload: Buffer;
}

/** A request's handler that keeps copies of its frames; over at an End frame. */
class Recorder implements ReplyHandler {
  readonly frames: Heard[] = [];
  failure: Error | undefined;

  frame(kind: Reply, flags: number, payload: Buffer): boolean {
    this.frames.push({ kind, flags, payload: Buffer.from(payload) });
    return kind === Reply.End;
  }

  fail(error: Error): void {
    this.failure = error;
  }
}

function lstat(channel: Channel, path: string): { id: number; recorder: Recorder } {
  const recorder = new Recorder();
  const id = channel.request(encodeLstat(Buffer.from(path)), recorder);
  return { id, recorder };
}

function readFrame(path: string): ReturnType<typeof encodeReadFile> {
  return encodeReadFile({ start: 0n, end: 1n << 40n, limit: 1n << 40n, window: 1, chunkBytes: 4096 }, Buffer.from(path));
}

/** Waits for the channel's end, failing (not hanging) when the transport was not closed. */
async function ended(channel: Channel, server: FakeTransport): Promise<void> {
  await server.idle();
  expect(server.closed).toBe(true);
  await channel.whenClosed();
}

describe('framing', () => {
  // Three requests' replies, back to back: an empty payload, a short one, and
  // one whose length field's bytes are all different.
  function script(ids: number[]): { bytes: Buffer; expected: Heard[][] } {
    const expected: Heard[][] = [
      [{ kind: Reply.End, flags: 0, payload: Buffer.alloc(0) }],
      [
        { kind: Reply.Data, flags: 0, payload: Buffer.from('hello') },
        { kind: Reply.End, flags: 1, payload: Buffer.alloc(0) },
      ],
      [
        { kind: Reply.Stat, flags: 0, payload: patternBytes(3, 0x0102) },
        { kind: Reply.End, flags: 0, payload: Buffer.alloc(0) },
      ],
    ];
    // Interleaved as the server may send them: replies of different requests mix.
    const order: [number, number][] = [
      [1, 0],
      [2, 0],
      [0, 0],
      [1, 1],
      [2, 1],
    ];
    const bytes = Buffer.concat(
      order.map(([request, index]) => {
        const heard = expected[request]?.[index];
        const id = ids[request];
        if (heard === undefined || id === undefined) throw new Error(`script: no reply ${index} for request ${request}`);
        return replyFrame(id, heard.kind, heard.payload, heard.flags);
      }),
    );
    return { bytes, expected };
  }

  async function deliver(split: (bytes: Buffer) => Buffer[]): Promise<void> {
    const { channel, server } = fakeChannel();
    const requests = ['/a', '/b', '/c'].map((path) => lstat(channel, path));
    const { bytes, expected } = script(requests.map((r) => r.id));
    server.push(...split(bytes));
    await server.idle();
    expect(requests.map((r) => r.recorder.frames)).toEqual(expected);
    expect(requests.map((r) => r.recorder.failure)).toEqual([undefined, undefined, undefined]);
    expect(server.misuse).toEqual([]);
  }

  test('replies cut at every byte boundary reassemble', async () => {
    const { bytes } = script([1, 2, 3]);
    for (let cut = 1; cut < bytes.length; cut++) {
      await deliver((all) => splitAt(all, [cut]));
    }
  });

  test('replies read one byte at a time reassemble', async () => {
    await deliver((all) => [...all].map((byte) => Buffer.of(byte)));
  });

  test('replies cut at random places reassemble', async () => {
    const random = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      await deliver((all) => {
        const cuts = [...new Set(Array.from({ length: 1 + ((random() * 8) | 0) }, () => 1 + ((random() * (all.length - 1)) | 0)))];
        return splitAt(
          all,
          cuts.sort((a, b) => a - b),
        );
      });
    }
  });

  test('many replies merged into one read are all dispatched', async () => {
    const { channel, server } = fakeChannel();
    const recorder = new Recorder();
    const id = channel.request(readFrame('/f'), recorder);
    // 40,000 frames (about 1.5 MiB, three reply chunks) in one piece.
    const payloads = Array.from({ length: 40000 }, (_, i) => Buffer.from(`frame ${i} `.repeat(1 + (i % 5))));
    server.push(Buffer.concat([...payloads.map((payload) => replyFrame(id, Reply.Data, payload)), replyFrame(id, Reply.End)]));
    await server.idle();
    expect(recorder.frames.length).toBe(payloads.length + 1);
    const heard = recorder.frames.slice(0, -1).map((frame) => frame.payload.toString());
    expect(heard.every((text, i) => text === payloads[i]?.toString())).toBe(true);
    expect(recorder.frames.at(-1)!.kind).toBe(Reply.End);
  });

  test('a frame larger than a reply chunk arrives whole, between small ones', async () => {
    for (const pieces of [1, 3, 50]) {
      const { channel, server } = fakeChannel();
      const recorder = new Recorder();
      const id = channel.request(readFrame('/big'), recorder);
      const big = patternBytes(pieces, 3 * 1024 * 1024 + 5);
      const bytes = Buffer.concat([
        replyFrame(id, Reply.Data, Buffer.from('before')),
        replyFrame(id, Reply.Data, big),
        replyFrame(id, Reply.Data, Buffer.from('after')),
        replyFrame(id, Reply.End),
      ]);
      const cuts = Array.from({ length: pieces - 1 }, (_, i) => Math.floor(((i + 1) * bytes.length) / pieces) + 3);
      server.push(...splitAt(bytes, cuts));
      await server.idle();
      expect(recorder.frames.map((heard) => heard.payload.length)).toEqual([6, big.length, 5, 0]);
      expect(recorder.frames[1]!.payload.equals(big)).toBe(true);
      expect(recorder.frames[2]!.payload.toString()).toBe('after');
    }
  });

  test('replies for an id nobody waits for are dropped, the rest still arrive', async () => {
    const { channel, server } = fakeChannel();
    const { id, recorder } = lstat(channel, '/x');
    server.push(Buffer.concat([replyFrame(999, Reply.Data, Buffer.from('stray')), replyFrame(id, Reply.End)]));
    await server.idle();
    expect(recorder.frames.map((heard) => heard.kind)).toEqual([Reply.End]);
    expect(channel.isOpen).toBe(true);
  });
});

describe('the end of a channel', () => {
  test.each([
    ['shorter than a frame header', 3],
    ['larger than any server frame', 64 * 1024 * 1024 + 1],
  ])('a frame length %s ends it with EPROTO and fails what is pending', async (_what, length) => {
    const causes: (Error | undefined)[] = [];
    const endedWith = endError();
    const { channel, server } = fakeChannel((cause) => {
      causes.push(cause);
      return endedWith;
    });
    const first = lstat(channel, '/1');
    const second = lstat(channel, '/2');
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(length, 0);
    bad.writeUInt32LE(second.id, 4);
    // The frame before the bad one is still dispatched.
    server.push(Buffer.concat([replyFrame(first.id, Reply.End), bad]));
    await ended(channel, server);
    expect(first.recorder.frames.map((heard) => heard.kind)).toEqual([Reply.End]);
    expect(first.recorder.failure).toBeUndefined();
    expect(second.recorder.failure).toBe(endedWith);
    expect(causes).toHaveLength(1);
    expect(causes[0]).toBeInstanceOf(UnshareFsError);
    expect(causes[0]).toMatchObject({ code: 'EPROTO' });
    expect(server.closed).toBe(true);
    expect(channel.isOpen).toBe(false);
    expect(() => lstat(channel, '/3')).toThrow(endedWith);
    expect(server.misuse).toEqual([]);
  });

  test('the end of the stream fails pending requests with the error onEnd gives', async () => {
    const causes: (Error | undefined)[] = [];
    const { channel, server } = fakeChannel((cause) => {
      causes.push(cause);
      return new UnshareFsError('EWORKERDIED', 'test: the worker died', { cause });
    });
    const pending = [lstat(channel, '/1'), lstat(channel, '/2')] as const;
    const done = lstat(channel, '/3');
    // Half a frame, then the end: the half is not a frame.
    server.push(replyFrame(done.id, Reply.End), replyFrame(pending[0].id, Reply.End).subarray(0, 7));
    server.end();
    await ended(channel, server);
    expect(causes).toEqual([undefined]);
    for (const { recorder } of pending) {
      expect(recorder.frames).toEqual([]);
      expect(recorder.failure).toMatchObject({ code: 'EWORKERDIED' });
    }
    expect(done.recorder.failure).toBeUndefined();
    expect(server.closed).toBe(true);
    expect(() => lstat(channel, '/4')).toThrow(expect.objectContaining({ code: 'EWORKERDIED' }));
    // Control frames for requests of a dead channel are dropped quietly.
    channel.control(pending[0].id, encodeCancel());
    expect(server.misuse).toEqual([]);
  });

  test('an onEnd that answers later still fails every pending request', async () => {
    let answer!: (error: Error) => void;
    const later = new Promise<Error>((resolve) => {
      answer = resolve;
    });
    const { channel, server } = fakeChannel(() => later);
    const { recorder } = lstat(channel, '/1');
    server.end();
    await server.idle();
    expect(recorder.failure).toBeUndefined();
    const error = endError();
    answer(error);
    await ended(channel, server);
    expect(recorder.failure).toBe(error);
  });

  test('a failed poll ends the channel with that error as the cause', async () => {
    const causes: (Error | undefined)[] = [];
    const { channel, server } = fakeChannel((cause) => {
      causes.push(cause);
      return endError(cause);
    });
    const { recorder } = lstat(channel, '/1');
    server.failPoll(5 /* EIO */);
    await ended(channel, server);
    expect(causes[0]).toMatchObject({ code: 'EIO', syscall: 'poll' });
    expect(recorder.failure).toMatchObject({ code: 'ECLOSED', cause: causes[0] });
  });
});

describe('a full socket', () => {
  test('requests written while the transport says EAGAIN go out in order once writable', async () => {
    const { channel, server } = fakeChannel();
    server.writable = false;
    const paths = ['/a', '/b', '/c', '/d'];
    const ids = paths.map((path) => lstat(channel, path).id);
    const credited = ids[1];
    if (credited === undefined) throw new Error(`no request id for ${paths[1]}`);
    channel.control(credited, encodeCredit(3));
    expect(server.requests).toEqual([]);
    expect(server.watched).toBe(PORT_READABLE | PORT_WRITABLE);
    // The socket has room again before the loop says so: a new request
    // still queues behind the waiting ones.
    server.writable = true;
    const last = lstat(channel, '/e').id;
    expect(server.requests).toEqual([]);
    server.setWritable(true);
    await server.idle();
    expect(server.requests.map((frame) => [frame.id, frame.op])).toEqual([
      [ids[0], Op.Lstat],
      [ids[1], Op.Lstat],
      [ids[2], Op.Lstat],
      [ids[3], Op.Lstat],
      [ids[1], Op.Credit],
      [last, Op.Lstat],
    ]);
    expect(server.sent(Op.Lstat).map((frame) => frame.payload.toString())).toEqual([...paths, '/e']);
    const [credit] = server.sent(Op.Credit);
    expect(credit?.fields).toEqual([3]);
    expect(server.watched).toBe(PORT_READABLE);
  });

  test('partial writes resume where they stopped, frames neither split nor reordered', async () => {
    const { channel, server } = fakeChannel();
    server.writeLimit = 7;
    const paths = Array.from({ length: 20 }, (_, i) => `/path/number/${i}`);
    for (const path of paths) lstat(channel, path);
    // The first write took 7 bytes; the rest waits for the socket.
    expect(server.watched & PORT_WRITABLE).toBe(PORT_WRITABLE);
    await server.idle();
    expect(server.requests.map((frame) => frame.payload.toString())).toEqual(paths);
    expect(server.watched).toBe(PORT_READABLE);
  });

  test('replies are still read while requests wait to be written', async () => {
    const { channel, server } = fakeChannel();
    const first = lstat(channel, '/first');
    server.writable = false;
    const second = lstat(channel, '/second');
    server.push(replyFrame(first.id, Reply.End));
    await server.idle();
    expect(first.recorder.frames.map((heard) => heard.kind)).toEqual([Reply.End]);
    expect(server.requests.map((frame) => frame.id)).toEqual([first.id]);
    server.setWritable(true);
    await server.idle();
    expect(server.requests.map((frame) => frame.id)).toEqual([first.id, second.id]);
  });

  test('close() shuts our end down only after the outbox is written', async () => {
    const { channel, server } = fakeChannel();
    server.writable = false;
    lstat(channel, '/a');
    const closing = channel.close();
    await server.idle();
    expect(server.shutdowns).toBe(0);
    expect(server.refs).toBe(1); // awaiting the close keeps the process alive
    server.setWritable(true);
    await server.idle();
    expect(server.requests).toHaveLength(1);
    expect(server.shutdowns).toBe(1);
    server.end();
    await closing;
    expect(server.refs).toBe(0);
    expect(server.closed).toBe(true);
  });
});

describe('reply chunks reused', () => {
  // Batches are kept (borrowed) past their frame() call by walks that run at
  // different paces; the channel must never read new bytes into a chunk a
  // borrowed batch lies in.  Every payload is checked against the bytes sent,
  // when it arrives and again just before it is given back.
  test('a borrowed payload is never overwritten, however long it is kept', async () => {
    const random = seededRandom(42);
    const { channel, server } = fakeChannel();
    const expected: Buffer[] = [];
    const kept: { index: number; payload: Buffer }[] = [];
    let checked = 0;
    const check = (index: number, payload: Buffer): void => {
      checked++;
      const sent = expected[index];
      if (sent === undefined) throw new Error(`payload ${index} was never sent`);
      if (!payload.equals(sent)) throw new Error(`payload ${index} was overwritten`);
    };
    const giveBack = (which: number): void => {
      const [given] = kept.splice(which, 1);
      if (given === undefined) throw new Error(`no kept payload at ${which}`);
      const { index, payload } = given;
      check(index, payload);
      channel.giveBack(payload);
    };
    let over = false;
    const handler: ReplyHandler = {
      frame(kind, _flags, payload) {
        if (kind === Reply.End) {
          over = true;
          return true;
        }
        const index = payload.readUInt32LE(0);
        check(index, payload);
        // Keep about half; give back some of those kept, oldest or not.
        if (random() < 0.5) {
          channel.borrow(payload);
          kept.push({ index, payload });
        }
        while (kept.length > 0 && random() < 0.3) giveBack((random() * kept.length) | 0);
        // Some kept long: a slow consumer holding a batch from long ago.
        return false;
      },
      fail(error) {
        throw error;
      },
    };
    const id = channel.request(
      encodeWalk({ maxDepth: 1, statMask: 0, flags: 0, window: 1, batchBytes: 65536 }, [], Buffer.from('/')),
      handler,
    );
    let total = 0;
    for (let index = 0; total < 24 * 1024 * 1024; index++) {
      // Mostly batch-sized, some tiny, some larger than a read's room.
      const size = random() < 0.1 ? 4 + ((random() * 64) | 0) : random() < 0.9 ? 4 + ((random() * 70000) | 0) : 200000;
      const payload = patternBytes(index, size);
      payload.writeUInt32LE(index, 0);
      expected.push(payload);
      const frame = replyFrame(id, Reply.Batch, payload);
      total += frame.length;
      // Arrivals of any size, frames cut anywhere.
      const cuts = random() < 0.5 ? [] : [1 + ((random() * (frame.length - 1)) | 0)];
      server.push(...splitAt(frame, cuts));
      if (random() < 0.05) await server.idle();
    }
    server.push(replyFrame(id, Reply.End));
    await server.idle();
    expect(over).toBe(true);
    while (kept.length > 0) giveBack(0);
    expect(checked).toBeGreaterThan(expected.length);
  });
});

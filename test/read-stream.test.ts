// File reads over a channel to a scripted server: readWhole (readFile) and
// FileReadStream (createReadStream), their credit, errors and cancelling.
// No addon: these run anywhere.
import { once } from 'node:events';
import { type Readable } from 'node:stream';

import { type Channel } from '../lib/wire/channel';
import { UnshareFsError } from '../lib/core/errors';
import { END_CANCELLED, Op, Reply, TO_END } from '../lib/wire/protocol';
import { FileReadStream, READ_FILE_LIMIT, rangeRequest, readWhole, type ReadRange } from '../lib/wire/read-stream';
import { errorPayload, fakeChannel, replyFrame, type FakeTransport, type RequestFrame } from './helpers/fake-transport';
import { patternBytes } from './helpers/random';

const PATH = '/srv/file.bin';

interface ReadFields {
  start: bigint;
  end: bigint;
  limit: bigint;
  window: number;
  chunk: number;
  path: string;
}

function readFields(frame: RequestFrame): ReadFields {
  const p = frame.payload;
  return {
    start: p.readBigUInt64LE(0),
    end: p.readBigUInt64LE(8),
    limit: p.readBigUInt64LE(16),
    window: p.readUInt32LE(24),
    chunk: p.readUInt32LE(28),
    path: p.subarray(32).toString(),
  };
}

/**
 * The server's side of one read: the content's range in data frames of the
 * asked size, as far as credit goes, then an end frame (or what `end` says).
 */
class ScriptedRead {
  request: RequestFrame | undefined;
  fields: ReadFields | undefined;
  credit = 0;
  sent = 0;
  credited = 0;
  cancelled = false;
  /** Called as each credit frame arrives (to look at the consumer then). */
  onCredit: (() => void) | undefined;
  private offset = 0;
  private ended = false;

  constructor(
    private readonly server: FakeTransport,
    private readonly content: Buffer,
    private readonly end: { flags: number } | { errno: number; syscall: string } | 'hold' = { flags: 0 },
  ) {
    server.onRequest = (frame) => this.hear(frame);
  }

  private hear(frame: RequestFrame): void {
    if (frame.op === Op.ReadFile) {
      this.request = frame;
      this.fields = readFields(frame);
      this.credit = this.fields.window;
      this.offset = Number(this.fields.start);
    } else if (frame.id === this.request?.id && frame.op === Op.Credit) {
      const [granted] = frame.fields;
      if (granted === undefined) throw new Error(`credit frame for ${frame.id} carries no amount`);
      this.credit += granted;
      this.credited += granted;
      this.onCredit?.();
    } else if (frame.id === this.request?.id && frame.op === Op.Cancel) {
      this.cancelled = true;
    }
    this.pump();
  }

  private pump(): void {
    if (!this.request || !this.fields || this.cancelled || this.ended) return;
    const stop = this.fields.end === TO_END ? this.content.length : Math.min(this.content.length, Number(this.fields.end));
    while (this.credit > 0 && this.offset < stop) {
      const next = Math.min(stop, this.offset + this.fields.chunk);
      this.server.push(replyFrame(this.request.id, Reply.Data, this.content.subarray(this.offset, next)));
      this.offset = next;
      this.sent++;
      this.credit--;
    }
    if (this.offset < stop || this.end === 'hold') return;
    this.ended = true;
    if ('flags' in this.end) this.server.push(replyFrame(this.request.id, Reply.End, undefined, this.end.flags));
    else this.server.push(replyFrame(this.request.id, Reply.Error, errorPayload(this.end.errno, this.end.syscall, PATH)));
  }
}

function readSetup(
  content: Buffer,
  end?: ConstructorParameters<typeof ScriptedRead>[2],
): { channel: Channel; server: FakeTransport; read: ScriptedRead } {
  const { channel, server } = fakeChannel();
  return { channel, server, read: new ScriptedRead(server, content, end) };
}

describe('readWhole', () => {
  test('asks for the whole file up to the readFile limit, and concatenates the data frames', async () => {
    const content = patternBytes(1, 1024 * 1024 + 3);
    const { channel, server, read } = readSetup(content);
    const data = await server.settle(readWhole(channel, PATH, Buffer.from(PATH), undefined));
    expect(data.equals(content)).toBe(true);
    const { chunk, ...rest } = read.fields!;
    expect(rest).toEqual({ start: 0n, end: TO_END, limit: BigInt(READ_FILE_LIMIT), window: expect.any(Number), path: PATH });
    expect(read.fields!.window).toBeGreaterThan(0);
    expect(read.sent).toBe(Math.ceil(content.length / chunk));
    // Every frame's credit came back: nothing is held but the bytes.
    expect(read.credited).toBeLessThanOrEqual(read.sent);
    expect(read.credited).toBeGreaterThanOrEqual(read.sent - read.fields!.window);
    expect(server.refs).toBe(0);
  });

  test('an empty file is an empty Buffer', async () => {
    const { channel, server } = readSetup(Buffer.alloc(0));
    expect(await server.settle(readWhole(channel, PATH, Buffer.from(PATH), undefined))).toEqual(Buffer.alloc(0));
  });

  test('holds the event loop only while the read is pending', async () => {
    const { channel, server } = readSetup(Buffer.from('abc'), 'hold');
    const reading = readWhole(channel, PATH, Buffer.from(PATH), undefined);
    await server.idle();
    expect(server.refs).toBe(1);
    server.end();
    await expect(reading).rejects.toThrow();
    expect(server.refs).toBe(0);
  });

  test('EFBIG from the server is the RangeError node:fs gives (ERR_FS_FILE_TOO_LARGE)', async () => {
    const { channel, server } = readSetup(Buffer.alloc(10), { errno: 27, syscall: 'read' });
    const error = await server.settle(readWhole(channel, PATH, Buffer.from(PATH), undefined)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'ERR_FS_FILE_TOO_LARGE' });
  });

  test('other errors are node:fs errors', async () => {
    const { channel, server } = readSetup(Buffer.alloc(0), { errno: 2, syscall: 'open' });
    await expect(server.settle(readWhole(channel, PATH, Buffer.from(PATH), undefined))).rejects.toMatchObject({
      code: 'ENOENT',
      errno: -2,
      syscall: 'open',
      path: PATH,
    });
  });

  test('an end frame flagged cancelled rejects with ECLOSED, not a short file', async () => {
    const { channel, server } = readSetup(Buffer.from('part of it'), { flags: END_CANCELLED });
    const error = await server.settle(readWhole(channel, PATH, Buffer.from(PATH), undefined)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UnshareFsError);
    expect(error).toMatchObject({ code: 'ECLOSED' });
  });

  test('a reply of a kind a read never gets rejects with EPROTO', async () => {
    const { channel, server, read } = readSetup(Buffer.alloc(0), 'hold');
    const reading = readWhole(channel, PATH, Buffer.from(PATH), undefined);
    await server.idle();
    server.push(replyFrame(read.request!.id, Reply.Batch, Buffer.alloc(8)));
    await expect(server.settle(reading)).rejects.toMatchObject({ code: 'EPROTO' });
  });

  test('the channel ending fails the read with the error its onEnd gives', async () => {
    const { channel, server } = fakeChannel(() => new UnshareFsError('EWORKERDIED', 'test: the worker died'));
    new ScriptedRead(server, Buffer.from('abc'), 'hold');
    const reading = readWhole(channel, PATH, Buffer.from(PATH), undefined);
    await server.idle();
    server.end();
    await expect(server.settle(reading)).rejects.toMatchObject({ code: 'EWORKERDIED' });
  });

  test('an abort sends a Cancel and rejects with AbortError', async () => {
    const { channel, server, read } = readSetup(patternBytes(2, 1000), 'hold');
    const controller = new AbortController();
    const reading = readWhole(channel, PATH, Buffer.from(PATH), controller.signal);
    await server.idle();
    expect(read.sent).toBe(1);
    controller.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([read.request!.id]);
    expect(server.refs).toBe(0);
  });

  test('already aborted: nothing is sent', async () => {
    const { channel, server } = readSetup(Buffer.from('abc'));
    const controller = new AbortController();
    controller.abort();
    await expect(readWhole(channel, PATH, Buffer.from(PATH), controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toEqual([]);
  });
});

describe('FileReadStream', () => {
  function streamOver(channel: Channel, range: ReadRange, highWaterMark: number, signal?: AbortSignal): FileReadStream {
    return new FileReadStream({
      channel: () => channel,
      path: PATH,
      request: rangeRequest(Buffer.from(PATH), range),
      highWaterMark,
      signal,
      graft: (error) => error,
    });
  }

  const collect = async (stream: Readable): Promise<Buffer> => Buffer.concat(await stream.toArray());

  test('asks for its range in chunks of highWaterMark', async () => {
    const content = patternBytes(3, 1000);
    const { channel, server, read } = readSetup(content);
    const stream = streamOver(channel, { start: 10, end: 500 }, 64);
    expect((await server.settle(collect(stream))).equals(content.subarray(10, 500))).toBe(true);
    expect(read.fields).toMatchObject({ start: 10n, end: 500n, chunk: 64, path: PATH });
    expect(read.fields!.window).toBeGreaterThan(0);
  });

  test('gives back credit only as the consumer reads', async () => {
    const content = patternBytes(4, 4000);
    const { channel, server, read } = readSetup(content);
    const highWaterMark = 16;
    const frames = content.length / highWaterMark;
    const stream = streamOver(channel, { start: 0, end: undefined }, highWaterMark);
    // Nobody reads: the server sends its window and then nothing.
    stream.read(0);
    await server.idle();
    const window = read.fields!.window;
    expect(read.sent).toBe(window);
    expect(server.sent(Op.Credit)).toEqual([]);
    expect(stream.readableLength).toBe(window * highWaterMark);
    await server.idle();
    expect(read.sent).toBe(window);
    // The consumer takes one frame at a time: credit for frames taken only,
    // and the server never more than a window ahead of it.
    const taken: Buffer[] = [];
    while (taken.length < frames) {
      const chunk = stream.read(highWaterMark) as Buffer | null;
      if (chunk === null) {
        await server.settle(once(stream, 'readable'));
        continue;
      }
      taken.push(chunk);
      expect(read.credited).toBeLessThanOrEqual(taken.length);
      await server.idle();
      expect(read.sent - taken.length).toBeLessThanOrEqual(window);
    }
    expect(Buffer.concat(taken).equals(content)).toBe(true);
    expect(read.sent).toBe(frames);
    await server.settle(once(stream.resume(), 'end'));
  });

  test("destroy sends a Cancel and the read's later frames are dropped", async () => {
    const { channel, server, read } = readSetup(patternBytes(5, 4000), 'hold');
    const stream = streamOver(channel, { start: 0, end: undefined }, 100);
    stream.read(0);
    await server.idle();
    stream.destroy();
    await server.idle();
    expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([read.request!.id]);
    server.push(replyFrame(read.request!.id, Reply.Data, Buffer.from('late')), replyFrame(read.request!.id, Reply.End));
    await server.idle();
    expect(channel.isOpen).toBe(true);
    expect(server.refs).toBe(0);
  });

  test('destroyed before it was read: nothing is sent', async () => {
    const { channel, server } = readSetup(Buffer.from('abc'));
    const stream = streamOver(channel, { start: 0, end: undefined }, 100);
    stream.destroy();
    await server.idle();
    expect(server.requests).toEqual([]);
  });

  test("an error reply is the stream's error event", async () => {
    const { channel, server } = readSetup(Buffer.alloc(0), { errno: 21, syscall: 'read' });
    const stream = streamOver(channel, { start: 0, end: undefined }, 100);
    await expect(server.settle(collect(stream))).rejects.toMatchObject({ code: 'EISDIR', syscall: 'read' });
  });

  test('an abort destroys the stream with AbortError and cancels the read', async () => {
    const { channel, server, read } = readSetup(patternBytes(6, 4000), 'hold');
    const controller = new AbortController();
    const stream = streamOver(channel, { start: 0, end: undefined }, 100, controller.signal);
    const reading = collect(stream);
    await server.idle();
    controller.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([read.request!.id]);
  });
});

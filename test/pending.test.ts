// The request lifecycle every kind of request extends (lib/wire/pending.ts),
// on a channel to a scripted server: the keep-alive, the abort, forget and
// cancel, seen from the transport (its refs, the frames written); and the
// ready frame a server sends unasked.
import { readyFrame } from '../lib/wire/answer';
import type { Channel } from '../lib/wire/channel';
import { PendingRequest } from '../lib/wire/pending';
import { Op, Reply } from '../lib/wire/protocol';
import { encodeLstat } from '../lib/wire/requests';
import { endError, errorPayload, fakeChannel, replyFrame } from './helpers/fake-transport';

/** A PendingRequest that records what it is told and exposes its parts. */
class Probe extends PendingRequest {
  readonly frames: Reply[] = [];
  readonly aborts: Error[] = [];
  failure: Error | undefined;

  start(channel: Channel | (() => Channel), options?: { keepAlive: boolean }): void {
    this.send(channel, encodeLstat(Buffer.from('/probe')), options);
  }

  frame(kind: Reply): boolean {
    this.frames.push(kind);
    if (kind === Reply.Data) return false;
    this.finish();
    return true;
  }

  fail(error: Error): void {
    this.failure = error;
    this.finish();
  }

  protected aborted(error: Error): void {
    this.aborts.push(error);
    this.finish();
  }

  get requestId(): number {
    return this.id;
  }
  stop(): void {
    this.cancel();
    this.forget();
  }
  waitFor(): void {
    this.hold();
  }
  stopWaiting(): void {
    this.release();
  }
}

test('the channel is held from the send to the last frame, once', async () => {
  const { channel, server } = fakeChannel();
  const probe = new Probe();
  probe.start(channel);
  expect(server.refs).toBe(1);
  probe.waitFor(); // a second hold of the same request is none
  expect(server.refs).toBe(1);
  server.push(replyFrame(probe.requestId, Reply.Data), replyFrame(probe.requestId, Reply.End));
  await server.idle();
  expect(probe.frames).toEqual([Reply.Data, Reply.End]);
  expect(server.refs).toBe(0);
});

test('sent without keep-alive, it holds only between hold() and release()', () => {
  const { channel, server } = fakeChannel();
  const probe = new Probe();
  probe.start(channel, { keepAlive: false });
  expect(server.refs).toBe(0);
  probe.waitFor();
  expect(server.refs).toBe(1);
  probe.stopWaiting();
  probe.stopWaiting();
  expect(server.refs).toBe(0);
});

test('an aborted signal stops it before the channel is opened', () => {
  const controller = new AbortController();
  controller.abort('stop');
  const probe = new Probe(controller.signal);
  const open = jest.fn((): Channel => {
    throw new Error('opened');
  });
  probe.start(open);
  expect(open).not.toHaveBeenCalled();
  expect(probe.aborts).toHaveLength(1);
  expect(probe.aborts[0]).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'stop' });
});

test('an abort after the send is told once; after the end it is not heard', async () => {
  const { channel, server } = fakeChannel();
  const controller = new AbortController();
  const probe = new Probe(controller.signal);
  probe.start(channel);
  controller.abort();
  controller.signal.dispatchEvent(new Event('abort'));
  expect(probe.aborts).toHaveLength(1);
  expect(server.refs).toBe(0);

  const later = new AbortController();
  const done = new Probe(later.signal);
  done.start(channel);
  server.push(replyFrame(done.requestId, Reply.End));
  await server.idle();
  later.abort();
  expect(done.aborts).toHaveLength(0);
});

test('cancel sends Op.Cancel on its id; forget drops the frames that follow', async () => {
  const { channel, server } = fakeChannel();
  const probe = new Probe();
  probe.start(channel);
  probe.stop();
  server.push(replyFrame(probe.requestId, Reply.End));
  await server.idle();
  expect(server.sent(Op.Cancel).map((frame) => frame.id)).toEqual([probe.requestId]);
  expect(probe.frames).toEqual([]);
});

test('a channel that has failed throws at the send and keeps nothing held', async () => {
  const { channel, server } = fakeChannel(() => endError());
  server.end();
  await server.idle();
  const probe = new Probe();
  expect(() => probe.start(channel)).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
  expect(server.refs).toBe(0);
});

describe("readyFrame: a server's first frame, unasked, on id 0", () => {
  test("resolves with a ready frame's payload, the channel held until it came", async () => {
    const { channel, server } = fakeChannel();
    const ready = readyFrame(channel);
    expect(server.refs).toBe(1);
    server.push(replyFrame(0, Reply.Ready, Buffer.from([1, 0, 0, 0, 6, 0, 0, 0])));
    expect(await server.settle(ready)).toEqual(Buffer.from([1, 0, 0, 0, 6, 0, 0, 0]));
    expect(server.refs).toBe(0);
  });

  test("rejects with the error frame's error, or EPROTO for another kind, and says so as the frame comes", async () => {
    for (const [frame, code] of [
      [replyFrame(0, Reply.Error, errorPayload(1, 'setns')), 'EPERM'],
      [replyFrame(0, Reply.Data), 'EPROTO'],
    ] as const) {
      const { channel, server } = fakeChannel();
      const other = jest.fn();
      const ready = readyFrame(channel, other);
      server.push(frame);
      await expect(server.settle(ready)).rejects.toMatchObject({ code });
      expect(other).toHaveBeenCalledTimes(1);
      expect(server.refs).toBe(0);
    }
  });

  test("rejects with the channel's error when it ends first, not a frame", async () => {
    const { channel, server } = fakeChannel();
    const other = jest.fn();
    const ready = readyFrame(channel, other);
    server.end();
    await expect(server.settle(ready)).rejects.toMatchObject({ code: 'ECLOSED' });
    expect(other).not.toHaveBeenCalled();
  });
});

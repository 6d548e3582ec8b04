// Requests answered by one frame (a stat, data, an end) or an error: the
// one-shot reads and the changes.
import { CallSite, protocolError } from '../core/errors';
import { StatReader, type BigIntStats, type IdMapper, type Stats } from '../core/stats';
import type { Channel } from './channel';
import { PendingRequest } from './pending';
import { ALL_STAT, Reply, errorFromPayload } from './protocol';
import type { RequestFrame } from './requests';

/** One request and its one answer.  An abort rejects at once; the answer, when it comes, is dropped. */
class Answer extends PendingRequest {
  constructor(
    signal: AbortSignal | undefined,
    private readonly resolve: (payload: Buffer) => void,
    private readonly reject: (error: Error) => void,
  ) {
    super(signal);
  }

  start(channel: Channel, frame: RequestFrame): void {
    try {
      this.send(channel, frame);
    } catch (error) {
      this.reject(error as Error);
    }
  }

  frame(kind: Reply, _flags: number, payload: Buffer): boolean {
    // An end (a recursive mkdir's carries a path), a stat, data.
    if (this.finish()) {
      if (kind === Reply.Error) this.reject(errorFromPayload(payload));
      else this.resolve(Buffer.from(payload));
    }
    return true;
  }

  fail(error: Error): void {
    if (this.finish()) this.reject(error);
  }

  protected aborted(error: Error): void {
    this.forget();
    if (this.finish()) this.reject(error);
  }
}

/** A server's first frame, unasked, on id 0: a ready frame, or the error that stopped it starting. */
class Ready extends PendingRequest {
  constructor(
    private readonly resolve: (payload: Buffer) => void,
    private readonly reject: (error: Error) => void,
    private readonly onOtherFrame: (() => void) | undefined,
  ) {
    super();
  }

  start(channel: Channel): void {
    this.listen(channel, 0);
  }

  frame(kind: Reply, _flags: number, payload: Buffer): boolean {
    if (this.finish()) {
      if (kind === Reply.Ready) {
        this.resolve(Buffer.from(payload));
      } else {
        this.reject(
          kind === Reply.Error
            ? errorFromPayload(payload)
            : protocolError(`a reply of kind ${kind} where the server's ready frame belongs`),
        );
        this.onOtherFrame?.();
      }
    }
    return true;
  }

  fail(error: Error): void {
    if (this.finish()) this.reject(error);
  }

  protected aborted(): void {
    // No signal: never aborted.
  }
}

/**
 * The ready frame's payload of a server just started (a worker, a
 * namespace holder); rejects with the error it sends instead (and tells
 * `onOtherFrame`, as the frame comes), or with the channel's when it ends
 * first.
 */
export function readyFrame(channel: Channel, onOtherFrame?: () => void): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => new Ready(resolve, reject, onOtherFrame).start(channel));
}

/**
 * Sends `frame` and resolves with its answer's payload (a copy), or
 * rejects with its error.  The errors have no useful stack yet: callers
 * give them theirs.
 */
export function request(channel: Channel, frame: RequestFrame, signal?: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => new Answer(signal, resolve, reject).start(channel, frame));
}

/** A request answered by an end or an error, whose error gets the stack of `caller`'s caller. */
export function voidRequest(channel: () => Channel, frame: RequestFrame, caller: (...args: never[]) => unknown): Promise<void> {
  const site = new CallSite(caller);
  let open: Channel;
  try {
    open = channel();
  } catch (error) {
    return Promise.reject(site.graft(error as Error));
  }
  return request(open, frame).then(
    () => undefined,
    (error: Error) => Promise.reject(site.graft(error)),
  );
}

/** A stat answer (every field, ../core/stats.ts's layout), ids mapped to the ones seen inside. */
export function statAnswer(payload: Buffer, bigint: boolean, mapUid: IdMapper, mapGid: IdMapper): Stats | BigIntStats {
  const reader = new StatReader(new DataView(payload.buffer, payload.byteOffset, payload.byteLength), ALL_STAT, mapUid, mapGid);
  return bigint ? reader.readBigInt(0) : reader.read(0);
}

/** An xattrs answer's records (u32 name length, name, u32 value length, value), name to value. */
export function xattrRecords(records: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let at = 0; at < records.length; ) {
    const nameLength = records.readUInt32LE(at);
    const name = records.toString('utf8', at + 4, at + 4 + nameLength);
    at += 4 + nameLength;
    const valueLength = records.readUInt32LE(at);
    out.set(name, Buffer.from(records.subarray(at + 4, at + 4 + valueLength)));
    at += 4 + valueLength;
  }
  return out;
}

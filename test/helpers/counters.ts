// What a server holds right now (its Counters op), read through the channel of
// a FileSystem: for tests that must show that something did not happen (no
// job left, nothing queued, a stream stopped at its credit window) by the
// server's state, not by a sleep that found nothing.
import type { FileSystem } from '../../lib';
import { serverOf } from '../../lib/api/filesystem';
import { Reply, errorFromPayload } from '../../lib/wire/protocol';
import { Counter } from '../../lib/wire/protocol.generated';
import { encodeCounters } from '../../lib/wire/requests';

/** The counters of protocol.h's Counter, by name. */
export interface Counters {
  /** Jobs with a thread waiting for credit now. */
  creditWaits: number;
  /** Live request threads. */
  threads: number;
  /** Live quick threads. */
  quickThreads: number;
  /** Requests waiting for a request thread. */
  queued: number;
  /** Quick requests waiting for a quick thread. */
  quickQueued: number;
  /** Streaming requests registered (until their last frame is sent). */
  jobs: number;
  /** Request threads idle. */
  idle: number;
  /** Extra walker threads taken by running walks. */
  walkHelpers: number;
}

const FIELDS: [keyof Counters, number][] = [
  ['creditWaits', Counter.CreditWaits],
  ['threads', Counter.Threads],
  ['quickThreads', Counter.QuickThreads],
  ['queued', Counter.Queued],
  ['quickQueued', Counter.QuickQueued],
  ['jobs', Counter.Jobs],
  ['idle', Counter.Idle],
  ['walkHelpers', Counter.WalkHelpers],
];

/**
 * The server's counters now: one Counters request, answered at once by one
 * data frame.  It does not hold the channel: a poll left behind by a test
 * that timed out must not keep jest's process alive.
 */
export function counters(fs: FileSystem): Promise<Counters> {
  return new Promise<Counters>((resolve, reject) => {
    // The channel the file system's own requests go on (serverOf is the
    // library's internal handle, never exposed by the API).
    serverOf(fs)
      .channel()
      .request(encodeCounters(), {
        frame(kind, _flags, payload) {
          if (kind === Reply.Error) reject(errorFromPayload(payload));
          else if (kind !== Reply.Data || payload.length !== 4 * Counter.Count) {
            reject(new Error(`counters: a reply of kind ${kind} and ${payload.length} bytes`));
          } else {
            const value = {} as Counters;
            for (const [name, index] of FIELDS) value[name] = payload.readUInt32LE(4 * index);
            resolve(value);
          }
          return true;
        },
        fail: reject,
      });
  });
}

/**
 * Polls the counters until `predicate` holds, and returns the counters that
 * made it hold.  No time limit of its own: it waits for a state, and a
 * state that never comes ends in jest's timeout, after which the poll stops
 * (the test it was started by is no longer the one running).
 */
export async function waitFor(fs: FileSystem, predicate: (now: Counters) => boolean): Promise<Counters> {
  const test = expect.getState().currentTestName;
  for (;;) {
    const now = await counters(fs);
    if (predicate(now)) return now;
    if (expect.getState().currentTestName !== test) throw new Error(`counters: ${test} is over, and its wait with it`);
    // Each poll is a round trip already; a short pause keeps a wait of
    // seconds (idle threads leaving) from spinning a shared CPU.
    await new Promise((resolve) => setTimeout(resolve, 2).unref());
  }
}

/** Nothing in flight: no job, nothing queued, no credit wait, no walk helper. */
export const quiet = (now: Counters): boolean =>
  now.jobs === 0 && now.queued === 0 && now.quickQueued === 0 && now.creditWaits === 0 && now.walkHelpers === 0;

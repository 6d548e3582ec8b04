/**
 * Every container of a user walked at once: scanners, backup agents and
 * `du` over every container walk many trees, and on a small machine one
 * walk after another leaves cores idle (a wide directory is listed by one
 * thread; a stopped container's mount is set up while nothing walks).
 */
import { setMaxListeners } from 'node:events';
import * as os from 'node:os';

import { invalid, checkInteger, checkOptionsObject, checkSignal } from './core/checks';
import type { Entry } from './core/entry';
import { abortError } from './core/errors';
import type { WalkOptions } from './core/options';
import type { BigIntStats, Stats } from './core/stats';
import * as docker from './docker';
import { checkWalkOptions } from './wire/walk-request';
import { containers, type EngineContainer, type EnginesOptions } from './engines';
import type { Session } from './ns/session';
import * as podman from './podman';

/** Options of scanContainers(). */
export interface ScanOptions extends EnginesOptions {
  /** The containers to walk (default: containers() with these options, every engine's, running and stopped). */
  containers?: readonly EngineContainer[];
  /**
   * Containers walked at once, 1 to 64 (default: the cores this process
   * may use, at least 2).  On 2 cores, 4 at once were up to 1.1x faster
   * than 2 on a quiet machine but grew RSS by 73 MiB against 51: more
   * walks cost a credit window of memory and more decoded garbage each,
   * and contend for the same cores.
   */
  concurrency?: number;
  /** Each container's walk: walk()'s options but `signal` (given here) and `prune`. */
  walk?: Omit<WalkOptions, 'signal' | 'prune'>;
  /** Stops every walk, and closes every session. */
  signal?: AbortSignal;
}

/** One batch of one container's entries, as walkBatches() gives them. */
export interface ScanBatch {
  /** The container walked. */
  container: EngineContainer;
  /**
   * Where its walk started, the prefix of the entries' paths: a running
   * container's merged dir as its engine's namespace sees it, '/' for a
   * stopped one (its layers mounted read-only, as mountContainer() does).
   */
  root: string;
  /** The entries; none in the batch that says the walk ended. */
  entries: Entry<string | Buffer, Partial<Stats> | Partial<BigIntStats> | undefined>[];
  /** True on the container's last batch, which has no entries: its walk ended. */
  done: boolean;
}

const SCAN_OPTIONS = ['uid', 'env', 'home', 'onError', 'containers', 'concurrency', 'walk', 'signal'];
const MAX_CONCURRENCY = 64;
const DEFAULT_CONCURRENCY = Math.max(2, os.availableParallelism());

/** A container's walk, with what closes the session it walked in (nothing for a shared one). */
interface Walking {
  container: EngineContainer;
  root: string;
  batches: AsyncIterator<ScanBatch['entries']>;
  release: () => Promise<void>;
}

/**
 * The batches of every container's walk with full control of memory: at
 * most `concurrency` walks are in flight, each asked for its next batch
 * only once the consumer took the one before, so memory is bounded by the
 * consumer and the concurrency, not by the number of containers.
 *
 * Sessions are shared where one serves many: every running container of
 * an engine is walked in that engine's storage session (its merged dir is
 * mounted in the namespace the engine keeps: the pause process's or
 * dockerd's), opened once when the first is reached and closed after the
 * last; a stopped container has no mount, so its layers are mounted in a
 * namespace of the library's own (mountContainer()), set up while other
 * walks stream and closed when its walk ends.  Batches of different
 * containers interleave; those of one container come in its walk's order,
 * then its `done` batch.
 *
 * @example
 * ```ts
 * import { scanContainers } from 'unshare-fs';
 *
 * const bytes = new Map<string, number>();
 * for await (const { container, entries } of scanContainers({ walk: { stat: ['size'] } })) {
 *   for (const entry of entries) bytes.set(container.id, (bytes.get(container.id) ?? 0) + Number(entry.stats?.size ?? 0));
 * }
 * ```
 * @throws `TypeError` or `RangeError` (node's `code`) for bad options, when called; while iterating, the first error a session or a walk meets ends the scan with it (PodmanError, DockerError, or a walk's node:fs-style error), once every session is closed; an `AbortError` on `signal`.
 */
export function scanContainers(options?: ScanOptions): AsyncGenerator<ScanBatch, void, undefined> {
  const o = checkOptionsObject(options, SCAN_OPTIONS, 'scanContainers') as ScanOptions;
  const concurrency = checkInteger('concurrency', o.concurrency, 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY);
  const signal = checkSignal(o.signal);
  if (o.walk !== undefined) {
    // Checked now, not at the first container's walk.
    checkWalkOptions(o.walk, 'scanContainers walk');
    if ('signal' in o.walk || 'prune' in o.walk) throw invalid('walk', 'walk options without signal and prune', o.walk);
  }
  if (o.containers !== undefined && !Array.isArray(o.containers)) throw invalid('containers', 'an array of containers()', o.containers);
  // The user's options, those given only: each engine checks them again.
  const engineOptions = Object.fromEntries(Object.entries({ uid: o.uid, env: o.env, home: o.home }).filter(([, v]) => v !== undefined));
  const list: readonly EngineContainer[] = o.containers ?? containers({ ...engineOptions, onError: o.onError });
  return scan(list, { concurrency, signal, walk: o.walk, engineOptions });
}

interface CheckedScan {
  concurrency: number;
  signal: AbortSignal | undefined;
  walk: ScanOptions['walk'];
  engineOptions: EnginesOptions;
}

async function* scan(list: readonly EngineContainer[], checked: CheckedScan): AsyncGenerator<ScanBatch, void, undefined> {
  const { concurrency, signal, engineOptions } = checked;
  const inner = new AbortController();
  // Every walk listens on it: more than node's 10 listeners is no leak here.
  setMaxListeners(MAX_CONCURRENCY + 1, inner.signal);
  const stop = (): void => inner.abort(signal?.reason);
  signal?.addEventListener('abort', stop, { once: true });
  const walkOptions = { ...checked.walk, signal: inner.signal };
  const storage = new Map<string, { session: Promise<Session>; users: number }>();

  /** The engine's storage session, shared by its running containers; closed when the last lets it go. */
  const storageSession = (engine: EngineContainer['engine']): { session: Promise<Session>; release: () => Promise<void> } => {
    let shared = storage.get(engine);
    if (!shared) {
      const opened = engine === 'podman' ? podman.enterStorage(engineOptions) : docker.enterStorage(engineOptions);
      shared = { session: opened, users: 0 };
      storage.set(engine, shared);
    }
    shared.users++;
    const held = shared;
    return {
      session: held.session,
      release: async () => {
        if (--held.users > 0) return;
        storage.delete(engine);
        await (await held.session).close();
      },
    };
  };

  const start = async (container: EngineContainer): Promise<Walking> => {
    if (container.running) {
      const shared = storageSession(container.engine);
      try {
        const session = await shared.session;
        const batches = session.walkBatches(container.mergedDir, walkOptions)[Symbol.asyncIterator]();
        return { container, root: container.mergedDir, batches, release: shared.release };
      } catch (error) {
        await shared.release().catch(() => undefined);
        throw error;
      }
    }
    const mount = container.engine === 'podman' ? podman.mountContainer : docker.mountContainer;
    const mounted = await mount(container.id, engineOptions);
    const batches = mounted.session.walkBatches('/', walkOptions)[Symbol.asyncIterator]();
    return { container, root: '/', batches, release: () => mounted.close() };
  };

  // Each in-flight promise wrapped once, never rejecting, and queued in
  // `ready` when it settles.  Not Promise.race: every race leaves a
  // reaction on the promises still pending, which holds the race's result
  // (a batch) until they settle, so a slow mount would keep every batch
  // yielded meanwhile (node's issue 17469).
  type Settled = { key: object; walking?: Walking; result?: IteratorResult<ScanBatch['entries']>; failed?: { error: unknown } };
  const queue = [...list];
  const inFlight = new Map<object, Promise<Settled>>();
  let failure: { error: unknown } | undefined;
  // The walk whose batch the consumer holds: not in flight until it comes back.
  let holding: Walking | undefined;
  const ready: Settled[] = [];
  let wake: (() => void) | undefined;
  const track = (key: object, promise: Promise<Omit<Settled, 'key'>>): void => {
    const settled = promise.then(
      (value): Settled => ({ key, ...value }),
      (error: unknown): Settled => ({ key, failed: { error } }),
    );
    inFlight.set(key, settled);
    void settled.then((value) => {
      ready.push(value);
      wake?.();
      wake = undefined;
    });
  };
  const fill = (): void => {
    while (inFlight.size < concurrency && queue.length > 0) {
      const container = queue.shift()!;
      track(
        container,
        start(container).then((walking) => ({ walking })),
      );
    }
  };
  // A walk's failure keeps its walking: its session is released like the others'.
  const ask = (walking: Walking): void =>
    track(
      walking,
      walking.batches.next().then(
        (result) => ({ walking, result }),
        (error: unknown) => ({ walking, failed: { error } }),
      ),
    );
  try {
    if (signal?.aborted) throw abortError(signal);
    fill();
    while (inFlight.size > 0) {
      while (ready.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const settled = ready.shift()!;
      inFlight.delete(settled.key);
      if (settled.failed || settled.walking === undefined) {
        failure = settled.failed;
        if (settled.walking) await settled.walking.release().catch(() => undefined);
        break;
      }
      const { walking, result } = settled;
      if (result === undefined) {
        ask(walking);
      } else if (result.done) {
        await walking.release();
        fill();
        yield { container: walking.container, root: walking.root, entries: [], done: true };
      } else {
        // Its next batch is asked for once the consumer is back: no walk
        // decodes ahead of the consumer (the socket's credit window still
        // keeps its walker busy).
        holding = walking;
        yield { container: walking.container, root: walking.root, entries: result.value, done: false };
        holding = undefined;
        ask(walking);
      }
    }
  } finally {
    // Ended early (the consumer's break, a failure, an abort): stop what is
    // in flight and close every session before the scan ends.
    stop();
    const held = holding && { walking: holding };
    await Promise.allSettled(
      [...(held ? [Promise.resolve(held)] : []), ...inFlight.values()].map(async (pending: Promise<Partial<Settled>>) => {
        const { walking, failed } = await pending;
        if (!walking) return;
        if (failed) return walking.release();
        await walking.batches.return?.();
        await walking.release();
      }),
    );
    signal?.removeEventListener('abort', stop);
  }
  if (failure) throw failure.error;
  if (signal?.aborted) throw abortError(signal);
}

// One server under load (issue 26): thousands of requests in flight on one
// session.  Every request must settle with the right value (checked against
// node:fs) or the right code, and a quick request must answer afterwards.
//
// No time limits: a hang shows as a failure that says what is unsettled,
// raised once nothing settles for STALL_POLLS polls in a row — a watchdog
// of progress, not a budget.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, host, type FileSystem, type Namespace, type Session } from '../lib';
import { threadCount } from './helpers/procs';
import { removeTree, tempDir } from './helpers/tree';

const POLL_MS = 50;
/** Polls in a row without progress that make a hang. */
const STALL_POLLS = 200;

let root: string;
let small: string;
let smallBytes: Buffer;
let tree: string;
let fifo: string;
let fifoIno: number;
let fifoHolder: number;
let ns: Namespace;
let session: Session;

type State = 'pending' | 'resolved' | 'rejected';

/**
 * Requests in flight by kind: each is checked when it settles (a wrong
 * value or code is kept as a failure), and what is still pending can be
 * told at any time.
 */
class Tracker {
  readonly failures: string[] = [];
  readonly pending = new Map<string, number>();
  settled = 0;
  #total = 0;
  readonly #promises: Promise<unknown>[] = [];

  add<T>(kind: string, promise: Promise<T>, check: (value: T) => string | undefined, codes: readonly string[] = []): () => State {
    let state: State = 'pending';
    this.#total++;
    this.#promises.push(promise);
    this.pending.set(kind, (this.pending.get(kind) ?? 0) + 1);
    const done = (next: State, failure: string | undefined): void => {
      state = next;
      this.settled++;
      this.pending.set(kind, this.pending.get(kind)! - 1);
      if (failure !== undefined && this.failures.length < 20) this.failures.push(`${kind}: ${failure}`);
    };
    promise.then(
      (value) => done('resolved', check(value)),
      (error: { code?: unknown; message?: string }) =>
        done('rejected', codes.includes(String(error?.code)) ? undefined : `rejected ${String(error?.code)}: ${error?.message}`),
    );
    return () => state;
  }

  /** Resolves once every request so far has settled. */
  allSettled(): Promise<unknown> {
    return Promise.allSettled(this.#promises);
  }

  get unsettled(): number {
    return this.#total - this.settled;
  }

  describe(): string {
    const left = [...this.pending].filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`);
    return `${this.unsettled} of ${this.#total} unsettled (${left.join(', ') || 'none'})`;
  }
}

/**
 * Waits until `done()`; throws, with `what()`, once `progress()` has stayed
 * the same for STALL_POLLS polls: the server is stuck, not slow.  Looks
 * again at once when `tracker` has settled everything.
 */
async function until(done: () => boolean, progress: () => unknown, what: () => string, tracker?: Tracker): Promise<void> {
  let last = JSON.stringify(progress());
  let still = 0;
  const settled = tracker?.allSettled();
  while (!done()) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, POLL_MS))), settled]);
    clearTimeout(timer);
    const now = JSON.stringify(progress());
    if (now !== last) {
      last = now;
      still = 0;
    } else if (++still >= STALL_POLLS) {
      throw new Error(`no progress for ${STALL_POLLS} polls: ${what()}`);
    }
  }
}

function serverPid(target: string): number | 'self' {
  return target === 'host' ? 'self' : session.workerPid;
}

/** The server's threads: the worker's, or (host) this process's. */
function serverThreads(target: string): number {
  return target === 'host' ? threadCount() : fs.readdirSync(`/proc/${session.workerPid}/task`).length;
}

/** FIFO readers the server has open: its fds on the FIFO (not our holder). */
function fifoReaders(target: string): number {
  const pid = serverPid(target);
  let count = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    if (pid === 'self' && Number(fd) === fifoHolder) continue;
    try {
      if (fs.statSync(`/proc/${pid}/fd/${fd}`).ino === fifoIno) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

/** A quick request must answer while `blocked` requests hold the server. */
async function lstatAnswers(api: FileSystem, target: string, blocked: string): Promise<void> {
  const quick = new Tracker();
  quick.add('lstat', api.lstat(small), (stats) => (stats.size === smallBytes.length ? undefined : `size ${stats.size}`));
  await until(
    () => quick.unsettled === 0,
    () => quick.settled,
    () => `an lstat made while ${blocked} (the server holds ${fifoReaders(target)} FIFO readers, ${serverThreads(target)} threads): ${quick.describe()}`,
    quick,
  );
  expect(quick.failures).toEqual([]);
}

beforeAll(async () => {
  root = tempDir('unshare-fs-load-');
  fs.chmodSync(root, 0o777);
  small = path.join(root, 'small.txt');
  fs.writeFileSync(small, 'hello, load\n');
  smallBytes = fs.readFileSync(small);
  tree = path.join(root, 'tree');
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) fs.mkdirSync(path.join(tree, `d${i}`, `e${j}`), { recursive: true });
    fs.writeFileSync(path.join(tree, `d${i}`, 'f'), '');
  }
  fifo = path.join(root, 'fifo');
  execFileSync('mkfifo', [fifo]);
  fifoIno = fs.statSync(fifo).ino;
  // O_RDWR opens a FIFO without waiting and counts as a writer that never
  // writes: its readers wait until aborted.
  fifoHolder = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  ns = await createNamespace();
  session = await ns.enter();
});

afterAll(async () => {
  await ns?.close();
  if (fifoHolder !== undefined) fs.closeSync(fifoHolder);
  if (root) removeTree(root);
});

const targets: { name: string; api(): FileSystem }[] = [
  { name: 'namespace session', api: () => session },
  { name: 'host', api: () => host },
];

describe.each(targets)('load: $name', ({ name, api: apiOf }) => {
  test('2,000 writeFiles at once all settle, each file whole', async () => {
    const api = apiOf();
    const dir = path.join(root, `writes-${name.replace(/ /g, '-')}`);
    fs.mkdirSync(dir, { mode: 0o777 });
    fs.chmodSync(dir, 0o777);
    const writes = new Tracker();
    for (let i = 0; i < 2000; i++) writes.add('writeFile', api.writeFile(path.join(dir, `f${i}`), `${i}:`.padEnd(1000, 'x')), () => undefined);
    await until(
      () => writes.unsettled === 0,
      () => writes.settled,
      () => `2,000 writeFiles of 1,000 bytes (the server has ${serverThreads(name)} threads): ${writes.describe()}`,
      writes,
    );
    expect(writes.failures).toEqual([]);
    const wrong = [];
    for (let i = 0; i < 2000; i++) {
      if (fs.readFileSync(path.join(dir, `f${i}`), 'utf8') !== `${i}:`.padEnd(1000, 'x')) wrong.push(i);
    }
    expect(wrong).toEqual([]);
    await lstatAnswers(api, name, 'nothing else runs');
  });
});

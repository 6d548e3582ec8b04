// A bounded soak: six callers keep ONE server busy at once with a mix of
// everything (walks consumed, broken off, aborted, ended by a throwing
// onError; small and 8 MiB reads; streams read whole and destroyed half-way;
// reads of a FIFO nobody writes, aborted; lstat, stat, readlink, readdir;
// and bad arguments).  Every call must resolve with the right value or reject
// with the right `code`; afterwards the server answers and holds no more
// threads or fds than after a warm-up of the same mix.  Run once for a
// session in a namespace of the library's own, once for the host server.
// The loops are bounded by a count and a time (SOAK_MS), not by jest.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import { createNamespace, host, type FileSystem, type Namespace, type Session } from '../lib';
import { childPids, fdCount, mapsHostUid, threadCount } from './helpers/procs';
import { patternBytes, seededRandom } from './helpers/random';
import { removeTree, tempDir } from './helpers/tree';

const LOOPS = 6;
const SOAK_MS = 18_000;
const CALLS_PER_LOOP = 20_000;
const WARMUP_MS = 1_500;
const WARMUP_CALLS_PER_LOOP = 300;
/** The server lets idle threads go after 2 s. */
const IDLE_THREAD_MS = 2_000;
const SETTLE_POLLS = 50;
const SETTLE_POLL_MS = 100;
const BIG_SIZE = 8 * 2 ** 20;
const BIG = patternBytes(8, BIG_SIZE);
const SEED = Number(process.env.UNSHARE_FS_SOAK_SEED) || 20261201;
const WALK_ROOT = '/usr/share';
/** A tree of our own: 20 dirs of 20 dirs of 10 files. */
const TREE_ENTRIES = 20 + 20 * 20 + 20 * 20 * 10;

let root: string;
let small: string;
let big: string;
let fifo: string;
let link: string;
let errs: string;
let tree: string;
let missing: string;
let fifoHolder: number;
let rootNames: string[];
let ns: Namespace;
let session: Session;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A wrong outcome: what was asked, what came. */
class Mismatch extends Error {}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${typeof error}: ${String(error).slice(0, 200)}`;
  const code = (error as { code?: unknown }).code;
  return `${error.name} code=${JSON.stringify(code)}: ${error.message.slice(0, 200)}`;
}

/** Awaits a call that must reject with `code` (sync throws of the call count as rejections). */
async function expectCode(call: () => unknown, code: string): Promise<void> {
  let result: unknown;
  try {
    result = await call();
  } catch (error) {
    const got = (error as { code?: unknown }).code;
    if (typeof got !== 'string') throw new Mismatch(`expected ${code}, got an error without a string code: ${describeError(error)}`);
    if (got !== code) throw new Mismatch(`expected ${code}, got ${describeError(error)}`);
    return;
  }
  throw new Mismatch(`expected ${code}, but it resolved with ${typeof result}`);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Mismatch(what);
}

async function drain(stream: Readable, stopAfter = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= stopAfter) break; // for await destroys the stream
  }
  return Buffer.concat(chunks);
}

function streamError(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('end', resolve);
    stream.resume();
  });
}

function track<T>(promise: Promise<T>): () => 'pending' | 'resolved' | 'rejected' {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  return () => state;
}

/** What a pass knows of its server before the soak. */
interface Known {
  api: FileSystem;
  /** Entries of WALK_ROOT: updated when the system changes it meanwhile (a package installed). */
  walkCount: number;
  /** Times WALK_ROOT changed under the soak (counted again, and the walk agreed with the new count). */
  changes: number;
  /** Entries of `tree`, a tree of our own that nothing else changes. */
  treeCount: number;
  /** A tree where this server's walk meets an error record (an unreadable dir), if there is one. */
  errTree: { dir: string; maxDepth?: number } | undefined;
  /** Entries of `errs`, for a server that lists all of it (root on the host). */
  errsCount: number;
}

type Op = (known: Known, rng: () => number) => Promise<void>;

const HUGE = `/${'a'.repeat(2 ** 20)}`;
const STOP = Object.assign(new Error('soak: onError throws'), { code: 'SOAK_ONERROR' });

/** Bad arguments: each must reject (or throw) with exactly this code. */
function badInputs(): [string, (api: FileSystem) => unknown, string][] {
  const nul = `${root}/small\0.txt`;
  const notASignal = { aborted: false, addEventListener() {} } as unknown as AbortSignal;
  return [
    ['1 MiB path lstat', (api) => api.lstat(HUGE), 'ENAMETOOLONG'],
    ['1 MiB path readFile', (api) => api.readFile(HUGE), 'ENAMETOOLONG'],
    ['1 MiB path walk', (api) => api.walk(HUGE), 'ENAMETOOLONG'],
    ['1 MiB path createReadStream', (api) => api.createReadStream(HUGE), 'ENAMETOOLONG'],
    ['1 MiB path readlink', (api) => api.readlink(Buffer.from(HUGE)), 'ENAMETOOLONG'],
    ['unknown option lstat', (api) => api.lstat(small, { bigInt: true } as never), 'ERR_INVALID_ARG_VALUE'],
    ['unknown option walk', (api) => api.walk(root, { maxdepth: 1 } as never), 'ERR_INVALID_ARG_VALUE'],
    ['unknown option readFile', (api) => api.readFile(small, { encodng: 'utf8' } as never), 'ERR_INVALID_ARG_VALUE'],
    ['unknown option createReadStream', (api) => api.createReadStream(small, { begin: 1 } as never), 'ERR_INVALID_ARG_VALUE'],
    ['signal not an AbortSignal readFile', (api) => api.readFile(small, { signal: notASignal }), 'ERR_INVALID_ARG_TYPE'],
    ['signal not an AbortSignal walk', (api) => api.walk(root, { signal: notASignal }), 'ERR_INVALID_ARG_TYPE'],
    ['signal not an AbortSignal stat', (api) => api.stat(small, { signal: notASignal }), 'ERR_INVALID_ARG_TYPE'],
    ['NUL lstat', (api) => api.lstat(nul), 'ERR_INVALID_ARG_VALUE'],
    ['NUL readFile', (api) => api.readFile(nul), 'ERR_INVALID_ARG_VALUE'],
    ['NUL readdir', (api) => api.readdir(nul), 'ERR_INVALID_ARG_VALUE'],
    ['NUL walk', (api) => api.walk(nul), 'ERR_INVALID_ARG_VALUE'],
    ['NUL createReadStream', (api) => api.createReadStream(Buffer.from(nul)), 'ERR_INVALID_ARG_VALUE'],
    ['missing lstat', (api) => api.lstat(missing), 'ENOENT'],
    ['missing stat', (api) => api.stat(missing), 'ENOENT'],
    ['missing readFile', (api) => api.readFile(missing), 'ENOENT'],
    ['missing readdir', (api) => api.readdir(missing), 'ENOENT'],
    ['missing readlink', (api) => api.readlink(missing), 'ENOENT'],
    ['missing walk', (api) => api.walk(missing).next(), 'ENOENT'],
    ['missing createReadStream', (api) => streamError(api.createReadStream(missing)), 'ENOENT'],
    ['readlink of a file', (api) => api.readlink(small), 'EINVAL'],
    ['readFile of a directory', (api) => api.readFile(root), 'EISDIR'],
    ['readdir of a file', (api) => api.readdir(small), 'ENOTDIR'],
  ];
}

function walkThreads(rng: () => number): number {
  return 1 + Math.floor(rng() * 4);
}

const OPS: Record<string, { weight: number; run: Op }> = {
  'walk whole': {
    weight: 2,
    async run(known, rng) {
      const ours = rng() < 0.5;
      const dir = ours ? tree : WALK_ROOT;
      let count = 0;
      const stat = rng() < 0.5;
      for await (const entry of known.api.walk(dir, { threads: walkThreads(rng), stat, onError: 'skip' })) {
        count++;
        if (stat && entry.stats === undefined) throw new Mismatch(`no stats for ${entry.fullPath}`);
      }
      if (ours) {
        check(count === known.treeCount, `walked ${count} entries of ${dir}, expected ${known.treeCount}`);
      } else if (count !== known.walkCount) {
        // The machine may install a package meanwhile: accept a new count only if a walk of one thread agrees.
        const again = await walkCount(known.api, WALK_ROOT, 'skip');
        check(again === count, `walked ${count} entries of ${dir}, expected ${known.walkCount} (and ${again} when counted again)`);
        known.walkCount = count;
        known.changes++;
      }
    },
  },
  'walk broken off': {
    weight: 4,
    async run({ api }, rng) {
      const stopAt = 1 + Math.floor(rng() * 3000);
      let count = 0;
      for await (const entry of api.walk(WALK_ROOT, { threads: walkThreads(rng), onError: 'skip' })) {
        check(entry.fullPath.startsWith(`${WALK_ROOT}/`), `entry ${entry.fullPath} outside ${WALK_ROOT}`);
        if (++count === stopAt) break;
      }
      check(count === stopAt, `broke off after ${count} entries, wanted ${stopAt}`);
    },
  },
  'walk aborted': {
    weight: 4,
    async run({ api }, rng) {
      const controller = new AbortController();
      const stopAt = rng() < 0.1 ? 0 : 1 + Math.floor(rng() * 3000);
      if (stopAt === 0) controller.abort();
      let count = 0;
      await expectCode(async () => {
        for await (const entry of api.walk(WALK_ROOT, { threads: walkThreads(rng), signal: controller.signal, onError: 'skip' })) {
          void entry;
          if (++count === stopAt) controller.abort();
        }
      }, 'ABORT_ERR');
    },
  },
  'walk with a throwing onError': {
    weight: 3,
    async run({ api, errTree, errsCount }, rng) {
      let count = 0;
      const { dir, maxDepth } = errTree ?? { dir: errs };
      const walking = async (): Promise<void> => {
        const options = {
          maxDepth,
          threads: walkThreads(rng),
          onError: (): never => {
            throw STOP;
          },
        };
        for await (const entry of api.walk(dir, options)) count += entry ? 1 : 0;
      };
      if (errTree === undefined) {
        await walking();
        check(count === errsCount, `walked ${count} entries of ${errs}, expected ${errsCount}`);
        return;
      }
      try {
        await walking();
      } catch (error) {
        check(error === STOP, `expected the error onError threw, got ${describeError(error)}`);
        return;
      }
      throw new Mismatch('the walk ended although onError threw');
    },
  },
  'readFile small': {
    weight: 10,
    async run({ api }, rng) {
      if (rng() < 0.5) check((await api.readFile(small, 'utf8')) === 'hello\n', 'small.txt content');
      else check((await api.readFile(link)).equals(Buffer.from('hello\n')), 'small.txt content through the link');
    },
  },
  'readFile 8 MiB': {
    weight: 2,
    async run({ api }) {
      const data = await api.readFile(big);
      check(data.length === BIG_SIZE && data.equals(BIG), `8 MiB file: ${data.length} bytes, equal: ${data.equals(BIG)}`);
    },
  },
  'stream whole': {
    weight: 2,
    async run({ api }, rng) {
      const start = rng() < 0.5 ? 0 : Math.floor(rng() * BIG_SIZE);
      const end = rng() < 0.5 ? BIG_SIZE - 1 : start + Math.floor(rng() * (BIG_SIZE - start));
      const highWaterMark = rng() < 0.5 ? undefined : 1 + Math.floor(rng() * 300_000);
      const data = await drain(api.createReadStream(big, { start, end, highWaterMark }));
      check(data.equals(BIG.subarray(start, end + 1)), `stream ${start}-${end}: ${data.length} bytes, expected ${end + 1 - start}`);
    },
  },
  'stream destroyed half-way': {
    weight: 3,
    async run({ api }, rng) {
      const stream = api.createReadStream(big, { highWaterMark: 1 + Math.floor(rng() * 200_000) });
      const closed = new Promise<void>((resolve) => stream.on('close', resolve));
      const data = await drain(stream, BIG_SIZE / 2);
      await closed;
      check(stream.destroyed, 'stream not destroyed');
      check(data.equals(BIG.subarray(0, data.length)), `the first ${data.length} bytes differ`);
    },
  },
  'readFile of a FIFO, aborted': {
    weight: 3,
    async run({ api }, rng) {
      const how = rng();
      if (how < 0.1) {
        // Aborted by a timer: an AbortError all the same.
        await expectCode(() => api.readFile(fifo, { signal: AbortSignal.timeout(1 + Math.floor(rng() * 20)) }), 'ABORT_ERR');
        return;
      }
      const controller = new AbortController();
      const reading = api.readFile(fifo, { signal: controller.signal });
      const state = track(reading);
      if (how < 0.3) controller.abort();
      else if (how < 0.7) check((await api.lstat(fifo)).isFIFO(), 'lstat of the FIFO');
      else await sleep(Math.floor(rng() * 30));
      check(how < 0.3 || state() === 'pending', `the FIFO read ${state()} before the abort`);
      controller.abort();
      await expectCode(() => reading, 'ABORT_ERR');
    },
  },
  lstat: {
    weight: 10,
    async run({ api }, rng) {
      if (rng() < 0.5) {
        const st = await api.lstat(small, { bigint: rng() < 0.5 });
        check(st.isFile() && BigInt(st.size) === 6n, `lstat small.txt: size ${st.size}`);
      } else {
        check((await api.lstat(link)).isSymbolicLink(), 'lstat of the link');
      }
    },
  },
  stat: {
    weight: 6,
    async run({ api }) {
      const st = await api.stat(link);
      check(st.isFile() && st.size === 6, `stat through the link: size ${st.size}`);
    },
  },
  readlink: {
    weight: 6,
    async run({ api }, rng) {
      if (rng() < 0.5) check((await api.readlink(link)) === 'small.txt', 'readlink');
      else check((await api.readlink(link, { encoding: 'buffer' })).equals(Buffer.from('small.txt')), 'readlink as a Buffer');
    },
  },
  readdir: {
    weight: 6,
    async run({ api }, rng) {
      if (rng() < 0.5) {
        const names = (await api.readdir(root)).sort();
        check(JSON.stringify(names) === JSON.stringify(rootNames), `readdir: ${names.join(',')}`);
      } else {
        const entries = await api.readdir(root, { withFileTypes: true });
        const types = Object.fromEntries(entries.map((e) => [e.name, e.type]));
        check(
          entries.length === rootNames.length &&
            types['fifo'] === 'fifo' &&
            types['link'] === 'symlink' &&
            types['errs'] === 'directory' &&
            types['tree'] === 'directory',
          `readdir with types: ${JSON.stringify(types)}`,
        );
      }
    },
  },
  'bad input': {
    weight: 12,
    async run({ api }, rng) {
      const inputs = badInputs();
      // rng() < 1, so the index is below inputs.length.
      const [name, call, code] = inputs[Math.floor(rng() * inputs.length)]!;
      try {
        await expectCode(() => call(api), code);
      } catch (error) {
        throw new Mismatch(`${name}: ${(error as Error).message}`);
      }
    },
  },
};

const KINDS = Object.keys(OPS);
const WEIGHTED = Object.entries(OPS);
const TOTAL_WEIGHT = WEIGHTED.reduce((sum, [, op]) => sum + op.weight, 0);

/** A kind of call and its op, each as likely as its weight. */
function pick(rng: () => number): (typeof WEIGHTED)[number] {
  let at = rng() * TOTAL_WEIGHT;
  let picked: (typeof WEIGHTED)[number] | undefined;
  // The last kind also when rounding leaves `at` at 0 past it.
  for (const entry of WEIGHTED) {
    picked = entry;
    at -= entry[1].weight;
    if (at < 0) break;
  }
  if (picked === undefined) throw new Error('soak: OPS has no kinds of call');
  return picked;
}

interface Outcome {
  calls: Record<string, number>;
  failures: string[];
  total: number;
  ms: number;
}

/** LOOPS callers at once, each until `ms` passed or it made `maxCalls` calls. */
async function soak(known: Known, ms: number, maxCalls: number, seed: number): Promise<Outcome> {
  const calls: Record<string, number> = Object.fromEntries(KINDS.map((kind) => [kind, 0]));
  const failures: string[] = [];
  const started = Date.now();
  const deadline = started + ms;
  const loop = async (index: number): Promise<void> => {
    const rng = seededRandom(seed + index);
    for (let n = 0; n < maxCalls && Date.now() < deadline; n++) {
      const [kind, op] = pick(rng);
      calls[kind] = (calls[kind] ?? 0) + 1;
      try {
        await op.run(known, rng);
      } catch (error) {
        failures.push(
          `loop ${index} call ${n} ${kind}: ${error instanceof Mismatch ? error.message : `rejected: ${describeError(error)}`}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i)));
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  return { calls, failures, total, ms: Date.now() - started };
}

/** What the server and this process hold. */
interface Holdings {
  workerThreads?: number;
  workerFds?: number;
  threads?: number;
  fds: number;
  children: string;
}

function holdings(target: string): Holdings {
  const children = childPids().sort().join(',');
  if (target === 'host') return { threads: threadCount(), fds: fdCount(), children };
  return {
    workerThreads: fs.readdirSync(`/proc/${session.workerPid}/task`).length,
    workerFds: fdCount(session.workerPid),
    fds: fdCount(),
    children,
  };
}

/** No count above the baseline, the same children. */
function within(now: Holdings, baseline: Holdings): boolean {
  for (const key of ['workerThreads', 'workerFds', 'threads', 'fds'] as const) {
    if (baseline[key] !== undefined && (now[key] ?? Infinity) > baseline[key]) return false;
  }
  return now.children === baseline.children;
}

async function settle(baseline: Holdings, target: string): Promise<Holdings> {
  for (let i = 0; i < SETTLE_POLLS && !within(holdings(target), baseline); i++) await sleep(SETTLE_POLL_MS);
  return holdings(target);
}

async function walkCount(api: FileSystem, dir: string, onError: 'skip' | (() => void), maxDepth?: number): Promise<number> {
  let count = 0;
  for await (const entry of api.walk(dir, { onError, maxDepth })) count += entry ? 1 : 0;
  return count;
}

/**
 * Where `api`'s walk meets an error record.  `errs` holds a mode 0 dir (shut
 * to an ordinary user on the host) and, made by root, a 0700 dir of host uid
 * 1234 (shut to root in its own namespace, where 1234 is not mapped).  An
 * ordinary user's namespace maps no host root: its /root is shut there.
 * Root on the host lists everything: undefined.
 */
async function errorTree(api: FileSystem): Promise<{ dir: string; maxDepth?: number } | undefined> {
  for (const candidate of [{ dir: errs }, { dir: '/', maxDepth: 2 }]) {
    let errors = 0;
    await walkCount(api, candidate.dir, () => errors++, candidate.maxDepth);
    if (errors > 0) return candidate;
  }
  return undefined;
}

beforeAll(async () => {
  root = tempDir('unshare-fs-soak-');
  fs.chmodSync(root, 0o755);
  small = path.join(root, 'small.txt');
  big = path.join(root, 'big-8m');
  fifo = path.join(root, 'fifo');
  link = path.join(root, 'link');
  errs = path.join(root, 'errs');
  missing = path.join(root, 'missing', 'file');
  fs.writeFileSync(small, 'hello\n');
  fs.writeFileSync(big, BIG);
  fs.symlinkSync('small.txt', link);
  fs.mkdirSync(path.join(errs, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(errs, 'a', 'file'), '');
  // A directory the walker cannot list: an ordinary user cannot list a mode 0
  // dir of its own; root in its own namespace cannot list a 0700 one of an
  // unmapped owner (host uid 1234). Root on the host lists both.
  fs.mkdirSync(path.join(errs, 'mode0'));
  fs.writeFileSync(path.join(errs, 'mode0', 'hidden'), '');
  fs.chmodSync(path.join(errs, 'mode0'), 0);
  if (process.geteuid!() === 0) {
    fs.mkdirSync(path.join(errs, 'unmapped'), { mode: 0o700 });
    fs.writeFileSync(path.join(errs, 'unmapped', 'hidden'), '');
    fs.chownSync(path.join(errs, 'unmapped'), 1234, 1234);
  }
  execFileSync('mkfifo', [fifo]);
  // O_RDWR opens a FIFO without waiting and counts as a writer: its readers wait until aborted.
  fifoHolder = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  tree = path.join(root, 'tree');
  for (let i = 0; i < 20; i++) {
    for (let j = 0; j < 20; j++) {
      fs.mkdirSync(path.join(tree, `d${i}`, `e${j}`), { recursive: true });
      for (let k = 0; k < 10; k++) fs.writeFileSync(path.join(tree, `d${i}`, `e${j}`, `f${k}`), '');
    }
  }
  rootNames = fs.readdirSync(root).sort();
  ns = await createNamespace();
  session = await ns.enter();
});

afterAll(async () => {
  await ns?.close();
  if (fifoHolder !== undefined) fs.closeSync(fifoHolder);
  if (root) removeTree(root);
});

const targets: { name: string; api: () => FileSystem }[] = [
  { name: 'namespace session', api: () => session },
  { name: 'host', api: () => host },
];

describe.each(targets)('soak: $name', ({ name, api: apiOf }) => {
  test(`${LOOPS} callers at once for up to ${SOAK_MS / 1000} s: every call right, nothing left behind`, async () => {
    const api = apiOf();
    const known: Known = {
      api,
      walkCount: await walkCount(api, WALK_ROOT, 'skip'),
      changes: 0,
      treeCount: await walkCount(api, tree, 'skip'),
      errTree: await errorTree(api),
      errsCount: await walkCount(api, errs, 'skip'),
    };
    // Only root lists every directory: on the host, or in a namespace that
    // maps every id (root's own without a subordinate range, as the kernel's
    // uid_map says), where the unmapped owner 1234 is mapped after all.
    const listsAll = process.geteuid!() === 0 && (name === 'host' || mapsHostUid(ns.pid, 1234));
    expect({ listsAll, errTree: known.errTree === undefined ? 'none' : 'found' }).toEqual({
      listsAll,
      errTree: listsAll ? 'none' : 'found',
    });
    expect(known.walkCount).toBeGreaterThan(1000);
    expect(known.treeCount).toBe(TREE_ENTRIES);

    const warmup = await soak(known, WARMUP_MS, WARMUP_CALLS_PER_LOOP, SEED + 100);
    expect(warmup.failures).toEqual([]);
    await sleep(IDLE_THREAD_MS + 500);
    const baseline = holdings(name);

    const run = await soak(known, SOAK_MS, CALLS_PER_LOOP, SEED);
    const counts = KINDS.map((kind) => `${kind} ${run.calls[kind]}`).join(', ');
    console.log(
      `soak ${name} (uid ${process.getuid!()}, seed ${SEED}): ${run.total} calls in ${(run.ms / 1000).toFixed(1)} s by ${LOOPS} callers` +
        ` (${warmup.total} in the warm-up), ${run.failures.length} wrong: ${counts}` +
        (known.errTree ? '' : ' (root lists every directory here: onError is never called)') +
        (known.changes > 0 ? ` (${WALK_ROOT} changed ${known.changes} times meanwhile)` : ''),
    );
    expect(run.failures.slice(0, 20)).toEqual([]);
    expect(run.failures.length).toBe(0);
    for (const kind of KINDS) expect([kind, (run.calls[kind] ?? 0) > 0]).toEqual([kind, true]);

    // The server still answers, and lets go of what the soak made it take.
    expect((await api.lstat(root)).isDirectory()).toBe(true);
    if (name !== 'host') expect(session.exit).toBeUndefined();
    const settling = Date.now();
    const after = await settle(baseline, name);
    console.log(
      `soak ${name}: held after the warm-up ${JSON.stringify(baseline)}; after the soak ${JSON.stringify(after)},` +
        ` ${Date.now() - settling} ms later`,
    );
    expect({ baseline, after, within: within(after, baseline) }).toMatchObject({ within: true });
    expect((await api.lstat(small)).size).toBe(6);
  });
});

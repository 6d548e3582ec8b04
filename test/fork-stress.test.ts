// The worker is a fork() of this multithreaded process that runs the C++
// server without exec (native/core/worker.cc, the README's Architecture):
// sound only while the child takes no lock another thread may hold at the
// fork.  This test forks many workers while other threads of the process
// hold exactly such locks as often as they can: worker_threads allocating
// (Buffers, JSON, zlib, crypto: malloc's and V8's locks), libuv's pool
// (async zlib and scrypt) and the in-process host server's own threads (a
// host walk).  A child that inherited a held lock and then took it would
// hang its session start or its first request; one that inherited a
// half-updated heap would crash (the worker's exit says so) or answer wrong.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import * as crypto from 'node:crypto';

import { createNamespace, walk as hostWalk, type Namespace, type Session } from '../lib';
import { childPids, isGone } from './helpers/procs';
import { removeTree, tempDir } from './helpers/tree';

const SESSIONS = 100;
const AT_ONCE = 4;
const ALLOCATING_THREADS = 3;

// Each thread counts its rounds into its slot; slot ALLOCATING_THREADS is
// the stop flag.  Plain JS: worker_threads run it as it is, not through jest.
const ALLOCATOR = `
const { workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const shared = new Int32Array(workerData.shared);
const slot = workerData.slot, stop = workerData.stop;
let keep = [];
for (let round = 0; Atomics.load(shared, stop) === 0; round++) {
  // Sizes on both sides of glibc's mmap threshold (128 KiB).
  const size = 64 + ((round * 7919) % 300000);
  const buf = Buffer.allocUnsafe(size).fill(round & 0xff);
  keep.push(buf, Buffer.from(JSON.stringify({ round, list: Array.from({ length: 50 }, (_, i) => 'x' + i + round) })));
  if (keep.length > 64) keep = keep.slice(32);
  zlib.inflateSync(zlib.deflateSync(buf.subarray(0, 4096)));
  crypto.createHash('sha256').update(buf).digest();
  crypto.randomBytes(256);
  JSON.parse(JSON.stringify(keep.slice(-4).map((b) => b.length)));
  Atomics.add(shared, slot, 1);
}
`;

/** A small tree the sessions walk and read, and what node:fs says of it. */
function makeTree(root: string): { names: string[]; contents: Map<string, string> } {
  const contents = new Map<string, string>();
  for (let d = 0; d < 4; d++) {
    const dir = path.join(root, `d${d}`, 'sub');
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 5; f++) {
      const file = path.join(dir, `f${f}.txt`);
      fs.writeFileSync(file, `${d}/${f} `.repeat(50 + d * f));
    }
  }
  for (const rel of fs.readdirSync(root, { recursive: true }) as string[]) {
    const full = path.join(root, rel);
    if (fs.lstatSync(full).isFile()) contents.set(full, fs.readFileSync(full, 'utf8'));
  }
  const names = (fs.readdirSync(root, { recursive: true }) as string[]).map((rel) => path.join(root, rel)).sort();
  return { names, contents };
}

describe('session starts while other threads allocate', () => {
  let ns: Namespace;
  let root: string;
  // Set while the allocating threads run: a start that hangs (the failure
  // this test is for) ends in jest's timeout, and they must stop even then.
  let stopAll: (() => Promise<[number, number]>) | undefined;
  let childrenBefore: number[] = [];

  beforeAll(async () => {
    root = tempDir('unshare-fs-fork-stress-');
    ns = await createNamespace();
    childrenBefore = childPids();
  });

  afterAll(async () => {
    await stopAll?.();
    // A worker stuck on a lock it inherited held never sends its ready
    // frame: killed, its start fails and the run ends instead of hanging.
    for (const pid of childPids().filter((p) => !childrenBefore.includes(p))) {
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'unshare-fs') process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await ns?.close();
    if (root) removeTree(root);
  });

  test(`${SESSIONS} sessions, ${AT_ONCE} at a time, each walks and reads: all right, all reaped`, async () => {
    const { names, contents } = makeTree(root);
    const files = [...contents.keys()];

    const shared = new SharedArrayBuffer(4 * (ALLOCATING_THREADS + 1));
    const counts = new Int32Array(shared);
    const threads = Array.from(
      { length: ALLOCATING_THREADS },
      (_, slot) => new Worker(ALLOCATOR, { eval: true, workerData: { shared, slot, stop: ALLOCATING_THREADS } }),
    );
    const threadErrors: unknown[] = [];
    const threadsDone = threads.map(
      (t) => new Promise<void>((resolve) => t.once('error', (e) => threadErrors.push(e)).once('exit', () => resolve())),
    );

    // libuv's pool and the host server's threads allocate too, until the end.
    let stopping = false;
    const deflate = promisify(zlib.deflate);
    const scrypt = promisify(crypto.scrypt) as (p: string, s: string, n: number) => Promise<Buffer>;
    const poolLoop = (async () => {
      let n = 0;
      while (!stopping) {
        await Promise.all([deflate(crypto.randomBytes(64 * 1024)), scrypt('password', `salt${n}`, 64)]);
        n++;
      }
      return n;
    })();
    const hostLoop = (async () => {
      let n = 0;
      while (!stopping) {
        let entries = 0;
        for await (const entry of hostWalk('/usr/share', { stat: true })) {
          void entry;
          if (++entries === 5000 || stopping) break;
        }
        n++;
      }
      return n;
    })();

    stopAll = async (): Promise<[number, number]> => {
      stopping = true;
      Atomics.store(counts, ALLOCATING_THREADS, 1);
      await Promise.all(threadsDone);
      return Promise.all([poolLoop, hostLoop]);
    };
    // Every thread has run before the first fork.
    while (counts.slice(0, ALLOCATING_THREADS).some((c) => c === 0)) await new Promise((r) => setImmediate(r));
    const roundsAtStart = counts.slice(0, ALLOCATING_THREADS);

    const failures: string[] = [];
    const exits = new Map<number, unknown>();
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < SESSIONS && !stopping) {
        const i = started++;
        let session: Session;
        try {
          session = await ns.enter();
        } catch (error) {
          failures.push(`session ${i}: enter: ${String(error)}`);
          continue;
        }
        try {
          const walked = [];
          for await (const entry of session.walk(root)) walked.push(entry.fullPath);
          walked.sort();
          if (JSON.stringify(walked) !== JSON.stringify(names))
            failures.push(`session ${i}: walk gave ${walked.length} entries, node:fs ${names.length}`);
          const file = files[i % files.length]!;
          const text = await session.readFile(file, 'utf8');
          if (text !== contents.get(file))
            failures.push(`session ${i}: ${file} read ${text.length} chars, node:fs ${contents.get(file)!.length}`);
        } catch (error) {
          failures.push(`session ${i}: ${String(error)}`);
        } finally {
          await session.close();
          exits.set(session.workerPid, session.exit);
          if (!isGone(session.workerPid) || childPids().includes(session.workerPid))
            failures.push(`session ${i}: worker ${session.workerPid} not reaped`);
        }
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, lane));

    const roundsAtEnd = counts.slice(0, ALLOCATING_THREADS);
    const [poolRounds, hostRounds] = await stopAll();
    stopAll = undefined;

    expect(threadErrors).toEqual([]);
    expect(failures).toEqual([]);
    expect(exits.size).toBe(SESSIONS);
    expect([...exits.values()].filter((e) => JSON.stringify(e) !== JSON.stringify({ code: 0, signal: null }))).toEqual([]);
    // The allocating threads ran all along the session starts, not only before.
    for (let t = 0; t < ALLOCATING_THREADS; t++) expect(roundsAtEnd[t]!).toBeGreaterThan(roundsAtStart[t]!);
    expect(poolRounds).toBeGreaterThan(0);
    expect(hostRounds).toBeGreaterThan(0);
    // No worker is left, running or a zombie: no child that was not there before.
    expect(childPids().filter((pid) => !childrenBefore.includes(pid))).toEqual([]);
    // Which addon forked them: the source build, or a prebuild (UNSHARE_FS_ADDON).
    const addon = [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').match(/\/\S+\/(unshare_fs|node\.napi\.\w+)\.node$/gm))].join(' ');
    process.stderr.write(
      `fork-stress (uid ${process.getuid!()}, ${addon}): ${SESSIONS} sessions, ${AT_ONCE} at a time; ${ALLOCATING_THREADS} allocating threads made ` +
        `${roundsAtEnd.reduce((a, b) => a + b, 0) - roundsAtStart.reduce((a, b) => a + b, 0)} rounds meanwhile; libuv pool ${poolRounds} rounds; host walks ${hostRounds}\n`,
    );
  });
});

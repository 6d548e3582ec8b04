// Hostile files and arguments cost at most the request that meets them: a
// FIFO, /dev/zero, a huge sparse file, a 1 MiB path, a slow or vanishing
// consumer, a session closed mid-walk.  Run the same way for host paths and
// for a session inside a namespace the library made.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, host, type FileSystem, type Namespace, type Session } from '../lib';
import { readableCopy } from './helpers/package-copy';
import { quiet, waitFor, type Counters } from './helpers/counters';
import { childPids, fdCount, mapsHostUid, threadCount } from './helpers/procs';
import { requires, subuidRange, type Gate } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

let ns: Namespace;
let session: Session;
let root: string;
let chainLevels = 0;

const targets: { name: string; fs(): FileSystem; findPrefix(): string[]; findGate: Gate }[] = [
  { name: 'host', fs: () => host, findPrefix: () => [], findGate: requires() },
  // find behind the same door: some of /usr/share belongs to ids the namespace does not map.
  // nsenter -U calls setgroups(), which a namespace mapping only our own ids denies.
  {
    name: 'namespace session',
    fs: () => session,
    findPrefix: () => ['nsenter', '-U', '-m', '-t', String(ns.pid), '--'],
    findGate: process.geteuid!() === 0 ? requires() : requires(subuidRange),
  },
];

function procStat(pid: number): { ticks: number; threads: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ticks: Number(fields[11]) + Number(fields[12]), threads: Number(fields[17]) };
}

/** Polls `check` until it holds; false if it never did within `tries` polls. */
async function eventually(check: () => boolean, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}

/**
 * A server at rest: nothing in flight, and of its threads only the one
 * reading the socket and at most one spare (idle ones leave after 2 s).
 */
const atRest = (now: Counters): boolean => quiet(now) && now.quickThreads === 0 && now.idle <= 1 && now.threads === now.idle + 1;

const settled = <T>(promise: Promise<T>): Promise<'resolved' | 'rejected'> =>
  promise.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );

beforeAll(async () => {
  root = tempDir();
  fs.chmodSync(root, 0o755);
  fs.writeFileSync(path.join(root, 'small.txt'), 'hello\n');
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  execFileSync('mkfifo', [path.join(root, 'fifo-nobody')]);
  fs.writeFileSync(path.join(root, 'sparse-3g'), '');
  fs.truncateSync(path.join(root, 'sparse-3g'), 3 * 2 ** 30);
  fs.writeFileSync(path.join(root, 'sparse-50g'), '');
  fs.truncateSync(path.join(root, 'sparse-50g'), 50 * 2 ** 30);
  fs.writeFileSync(path.join(root, 'big-256m'), '');
  fs.truncateSync(path.join(root, 'big-256m'), 256 * 2 ** 20);
  // 3,000 levels, one cd at a time: the whole path is longer than PATH_MAX.
  chainLevels = 3000;
  const makeChain =
    'import os, sys\nos.chdir(sys.argv[1])\nfor i in range(int(sys.argv[2])):\n    os.mkdir("d"); open("f", "w").close(); os.chdir("d")';
  fs.mkdirSync(path.join(root, 'chain'));
  execFileSync('python3', ['-c', makeChain, path.join(root, 'chain'), String(chainLevels)]);
  ns = await createNamespace();
  session = await ns.enter();
});

afterAll(async () => {
  await ns?.close();
  if (fs.existsSync(path.join(root, 'errs/mode0'))) fs.chmodSync(path.join(root, 'errs/mode0'), 0o755);
  removeTree(root);
});

describe.each(targets)('$name', (target) => {
  test('a FIFO whose writer never writes holds only its own readFile; abort ends it', async () => {
    const api = target.fs();
    const fifo = path.join(root, 'fifo');
    // O_RDWR opens a FIFO without waiting and counts as a writer.
    const writer = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    try {
      const controller = new AbortController();
      const reading = api.readFile(fifo, { signal: controller.signal });
      const state = settled(reading);
      // Everything else on the same server still answers.
      expect((await api.lstat(fifo)).isFIFO()).toBe(true);
      expect(await api.readFile(path.join(root, 'small.txt'), 'utf8')).toBe('hello\n');
      let entries = 0;
      for await (const entry of api.walk(root, { maxDepth: 1 })) entries += entry ? 1 : 0;
      expect(entries).toBeGreaterThan(5);
      const stream = api.createReadStream(path.join(root, 'small.txt'));
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('hello\n');
      controller.abort();
      await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
      expect(await state).toBe('rejected');
      // And the server is still whole.
      expect((await api.lstat(root)).isDirectory()).toBe(true);
    } finally {
      fs.closeSync(writer);
    }
  });

  test('a FIFO is read like node:fs reads it: its data once a writer writes and closes', async () => {
    const api = target.fs();
    const fifo = path.join(root, 'fifo-nobody');
    const reading = api.readFile(fifo, 'utf8');
    // A writer comes later; until then the read waits, holding nothing else.
    expect((await api.lstat(root)).isDirectory()).toBe(true);
    const writer = fs.openSync(fifo, fs.constants.O_WRONLY);
    fs.writeSync(writer, 'through the fifo');
    fs.closeSync(writer);
    expect(await reading).toBe('through the fifo');
  });

  test('/dev/zero and huge sparse files give ERR_FS_FILE_TOO_LARGE, as node:fs does', async () => {
    const api = target.fs();
    await expect(api.readFile(path.join(root, 'sparse-3g'))).rejects.toMatchObject({ code: 'ERR_FS_FILE_TOO_LARGE' });
    await expect(api.readFile(path.join(root, 'sparse-50g'))).rejects.toMatchObject({ code: 'ERR_FS_FILE_TOO_LARGE' });
    await expect(api.readFile('/dev/zero')).rejects.toMatchObject({ code: 'ERR_FS_FILE_TOO_LARGE', name: 'RangeError' });
    expect(await api.readFile(path.join(root, 'small.txt'), 'utf8')).toBe('hello\n');
  });

  test('the end of a 50 GiB sparse file streams from where it is asked', async () => {
    const api = target.fs();
    const size = 50 * 2 ** 30;
    const chunks: Buffer[] = [];
    for await (const chunk of api.createReadStream(path.join(root, 'sparse-50g'), { start: size - 100_000, end: size - 1 })) {
      chunks.push(chunk as Buffer);
    }
    const tail = Buffer.concat(chunks);
    expect(tail.length).toBe(100_000);
    expect(tail.every((byte) => byte === 0)).toBe(true);
  });

  test('a path of 1 MiB is ENAMETOOLONG before anything is sent, and the server goes on', async () => {
    const api = target.fs();
    const huge = `/${'a'.repeat(2 ** 20)}`;
    await expect(api.lstat(huge)).rejects.toMatchObject({ code: 'ENAMETOOLONG', syscall: 'lstat' });
    await expect(api.readFile(huge)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await expect(api.readlink(Buffer.from(huge))).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    expect(() => api.walk(huge)).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    expect(() => api.createReadStream(huge)).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    // Just under the limit reaches the kernel, which has its own word.
    await expect(api.lstat(`/${'a'.repeat(4000)}`)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    expect((await api.lstat(root)).isDirectory()).toBe(true);
  });

  test('a 256 MiB readFile does not hold up the calls made meanwhile', async () => {
    const api = target.fs();
    const order: string[] = [];
    const big = api.readFile(path.join(root, 'big-256m')).then((data) => {
      order.push('readFile');
      return data.length;
    });
    const quick = (async () => {
      for (let i = 0; i < 20; i++) await api.lstat(root);
      order.push('lstats');
    })();
    expect(await big).toBe(256 * 2 ** 20);
    await quick;
    expect(order).toEqual(['lstats', 'readFile']);
  });

  target.findGate.test('many walker threads and a slow consumer never hang', async () => {
    const api = target.fs();
    const [command, ...args] = [...target.findPrefix(), 'find', '/usr/share', '-mindepth', '1'];
    const listed = spawnSync(command, args, { maxBuffer: 1 << 28 }).stdout.toString();
    const expected = listed.split('\n').length - 1;
    for (const threads of [3, 4, 16]) {
      let count = 0;
      for await (const entry of api.walk('/usr/share', { threads, onError: 'skip' })) {
        if (++count % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
        void entry;
      }
      expect(count).toBe(expected);
    }
  });

  test('a chain of 3,000 directories walks whole with 16 threads', async () => {
    const api = target.fs();
    let dirs = 0;
    let files = 0;
    let deepest = 0;
    for await (const entry of api.walk(path.join(root, 'chain'), { threads: 16 })) {
      if (entry.isDirectory()) dirs++;
      else files++;
      deepest = Math.max(deepest, entry.depth);
    }
    expect({ dirs, files, deepest }).toEqual({ dirs: chainLevels, files: chainLevels, deepest: chainLevels });
  });
});

/** What a server holds: the namespace worker's threads and fds, or this process's for the host server. */
function holdings(target: string): { threads: number; fds: number } {
  if (target === 'host') return { threads: threadCount(), fds: fdCount() };
  return { threads: procStat(session.workerPid).threads, fds: fdCount(session.workerPid) };
}

/**
 * A tree where `api`'s walk meets an error record: a directory the walker
 * cannot list.  An ordinary user cannot list a mode 0 directory of its own;
 * root in a namespace of its own cannot list a 0700 one owned by an id the
 * namespace does not map; an ordinary user's namespace maps no host root,
 * so root's 0700 /root is shut to it.  Root on the host can list anything.
 */
async function treeWithError(api: FileSystem): Promise<{ dir: string; maxDepth?: number } | undefined> {
  const errs = path.join(root, 'errs');
  if (!fs.existsSync(errs)) {
    fs.mkdirSync(path.join(errs, 'mode0'), { recursive: true });
    fs.mkdirSync(path.join(errs, 'unmapped'));
    fs.chmodSync(path.join(errs, 'mode0'), 0);
    if (process.geteuid!() === 0) {
      fs.chownSync(path.join(errs, 'unmapped'), 1234, 1234);
      fs.chmodSync(path.join(errs, 'unmapped'), 0o700);
    }
  }
  for (const candidate of [{ dir: errs }, { dir: '/', maxDepth: 2 }]) {
    let errors = 0;
    for await (const entry of api.walk(candidate.dir, { maxDepth: candidate.maxDepth, onError: () => errors++ })) void entry;
    if (errors > 0) return candidate;
  }
  return undefined;
}

describe.each(targets)('$name: walks cut short leave nothing behind', (target) => {
  test('break and abort, 50 times each, then a throwing onError', async () => {
    const api = target.fs();
    // Warm up the pool: its idle threads are not a leak.
    for await (const entry of api.walk('/usr/share', { threads: 4 })) if (entry) break;
    // The baseline is taken with the server at rest: the broken walk over,
    // the spare threads it started gone again (after 2 s idle).
    await waitFor(api, atRest);
    const before = holdings(target.name);
    for (let i = 0; i < 50; i++) {
      for await (const entry of api.walk('/usr/share', { threads: 4 })) if (entry.depth > 1) break;
      const controller = new AbortController();
      await expect(
        (async () => {
          for await (const entry of api.walk('/usr/share', { threads: 4, signal: controller.signal })) {
            if (entry.depth > 1) controller.abort();
          }
        })(),
      ).rejects.toMatchObject({ name: 'AbortError' });
    }
    const withError = await treeWithError(api);
    if (withError === undefined) {
      // Root lists everything on the host, and in a namespace that maps every
      // id (its own without a subordinate range): the ordinary user's run covers it.
      const listsAll = process.geteuid!() === 0 && (target.name === 'host' || mapsHostUid(ns.pid, 1234));
      expect({ listsAll, target: target.name }).toEqual({ listsAll: true, target: target.name });
    } else {
      const thrown = new Error('stop here');
      for (let i = 0; i < 50; i++) {
        const walking = (async () => {
          const options = {
            maxDepth: withError.maxDepth,
            threads: 4,
            onError: (): never => {
              throw thrown;
            },
          };
          for await (const entry of api.walk(withError.dir, options)) void entry;
        })();
        await expect(walking).rejects.toBe(thrown);
      }
    }
    // Nothing of the 150 walks is left in the server: no job, no walk
    // helper, nothing queued or waiting for credit; at rest again, it holds
    // what it held before them.
    expect(quiet(await waitFor(api, quiet))).toBe(true);
    await waitFor(api, atRest);
    await eventually(() => {
      const now = holdings(target.name);
      return now.threads <= before.threads && now.fds <= before.fds;
    });
    expect(holdings(target.name)).toEqual(before);
  });
});

describe('namespaces', () => {
  test('a mount target of 1 MiB is ENAMETOOLONG, and the namespace still mounts', async () => {
    const own = await createNamespace();
    try {
      await expect(own.mountTmpfs(`/${'m'.repeat(2 ** 20)}`)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
      const target = tempDir();
      await own.mountTmpfs(target);
      await own.unmount(target);
      fs.rmdirSync(target);
    } finally {
      await own.close();
    }
  });

  test('a namespace whose mounting worker died makes another', async () => {
    const own = await createNamespace();
    const first = tempDir();
    const second = tempDir();
    try {
      await own.mountTmpfs(first);
      // The only worker in the namespace's mount namespace is the one that mounts.
      const mnt = fs.readlinkSync(`/proc/${own.pid}/ns/mnt`);
      const workers = childPids().filter((pid) => pid !== own.pid && fs.readlinkSync(`/proc/${pid}/ns/mnt`) === mnt);
      expect(workers).toHaveLength(1);
      const worker = workers[0]!; // its length is 1, as checked above
      process.kill(worker, 'SIGKILL');
      await eventually(() => !childPids().includes(worker));
      await own.mountTmpfs(second);
      const session = await own.enter();
      const mounted = (await session.mounts()).filter((m) => m.fsType === 'tmpfs').map((m) => m.mountPoint);
      expect(mounted).toEqual(expect.arrayContaining([first, second]));
      await session.close();
    } finally {
      await own.close();
      fs.rmdirSync(first);
      fs.rmdirSync(second);
    }
  });
});

// Only root can run a process as another uid with its own thread limit (an
// ordinary user's limit counts every process of theirs, jest's included).
(process.geteuid!() === 0 ? describe : (_name: string, _body: () => void): void => undefined)('no thread to be had', () => {
  test('a process that cannot start threads gets errors with codes, never an abort', () => {
    // The limit counts node's own threads too; node itself needs about 7.
    let started = 0;
    // uid 4242 may not read the checkout (a 0700 home): it runs a copy.
    const readable = readableCopy(['test/fixtures/few-threads.js']);
    try {
      for (const limit of [7, 8, 10, 12]) {
        const result = spawnSync(
          'prlimit',
          [
            `--nproc=${limit}:${limit}`,
            '--',
            'setpriv',
            '--reuid=4242',
            '--regid=4242',
            '--clear-groups',
            process.execPath,
            path.join(readable.dir, 'test/fixtures/few-threads.js'),
          ],
          { encoding: 'utf8', cwd: '/' },
        );
        if (result.status === 126 && /failed to execute/.test(result.stderr)) continue; // node could not start at all
        started++;
        expect({ limit, status: result.status, signal: result.signal }).toEqual({ limit, status: 0, signal: null });
        type Answer = { ok?: unknown; code?: string };
        const { walk, lstat } = JSON.parse(result.stdout.trim().split('\n').pop()!) as { walk: Answer; lstat: Answer };
        for (const answer of [walk, lstat]) {
          if (answer.code !== undefined) expect(answer.code).toMatch(/^E[A-Z]+$/);
          else expect(answer.ok).toBeTruthy();
        }
      }
    } finally {
      readable.remove();
    }
    expect(started).toBeGreaterThan(0);
  });
});

describe('idle sessions', () => {
  test('a session idle for longer than the server keeps spare threads still answers', async () => {
    const own = await ns.enter();
    await own.lstat('/');
    // Three reads blocked on a FIFO hold three request threads: the server
    // starts spares for them.  Once the writer is gone they end.
    const fifo = path.join(root, 'fifo');
    const writer = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const reads = [1, 2, 3].map(() => own.readFile(fifo));
    const busy = await waitFor(own, (now) => now.jobs === 3 && now.queued === 0);
    fs.closeSync(writer);
    expect(await Promise.all(reads)).toEqual([Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]);
    // The server lets idle threads go after 2 s, keeping one spare; the one
    // reading must stay.
    const idle = await waitFor(own, atRest);
    expect(idle.threads).toBeLessThan(busy.threads);
    expect((await own.lstat('/')).isDirectory()).toBe(true);
    expect(own.closed).toBe(false);
    await own.close();
    expect(own.exit).toEqual({ code: 0, signal: null });
  });
});

describe('closing a session mid-request', () => {
  test('a walk cut short by close() rejects, never ends as if complete', async () => {
    for (let i = 0; i < 20; i++) {
      const own = await ns.enter();
      let count = 0;
      const walking = (async () => {
        for await (const entry of own.walk('/usr/share', { threads: 2, onError: 'skip', stat: true })) {
          if (++count === 50) void own.close();
          void entry;
        }
      })();
      await expect(walking).rejects.toMatchObject({ code: 'ECLOSED' });
      await own.close();
    }
  });

  test('close() while the consumer is paused ends the worker cleanly, not by SIGKILL', async () => {
    const own = await ns.enter();
    // With stats, the walker's window holds far less than /usr/share.
    const walk = own.walk('/usr/share', { threads: 4, onError: 'skip', stat: true });
    await walk.next();
    // The consumer stops here, with the walker's window full: the walk's job
    // waits for credit.
    expect(await waitFor(own, (now) => now.creditWaits > 0)).toMatchObject({ jobs: 1, creditWaits: 1 });
    await own.close();
    expect(own.exit).toEqual({ code: 0, signal: null });
    // What had arrived may still be read; then the walk fails, never ends.
    await expect(
      (async () => {
        while (!(await walk.next()).done);
      })(),
    ).rejects.toMatchObject({ code: 'ECLOSED' });
  });

  test('close() with a read blocked on a FIFO ends the worker cleanly', async () => {
    const own = await ns.enter();
    const fifo = path.join(root, 'fifo');
    const writer = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    try {
      // Handled from the start: it may reject while close() is awaited.
      const reading = expect(own.readFile(fifo)).rejects.toMatchObject({ code: 'ECLOSED' });
      expect((await own.lstat(fifo)).isFIFO()).toBe(true);
      await own.close();
      await reading;
      expect(own.exit).toEqual({ code: 0, signal: null });
      expect(childPids()).not.toContain(own.workerPid);
    } finally {
      fs.closeSync(writer);
    }
  });

  test('an aborted read of /dev/zero stops in the worker too', async () => {
    const own = await ns.enter();
    const controller = new AbortController();
    const reading = own.readFile('/dev/zero', { signal: controller.signal });
    // The read runs in the worker: its job is registered.
    // (Registered first, then taken by a thread: wait for both.)
    expect(await waitFor(own, (now) => now.jobs === 1 && now.queued === 0)).toMatchObject({ jobs: 1, queued: 0 });
    controller.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    await own.lstat('/');
    // A worker still reading would keep its job and a busy thread: the job
    // is gone, and every request thread but the one reading the socket idles.
    const after = await waitFor(own, (now) => quiet(now) && now.idle === now.threads - 1);
    expect(after).toMatchObject({ jobs: 0, creditWaits: 0, queued: 0 });
    await own.close();
  });
});

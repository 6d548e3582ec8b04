// Hostile files planted in a RUNNING podman container, read through
// podman.enterMerged(): a FIFO nobody writes to, a 50 GiB sparse file, links
// to /dev/zero and out of the container, a directory swapped for a symlink
// mid-walk, a 3,000-level chain, names of 255 bytes and not UTF-8.  Each
// costs at most the request that meets it (container content is hostile input): the session
// answers afterwards, and nothing of the host is ever read.  Rootful as root,
// rootless as an ordinary user (the container is this user's own).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { podman, type Session } from '../lib';
import { IMAGE, pod, podmanEnv, podmanImage, ROOTFUL, tryPod, UID, codeOf } from './helpers/podman';
import { quiet, waitFor } from './helpers/counters';
import { isGone } from './helpers/procs';
import { requires } from './helpers/requirements';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const NAME = `unshare-fs-hostile-${process.pid}`;
const SPARSE_SIZE = 50 * 2 ** 30;
const SPARSE_TAIL = 'end of the 50 GiB file\n';
const CHAIN_LEVELS = 3000;
const LONG_ASCII = 'x'.repeat(255);
/** 255 bytes of UTF-8: 127 two-byte letters and one ASCII byte. */
const LONG_UTF8 = `${'é'.repeat(127)}z`;
const NOT_UTF8 = Buffer.from([0x62, 0x61, 0x64, 0x2d, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]); // bad-\xff\xfe.bin
const CONTAINER_FILE = 'the container file, a longer text than the host one\n';
const HOST_FILE = 'HOST\n';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Tracks whether a promise has settled yet, without leaving a rejection unhandled. */
function track<T>(promise: Promise<T>): { state(): 'pending' | 'resolved' | 'rejected' } {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  return { state: () => state };
}

/** utime + stime of a process, in clock ticks (100 a second). */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function streamed(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs a shell script inside the container, as its root. */
function sh(script: string): string {
  return pod(['exec', NAME, '/bin/sh', '-ec', script]);
}

/** The same, without waiting: resolves with its exit code and output once it is done. */
function shInBackground(script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', ['exec', NAME, '/bin/sh', '-ec', script], { cwd: '/', env: podmanEnv() });
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    child.stderr.on('data', (data: Buffer) => (out += data.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

const gate = requires(podmanImage);

gate.describe(`hostile files in a running podman container, read through enterMerged (${MODE}, uid ${UID})`, () => {
  let session: Session;
  let mergedDir: string;
  /** Host files the container has no copy of, named by the planted links. */
  let hostDir: string;
  let hostOnlyNames: string[];
  let containerCreated = false;

  /** The session's worker still runs and answers. */
  async function expectAnswers(s: Session = session): Promise<void> {
    expect(s.closed).toBe(false);
    expect(s.exit).toBeUndefined();
    expect(isGone(s.workerPid)).toBe(false);
    expect((await s.lstat('/')).isDirectory()).toBe(true);
    expect(await s.readFile('/small.txt', 'utf8')).toBe('small\n');
  }

  /** Waits until `file` exists in the container, as the session sees it. */
  async function waitForFile(file: string): Promise<void> {
    for (let i = 0; i < 200 && (await codeOf(session.lstat(file))) === 'ENOENT'; i++) await sleep(25);
    expect((await session.lstat(file)).isFile()).toBe(true);
  }

  beforeAll(async () => {
    hostDir = fs.mkdtempSync('/tmp/unshare-fs-hostile-host-');
    fs.chmodSync(hostDir, 0o755);
    fs.writeFileSync(path.join(hostDir, 'marker'), HOST_FILE);
    fs.mkdirSync(path.join(hostDir, 'inner'));
    fs.writeFileSync(path.join(hostDir, 'inner', 'file'), HOST_FILE);
    const innerName = `HOST-ONLY-${process.pid}-a`;
    hostOnlyNames = [innerName, `HOST-ONLY-${process.pid}-b`];
    for (const name of hostOnlyNames) fs.writeFileSync(path.join(hostDir, name), HOST_FILE);
    fs.writeFileSync(path.join(hostDir, 'inner', innerName), HOST_FILE);

    tryPod(['rm', '-f', '-t', '0', NAME]);
    // Rootful: let the container make a device node (podman drops CAP_MKNOD by default).
    pod(['run', '-d', '--network', 'none', ...(ROOTFUL ? ['--cap-add', 'MKNOD'] : []), '--name', NAME, IMAGE, 'sleep', '600']);
    containerCreated = true;
    const relativeUp = '../'.repeat(12);
    sh(`
      echo small > /small.txt
      mkfifo /fifo
      truncate -s ${SPARSE_SIZE} /sparse
      printf '${SPARSE_TAIL.replace('\n', '\\n')}' | dd of=/sparse bs=1 seek=${SPARSE_SIZE - SPARSE_TAIL.length} conv=notrunc 2>/dev/null
      ln -s /dev/zero /zero
      mkdir -p /a/b/c
      ln -s ${relativeUp}dev/zero /a/b/c/zero-relative
      ln -s /etc/shadow /escape-shadow
      ln -s ${relativeUp}etc/hostname /a/b/c/hostname-relative
      ln -s ${hostDir}/marker /host-marker
      ln -s ${relativeUp.slice(0, -1)}${hostDir}/marker /a/b/c/host-marker-relative
      ln -s ${hostDir} /host-dir
      ln -s /proc/self/root${hostDir}/marker /proc-escape
      mkdir -p /swap/d/inner
      printf '${CONTAINER_FILE.replace('\n', '\\n')}' > /swap/d/inner/file
      touch /swap/d/inner/container-entry
      ln -s ${hostDir} /swap/l
      ln -s ${relativeUp.slice(0, -1)}${hostDir} /swap/r
      mkdir /names
      printf long > /names/${LONG_ASCII}
      printf utf8 > /names/${LONG_UTF8}
      printf bad > "/names/$(printf 'bad-\\377\\376.bin')"
      mkdir /chain && cd /chain
      i=0; while [ $i -lt ${CHAIN_LEVELS} ]; do mkdir d && cd -P d; i=$((i+1)); done
      `);
    mergedDir = podman.container(NAME).mergedDir;
    session = await podman.enterMerged(NAME);
  });

  afterAll(async () => {
    await session?.close();
    if (containerCreated) tryPod(['rm', '-f', '-t', '0', NAME]);
    if (hostDir) fs.rmSync(hostDir, { recursive: true, force: true });
  });

  test('the session is rooted in the merged dir of the running container', async () => {
    expect(session.root).toBe(mergedDir);
    expect(await session.readFile('/small.txt', 'utf8')).toBe('small\n');
    expect((await session.lstat('/fifo')).isFIFO()).toBe(true);
    expect((await session.lstat('/sparse')).size).toBe(SPARSE_SIZE);
  });

  describe('a FIFO held open by a writer that never writes', () => {
    beforeAll(async () => {
      // O_RDWR (`<>`) opens a FIFO without waiting and counts as a writer: reads of it wait forever.
      pod(['exec', '-d', NAME, '/bin/sh', '-c', 'exec 3<>/fifo; touch /fifo-held; exec sleep 600']);
      await waitForFile('/fifo-held');
    });

    test('readFile waits, alone: every other call on the session answers meanwhile; abort rejects with AbortError', async () => {
      const controller = new AbortController();
      const reading = session.readFile('/fifo', { signal: controller.signal });
      const state = track(reading);

      expect((await session.lstat('/fifo')).isFIFO()).toBe(true);
      const names = await session.readdir('/');
      expect(names).toEqual(expect.arrayContaining(['fifo', 'small.txt', 'sparse', 'bin', 'etc']));
      const walked: string[] = [];
      for await (const entry of session.walk('/', { maxDepth: 1 })) walked.push(entry.name);
      expect(walked.sort()).toEqual([...names].sort());
      let binEntries = 0;
      for await (const entry of session.walk('/bin', { threads: 4 })) binEntries += entry.name.length > 0 ? 1 : 0;
      expect(binEntries).toBe((await session.readdir('/bin')).length);
      expect(binEntries).toBeGreaterThan(100);
      expect(await session.readFile('/small.txt', 'utf8')).toBe('small\n');
      expect((await streamed(session.createReadStream('/small.txt'))).toString()).toBe('small\n');
      expect(await session.readlink('/zero')).toBe('/dev/zero');

      // The read's job is in the worker, its thread blocked opening the FIFO.
      expect(await waitFor(session, (now) => now.jobs === 1)).toMatchObject({ jobs: 1, creditWaits: 0 });
      expect(state.state()).toBe('pending');
      controller.abort();
      await expect(reading).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      await expectAnswers();
    });

    test('a stream of it waits the same way, and destroy() ends it', async () => {
      const stream = session.createReadStream('/fifo');
      let data = 0;
      stream.on('data', (chunk: Buffer) => (data += chunk.length));
      const closed = new Promise((resolve) => stream.on('close', resolve));
      expect((await session.stat('/small.txt')).size).toBe(6);
      // Its job waits on the FIFO's open, not for credit: no data can be on the way.
      expect(await waitFor(session, (now) => now.jobs === 1)).toMatchObject({ jobs: 1, creditWaits: 0 });
      expect(data).toBe(0);
      stream.destroy();
      await closed;
      await expectAnswers();
    });

    test('close() with the read pending resolves, and the read rejects with ECLOSED', async () => {
      const own = await podman.enterMerged(NAME);
      const reading = own.readFile('/fifo');
      const state = track(reading);
      const stream = own.createReadStream('/fifo');
      const streamError = new Promise<Error>((resolve) => stream.on('error', resolve));
      stream.resume();
      expect((await own.lstat('/fifo')).isFIFO()).toBe(true);
      // Both jobs (the read and the stream) are in the worker, blocked on the FIFO.
      expect(await waitFor(own, (now) => now.jobs === 2)).toMatchObject({ jobs: 2, creditWaits: 0 });
      expect(state.state()).toBe('pending');
      await own.close();
      await expect(reading).rejects.toMatchObject({ code: 'ECLOSED' });
      expect(await streamError).toMatchObject({ code: 'ECLOSED' });
      expect(own.exit).toEqual({ code: 0, signal: null });
      expect(isGone(own.workerPid)).toBe(true);
      // The other session on the same container is untouched.
      await expectAnswers();
    });
  });

  test('a 50 GiB sparse file: readFile rejects with ERR_FS_FILE_TOO_LARGE at once; its last 64 KiB stream', async () => {
    const ticksBefore = cpuTicks(session.workerPid);
    // (Not expect(...).rejects: a wrong resolve must not print gigabytes.)
    expect(
      await session.readFile('/sparse').then(
        () => 'resolved',
        (e: Error) => e,
      ),
    ).toMatchObject({
      code: 'ERR_FS_FILE_TOO_LARGE',
      name: 'RangeError',
    });
    expect(await codeOf(session.readFile('/sparse', { encoding: 'utf8' }))).toBe('ERR_FS_FILE_TOO_LARGE');
    // Refused from its size: the worker read nothing (2 GiB would cost it seconds of CPU).
    expect(cpuTicks(session.workerPid) - ticksBefore).toBeLessThan(10);

    const tail = await streamed(session.createReadStream('/sparse', { start: SPARSE_SIZE - 65536, end: SPARSE_SIZE - 1 }));
    expect(tail.length).toBe(65536);
    expect(tail.subarray(65536 - SPARSE_TAIL.length).toString()).toBe(SPARSE_TAIL);
    expect(tail.subarray(0, 65536 - SPARSE_TAIL.length).every((byte) => byte === 0)).toBe(true);
    await expectAnswers();
  });

  test('links to /dev/zero resolve inside the merged dir, where /dev is empty: ENOENT, never the host device', async () => {
    expect(fs.statSync('/dev/zero').isCharacterDevice()).toBe(true);
    expect(await session.readdir('/dev')).toEqual([]);
    for (const link of ['/zero', '/a/b/c/zero-relative']) {
      expect((await session.lstat(link)).isSymbolicLink()).toBe(true);
      expect(await codeOf(session.readFile(link))).toBe('ENOENT');
      expect(await codeOf(session.stat(link))).toBe('ENOENT');
      expect(await codeOf(streamed(session.createReadStream(link)))).toBe('ENOENT');
    }
    expect(await codeOf(session.readFile('/dev/zero'))).toBe('ENOENT');
    await expectAnswers();
  });

  if (ROOTFUL) {
    test('a char device 1,5 made with mknod (rootful, CAP_MKNOD): reads like node:fs reads /dev/zero, and an abort stops it in the worker', async () => {
      sh('mknod /zero-device c 1 5');
      const st = await session.lstat('/zero-device');
      expect(st.isCharacterDevice()).toBe(true);
      expect(st.rdev).toBe(fs.statSync('/dev/zero').rdev);
      const head = await streamed(session.createReadStream('/zero-device', { start: 0, end: 65535 }));
      expect(head.length).toBe(65536);
      expect(head.every((byte) => byte === 0)).toBe(true);
      // A whole read would hold up to 2 GiB before ERR_FS_FILE_TOO_LARGE, as node:fs does: abort it.
      const controller = new AbortController();
      const reading = session.readFile('/zero-device', { signal: controller.signal });
      expect(await waitFor(session, (now) => now.jobs === 1)).toMatchObject({ jobs: 1 });
      expect((await session.lstat('/small.txt')).size).toBe(6);
      controller.abort();
      await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
      // The cancel reached the worker: no job left, every request thread idle
      // but the one reading the socket (a read still running keeps one busy).
      const after = await waitFor(session, (now) => quiet(now) && now.idle === now.threads - 1);
      expect(after).toMatchObject({ jobs: 0, creditWaits: 0, queued: 0 });
      await expectAnswers();
    });
  } else {
    test('a char device cannot be planted rootless (mknod is refused in the user namespace)', async () => {
      const r = tryPod(['exec', NAME, 'mknod', '/zero-device', 'c', '1', '5']);
      expect(r.ok).toBe(false);
      expect(r.err).toMatch(/Operation not permitted/);
      expect(await codeOf(session.lstat('/zero-device'))).toBe('ENOENT');
      await expectAnswers();
    });
  }

  test("links out of the container read the container's file or ENOENT, never the host's", async () => {
    expect(fs.existsSync('/etc/shadow')).toBe(true);
    expect(await codeOf(session.readFile('/etc/shadow'))).toBe('ENOENT');
    expect(await session.readlink('/escape-shadow')).toBe('/etc/shadow');
    expect(await codeOf(session.readFile('/escape-shadow'))).toBe('ENOENT');

    const containerHostname = await session.readFile('/etc/hostname', 'utf8');
    expect(containerHostname).not.toBe(fs.readFileSync('/etc/hostname', 'utf8'));
    expect(await session.readFile('/a/b/c/hostname-relative', 'utf8')).toBe(containerHostname);

    // The links do name the host file: read without root, from the storage namespace, they reach it.
    const storage = await podman.enterStorage();
    try {
      expect(await storage.readFile(`${mergedDir}/host-marker`, 'utf8')).toBe(HOST_FILE);
    } finally {
      await storage.close();
    }
    const outward = [
      '/host-marker',
      '/a/b/c/host-marker-relative',
      '/host-dir/marker',
      '/proc-escape',
      `/../../../../..${hostDir}/marker`,
      `/a/b/../../../../..${hostDir}/marker`,
    ];
    for (const link of outward) {
      expect([link, await codeOf(session.readFile(link))]).toEqual([link, 'ENOENT']);
      expect([link, await codeOf(session.stat(link))]).toEqual([link, 'ENOENT']);
    }
    expect(await codeOf(session.readdir('/host-dir'))).toBe('ENOENT');
    expect(await codeOf(session.walk('/host-dir').next())).toBe('ENOENT');

    // Once the container has its own file at that path, the links read it.
    sh(`mkdir -p ${hostDir} && printf '${CONTAINER_FILE.replace('\n', '\\n')}' > ${hostDir}/marker`);
    try {
      for (const link of outward.filter((l) => l !== '/proc-escape')) {
        expect([link, await session.readFile(link, 'utf8')]).toEqual([link, CONTAINER_FILE]);
      }
      expect(await session.readdir('/host-dir')).toEqual(['marker']);
      // /proc of the merged dir is an empty directory: no magic link to follow.
      expect(await codeOf(session.readFile('/proc-escape'))).toBe('ENOENT');
    } finally {
      sh(`rm -rf ${hostDir}`);
    }
    expect(fs.readFileSync(path.join(hostDir, 'marker'), 'utf8')).toBe(HOST_FILE);
    await expectAnswers();
  });

  test('a directory swapped for symlinks to a host dir while walks run: nothing of the host, nothing outside the walk', async () => {
    // d is the directory, l and r links to the host dir (absolute, relative): rename them round, bounded.
    const looping = shInBackground(`
      end=$(( $(date +%s) + 4 )); i=0
      while [ $i -lt 20000 ]; do
        mv /swap/d /swap/t; mv /swap/l /swap/d; mv /swap/d /swap/l
        mv /swap/r /swap/d; mv /swap/d /swap/r; mv /swap/t /swap/d
        i=$((i+1))
        if [ $((i % 20)) = 0 ] && [ $(date +%s) -ge $end ]; then break; fi
      done
      echo "$i rounds"`);
    let done = false;
    const finished = looping.finally(() => (done = true));
    const errorCodes = new Map<string, number>();
    const reads = new Map<string, number>();
    const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);
    const bad: unknown[] = [];
    let walks = 0;
    let entries = 0;
    let innerSeen = 0;
    const onError = (error: { code: string }): void => bump(errorCodes, error.code);
    while (!done) {
      for (const [root, threads] of [
        ['/swap', 1],
        ['/swap', 4],
        ['/', 4],
      ] as const) {
        for await (const entry of session.walk(root, { threads, stat: true, onError })) {
          entries++;
          if (!entry.fullPath.startsWith(root === '/' ? '/' : `${root}/`)) bad.push(['outside the walk', entry.fullPath]);
          if (hostOnlyNames.includes(entry.name)) bad.push(['host entry', entry.fullPath]);
          if (entry.fullPath === '/swap/d/inner/file') {
            innerSeen++;
            if (entry.stats?.size !== CONTAINER_FILE.length) bad.push(['host stats', entry.fullPath, entry.stats?.size]);
          }
        }
        walks++;
      }
      for (const file of ['/swap/d/inner/file', '/swap/l/inner/file', '/swap/r/inner/file']) {
        try {
          const text = await session.readFile(file, 'utf8');
          bump(reads, text === CONTAINER_FILE ? 'container file' : `OTHER ${JSON.stringify(text)}`);
        } catch (error) {
          bump(reads, (error as { code: string }).code);
        }
      }
      try {
        for (const name of await session.readdir('/swap/d/inner')) if (hostOnlyNames.includes(name)) bad.push(['host entry', name]);
      } catch (error) {
        bump(reads, `readdir ${(error as { code: string }).code}`);
      }
    }
    const loop = await finished;
    console.log(
      `${MODE} swap: ${loop.out.trim()}; ${walks} walks, ${entries} entries, /swap/d/inner/file seen ${innerSeen} times;` +
        ` walk errors ${JSON.stringify(Object.fromEntries(errorCodes))}; reads ${JSON.stringify(Object.fromEntries(reads))}`,
    );
    expect(loop.code).toBe(0);
    expect(bad).toEqual([]);
    expect(walks).toBeGreaterThan(3);
    for (const code of errorCodes.keys()) expect(['ENOENT', 'ENOTDIR', 'ELOOP']).toContain(code);
    for (const outcome of reads.keys()) expect(['container file', 'ENOENT', 'readdir ENOENT', 'readdir ENOTDIR']).toContain(outcome);
    expect(reads.get('container file')).toBeGreaterThan(0);
    await expectAnswers();
  });

  test(`a chain of ${CHAIN_LEVELS} directories walks whole with 16 threads`, async () => {
    let dirs = 0;
    let others = 0;
    let deepest = 0;
    for await (const entry of session.walk('/chain', { threads: 16 })) {
      if (entry.isDirectory() && entry.name === 'd') dirs++;
      else others++;
      deepest = Math.max(deepest, entry.depth);
    }
    expect({ dirs, others, deepest }).toEqual({ dirs: CHAIN_LEVELS, others: 0, deepest: CHAIN_LEVELS });
    await expectAnswers();
  });

  test('names of 255 bytes and a name that is not UTF-8 come back byte-exact with encoding buffer', async () => {
    const expected = [Buffer.from(LONG_ASCII), Buffer.from(LONG_UTF8), NOT_UTF8];
    expect(expected.map((name) => name.length)).toEqual([255, 255, NOT_UTF8.length]);
    const hex = (names: Buffer[]): string[] => names.map((name) => name.toString('hex')).sort();

    const walked: Buffer[] = [];
    for await (const entry of session.walk('/names', { encoding: 'buffer' })) {
      expect(Buffer.isBuffer(entry.name)).toBe(true);
      expect(entry.fullPath).toEqual(Buffer.concat([Buffer.from('/names/'), entry.name]));
      walked.push(entry.name);
    }
    expect(hex(walked)).toEqual(hex(expected));
    expect(hex(await session.readdir('/names', { encoding: 'buffer' }))).toEqual(hex(expected));
    const contents = ['long', 'utf8', 'bad'];
    for (const [i, name] of expected.entries()) {
      expect(await session.readFile(Buffer.concat([Buffer.from('/names/'), name]), 'utf8')).toBe(contents[i]);
    }
    // As strings, the UTF-8 names are exact too.
    expect(await session.readFile(`/names/${LONG_UTF8}`, 'utf8')).toBe('utf8');
    await expectAnswers();
  });
});

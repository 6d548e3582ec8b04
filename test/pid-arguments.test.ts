// A pid reaches the kernel as the kernel would take it, and a pid file is
// read without trusting what kind of file it is.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, enter, podman, type Namespace } from '../lib';
import { native } from '../lib/wire/native';
import { readPidFile } from '../lib/ns/pidfile';
import { removeTree, tempDir } from './helpers/tree';

let ns: Namespace;
let dir: string;

beforeAll(async () => {
  ns = await createNamespace();
  dir = tempDir();
});

afterAll(async () => {
  await ns?.close();
  if (dir) removeTree(dir);
});

describe('pids', () => {
  test('a pid beyond pid_t is out of range, not the pid its low 32 bits name', async () => {
    const wrapped = 2 ** 32 + ns.pid;
    await expect(enter({ pid: wrapped })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: 2 ** 31 })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: ns.pid + 0.5 })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: 0 })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: '1' as unknown as number })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    // The largest pid_t is a pid no process has.
    await expect(enter({ pid: 0x7fffffff })).rejects.toMatchObject({ code: 'ESRCH' });
  });

  test('the binding checks its pids too', () => {
    for (const pid of [2 ** 32 + ns.pid, ns.pid + 0.5, -1, 0, 2 ** 31, NaN]) {
      expect(() => native().spawnWorker(pid)).toThrow(expect.objectContaining({ name: 'RangeError' }));
      expect(() => native().spawnCommand(pid, ['true'])).toThrow(expect.objectContaining({ name: 'RangeError' }));
    }
    expect(() => native().reap(2 ** 32 + ns.pid, 0)).toThrow(expect.objectContaining({ name: 'RangeError' }));
  });
});

describe('pid files', () => {
  let writer: ChildProcess | undefined;
  afterEach(() => {
    writer?.kill('SIGKILL');
    writer = undefined;
  });

  /** A FIFO with a writer on its way: a blocking read of it would get a pid (1 unless told) and end. */
  function fifoWithWriter(name: string, pid = 1): string {
    const fifo = path.isAbsolute(name) ? name : path.join(dir, name);
    execFileSync('mkfifo', [fifo]);
    writer = spawn('sh', ['-c', 'echo "$1" > "$0"', fifo, String(pid)], { stdio: 'ignore' });
    return fifo;
  }

  test('a FIFO is refused without waiting for a writer', async () => {
    const fifo = fifoWithWriter('fifo');
    await expect(enter({ pidFile: fifo })).rejects.toMatchObject({ code: 'EBADPIDFILE', message: expect.stringContaining('FIFO') });
  });

  test('a symlink to a FIFO is refused the same way', async () => {
    const link = path.join(dir, 'fifo-link');
    fs.symlinkSync(fifoWithWriter('linked-fifo'), link);
    await expect(enter({ pidFile: link })).rejects.toMatchObject({ code: 'EBADPIDFILE', message: expect.stringContaining(link) });
  });

  test('a 1 MiB file is refused, even if it is a pid and blanks', async () => {
    const big = path.join(dir, 'big.pid');
    fs.writeFileSync(big, `1${' '.repeat(1024 * 1024 - 1)}`);
    await expect(enter({ pidFile: big })).rejects.toMatchObject({ code: 'EBADPIDFILE' });
    expect(() => readPidFile(big)).toThrow(expect.objectContaining({ code: 'EBADPIDFILE' }));
  });

  test('a directory is refused; a pid with blanks around it is read', () => {
    expect(() => readPidFile(dir)).toThrow(expect.objectContaining({ code: 'EBADPIDFILE', message: expect.stringContaining('directory') }));
    const small = path.join(dir, 'small.pid');
    fs.writeFileSync(small, `  ${ns.pid}\n`);
    expect(readPidFile(small)).toBe(ns.pid);
    fs.writeFileSync(small, '4294967297\n');
    expect(() => readPidFile(small)).toThrow(expect.objectContaining({ code: 'EBADPIDFILE' }));
  });

  test("podman's pause.pid is read the same way", async () => {
    const runtimeDir = fs.mkdtempSync(path.join(dir, 'run-'));
    fs.mkdirSync(path.join(runtimeDir, 'libpod/tmp'), { recursive: true });
    const pause = spawn('sleep', ['60'], { env: { ...process.env, _PODMAN_PAUSE: '1' }, stdio: 'ignore' });
    try {
      await once(pause, 'spawn');
      fifoWithWriter(podman.pausePidFile({ runtimeDir }), pause.pid);
      expect(() => podman.pausePid({ uid: process.getuid!(), runtimeDir })).toThrow(
        expect.objectContaining({ code: 'EPODMANSTALE', message: expect.stringContaining('FIFO') }),
      );
    } finally {
      pause.kill('SIGKILL');
    }
  });

  // Read whole, /dev/zero fills memory until the process dies: try it in a
  // child whose address space is limited.
  test('/dev/zero is refused without reading it whole', async () => {
    const script = `require(${JSON.stringify(path.join(__dirname, '../dist'))}).enter({ pidFile: '/dev/zero' })
      .then(() => console.log('entered'), (e) => console.log(e.code))`;
    const child = spawn('sh', ['-c', 'ulimit -v 2000000; exec "$0" -e "$1"', process.execPath, script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    expect({ code, signal, stdout: stdout.trim() }).toEqual({ code: 0, signal: null, stdout: 'EBADPIDFILE' });
  });
});

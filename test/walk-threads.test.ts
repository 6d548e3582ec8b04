// A walk's default threads follow the CPUs the process can run on: two,
// or one where its affinity (taskset) or a cgroup CPU quota leaves it one.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { host } from '../lib';
import { cpusOfCfs, cpusOfCpuMax } from '../lib/wire/walk-threads';
import { waitFor } from './helpers/counters';
import { command, requirement, requires } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

// More entries with stats than the credit window holds (32 batches of 64
// KiB, about 20,000 entries): the walk stops at its window, helpers taken.
const DIRS = 32;
const FILES = 1000;
let root: string;

beforeAll(() => {
  root = tempDir();
  fs.chmodSync(root, 0o755);
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(root, `d${d}`);
    fs.mkdirSync(dir);
    for (let f = 0; f < FILES; f++) fs.closeSync(fs.openSync(path.join(dir, `f${f}`), 'w'));
  }
});

afterAll(() => removeTree(root));

/** The walker threads beside the first that a default walk of `root` takes, read from the server while it waits for credit. */
async function helpersOfDefaultWalk(): Promise<number> {
  const walk = host.walk(root, { stat: true });
  try {
    expect((await walk.next()).done).toBe(false);
    const stalled = await waitFor(host, (now) => now.creditWaits > 0);
    return stalled.walkHelpers;
  } finally {
    await walk.return!();
    await waitFor(host, (now) => now.jobs === 0 && now.walkHelpers === 0);
  }
}

const taskset = command('taskset', 'util-linux');

requires(taskset).test('a default walk takes two threads with two CPUs, one when taskset leaves one', async () => {
  const pid = String(process.pid);
  // taskset prints the affinity as "pid N's current affinity list: 0,1".
  const list = (): string => /:\s*(\S+)\s*$/.exec(execFileSync('taskset', ['-c', '-p', pid], { encoding: 'utf8' }))![1]!;
  const before = list();
  const cpus = os.availableParallelism();
  expect(await helpersOfDefaultWalk()).toBe(cpus >= 2 ? 1 : 0);
  const first = before.split(',')[0]!.split('-')[0]!;
  // The main thread's, where the walk's options are checked (`taskset -c 0
  // node …` gives every thread that): not -a, whose list of threads races
  // with the host server's idle threads leaving.
  execFileSync('taskset', ['-c', '-p', first, pid], { stdio: 'ignore' });
  try {
    expect(list()).toBe(first);
    expect(await helpersOfDefaultWalk()).toBe(0);
    // What the caller asks for still holds.
    const walk = host.walk(root, { stat: true, threads: 2 });
    try {
      expect((await walk.next()).done).toBe(false);
      expect((await waitFor(host, (now) => now.creditWaits > 0)).walkHelpers).toBe(1);
    } finally {
      await walk.return!();
    }
  } finally {
    execFileSync('taskset', ['-c', '-p', before, pid], { stdio: 'ignore' });
  }
  expect(list()).toBe(before);
});

test('quota files are read as the kernel writes them', () => {
  // cgroup v2 cpu.max: "max PERIOD" (no quota) or "QUOTA PERIOD".
  expect(cpusOfCpuMax('max 100000\n')).toBe(Infinity);
  expect(cpusOfCpuMax('150000 100000\n')).toBe(1.5);
  expect(cpusOfCpuMax(undefined)).toBe(Infinity);
  // cgroup v1: cpu.cfs_quota_us is -1 without a quota.
  expect(cpusOfCfs('-1', '100000')).toBe(Infinity);
  expect(cpusOfCfs('50000', '100000')).toBe(0.5);
  expect(cpusOfCfs(undefined, undefined)).toBe(Infinity);
});

const CPU_V1 = '/sys/fs/cgroup/cpu';
const cgroupV1Cpu = requirement(
  'cgroupV1Cpu',
  () => fs.existsSync(path.join(CPU_V1, 'cpu.cfs_quota_us')) || `no cgroup v1 cpu controller at ${CPU_V1}`,
);

// Making a cgroup and moving a process into it is root's.
if (process.geteuid!() === 0) {
  requires(cgroupV1Cpu).test('a process under a one-CPU cgroup quota walks on one thread by default', () => {
    const dist = path.resolve(__dirname, '../dist/wire/walk-threads.js');
    const script = `const t = require(${JSON.stringify(dist)}); console.log(JSON.stringify({ cpus: t.usableCpus(), threads: t.defaultWalkThreads() }))`;
    const run = (group: string | null): { cpus: number; threads: number } => {
      const argv =
        group === null
          ? [process.execPath, '-e', script]
          : ['sh', '-c', `echo $$ > "$0/cgroup.procs" && exec "$@"`, group, process.execPath, '-e', script];
      const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      return JSON.parse(result.stdout) as { cpus: number; threads: number };
    };
    const group = path.join(CPU_V1, `unshare-fs-test-${process.pid}`);
    fs.mkdirSync(group);
    try {
      fs.writeFileSync(path.join(group, 'cpu.cfs_period_us'), '100000');
      // 1.5 CPUs: a quota under two is one usable CPU.
      fs.writeFileSync(path.join(group, 'cpu.cfs_quota_us'), '150000');
      expect(run(group)).toEqual({ cpus: 1, threads: 1 });
      fs.writeFileSync(path.join(group, 'cpu.cfs_quota_us'), '-1');
      const free = Math.min(2, os.availableParallelism());
      expect(run(group)).toEqual({ cpus: os.availableParallelism(), threads: free });
    } finally {
      fs.rmdirSync(group);
    }
  });
}

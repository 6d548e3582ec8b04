// How many threads a walk gets when the caller does not say: as many as the
// CPUs this process can run on, up to two.
import * as fs from 'node:fs';
import * as os from 'node:os';

// Two threads keep both cores of a small machine busy with syscalls while
// the consumer decodes on the main thread.  A machine that is merely busy
// still gives a second thread a share of its own (the kernel shares CPU time
// by thread, and by session with autogroup): measured beside two spinning
// processes on two cores, two threads walked in 0.59x the one-thread C
// loop's time and one thread in 0.84x.  A second thread gives nothing only
// where the process may not run on a second CPU at all.
const MOST_DEFAULT_WALK_THREADS = 2;

/**
 * The CPUs a cgroup CPU quota lets this process use (cgroup v2 `cpu.max`,
 * v1 `cpu.cfs_quota_us` over `cpu.cfs_period_us`, the smallest along the
 * cgroup's path), or Infinity without one.  Read once: a process is rarely
 * moved between cgroups, and a walk must not pay file reads for it.
 */
let quotaCpus: number | undefined;

function cgroupQuotaCpus(): number {
  quotaCpus ??= readCgroupQuota();
  return quotaCpus;
}

/** The first line of a small file, or undefined when it cannot be read. */
function firstLine(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1').split('\n', 1)[0];
  } catch {
    return undefined;
  }
}

/** `/a/b` and its ancestors, deepest first, down to `/`. */
function selfAndAncestors(cgroupPath: string): string[] {
  const parts = cgroupPath.split('/').filter((part) => part !== '' && part !== '.' && part !== '..');
  const out: string[] = [];
  for (let n = parts.length; n >= 0; n--) out.push(`/${parts.slice(0, n).join('/')}`);
  return out;
}

/** The CPUs of a v2 `cpu.max` ("max 100000" or "QUOTA PERIOD"), or Infinity. */
export function cpusOfCpuMax(line: string | undefined): number {
  const [quota, period] = (line ?? '').trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period);
  return quota !== 'max' && q > 0 && p > 0 ? q / p : Infinity;
}

/** The CPUs of v1 `cpu.cfs_quota_us` (-1: none) over `cpu.cfs_period_us`, or Infinity. */
export function cpusOfCfs(quota: string | undefined, period: string | undefined): number {
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : Infinity;
}

function readCgroupQuota(): number {
  let self = '';
  try {
    self = fs.readFileSync('/proc/self/cgroup', 'latin1');
  } catch {
    return Infinity; // no /proc: no quota that could be read either
  }
  let cpus = Infinity;
  for (const line of self.split('\n')) {
    // hierarchy-id:controllers:path; the path may hold colons itself.
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, id, controllers, cgroupPath] = match as unknown as [string, string, string, string];
    if (id === '0' && controllers === '') {
      for (const mount of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
        for (const dir of selfAndAncestors(cgroupPath)) {
          cpus = Math.min(cpus, cpusOfCpuMax(firstLine(`${mount}${dir === '/' ? '' : dir}/cpu.max`)));
        }
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
        for (const dir of selfAndAncestors(cgroupPath)) {
          const base = `${mount}${dir === '/' ? '' : dir}`;
          cpus = Math.min(cpus, cpusOfCfs(firstLine(`${base}/cpu.cfs_quota_us`), firstLine(`${base}/cpu.cfs_period_us`)));
        }
      }
    }
  }
  return cpus;
}

/**
 * The CPUs this process can use now: those its affinity allows
 * (sched_getaffinity(2), through os.availableParallelism(): taskset, a
 * cpuset), fewer under a cgroup CPU quota (a container's `--cpus`), at least 1.
 */
export function usableCpus(): number {
  return Math.max(1, Math.floor(Math.min(os.availableParallelism(), cgroupQuotaCpus())));
}

/** A walk's threads when the caller does not say: the usable CPUs, at most two. */
export function defaultWalkThreads(): number {
  return Math.min(MOST_DEFAULT_WALK_THREADS, usableCpus());
}

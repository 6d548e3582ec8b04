// What a process holds: for leak checks and for processes that must be gone.
import * as fs from 'node:fs';

export function fdCount(pid: number | 'self' = 'self'): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export function threadCount(): number {
  return fs.readdirSync('/proc/self/task').length;
}

/** Children of this process, zombies included. */
export function childPids(): number[] {
  const children: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) children.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** True when the process no longer runs (gone, or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true;
  }
}

/** Waits until `pid` is gone, polling; false if it still runs after `tries` polls. */
export async function waitGone(pid: number, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (isGone(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return isGone(pid);
}

/** True when the user namespace of `pid` maps host uid `hostUid`, as the kernel says (/proc/PID/uid_map). */
export function mapsHostUid(pid: number, hostUid: number): boolean {
  return fs
    .readFileSync(`/proc/${pid}/uid_map`, 'utf8')
    .trim()
    .split('\n')
    .some((line) => {
      const [, outside, count] = line.trim().split(/\s+/).map(Number);
      return hostUid >= outside! && hostUid < outside! + count!;
    });
}

/**
 * The processes whose mount namespace is `mntNs` (a /proc/PID/ns/mnt link),
 * as `pid comm`; those we may not look at are not ours.
 */
export function processesInMountNamespace(mntNs: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name))) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== mntNs) continue;
      found.push(`${pid} ${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}`);
    } catch {
      // ended meanwhile, a zombie (no namespaces left), or another user's
    }
  }
  return found;
}

/** Polls until no process is left in mount namespace `mntNs`, 30 s at most; what is left. */
export async function waitMountNamespaceEmpty(mntNs: string): Promise<string[]> {
  let left = processesInMountNamespace(mntNs);
  for (let i = 0; i < 300 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = processesInMountNamespace(mntNs);
  }
  return left;
}

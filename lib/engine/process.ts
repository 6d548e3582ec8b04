/**
 * Processes the engines leave pid files for (podman's pause process, a
 * container's init, dockerd), read from /proc.
 */
import * as fs from 'node:fs';
import { UnshareFsError } from '../core/errors';
import { readPidFileText } from '../ns/pidfile';
import { isErrno, type EngineErrors } from './errors';

/** Parses a pid file's content ("1234", maybe with whitespace); NaN if not a pid. */
export function parsePid(text: string): number {
  const t = text.trim();
  return /^[1-9][0-9]*$/.test(t) ? Number(t) : NaN;
}

/** True if `pid` names a live (non-zombie) process. */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": comm may contain spaces and parens; the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== 'x';
}

/** Real uid of a process, or null if unknown. */
export function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** A process's name (/proc/PID/comm), or null if it cannot be read. */
export function processName(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The pid a pid file names when that process is alive; null otherwise (no file, no pid, dead). */
export function livePid(file: string): number | null {
  try {
    const pid = parsePid(readPidFileText(file));
    return !Number.isNaN(pid) && processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** What a pid file should name, for checkedPid. */
export interface PidFileTarget {
  /** The user the process belongs to. */
  uid: number;
  /** What the process is, for messages: "podman pause process". */
  what: string;
  /** True if the live process `pid` is that process. */
  is: (pid: number) => boolean;
  /** Said when the pid file is missing: how it comes to exist. */
  missingHint: string;
  /** Said when it names a dead process. */
  staleHint: string;
}

/**
 * The pid in `file`, checked to be a live process of `target.uid` that
 * `target.is`: `none` when the file does not exist, `stale` when it holds
 * no pid, a dead one, or another process's (pid reused).
 */
export function checkedPid(file: string, target: PidFileTarget, fail: EngineErrors): number {
  let text: string;
  try {
    text = readPidFileText(file);
  } catch (err) {
    if (err instanceof UnshareFsError) {
      // A FIFO, a device or a huge file where the pid file should be.
      throw fail('stale', err.message.replace(/^unshare-fs: /, ''), { path: file, cause: err });
    }
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) {
      throw fail('none', `no ${target.what} for uid ${target.uid}: ${file} does not exist (${target.missingHint})`, {
        path: file,
        cause: err,
      });
    }
    throw err;
  }
  const pid = parsePid(text);
  if (Number.isNaN(pid)) {
    // Never quoted: another user's pid file may be a link to anything root can read.
    throw fail('stale', `${file} does not hold a pid (${Buffer.byteLength(text)} bytes that are not a decimal pid)`, { path: file });
  }
  if (!processAlive(pid)) {
    throw fail('stale', `stale ${file}: process ${pid} is not running (${target.staleHint})`, { path: file, pid });
  }
  const owner = processUid(pid);
  if (!target.is(pid) || (owner !== null && owner !== target.uid)) {
    throw fail('stale', `stale ${file}: process ${pid} is not the ${target.what} of uid ${target.uid} (pid reused)`, {
      path: file,
      pid,
    });
  }
  return pid;
}

/**
 * Rootless podman's pause process: the long-lived `catatonit -P` that owns the
 * user namespace and the mount namespace where container overlays are mounted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnshareFsError } from '../errors';
import { readPidFileText } from '../pidfile';
import { PodmanError, isErrno } from './errors';
import { PodmanOptions, currentUid, runtimeDir } from './config';

/** `$XDG_RUNTIME_DIR/libpod/tmp/pause.pid` for the inspected user. */
export function pausePidFile(opts: PodmanOptions = {}): string {
  return path.join(runtimeDir(opts), 'libpod', 'tmp', 'pause.pid');
}

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
function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * True if `pid` looks like podman's pause process: `_PODMAN_PAUSE=1` in its
 * environment, or (when the environment cannot be read) its name is catatonit.
 */
export function isPauseProcess(pid: number): boolean {
  try {
    const environ = fs.readFileSync(`/proc/${pid}/environ`);
    if (environ.length > 0) return environ.toString('latin1').split('\0').includes('_PODMAN_PAUSE=1');
  } catch (err) {
    if (!isErrno(err, 'EACCES', 'EPERM')) return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'catatonit';
  } catch {
    return false;
  }
}

/**
 * The pid of the inspected user's rootless podman pause process.
 *
 * Throws PodmanError `ENOPODMAN` when there is no pid file, `EPODMANSTALE`
 * when it names no live pause process of that user, `EPODMANROOTFUL` for
 * uid 0 (rootful podman has no pause process) unless `opts.runtimeDir` is
 * given.
 */
export function pausePid(opts: PodmanOptions = {}): number {
  const uid = currentUid(opts);
  if (uid === 0 && !opts.runtimeDir) {
    throw new PodmanError(
      'EPODMANROOTFUL',
      'rootful podman has no pause process; its overlays are mounted in the host mount namespace (use a container pid)',
    );
  }
  const file = pausePidFile(opts);
  let text: string;
  try {
    text = readPidFileText(file);
  } catch (err) {
    if (err instanceof UnshareFsError) {
      // A FIFO, a device or a huge file where the pid file should be.
      throw new PodmanError('EPODMANSTALE', err.message.replace(/^unshare-fs: /, ''), { path: file, cause: err });
    }
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) {
      throw new PodmanError(
        'ENOPODMAN',
        `no podman pause process for uid ${uid}: ${file} does not exist (has rootless podman run with this XDG_RUNTIME_DIR?)`,
        { path: file, cause: err },
      );
    }
    throw err;
  }
  const pid = parsePid(text);
  if (Number.isNaN(pid)) {
    throw new PodmanError('EPODMANSTALE', `${file} does not hold a pid: ${JSON.stringify(text.slice(0, 40))}`, {
      path: file,
    });
  }
  if (!processAlive(pid)) {
    throw new PodmanError('EPODMANSTALE', `stale ${file}: process ${pid} is not running (podman will start a new one on its next command)`, {
      path: file,
      pid,
    });
  }
  const owner = processUid(pid);
  if (!isPauseProcess(pid) || (owner !== null && owner !== uid)) {
    throw new PodmanError(
      'EPODMANSTALE',
      `stale ${file}: process ${pid} is not podman's pause process for uid ${uid} (pid reused)`,
      { path: file, pid },
    );
  }
  return pid;
}

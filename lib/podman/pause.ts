/**
 * Rootless podman's pause process: the long-lived `catatonit -P` that owns the
 * user namespace and the mount namespace where container overlays are mounted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkedPid, processName } from '../engine/process';
import { PodmanError, isErrno, podmanErrors } from './errors';
import { PodmanOptions, currentUid, runtimeDir } from './config';

/** `$XDG_RUNTIME_DIR/libpod/tmp/pause.pid` for the inspected user. */
export function pausePidFile(opts: PodmanOptions = {}): string {
  return path.join(runtimeDir(opts), 'libpod', 'tmp', 'pause.pid');
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
  return processName(pid) === 'catatonit';
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
  return checkedPid(
    pausePidFile(opts),
    {
      uid,
      what: 'podman pause process',
      is: isPauseProcess,
      missingHint: 'has rootless podman run with this XDG_RUNTIME_DIR?',
      staleHint: 'podman will start a new one on its next command',
    },
    podmanErrors,
  );
}

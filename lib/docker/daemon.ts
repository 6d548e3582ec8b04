/**
 * The Docker daemon a user runs. Rootless, dockerd lives in the user and
 * mount namespaces RootlessKit made (where containers' merged dirs are
 * mounted) and writes its pid, as the host sees it, to
 * $XDG_RUNTIME_DIR/docker.pid. Rootful, it runs in the host's namespaces.
 */
import * as fs from 'node:fs';

import { checkedPid, processName } from '../engine/process';
import { storageConfig, type DockerOptions } from './config';
import { dockerErrors } from './errors';

/** The pid file of the inspected user's dockerd. */
export function daemonPidFile(opts: DockerOptions = {}): string {
  return storageConfig(opts).pidFile;
}

/** The user namespace of a process ('user:[4026531837]'), or null if it cannot be read. */
function userNamespaceOf(pid: number | 'self'): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return null;
  }
}

/**
 * True if `pid` is dockerd; rootless, in a user namespace other than the
 * host's (RootlessKit's) — a rootless daemon outside one is not the one
 * whose pid file this is.
 */
function isDaemon(pid: number, rootless: boolean): boolean {
  if (processName(pid) !== 'dockerd') return false;
  if (!rootless) return true;
  const own = userNamespaceOf(pid);
  // pid 1's namespace is the host's; an ordinary user may not read it, but then is in it.
  return own !== null && own !== (userNamespaceOf(1) ?? userNamespaceOf('self'));
}

/**
 * The pid of the inspected user's dockerd, checked to really be it:
 * DockerError ENODOCKER (no pid file), EDOCKERSTALE (dead, a zombie, not
 * dockerd, another user's, or a rootless one outside RootlessKit's namespace).
 */
export function daemonPid(opts: DockerOptions = {}): number {
  const cfg = storageConfig(opts);
  return checkedPid(
    cfg.pidFile,
    {
      uid: cfg.uid,
      what: cfg.rootless ? 'rootless dockerd' : 'dockerd',
      is: (pid) => isDaemon(pid, cfg.rootless),
      missingHint: cfg.rootless ? 'is rootless Docker running with this XDG_RUNTIME_DIR?' : 'is dockerd running?',
      staleHint: 'the daemon has stopped',
    },
    dockerErrors,
  );
}

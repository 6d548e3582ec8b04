/**
 * Sessions into an engine's namespaces, the same for every engine:
 *
 *   enterStorage()        the namespaces where the engine mounts containers'
 *                         merged dirs: rootless, its process's (podman's pause
 *                         process, what `podman unshare` gives; dockerd in
 *                         RootlessKit's); rootful, the host's own
 *   enterMerged(c)        the same, with every path resolved inside c's merged
 *                         dir (RESOLVE_IN_ROOT: absolute symlinks stay inside)
 *   enterContainer(c)     the container's own namespaces (what `podman exec`,
 *                         `docker exec` see): its rootfs at '/'
 */
import { enter, type Session } from '../ns/session';
import type { AdapterContainer, EngineAdapter } from './adapter';
import { isErrno, type EngineErrors } from './errors';
import { ownEuid } from './users';

/** A session in `pid`'s user and mount namespaces (rooted at `root` when given); `what` names the process in errors. */
export async function enterPid(pid: number, root: string | undefined, what: string, fail: EngineErrors): Promise<Session> {
  try {
    return await enter(root === undefined ? { pid } : { pid, root });
  } catch (error) {
    if (isErrno(error, 'EPERM', 'EACCES')) {
      throw fail(
        'access',
        `cannot enter the namespaces of ${what} (pid ${pid}): ${(error as Error).message}; ` +
          `they belong to another user: run as that user (or root)`,
        { pid, cause: error },
      );
    }
    throw error;
  }
}

/**
 * A session in the namespaces where the engine mounts its containers'
 * merged dirs: its process's user and mount namespaces (uids as the
 * containers see them); rootful, the host's own mount namespace, which the
 * worker joins as this process's.
 */
export async function enterStorage<O extends object>(adapter: EngineAdapter<O>, options: O & { root?: string }): Promise<Session> {
  const holder = adapter.storageProcess(options);
  if (holder === null) {
    if (ownEuid() !== 0) {
      throw adapter.fail('access', `rootful ${adapter.name}'s storage (${adapter.storage(options).dir}) belongs to root: run as root`);
    }
    return enterPid(process.pid, options.root, 'this process', adapter.fail);
  }
  return enterPid(holder.pid, options.root, holder.what, adapter.fail);
}

/** A container's name in messages: its first name and short id. */
function shortName(c: AdapterContainer): string {
  return `${c.names[0] ?? c.id.slice(0, 12)} (${c.id.slice(0, 12)})`;
}

/**
 * A session in the container's own namespaces, as `exec` sees it: its
 * rootfs at '/', its own mounts (/proc, /dev, bind mounts) on top.
 * ECONTAINERSTOPPED when it does not run, or its pid went while entering.
 */
export async function enterContainer<O extends object, C extends AdapterContainer>(
  adapter: EngineAdapter<O, C>,
  nameOrId: string,
  options: O & { root?: string },
): Promise<Session> {
  const c = adapter.container(nameOrId, options);
  if (c.pid === null) {
    throw adapter.fail('stopped', `container ${shortName(c)} is not running: use mountContainer() to read its files`);
  }
  try {
    return await enterPid(c.pid, options.root, `container ${c.names[0] ?? c.id}`, adapter.fail);
  } catch (error) {
    if (isErrno(error, 'ESRCH', 'ENOENT')) {
      throw adapter.fail('stopped', `container ${c.names[0] ?? c.id} stopped (its pid ${c.pid} is gone)`, { pid: c.pid, cause: error });
    }
    throw error;
  }
}

/**
 * A session in the storage namespaces (see enterStorage) whose paths resolve
 * inside the container's merged dir, as the container would resolve them:
 * '/etc/passwd' is `${mergedDir}/etc/passwd`, and absolute symlinks and '..'
 * never leave it.  None of the container's own mounts (/proc, bind mounts)
 * are seen.  ECONTAINERSTOPPED when its merged dir is not mounted; vfs has
 * no mount: its layer dir, the container's root, is there running or not
 * (written to, it is the container's own files that change).
 */
export async function enterMerged<O extends object>(adapter: EngineAdapter<O>, nameOrId: string, options: O): Promise<Session> {
  const c = adapter.container(nameOrId, options);
  if (adapter.storage(options).layout === 'vfs') return enterStorage(adapter, { ...options, root: c.mergedDir });
  if (!c.mounted) {
    throw adapter.fail('stopped', `container ${shortName(c)} ${adapter.notMounted}: use mountContainer() to read its files`);
  }
  return enterStorage(adapter, { ...options, root: c.mountPoint ?? c.mergedDir });
}

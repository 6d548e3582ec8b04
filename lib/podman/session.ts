/**
 * Sessions into podman's namespaces, and read-only mounts of stopped
 * containers and images:
 *
 *   enterStorage()        the namespaces where podman mounts containers' merged
 *                         dirs: rootless, the pause process's (what `podman
 *                         unshare` gives); rootful, the host's own
 *   enterMerged(c)        the same, with every path resolved inside c's merged
 *                         dir (RESOLVE_IN_ROOT: absolute symlinks stay inside)
 *   enterContainer(c)     the container's own namespaces (what `podman exec`
 *                         sees): its rootfs at '/'
 *   mountContainer(c)     c's layers (its rw layer on top) stacked read-only in
 *   mountImage(ref)       a namespace of our own, for stopped containers and
 *                         images: no podman process needed
 */
import { layerNamespaceOptions, mountLayers, type MountedLayers as EngineMountedLayers } from '../engine/mount';
import { enterPid as enterEnginePid } from '../engine/session';
import { ownEuid } from '../engine/users';
import type { CreateNamespaceOptions } from '../ns/namespace';
import type { Session } from '../ns/session';
import { type PodmanOptions, currentUid, storageConfig } from './config';
import { PodmanError, isErrno, podmanErrors } from './errors';
import { pausePid } from './pause';
import { container, image, layerChain, type PodmanContainer, type PodmanImage } from './store';

export interface PodmanSessionOptions extends PodmanOptions {
  /**
   * Resolve every path inside this directory of the namespace (an absolute
   * path there), as a container would: see EnterOptions.root.
   */
  root?: string;
}

function enterPid(pid: number, root: string | undefined, what: string): Promise<Session> {
  return enterEnginePid(pid, root, what, podmanErrors);
}

/**
 * A session in the namespaces where podman mounts its containers' merged
 * dirs. Rootless: the pause process's user and mount namespaces (uids as the
 * containers see them). Rootful (uid 0): the host's own mount namespace — the
 * worker joins this process's namespaces.
 */
export async function enterStorage(options: PodmanSessionOptions = {}): Promise<Session> {
  const uid = currentUid(options);
  if (uid === 0 && !options.runtimeDir) {
    if (ownEuid() !== 0) {
      throw new PodmanError(
        'EPODMANACCESS',
        `rootful podman's storage (${storageConfig(options).graphRoot}) belongs to root: run as root`,
      );
    }
    return enterPid(process.pid, options.root, 'this process');
  }
  const pid = pausePid(options);
  return enterPid(pid, options.root, `podman's pause process for uid ${uid}`);
}

/** The container, checked to be running (need 'pid') or to have its layer mounted (need 'mount'). */
function runningContainer(nameOrId: string, options: PodmanOptions, need: 'pid' | 'mount'): PodmanContainer & { pid: number } {
  const c = container(nameOrId, options);
  const name = `${c.names[0] ?? c.id.slice(0, 12)} (${c.id.slice(0, 12)})`;
  if (need === 'pid' && c.pid === null) {
    throw new PodmanError('ECONTAINERSTOPPED', `container ${name} is not running: use mountContainer() to read its files`);
  }
  if (need === 'mount' && !c.mounted) {
    throw new PodmanError(
      'ECONTAINERSTOPPED',
      `container ${name} is not running (its layer is not mounted): use mountContainer() to read its files`,
    );
  }
  return c as PodmanContainer & { pid: number };
}

/**
 * A session in the container's own namespaces, as `podman exec` sees it:
 * its rootfs at '/', its own mounts (/proc, /dev, bind mounts) on top.
 * Throws ECONTAINERSTOPPED if it is not running.
 */
export async function enterContainer(nameOrId: string, options: PodmanSessionOptions = {}): Promise<Session> {
  const c = runningContainer(nameOrId, options, 'pid');
  try {
    const session = await enterPid(c.pid, options.root, `container ${c.names[0] ?? c.id}`);
    return session;
  } catch (error) {
    if (isErrno(error, 'ESRCH', 'ENOENT')) {
      throw new PodmanError('ECONTAINERSTOPPED', `container ${c.names[0] ?? c.id} stopped (its pid ${c.pid} is gone)`, {
        pid: c.pid,
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * A session in the storage namespaces (see enterStorage) whose paths resolve
 * inside the container's merged dir, as the container would resolve them:
 * '/etc/passwd' is `${mergedDir}/etc/passwd`, and absolute symlinks and '..'
 * never leave it. No mounts of the container (/proc, bind mounts) are seen.
 */
export async function enterMerged(nameOrId: string, options: PodmanOptions = {}): Promise<Session> {
  const c = runningContainer(nameOrId, options, 'mount');
  return enterStorage({ ...options, root: c.mountPoint ?? c.mergedDir });
}

/** Layers stacked read-only in a namespace of our own; close() ends it all. */
export type MountedLayers = EngineMountedLayers<PodmanContainer, PodmanImage>;

/**
 * The id maps that make the layers' files look as podman shows them: for
 * a user's rootless storage, its pause process's (or the same shape built
 * from the owner's subordinate ranges, getsubids or /etc/subuid and /etc/subgid); rootful, none.
 */
function namespaceOptions(options: PodmanOptions): CreateNamespaceOptions {
  const cfg = storageConfig(options);
  return layerNamespaceOptions(cfg.rootless, cfg.graphRoot, () => pausePid(options));
}

/**
 * Mounts a container's layers — its rw layer on top of its image's — read-only
 * in a namespace of our own, running or not (what it showed when it stopped).
 * No podman process is needed.
 */
export async function mountContainer(nameOrId: string, options: PodmanOptions = {}): Promise<MountedLayers> {
  const c = container(nameOrId, options);
  const chain = layerChain(c.layer, options);
  return mountLayers(chain, `container ${c.names[0] ?? c.id}`, { container: c }, namespaceOptions(options), podmanErrors);
}

/** Mounts an image's layers read-only in a namespace of our own (ref: name, id, or id prefix). */
export async function mountImage(ref: string, options: PodmanOptions = {}): Promise<MountedLayers> {
  const img = image(ref, options);
  const chain = layerChain(img.layer, options);
  return mountLayers(chain, `image ${img.names[0] ?? img.id}`, { image: img }, namespaceOptions(options), podmanErrors);
}

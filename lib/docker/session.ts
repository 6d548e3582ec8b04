/**
 * Sessions into Docker's namespaces, and read-only mounts of stopped
 * containers and images:
 *
 *   enterStorage()        the namespaces where dockerd mounts containers'
 *                         merged dirs: rootless, RootlessKit's (what
 *                         `nsenter -U --preserve-credentials -m -t $(cat
 *                         $XDG_RUNTIME_DIR/docker.pid)` gives); rootful, the host's
 *   enterMerged(c)        the same, with every path resolved inside c's merged dir
 *   enterContainer(c)     the container's own namespaces (what `docker exec`
 *                         sees): its rootfs at '/'
 *   mountContainer(c)     c's layers (its rw layer, its init layer, its image's)
 *   mountImage(ref)       stacked read-only in a namespace of our own: no
 *                         daemon needed
 */
import { isErrno } from '../engine/errors';
import { layerNamespaceOptions, mountLayers, type MountedLayers as EngineMountedLayers } from '../engine/mount';
import { enterPid } from '../engine/session';
import { ownEuid } from '../engine/users';
import type { CreateNamespaceOptions } from '../ns/namespace';
import type { Session } from '../ns/session';
import { storageConfig, type DockerOptions } from './config';
import { daemonPid } from './daemon';
import { DockerError, dockerErrors } from './errors';
import { container, image, layerChain, type DockerContainer, type DockerImage } from './store';

export interface DockerSessionOptions extends DockerOptions {
  /**
   * Resolve every path inside this directory of the namespace (an absolute
   * path there), as a container would: see EnterOptions.root.
   */
  root?: string;
}

/** Layers stacked read-only in a namespace of our own; close() ends it all. */
export type MountedLayers = EngineMountedLayers<DockerContainer, DockerImage>;

/**
 * A session in the namespaces where dockerd mounts its containers' merged
 * dirs. Rootless: dockerd's own user and mount namespaces, RootlessKit's
 * (uids as the containers see them). Rootful (uid 0): the host's, which
 * rootful dockerd mounts in — the worker joins this process's namespaces.
 */
export async function enterStorage(options: DockerSessionOptions = {}): Promise<Session> {
  const cfg = storageConfig(options);
  if (!cfg.rootless) {
    if (ownEuid() !== 0) {
      throw new DockerError('EDOCKERACCESS', `rootful Docker's storage (${cfg.dataRoot}) belongs to root: run as root`);
    }
    return enterPid(process.pid, options.root, 'this process', dockerErrors);
  }
  const pid = daemonPid(options);
  return enterPid(pid, options.root, `rootless dockerd of uid ${cfg.uid}`, dockerErrors);
}

/** The container, checked to be running. */
function runningContainer(nameOrId: string, options: DockerOptions): DockerContainer & { pid: number } {
  const c = container(nameOrId, options);
  if (c.pid === null) {
    throw new DockerError(
      'ECONTAINERSTOPPED',
      `container ${c.names[0] ?? c.id.slice(0, 12)} (${c.id.slice(0, 12)}) is not running: use mountContainer() to read its files`,
    );
  }
  return c as DockerContainer & { pid: number };
}

/**
 * A session in the container's own namespaces, as `docker exec` sees it:
 * its rootfs at '/', its own mounts (/proc, /dev, /etc/hosts) on top.
 * Throws ECONTAINERSTOPPED if it is not running.
 */
export async function enterContainer(nameOrId: string, options: DockerSessionOptions = {}): Promise<Session> {
  const c = runningContainer(nameOrId, options);
  try {
    return await enterPid(c.pid, options.root, `container ${c.names[0] ?? c.id}`, dockerErrors);
  } catch (error) {
    if (isErrno(error, 'ESRCH', 'ENOENT')) {
      throw new DockerError('ECONTAINERSTOPPED', `container ${c.names[0] ?? c.id} stopped (its pid ${c.pid} is gone)`, {
        pid: c.pid,
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * A session in the storage namespaces (see enterStorage) whose paths
 * resolve inside the running container's merged dir, as the container
 * would resolve them; none of the container's own mounts are seen.
 */
export async function enterMerged(nameOrId: string, options: DockerOptions = {}): Promise<Session> {
  const c = runningContainer(nameOrId, options);
  return enterStorage({ ...options, root: c.mergedDir });
}

function namespaceOptions(options: DockerOptions): CreateNamespaceOptions {
  const cfg = storageConfig(options);
  return layerNamespaceOptions(cfg.rootless, cfg.dataRoot, () => daemonPid(options));
}

/**
 * Mounts a container's layers — its rw layer on top of its init layer and
 * its image's — read-only in a namespace of our own, running or not. No
 * daemon is needed.
 */
export async function mountContainer(nameOrId: string, options: DockerOptions = {}): Promise<MountedLayers> {
  const c = container(nameOrId, options);
  const chain = layerChain(c.layer, options);
  return mountLayers(chain, `container ${c.names[0] ?? c.id}`, { container: c }, namespaceOptions(options), dockerErrors);
}

/** Mounts an image's layers read-only in a namespace of our own (ref: name, id, or id prefix). */
export async function mountImage(ref: string, options: DockerOptions = {}): Promise<MountedLayers> {
  const img = image(ref, options);
  if (img.layer === '') throw new DockerError('ENOLAYER', `image ${img.names[0] ?? img.id} has no layer to mount`);
  const chain = layerChain(img.layer, options);
  return mountLayers(chain, `image ${img.names[0] ?? img.id}`, { image: img }, namespaceOptions(options), dockerErrors);
}

/**
 * Docker discovery: where rootless and rootful Docker keep their
 * containers, images and layers, and which dockerd holds the namespaces
 * they are mounted in, read from Docker's own files (no daemon API call,
 * DOCKER_HOST ignored). Re-exported by the package entry point as the
 * namespace `docker`, with the same names as `podman` where the meaning
 * is the same.
 *
 * Only the public API is here; each function checks its arguments (a
 * TypeError or RangeError with a node-style `code`, naming the argument)
 * and hands them to the code that does the work: lib/engine/ over Docker's
 * adapter (lib/docker/adapter.ts) for what every engine has
 * (lib/engine/api.ts), lib/docker/'s own modules for the rest.
 *
 * Error codes (DockerError.code): ENODOCKER, EDOCKERSTALE, ENOCONTAINER,
 * EDOCKERAMBIGUOUS, ENOLAYER, EDOCKERSTORAGE, EDOCKERDRIVER, EDOCKERACCESS,
 * ECONTAINERSTOPPED, ENOIMAGE, EDOCKERLAYERS — see lib/docker/errors.ts.
 */
import type { Readable } from 'node:stream';

import { engineApi } from '../engine/api';
import type { Volume } from '../engine/volumes';
import type { LayerChange } from '../layers/diff';
import type { ExtractResult } from '../layers/extract';
import type { Session } from '../ns/session';
import { dockerAdapter } from './adapter';
import * as config from './config';
import * as daemon from './daemon';
import * as store from './store';
import type { DockerOptions, DockerStorageConfig } from './config';
import type { DockerDiffOptions, DockerExportOptions, DockerImportOptions, DockerSessionOptions, MountedLayers } from './options';
import type { DockerContainer, DockerImage, DockerListOptions } from './store';

export { DockerError } from './errors';
export type { Volume } from '../engine/volumes';
export type { DockerErrorCode, DockerErrorDetails } from './errors';
export type { DockerOptions, DockerStorageConfig } from './config';
export type { DockerContainer, DockerImage, DockerListOptions } from './store';
export type { DockerSessionOptions, MountedLayers, DockerDiffOptions, DockerExportOptions, DockerImportOptions } from './options';

const api = engineApi<DockerOptions, DockerContainer, DockerImage, DockerListOptions>(dockerAdapter);

/** data root, driver, daemon.json and pid file of rootless (uid != 0) or rootful Docker. */
export function storageConfig(options?: DockerOptions): DockerStorageConfig {
  return config.storageConfig(api.check.options(options, 'storageConfig'));
}

/**
 * The pid of the user's dockerd (rootless: in RootlessKit's namespaces),
 * checked to really be it: DockerError ENODOCKER (no pid file), EDOCKERSTALE.
 *
 * @example
 * ```ts
 * import { docker, enter } from 'unshare-fs';
 *
 * // Rootless: RootlessKit's namespaces, where dockerd mounts containers.
 * await using session = await enter({ pid: docker.daemonPid() });
 * console.log((await session.lstat(docker.storageConfig().dataRoot)).uid);
 * ```
 * @throws DockerError `ENODOCKER` (no pid file: the rootless daemon has not run), `EDOCKERSTALE` (the pid file names a dead or other process), `EDOCKERACCESS`.
 */
export function daemonPid(options?: DockerOptions): number {
  return daemon.daemonPid(api.check.options(options, 'daemonPid'));
}

/** The pid file of the user's dockerd: `$XDG_RUNTIME_DIR/docker.pid` rootless, `/var/run/docker.pid` rootful. */
export function daemonPidFile(options?: DockerOptions): string {
  return daemon.daemonPidFile(api.check.options(options, 'daemonPidFile'));
}

/**
 * Every container, running or not.  One whose records cannot be read (a
 * symlink, a FIFO, bad JSON, a layer leading out of the data root) is left
 * out and told to `onError` (else a process warning); asked for by id, it
 * is that error.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * for (const c of docker.containers({ onError: (error) => console.warn(error.message) })) {
 *   console.log(c.names[0] ?? c.id, c.pid === null ? 'stopped' : `running as pid ${c.pid}`);
 * }
 * ```
 * @throws DockerError `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user), `EDOCKERDRIVER` (a storage driver the library does not read). A container whose own records cannot be read is no throw: it goes to `onError`.
 */
export function containers(options?: DockerListOptions): DockerContainer[] {
  return store.containers(api.check.list(options, 'containers'));
}

/**
 * One container by exact name, exact id, or unique id prefix: ENOCONTAINER, EDOCKERAMBIGUOUS (with `candidates`).
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * const c = docker.container('web');
 * console.log(c.id, c.image, c.upperDir);
 * ```
 * @throws DockerError `ENOCONTAINER` (no such name, id or prefix), `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user).
 */
export function container(nameOrIdPrefix: string, options?: DockerOptions): DockerContainer {
  return api.container(nameOrIdPrefix, options);
}

/** Every image; one whose records cannot be read is left out and reported, as by containers(). */
export function images(options?: DockerListOptions): DockerImage[] {
  return store.images(api.check.list(options, 'images'));
}

/**
 * One image by name (`x` meaning `x:latest`), full id or unique id prefix: ENOIMAGE, EDOCKERAMBIGUOUS.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * const image = docker.image('alpine');
 * console.log(image.id, image.names);
 * ```
 * @throws DockerError `ENOIMAGE` (no such name, id or prefix), `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user).
 */
export function image(ref: string, options?: DockerOptions): DockerImage {
  return api.image(ref, options);
}

/** The diff dirs of a layer dir (a container's `layer`, an image's) and of all below it, top first; vfs: the layer dirs, each a whole tree. */
export function layerChain(layerId: string, options?: DockerOptions): string[] {
  return api.layerChain(layerId, options);
}

/**
 * A session in the namespaces where dockerd mounts containers' merged
 * dirs: rootless, RootlessKit's (dockerd's); rootful, the host's.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * await using storage = await docker.enterStorage();
 * // Every path as the engine sees it, ids as its containers see them.
 * console.log(await storage.readdir(docker.storageConfig().dataRoot));
 * ```
 * @throws DockerError `ENODOCKER` (no pid file: the rootless daemon has not run), `EDOCKERSTALE` (the pid file names a dead or other process), `EDOCKERACCESS` (the engine's process belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join.
 */
export async function enterStorage(options?: DockerSessionOptions): Promise<Session> {
  return api.enterStorage(options);
}

/**
 * enterStorage(), with every path resolved inside the container's merged dir: ECONTAINERSTOPPED when it does not run.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * await using root = await docker.enterMerged('web');
 * console.log(await root.readFile('/etc/os-release', 'utf8'));
 * ```
 * @throws DockerError `ENOCONTAINER`, `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ECONTAINERSTOPPED` (its merged dir is not mounted), `ENODOCKER` (no pid file: the rootless daemon has not run), `EDOCKERSTALE` (the pid file names a dead or other process), `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join.
 */
export async function enterMerged(nameOrId: string, options?: DockerOptions): Promise<Session> {
  return api.enterMerged(nameOrId, options);
}

/**
 * A session in the container's own namespaces, as `docker exec` sees it: ECONTAINERSTOPPED when it does not run.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * await using inside = await docker.enterContainer('web');
 * const stats = await inside.stat('/data');
 * console.log(`owner ${stats.uid} as the container sees it`);
 * ```
 * @throws DockerError `ENOCONTAINER`, `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ECONTAINERSTOPPED` (it does not run), `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join.
 */
export async function enterContainer(nameOrId: string, options?: DockerSessionOptions): Promise<Session> {
  return api.enterContainer(nameOrId, options);
}

/**
 * The container's layers stacked read-only in a namespace of the library's own, running or not.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * await using mounted = await docker.mountContainer('web');
 * for await (const entry of mounted.session.walk('/etc')) console.log(entry.fullPath);
 * ```
 * @throws DockerError `ENOCONTAINER`, `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER` (a layer dir is missing), `EDOCKERLAYERS` (the layers do not fit one overlay mount, or fuse-overlayfs is missing or failed), `EDOCKERACCESS` (a layer belongs to another user), `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user); the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...).
 */
export async function mountContainer(nameOrId: string, options?: DockerOptions): Promise<MountedLayers> {
  return api.mountContainer(nameOrId, options);
}

/**
 * The image's layers stacked read-only in a namespace of the library's own.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * await using mounted = await docker.mountImage('alpine');
 * console.log(await mounted.session.readFile('/etc/alpine-release', 'utf8'));
 * ```
 * @throws DockerError `ENOIMAGE`, `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER`, `EDOCKERLAYERS`, `EDOCKERACCESS`, `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user); the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...).
 */
export async function mountImage(ref: string, options?: DockerOptions): Promise<MountedLayers> {
  return api.mountImage(ref, options);
}

/**
 * What `docker diff nameOrId` lists, without the daemon: the container's rw layer against the layers below it.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * const letter = { added: 'A', changed: 'C', deleted: 'D' } as const;
 * for (const change of await docker.diff('web')) console.log(letter[change.kind], change.path);
 * ```
 * @throws DockerError `ENOCONTAINER`, `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER`, `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user); the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...) (a stopped container's layers are mounted in one).
 */
export async function diff(nameOrId: string, options?: DockerDiffOptions): Promise<LayerChange[]> {
  return api.diff(nameOrId, options);
}

/**
 * What `docker export nameOrId` writes, as a `Readable` tar: the
 * container's files (through its merged dir while it runs, its layers
 * mounted in a namespace of our own once stopped), ids as the container
 * sees them.  Errors (no such container ...) come out as the stream's.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { docker } from 'unshare-fs';
 *
 * await pipeline(docker.exportContainer('web'), createWriteStream('web.tar'));
 * ```
 * @throws nothing itself: DockerError `ENOCONTAINER`, `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER`, `EDOCKERLAYERS`, `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user), and the node:fs errors of reading its files, come out as the stream's `'error'`.
 */
export function exportContainer(nameOrId: string, options?: DockerExportOptions): Readable {
  return api.exportContainer(nameOrId, options);
}

/**
 * A container's changes, or an image's top layer, as an OCI layer tar (whiteouts as `.wh.` entries); overlay2 and fuse-overlayfs only (vfs: EDOCKERDRIVER).
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { docker } from 'unshare-fs';
 *
 * await pipeline(docker.exportLayer('web'), createWriteStream('web-layer.tar'));
 * ```
 * @throws nothing itself: DockerError `ENOCONTAINER`, `ENOIMAGE`, `EDOCKERAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `EDOCKERDRIVER` (vfs), `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user), and the node:fs errors of reading its upper dir, come out as the stream's `'error'`.
 */
export function exportLayer(nameOrId: string, options?: DockerExportOptions): Readable {
  return api.exportLayer(nameOrId, options);
}

/**
 * Every volume (each `<data-root>/volumes/<name>/_data`), sorted by name, read from Docker's files:
 * its mount point, and the containers whose `config.v2.json` MountPoints name it; driver and labels from `volumes/metadata.db`, createdAt the mtime of `_data` (what the local driver reports).
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * for (const volume of docker.volumes()) console.log(volume.name, volume.mountPoint, volume.containers ?? 'unknown users');
 * ```
 * @throws DockerError `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user).
 */
export function volumes(options?: DockerOptions): Volume[] {
  return api.volumes(options);
}

/**
 * One volume by its exact name: ENOVOLUME when there is none.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * const volume = docker.volume('data');
 * console.log(volume.mountPoint, volume.driver);
 * ```
 * @throws DockerError `ENOVOLUME` (no volume has that name), `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user).
 */
export function volume(name: string, options?: DockerOptions): Volume {
  return api.volume(name, options);
}

/**
 * A session in the namespaces where Docker mounts containers' layers
 * (rootless, RootlessKit's: dockerd's; rootful, the host's), with every
 * path resolved inside the volume's `_data`:
 * '/' is the volume, ids are the ones the containers see, and `rm`,
 * `chown`, walks and writes work on files a container left there.  When
 * the rootless engine's process does not run, in a user namespace of the
 * library's own with the engine's id maps.
 *
 * @example
 * ```ts
 * import { docker } from 'unshare-fs';
 *
 * await using data = await docker.enterVolume('data');
 * // What a rootless container left there, owned by its ids: removed and given back.
 * await data.rm('/cache', { recursive: true, force: true });
 * await data.chown('/', 0, 0, { recursive: true });
 * ```
 * @throws DockerError `ENOVOLUME`, `EDOCKERSTALE`, `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join; the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...) (when the engine's process does not run).
 */
export async function enterVolume(name: string, options?: DockerOptions): Promise<Session> {
  return api.enterVolume(name, options);
}

/**
 * The volume's files as a `Readable` tar, ids as the containers see them,
 * entry for entry what the documented `docker run --rm --volumes-from C -v $PWD:/backup busybox tar cf /backup/x.tar /path` (entries named relative to the volume's root) writes.  Errors (no such volume ...) come
 * out as the stream's.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { docker } from 'unshare-fs';
 *
 * await pipeline(docker.exportVolume('data'), createWriteStream('data.tar'));
 * ```
 * @throws nothing itself: DockerError `ENOVOLUME`, `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user), and the node:fs errors of reading its files, come out as the stream's `'error'`.
 */
export function exportVolume(name: string, options?: DockerExportOptions): Readable {
  return api.exportVolume(name, options);
}

/**
 * Unpacks the tar `source` (a Readable or any async iterable of bytes)
 * into the volume, over what is there, as untarring into it from a container that mounts it does: ids, modes and
 * mtimes as the archive names them, seen from the containers; nothing is
 * written outside the volume (see FileSystem#extractTar).
 *
 * @example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * import { docker } from 'unshare-fs';
 *
 * const { entries, bytes } = await docker.importVolume('data', createReadStream('data.tar'));
 * console.log(`${entries} entries, ${bytes} bytes`);
 * ```
 * @throws DockerError `ENOVOLUME`, `EDOCKERSTALE`, `EDOCKERSTORAGE` (a storage file cannot be read or parsed), `EDOCKERACCESS` (the storage belongs to another user); UnshareFsError `ETARFORMAT` (the archive does not parse), `ETARPATH` (a member would land outside the volume); the node:fs errors of writing.
 */
export async function importVolume(
  name: string,
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options?: DockerImportOptions,
): Promise<ExtractResult> {
  return api.importVolume(name, source, options);
}

/**
 * Podman discovery: where rootless and rootful podman keep their containers,
 * layers and pause process, read from podman's own files (no podman binary).
 * Re-exported by the package entry point as the namespace `podman`.
 *
 * Only the public API is here; each function checks its arguments (a
 * TypeError or RangeError with a node-style `code`, naming the argument)
 * and hands them to the code that does the work: lib/engine/ over podman's
 * adapter (lib/podman/adapter.ts) for what every engine has
 * (lib/engine/api.ts), lib/podman/'s own modules for the rest.
 *
 * Error codes (PodmanError.code): ENOPODMAN, EPODMANSTALE, EPODMANROOTFUL,
 * ENOCONTAINER, EPODMANAMBIGUOUS, ENOLAYER, EPODMANSTORAGE, EPODMANDRIVER,
 * EPODMANACCESS, ECONTAINERSTOPPED, ENOIMAGE, EPODMANLAYERS —
 * see lib/podman/errors.ts.
 */
import type { Readable } from 'node:stream';

import { engineApi } from '../engine/api';
import type { Volume } from '../engine/volumes';
import type { LayerChange } from '../layers/diff';
import type { ExtractResult } from '../layers/extract';
import type { Session } from '../ns/session';
import { podmanAdapter } from './adapter';
import * as config from './config';
import * as usage from './df';
import * as pause from './pause';
import * as store from './store';
import type { PodmanOptions, StorageConfig } from './config';
import type { PodmanUsage } from './df';
import type { MountedLayers, PodmanDiffOptions, PodmanExportOptions, PodmanImportOptions, PodmanSessionOptions } from './options';
import type { PodmanContainer, PodmanImage, PodmanLayer, PodmanListOptions } from './store';

export { PodmanError } from './errors';
export type { Volume } from '../engine/volumes';
export type { PodmanErrorCode, PodmanErrorDetails } from './errors';
export type { PodmanOptions, StorageConfig } from './config';
export type { PodmanContainer, PodmanImage, PodmanLayer, PodmanListOptions } from './store';
export type { MountedLayers, PodmanDiffOptions, PodmanExportOptions, PodmanImportOptions, PodmanSessionOptions } from './options';
export type { ContainerUsage, ImageUsage, LayerUsage, PodmanUsage, VolumeUsage } from './df';

const api = engineApi<PodmanOptions, PodmanContainer, PodmanImage, PodmanListOptions>(podmanAdapter);

/** graphroot, runroot and driver of rootless (uid != 0) or rootful podman: defaults, storage.conf, CONTAINERS_STORAGE_CONF. */
export function storageConfig(options?: PodmanOptions): StorageConfig {
  return config.storageConfig(api.check.options(options, 'storageConfig'));
}

/**
 * The pid of rootless podman's pause process, checked to really be it:
 * PodmanError ENOPODMAN (no pid file), EPODMANSTALE, EPODMANROOTFUL.
 *
 * @example
 * ```ts
 * import { enter, podman } from 'unshare-fs';
 *
 * // What `podman unshare` joins: rootless podman's pause process.
 * await using session = await enter({ pid: podman.pausePid() });
 * console.log((await session.lstat(podman.storageConfig().graphRoot)).uid);
 * ```
 * @throws PodmanError `ENOPODMAN` (no pause pid file: rootless podman has not run), `EPODMANSTALE` (the pid file names a dead or other process), `EPODMANROOTFUL` (rootful podman has no pause process), `EPODMANACCESS`.
 */
export function pausePid(options?: PodmanOptions): number {
  return pause.pausePid(api.check.options(options, 'pausePid'));
}

/** `$XDG_RUNTIME_DIR/libpod/tmp/pause.pid` for the inspected user. */
export function pausePidFile(options?: PodmanOptions): string {
  return pause.pausePidFile(api.check.options(options, 'pausePidFile'));
}

/**
 * Every container in the store, running or not.  One whose layers cannot
 * be read (a layer dir that is a symlink, a lower link leading out of the
 * store) is left out and told to `onError` (else a process warning);
 * asked for by name or id, it is that error.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * for (const c of podman.containers({ onError: (error) => console.warn(error.message) })) {
 *   console.log(c.names[0] ?? c.id, c.pid === null ? 'stopped' : `running as pid ${c.pid}`);
 * }
 * ```
 * @throws PodmanError `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user), `EPODMANDRIVER` (a storage driver the library does not read). A container whose own records cannot be read is no throw: it goes to `onError`.
 */
export function containers(options?: PodmanListOptions): PodmanContainer[] {
  return store.containers(api.check.list(options, 'containers'));
}

/**
 * One container by exact name, exact id, or unique id prefix: ENOCONTAINER, EPODMANAMBIGUOUS (with `candidates`).
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * const c = podman.container('web');
 * console.log(c.id, c.image, c.upperDir);
 * ```
 * @throws PodmanError `ENOCONTAINER` (no such name, id or prefix), `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user).
 */
export function container(nameOrIdPrefix: string, options?: PodmanOptions): PodmanContainer {
  return api.container(nameOrIdPrefix, options);
}

/** Every image of the store. */
export function images(options?: PodmanOptions): PodmanImage[] {
  return store.images(api.check.options(options, 'images'));
}

/**
 * One image by name (`x` meaning `x:latest`), full id or unique id prefix: ENOIMAGE, EPODMANAMBIGUOUS.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * const image = podman.image('alpine');
 * console.log(image.id, image.names);
 * ```
 * @throws PodmanError `ENOIMAGE` (no such name, id or prefix), `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user).
 */
export function image(ref: string, options?: PodmanOptions): PodmanImage {
  return api.image(ref, options);
}

/** Every layer of the store (persistent and volatile), with its parent chain. */
export function layers(options?: PodmanOptions): PodmanLayer[] {
  return store.layers(api.check.options(options, 'layers'));
}

/** The diff dirs of a layer (full id or unique prefix) and all below it, top first (vfs: each layer's whole tree). */
export function layerChain(layerId: string, options?: PodmanOptions): string[] {
  return api.layerChain(layerId, options);
}

/**
 * A session in the namespaces where podman mounts containers' merged dirs:
 * rootless, the pause process's; rootful, the host's.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * await using storage = await podman.enterStorage();
 * // Every path as the engine sees it, ids as its containers see them.
 * console.log(await storage.readdir(podman.storageConfig().graphRoot));
 * ```
 * @throws PodmanError `ENOPODMAN` (no pause pid file: rootless podman has not run), `EPODMANSTALE` (the pid file names a dead or other process), `EPODMANACCESS` (the engine's process belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join.
 */
export async function enterStorage(options?: PodmanSessionOptions): Promise<Session> {
  return api.enterStorage(options);
}

/**
 * enterStorage(), with every path resolved inside the container's merged
 * dir: ECONTAINERSTOPPED when it is not mounted.  vfs: inside its layer
 * dir, which is its root, running or not.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * await using root = await podman.enterMerged('web');
 * console.log(await root.readFile('/etc/os-release', 'utf8'));
 * ```
 * @throws PodmanError `ENOCONTAINER`, `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ECONTAINERSTOPPED` (its merged dir is not mounted), `ENOPODMAN` (no pause pid file: rootless podman has not run), `EPODMANSTALE` (the pid file names a dead or other process), `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join.
 */
export async function enterMerged(nameOrId: string, options?: PodmanOptions): Promise<Session> {
  return api.enterMerged(nameOrId, options);
}

/**
 * A session in the container's own namespaces, as `podman exec` sees it: ECONTAINERSTOPPED when it does not run.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * await using inside = await podman.enterContainer('web');
 * const stats = await inside.stat('/data');
 * console.log(`owner ${stats.uid} as the container sees it`);
 * ```
 * @throws PodmanError `ENOCONTAINER`, `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ECONTAINERSTOPPED` (it does not run), `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join.
 */
export async function enterContainer(nameOrId: string, options?: PodmanSessionOptions): Promise<Session> {
  return api.enterContainer(nameOrId, options);
}

/**
 * The container's layers stacked read-only in a namespace of the library's own, running or not (vfs: its one layer dir).
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * await using mounted = await podman.mountContainer('web');
 * for await (const entry of mounted.session.walk('/etc')) console.log(entry.fullPath);
 * ```
 * @throws PodmanError `ENOCONTAINER`, `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER` (a layer dir is missing), `EPODMANLAYERS` (the layers do not fit one overlay mount, or fuse-overlayfs is missing or failed), `EPODMANACCESS` (a layer belongs to another user), `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user); the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...).
 */
export async function mountContainer(nameOrId: string, options?: PodmanOptions): Promise<MountedLayers> {
  return api.mountContainer(nameOrId, options);
}

/**
 * The image's layers stacked read-only in a namespace of the library's own (vfs: its top layer's dir).
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * await using mounted = await podman.mountImage('alpine');
 * console.log(await mounted.session.readFile('/etc/alpine-release', 'utf8'));
 * ```
 * @throws PodmanError `ENOIMAGE`, `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER`, `EPODMANLAYERS`, `EPODMANACCESS`, `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user); the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...).
 */
export async function mountImage(ref: string, options?: PodmanOptions): Promise<MountedLayers> {
  return api.mountImage(ref, options);
}

/**
 * What `podman diff nameOrId` lists, without a podman process: a
 * container's rw layer against its image, or an image's top layer against
 * the layers below it; less, as podman does, the paths it mounts in every
 * container (/dev, /proc, /run, /sys, /etc/hosts ...).  vfs: the layer's
 * tree against its parent's, with containers/storage's naive diff rules.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * const letter = { added: 'A', changed: 'C', deleted: 'D' } as const;
 * for (const change of await podman.diff('web')) console.log(letter[change.kind], change.path);
 * ```
 * @throws PodmanError `ENOCONTAINER`, `ENOIMAGE`, `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER`, `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user); the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...) (a stopped container's layers are mounted in one).
 */
export async function diff(nameOrId: string, options?: PodmanDiffOptions): Promise<LayerChange[]> {
  return api.diff(nameOrId, options);
}

/**
 * What `podman export nameOrId` writes, as a `Readable` tar: the
 * container's files (through its merged dir while it runs, its layers
 * mounted in a namespace of our own once stopped), ids as the container
 * sees them.  Errors (no such container ...) come out as the stream's.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { podman } from 'unshare-fs';
 *
 * await pipeline(podman.exportContainer('web'), createWriteStream('web.tar'));
 * ```
 * @throws nothing itself: PodmanError `ENOCONTAINER`, `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `ENOLAYER`, `EPODMANLAYERS`, `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user), and the node:fs errors of reading its files, come out as the stream's `'error'`.
 */
export function exportContainer(nameOrId: string, options?: PodmanExportOptions): Readable {
  return api.exportContainer(nameOrId, options);
}

/**
 * A container's changes, or an image's top layer, as an OCI layer tar (whiteouts as `.wh.` entries); overlay only (vfs: EPODMANDRIVER).
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { podman } from 'unshare-fs';
 *
 * await pipeline(podman.exportLayer('web'), createWriteStream('web-layer.tar'));
 * ```
 * @throws nothing itself: PodmanError `ENOCONTAINER`, `ENOIMAGE`, `EPODMANAMBIGUOUS` (an id prefix matches several; `candidates` lists them), `EPODMANDRIVER` (vfs), `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user), and the node:fs errors of reading its upper dir, come out as the stream's `'error'`.
 */
export function exportLayer(nameOrId: string, options?: PodmanExportOptions): Readable {
  return api.exportLayer(nameOrId, options);
}

/**
 * What `podman system df -v` reports, without podman: each image's size,
 * shared and unique size and container count, each container's rw-layer
 * size (vfs: the size of its naive diff, as podman counts it), each local
 * volume's size, and the layers with the images on them.  A volume's LINKS
 * (the containers that use it) are left out: only libpod's database holds
 * them.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * const usage = await podman.df();
 * for (const image of usage.images) console.log(image.names[0] ?? image.id, image.size);
 * ```
 * @throws PodmanError `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user), `EPODMANDRIVER` (a driver neither overlay nor vfs); the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...) (to read layers only another user's ids can).
 */
export async function df(options?: PodmanDiffOptions): Promise<PodmanUsage> {
  return usage.df(api.check.diff(options, 'df'));
}

/**
 * Every volume (each `<graphroot>/volumes/<name>/_data`), sorted by name, read from podman's files:
 * its mount point, and the containers whose configs in libpod's state database (`libpod/bolt_state.db`, podman 4's BoltDB) name it; driver, labels, createdAt and containers are null without that database.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * for (const volume of podman.volumes()) console.log(volume.name, volume.mountPoint, volume.containers ?? 'unknown users');
 * ```
 * @throws PodmanError `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user).
 */
export function volumes(options?: PodmanOptions): Volume[] {
  return api.volumes(options);
}

/**
 * One volume by its exact name: ENOVOLUME when there is none.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * const volume = podman.volume('data');
 * console.log(volume.mountPoint, volume.driver);
 * ```
 * @throws PodmanError `ENOVOLUME` (no volume has that name), `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user).
 */
export function volume(name: string, options?: PodmanOptions): Volume {
  return api.volume(name, options);
}

/**
 * A session in the namespaces where podman mounts containers' layers
 * (rootless, the pause process's: `podman unshare`; rootful, the host's),
 * with every path resolved inside the volume's `_data`:
 * '/' is the volume, ids are the ones the containers see, and `rm`,
 * `chown`, walks and writes work on files a container left there.  When
 * the rootless engine's process does not run, in a user namespace of the
 * library's own with the engine's id maps.
 *
 * @example
 * ```ts
 * import { podman } from 'unshare-fs';
 *
 * await using data = await podman.enterVolume('data');
 * // What a rootless container left there, owned by its ids: removed and given back.
 * await data.rm('/cache', { recursive: true, force: true });
 * await data.chown('/', 0, 0, { recursive: true });
 * ```
 * @throws PodmanError `ENOVOLUME`, `EPODMANSTALE`, `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user); a node:fs-style error (`code` `EPERM`, `EACCES`, `ESRCH`; `syscall` `setns`, `open`, `pidfd_open`) when the kernel refuses the join; the errors of createNamespace() when the namespace cannot be made (`ENOSPC`, `EPERM`, `ENOSUBIDS` ...) (when the engine's process does not run).
 */
export async function enterVolume(name: string, options?: PodmanOptions): Promise<Session> {
  return api.enterVolume(name, options);
}

/**
 * The volume's files as a `Readable` tar, ids as the containers see them,
 * entry for entry what `podman volume export name` writes.  Errors (no such volume ...) come
 * out as the stream's.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { podman } from 'unshare-fs';
 *
 * await pipeline(podman.exportVolume('data'), createWriteStream('data.tar'));
 * ```
 * @throws nothing itself: PodmanError `ENOVOLUME`, `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user), and the node:fs errors of reading its files, come out as the stream's `'error'`.
 */
export function exportVolume(name: string, options?: PodmanExportOptions): Readable {
  return api.exportVolume(name, options);
}

/**
 * Unpacks the tar `source` (a Readable or any async iterable of bytes)
 * into the volume, over what is there, as `podman volume import name` does: ids, modes and
 * mtimes as the archive names them, seen from the containers; nothing is
 * written outside the volume (see FileSystem#extractTar).
 *
 * @example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * import { podman } from 'unshare-fs';
 *
 * const { entries, bytes } = await podman.importVolume('data', createReadStream('data.tar'));
 * console.log(`${entries} entries, ${bytes} bytes`);
 * ```
 * @throws PodmanError `ENOVOLUME`, `EPODMANSTALE`, `EPODMANSTORAGE` (a storage file cannot be read or parsed), `EPODMANACCESS` (the storage belongs to another user); UnshareFsError `ETARFORMAT` (the archive does not parse), `ETARPATH` (a member would land outside the volume); the node:fs errors of writing.
 */
export async function importVolume(
  name: string,
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options?: PodmanImportOptions,
): Promise<ExtractResult> {
  return api.importVolume(name, source, options);
}

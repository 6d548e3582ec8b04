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
import type { MountedLayers, PodmanDiffOptions, PodmanExportOptions, PodmanSessionOptions } from './options';
import type { PodmanContainer, PodmanImage, PodmanLayer, PodmanListOptions } from './store';

export { PodmanError } from './errors';
export type { Volume } from '../engine/volumes';
export type { PodmanErrorCode, PodmanErrorDetails } from './errors';
export type { PodmanOptions, StorageConfig } from './config';
export type { PodmanContainer, PodmanImage, PodmanLayer, PodmanListOptions } from './store';
export type { MountedLayers, PodmanDiffOptions, PodmanExportOptions, PodmanSessionOptions } from './options';
export type { ContainerUsage, ImageUsage, LayerUsage, PodmanUsage, VolumeUsage } from './df';

const api = engineApi<PodmanOptions, PodmanContainer, PodmanImage, PodmanListOptions>(podmanAdapter);

/** graphroot, runroot and driver of rootless (uid != 0) or rootful podman: defaults, storage.conf, CONTAINERS_STORAGE_CONF. */
export function storageConfig(options?: PodmanOptions): StorageConfig {
  return config.storageConfig(api.check.options(options, 'storageConfig'));
}

/**
 * The pid of rootless podman's pause process, checked to really be it:
 * PodmanError ENOPODMAN (no pid file), EPODMANSTALE, EPODMANROOTFUL.
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
 */
export function containers(options?: PodmanListOptions): PodmanContainer[] {
  return store.containers(api.check.list(options, 'containers'));
}

/** One container by exact name, exact id, or unique id prefix: ENOCONTAINER, EPODMANAMBIGUOUS (with `candidates`). */
export function container(nameOrIdPrefix: string, options?: PodmanOptions): PodmanContainer {
  return api.container(nameOrIdPrefix, options);
}

/** Every image of the store. */
export function images(options?: PodmanOptions): PodmanImage[] {
  return store.images(api.check.options(options, 'images'));
}

/** One image by name (`x` meaning `x:latest`), full id or unique id prefix: ENOIMAGE, EPODMANAMBIGUOUS. */
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
 */
export async function enterStorage(options?: PodmanSessionOptions): Promise<Session> {
  return api.enterStorage(options);
}

/**
 * enterStorage(), with every path resolved inside the container's merged
 * dir: ECONTAINERSTOPPED when it is not mounted.  vfs: inside its layer
 * dir, which is its root, running or not.
 */
export async function enterMerged(nameOrId: string, options?: PodmanOptions): Promise<Session> {
  return api.enterMerged(nameOrId, options);
}

/** A session in the container's own namespaces, as `podman exec` sees it: ECONTAINERSTOPPED when it does not run. */
export async function enterContainer(nameOrId: string, options?: PodmanSessionOptions): Promise<Session> {
  return api.enterContainer(nameOrId, options);
}

/** The container's layers stacked read-only in a namespace of the library's own, running or not (vfs: its one layer dir). */
export async function mountContainer(nameOrId: string, options?: PodmanOptions): Promise<MountedLayers> {
  return api.mountContainer(nameOrId, options);
}

/** The image's layers stacked read-only in a namespace of the library's own (vfs: its top layer's dir). */
export async function mountImage(ref: string, options?: PodmanOptions): Promise<MountedLayers> {
  return api.mountImage(ref, options);
}

/**
 * What `podman diff nameOrId` lists, without a podman process: a
 * container's rw layer against its image, or an image's top layer against
 * the layers below it; less, as podman does, the paths it mounts in every
 * container (/dev, /proc, /run, /sys, /etc/hosts ...).  vfs: the layer's
 * tree against its parent's, with containers/storage's naive diff rules.
 */
export async function diff(nameOrId: string, options?: PodmanDiffOptions): Promise<LayerChange[]> {
  return api.diff(nameOrId, options);
}

/**
 * What `podman export nameOrId` writes, as a `Readable` tar: the
 * container's files (through its merged dir while it runs, its layers
 * mounted in a namespace of our own once stopped), ids as the container
 * sees them.  Errors (no such container ...) come out as the stream's.
 */
export function exportContainer(nameOrId: string, options?: PodmanExportOptions): Readable {
  return api.exportContainer(nameOrId, options);
}

/** A container's changes, or an image's top layer, as an OCI layer tar (whiteouts as `.wh.` entries); overlay only (vfs: EPODMANDRIVER). */
export function exportLayer(nameOrId: string, options?: PodmanExportOptions): Readable {
  return api.exportLayer(nameOrId, options);
}

/**
 * What `podman system df -v` reports, without podman: each image's size,
 * shared and unique size and container count, each container's rw-layer
 * size, each local volume's size, and the layers with the images on them.
 * A volume's LINKS (the containers that use it) are left out: only
 * libpod's database holds them.
 */
export async function df(options?: PodmanDiffOptions): Promise<PodmanUsage> {
  return usage.df(api.check.diff(options, 'df'));
}

/**
 * Every volume (each `<graphroot>/volumes/<name>/_data`), sorted by name, read from podman's files:
 * its mount point, and the containers whose configs in libpod's state database (`libpod/bolt_state.db`, podman 4's BoltDB) name it; driver, labels, createdAt and containers are null without that database.
 */
export function volumes(options?: PodmanOptions): Volume[] {
  return api.volumes(options);
}

/** One volume by its exact name: ENOVOLUME when there is none. */
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
 */
export async function enterVolume(name: string, options?: PodmanOptions): Promise<Session> {
  return api.enterVolume(name, options);
}

/**
 * The volume's files as a `Readable` tar, ids as the containers see them,
 * entry for entry what `podman volume export name` writes.  Errors (no such volume ...) come
 * out as the stream's.
 */
export function exportVolume(name: string, options?: PodmanExportOptions): Readable {
  return api.exportVolume(name, options);
}

/**
 * Unpacks the tar `source` (a Readable or any async iterable of bytes)
 * into the volume, over what is there, as `podman volume import name` does: ids, modes and
 * mtimes as the archive names them, seen from the containers; nothing is
 * written outside the volume (see FileSystem#extractTar).
 */
export async function importVolume(
  name: string,
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options?: PodmanDiffOptions,
): Promise<ExtractResult> {
  return api.importVolume(name, source, options);
}

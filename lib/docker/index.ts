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
import type { DockerDiffOptions, DockerExportOptions, DockerSessionOptions, MountedLayers } from './options';
import type { DockerContainer, DockerImage, DockerListOptions } from './store';

export { DockerError } from './errors';
export type { Volume } from '../engine/volumes';
export type { DockerErrorCode, DockerErrorDetails } from './errors';
export type { DockerOptions, DockerStorageConfig } from './config';
export type { DockerContainer, DockerImage, DockerListOptions } from './store';
export type { DockerSessionOptions, MountedLayers, DockerDiffOptions, DockerExportOptions } from './options';

const api = engineApi<DockerOptions, DockerContainer, DockerImage, DockerListOptions>(dockerAdapter);

/** data root, driver, daemon.json and pid file of rootless (uid != 0) or rootful Docker. */
export function storageConfig(options?: DockerOptions): DockerStorageConfig {
  return config.storageConfig(api.check.options(options, 'storageConfig'));
}

/**
 * The pid of the user's dockerd (rootless: in RootlessKit's namespaces),
 * checked to really be it: DockerError ENODOCKER (no pid file), EDOCKERSTALE.
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
 */
export function containers(options?: DockerListOptions): DockerContainer[] {
  return store.containers(api.check.list(options, 'containers'));
}

/** One container by exact name, exact id, or unique id prefix: ENOCONTAINER, EDOCKERAMBIGUOUS (with `candidates`). */
export function container(nameOrIdPrefix: string, options?: DockerOptions): DockerContainer {
  return api.container(nameOrIdPrefix, options);
}

/** Every image; one whose records cannot be read is left out and reported, as by containers(). */
export function images(options?: DockerListOptions): DockerImage[] {
  return store.images(api.check.list(options, 'images'));
}

/** One image by name (`x` meaning `x:latest`), full id or unique id prefix: ENOIMAGE, EDOCKERAMBIGUOUS. */
export function image(ref: string, options?: DockerOptions): DockerImage {
  return api.image(ref, options);
}

/** The diff dirs of an overlay2 layer dir (a container's `layer`, an image's) and of all below it, top first. */
export function layerChain(layerId: string, options?: DockerOptions): string[] {
  return api.layerChain(layerId, options);
}

/**
 * A session in the namespaces where dockerd mounts containers' merged
 * dirs: rootless, RootlessKit's (dockerd's); rootful, the host's.
 */
export async function enterStorage(options?: DockerSessionOptions): Promise<Session> {
  return api.enterStorage(options);
}

/** enterStorage(), with every path resolved inside the container's merged dir: ECONTAINERSTOPPED when it does not run. */
export async function enterMerged(nameOrId: string, options?: DockerOptions): Promise<Session> {
  return api.enterMerged(nameOrId, options);
}

/** A session in the container's own namespaces, as `docker exec` sees it: ECONTAINERSTOPPED when it does not run. */
export async function enterContainer(nameOrId: string, options?: DockerSessionOptions): Promise<Session> {
  return api.enterContainer(nameOrId, options);
}

/** The container's layers stacked read-only in a namespace of the library's own, running or not. */
export async function mountContainer(nameOrId: string, options?: DockerOptions): Promise<MountedLayers> {
  return api.mountContainer(nameOrId, options);
}

/** The image's layers stacked read-only in a namespace of the library's own. */
export async function mountImage(ref: string, options?: DockerOptions): Promise<MountedLayers> {
  return api.mountImage(ref, options);
}

/** What `docker diff nameOrId` lists, without the daemon: the container's rw layer against the layers below it. */
export async function diff(nameOrId: string, options?: DockerDiffOptions): Promise<LayerChange[]> {
  return api.diff(nameOrId, options);
}

/**
 * What `docker export nameOrId` writes, as a `Readable` tar: the
 * container's files (through its merged dir while it runs, its layers
 * mounted in a namespace of our own once stopped), ids as the container
 * sees them.  Errors (no such container ...) come out as the stream's.
 */
export function exportContainer(nameOrId: string, options?: DockerExportOptions): Readable {
  return api.exportContainer(nameOrId, options);
}

/** A container's changes, or an image's top layer, as an OCI layer tar (whiteouts as `.wh.` entries). */
export function exportLayer(nameOrId: string, options?: DockerExportOptions): Readable {
  return api.exportLayer(nameOrId, options);
}

/**
 * Every volume (each `<data-root>/volumes/<name>/_data`), sorted by name, read from Docker's files:
 * its mount point, and the containers whose `config.v2.json` MountPoints name it; driver and labels from `volumes/metadata.db`, createdAt the mtime of `_data` (what the local driver reports).
 */
export function volumes(options?: DockerOptions): Volume[] {
  return api.volumes(options);
}

/** One volume by its exact name: ENOVOLUME when there is none. */
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
 */
export async function enterVolume(name: string, options?: DockerOptions): Promise<Session> {
  return api.enterVolume(name, options);
}

/**
 * The volume's files as a `Readable` tar, ids as the containers see them,
 * entry for entry what the documented `docker run --rm --volumes-from C -v $PWD:/backup busybox tar cf /backup/x.tar /path` (entries named relative to the volume's root) writes.  Errors (no such volume ...) come
 * out as the stream's.
 */
export function exportVolume(name: string, options?: DockerExportOptions): Readable {
  return api.exportVolume(name, options);
}

/**
 * Unpacks the tar `source` (a Readable or any async iterable of bytes)
 * into the volume, over what is there, as untarring into it from a container that mounts it does: ids, modes and
 * mtimes as the archive names them, seen from the containers; nothing is
 * written outside the volume (see FileSystem#extractTar).
 */
export async function importVolume(
  name: string,
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options?: DockerDiffOptions,
): Promise<ExtractResult> {
  return api.importVolume(name, source, options);
}

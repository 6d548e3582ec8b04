/**
 * Errors of the podman discovery module.
 *
 * Every error thrown by `podman.*` is a {@link PodmanError} with one of these
 * codes (node:fs errors met while reading podman's files are wrapped only when
 * they mean something podman-specific; otherwise they are thrown as they are):
 *
 * | code               | meaning |
 * |--------------------|---------|
 * | `ENOPODMAN`        | no pause pid file: rootless podman has not run (or its pause process was never started) for this user and runtime dir |
 * | `EPODMANSTALE`     | the pause pid file exists but names a dead process, a zombie, or a process that is not podman's pause process (pid reused) |
 * | `EPODMANROOTFUL`   | asked for the pause process of root: rootful podman has none (use a container's `pid`) |
 * | `ENOCONTAINER`     | no container has that name, id, or id prefix |
 * | `EPODMANAMBIGUOUS` | an id prefix matches several containers (or layers); `candidates` lists their ids |
 * | `ENOLAYER`         | no such layer in the store |
 * | `EPODMANSTORAGE`   | a podman storage file could not be read or parsed, is a symlink (never followed), or a layer leads out of `overlay` (`cause` holds the read error; never a parse error, which would quote the file) |
 * | `EPODMANDRIVER`    | the storage driver is neither `overlay` nor `vfs` (btrfs, zfs, devicemapper, aufs are not understood); or, with `vfs`, what needs overlay's layout: `exportLayer` |
 * | `EPODMANACCESS`    | podman's storage or pause process belongs to another user: permission denied (`cause` holds the node:fs error) |
 * | `ECONTAINERSTOPPED`| the container is not running (no live init pid, or its layer is not mounted) while its namespaces or merged dir are asked for |
 * | `ENOIMAGE`         | no image has that name, id, or id prefix |
 * | `EPODMANLAYERS`    | the layers cannot be stacked in one overlay mount (too many, or options longer than a page) |
 * | `ENOVOLUME`        | no volume has that name |
 */
import { EngineError, type EngineErrorFields, type EngineErrors, type EngineFailure } from '../engine/errors';

/** The codes of PodmanError; the table above says what each means. */
export type PodmanErrorCode =
  | 'ENOPODMAN'
  | 'EPODMANSTALE'
  | 'EPODMANROOTFUL'
  | 'ENOCONTAINER'
  | 'EPODMANAMBIGUOUS'
  | 'ENOLAYER'
  | 'EPODMANSTORAGE'
  | 'EPODMANDRIVER'
  | 'EPODMANACCESS'
  | 'ECONTAINERSTOPPED'
  | 'ENOIMAGE'
  | 'EPODMANLAYERS'
  | 'ENOVOLUME';

/** What a PodmanError may carry besides its code and message. */
export type PodmanErrorDetails = EngineErrorFields;

/** An error of podman discovery: `code` says which (see PodmanErrorCode). */
export class PodmanError extends EngineError<PodmanErrorCode> {
  constructor(code: PodmanErrorCode, message: string, details: PodmanErrorDetails = {}) {
    super('PodmanError', code, message, details);
  }
}

export { isErrno } from '../engine/errors';

const FAILURE_CODES: Record<EngineFailure, PodmanErrorCode> = {
  none: 'ENOPODMAN',
  stale: 'EPODMANSTALE',
  access: 'EPODMANACCESS',
  storage: 'EPODMANSTORAGE',
  noLayer: 'ENOLAYER',
  layers: 'EPODMANLAYERS',
  stopped: 'ECONTAINERSTOPPED',
  noVolume: 'ENOVOLUME',
  driver: 'EPODMANDRIVER',
};

/** The shared layer code's failures as PodmanErrors. */
export const podmanErrors: EngineErrors = (failure, message, details) => new PodmanError(FAILURE_CODES[failure], message, details);

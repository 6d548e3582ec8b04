/**
 * Errors of the Docker discovery module.
 *
 * Every error thrown by `docker.*` is a {@link DockerError} with one of these
 * codes (node:fs errors met while reading Docker's files are wrapped only when
 * they mean something Docker-specific; otherwise they are thrown as they are):
 *
 * | code               | meaning |
 * |--------------------|---------|
 * | `ENODOCKER`        | no dockerd pid file: the user's (or root's) daemon does not run |
 * | `EDOCKERSTALE`     | the pid file names a dead process, a zombie, or a process that is not that user's dockerd (pid reused) |
 * | `ENOCONTAINER`     | no container has that name, id, or id prefix |
 * | `EDOCKERAMBIGUOUS` | an id prefix matches several containers or images; `candidates` lists their ids |
 * | `ENOLAYER`         | a layer's directory or record is missing |
 * | `EDOCKERSTORAGE`   | a Docker storage file could not be read or parsed, is a symlink (never followed), or a layer leads out of the driver's dir (`cause` holds the read error; never a parse error, which would quote the file) |
 * | `EDOCKERDRIVER`    | the storage driver is not `overlay2`, `fuse-overlayfs` or `vfs` (the layouts understood); exportLayer of a vfs container |
 * | `EDOCKERACCESS`    | Docker's storage or daemon belongs to another user: permission denied (`cause` holds the node:fs error) |
 * | `ECONTAINERSTOPPED`| the container is not running while its namespaces or merged dir are asked for |
 * | `ENOIMAGE`         | no image has that name, id, or id prefix |
 * | `EDOCKERLAYERS`    | the layers cannot be stacked in one overlay mount (too many, or options longer than a page) |
 * | `ENOVOLUME`        | no volume has that name |
 */
import { EngineError, type EngineErrorFields, type EngineErrors, type EngineFailure } from '../engine/errors';

/** The codes of DockerError; the table above says what each means. */
export type DockerErrorCode =
  | 'ENODOCKER'
  | 'EDOCKERSTALE'
  | 'ENOCONTAINER'
  | 'EDOCKERAMBIGUOUS'
  | 'ENOLAYER'
  | 'EDOCKERSTORAGE'
  | 'EDOCKERDRIVER'
  | 'EDOCKERACCESS'
  | 'ECONTAINERSTOPPED'
  | 'ENOIMAGE'
  | 'EDOCKERLAYERS'
  | 'ENOVOLUME';

/** What a DockerError may carry besides its code and message. */
export type DockerErrorDetails = EngineErrorFields;

/** An error of Docker discovery: `code` says which (see DockerErrorCode). */
export class DockerError extends EngineError<DockerErrorCode> {
  constructor(code: DockerErrorCode, message: string, details: DockerErrorDetails = {}) {
    super('DockerError', code, message, details);
  }
}

const FAILURE_CODES: Record<EngineFailure, DockerErrorCode> = {
  none: 'ENODOCKER',
  stale: 'EDOCKERSTALE',
  access: 'EDOCKERACCESS',
  storage: 'EDOCKERSTORAGE',
  noLayer: 'ENOLAYER',
  layers: 'EDOCKERLAYERS',
  stopped: 'ECONTAINERSTOPPED',
  noVolume: 'ENOVOLUME',
  driver: 'EDOCKERDRIVER',
};

/** The shared engine code's failures as DockerErrors. */
export const dockerErrors: EngineErrors = (failure, message, details) => new DockerError(FAILURE_CODES[failure], message, details);

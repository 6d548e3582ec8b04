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
 * | `EPODMANSTORAGE`   | a podman storage file could not be read or parsed (`cause` holds the original error) |
 * | `EPODMANDRIVER`    | the storage driver is not `overlay` (only overlay layouts are understood) |
 * | `EPODMANACCESS`    | podman's storage or pause process belongs to another user: permission denied (`cause` holds the node:fs error) |
 * | `ECONTAINERSTOPPED`| the container is not running (no live init pid, or its layer is not mounted) while its namespaces or merged dir are asked for |
 * | `ENOIMAGE`         | no image has that name, id, or id prefix |
 * | `EPODMANLAYERS`    | the layers cannot be stacked in one overlay mount (too many, or options longer than a page) |
 */
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
  | 'EPODMANLAYERS';

export interface PodmanErrorDetails {
  /** file the error is about, when there is one */
  path?: string;
  /** pid the error is about (stale pause pid) */
  pid?: number;
  /** ids matching an ambiguous prefix */
  candidates?: string[];
  cause?: unknown;
}

export class PodmanError extends Error {
  readonly code: PodmanErrorCode;
  readonly path?: string;
  readonly pid?: number;
  readonly candidates?: string[];

  constructor(code: PodmanErrorCode, message: string, details: PodmanErrorDetails = {}) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PodmanError';
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.pid !== undefined) this.pid = details.pid;
    if (details.candidates !== undefined) this.candidates = details.candidates;
  }
}

/** True for a node:fs error with the given code. */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    codes.includes((err as NodeJS.ErrnoException).code as string)
  );
}

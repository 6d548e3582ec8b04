/**
 * What the engine front ends (podman, docker) share about errors: the
 * node:fs errno test, and the few failures of the shared layer code, each
 * front end turning them into its own error class and code.
 */

/** True for a node:fs error with the given code. */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    codes.includes((err as NodeJS.ErrnoException).code as string)
  );
}

/**
 * The failures of the shared code:
 * - `none`: the engine's pid file does not exist (it has not run);
 * - `stale`: the pid file names a dead process or another one;
 * - `access`: the engine's files or processes belong to another user;
 * - `storage`: one of the engine's files cannot be read or parsed;
 * - `noLayer`: a layer directory is missing;
 * - `layers`: the layers cannot be stacked in one overlay mount;
 * - `stopped`: a container does not run while its namespaces or merged dir are asked for;
 * - `noVolume`: no volume has that name;
 * - `driver`: what was asked is not done for the storage driver's layout.
 */
export type EngineFailure = 'none' | 'stale' | 'access' | 'storage' | 'noLayer' | 'layers' | 'stopped' | 'noVolume' | 'driver';

/** What the shared engine code tells about a failure, besides its message. */
export interface EngineErrorDetails {
  /** The file the failure is about. */
  path?: string;
  /** The process the failure is about. */
  pid?: number;
  /** The error behind it (a node:fs error, a parse error). */
  cause?: unknown;
}

/** Makes the front end's own error for one of the shared failures. */
export type EngineErrors = (failure: EngineFailure, message: string, details?: EngineErrorDetails) => Error;

/** Details an engine error can carry. */
export interface EngineErrorFields extends EngineErrorDetails {
  /** ids matching an ambiguous prefix */
  candidates?: string[];
}

/** What PodmanError and DockerError are: a coded error about one engine's files or processes. */
export class EngineError<Code extends string> extends Error {
  /** Which error this is: the engine's own codes. */
  readonly code: Code;
  /** The file the error is about, when there is one. */
  readonly path?: string;
  /** The process the error is about (a stale pid file's, a stopped container's). */
  readonly pid?: number;
  /** The ids an ambiguous prefix matches. */
  readonly candidates?: string[];

  constructor(name: string, code: Code, message: string, details: EngineErrorFields = {}) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = name;
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.pid !== undefined) this.pid = details.pid;
    if (details.candidates !== undefined) this.candidates = details.candidates;
  }
}

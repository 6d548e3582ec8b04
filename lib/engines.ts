/**
 * One entry point over every engine, for programs that do not care which
 * one a user runs: the containers of rootless or rootful podman and Docker,
 * each row saying which engine it came from.
 */
import { DockerError } from './docker/errors';
import { checkEngineOptions } from './engine/arguments';
import { inspectedUid, type UserOptions } from './engine/users';
import * as dockerStore from './docker/store';
import { invalid } from './core/checks';
import { PodmanError } from './podman/errors';
import * as podmanStore from './podman/store';

/** The container engines the library reads. */
export type Engine = 'podman' | 'docker';

/** A container as every engine has it. */
export interface EngineContainer {
  /** Which engine's storage the container is in. */
  engine: Engine;
  /** the inspected user's engine is rootless (uid != 0) */
  rootless: boolean;
  /** The engine's full container id. */
  id: string;
  /** Its names (Docker's without the leading '/'). */
  names: string[];
  /** image id */
  image: string;
  /** image name as the container was created from it, if recorded */
  imageName: string | null;
  /** Its init process is alive. */
  running: boolean;
  /** its init pid while it runs */
  pid: number | null;
  /** Where the engine mounts its overlay while it runs; podman's vfs: its layer dir, its root (nothing is mounted). */
  mergedDir: string;
  /** Its rw layer's diff dir: what it changed; podman's vfs: its layer dir, its whole tree. */
  upperDir: string;
  /** overlayfs's work dir of its rw layer; podman's vfs: '' (none). */
  workDir: string;
  /** top first; podman's vfs: none */
  lowerDirs: string[];
}

/** Whose engines to look at: a uid (0 = rootful), and that user's environment and home. */
export interface EnginesOptions extends UserOptions {
  /**
   * Told of what is left out of the listing: an engine that cannot be read
   * at all (another user's storage, an unsupported driver), whose error
   * costs that engine's rows only, and each container whose records cannot
   * be read (as the engines' own containers() tell it).  Without it, each
   * is a process warning (process.emitWarning).  Throw from it to stop.
   */
  onError?: (error: PodmanError | DockerError) => void;
}

const KEYS = { options: ['uid', 'env', 'home', 'onError'], paths: ['home'] };

/**
 * The containers of every engine the user has (podman's storage, Docker's
 * data root, at their default places for that user or where the user's
 * storage.conf and daemon.json move them), podman's first. An engine with
 * no storage gives none. One engine that cannot be read does not hide the
 * others: its error goes to `onError` (by default a process warning), as
 * does each container left out for records that cannot be read.
 *
 * @example
 * ```ts
 * import { containers } from 'unshare-fs';
 *
 * for (const c of containers({ onError: (error) => console.warn(error.message) })) {
 *   console.log(c.engine, c.names[0] ?? c.id, c.pid === null ? 'stopped' : 'running');
 * }
 * ```
 * @throws `TypeError` or `RangeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`) for bad options, and nothing else: an engine that cannot be read (PodmanError, DockerError) goes to `onError`.
 */
export function containers(options?: EnginesOptions): EngineContainer[] {
  const opts = checkEngineOptions<EnginesOptions>(KEYS, options, 'containers');
  if (opts.onError !== undefined && typeof opts.onError !== 'function') throw invalid('onError', 'a function', opts.onError);
  const rootless = inspectedUid(opts) !== 0;
  type Found = Omit<EngineContainer, 'engine' | 'rootless' | 'running'>;
  const row = (engine: Engine, c: Found, running: boolean): EngineContainer => ({
    engine,
    rootless,
    id: c.id,
    names: c.names,
    image: c.image,
    imageName: c.imageName,
    running,
    pid: c.pid,
    mergedDir: c.mergedDir,
    upperDir: c.upperDir,
    workDir: c.workDir,
    lowerDirs: c.lowerDirs,
  });
  // What onError itself throws stops the listing: it is not an engine's error to tell again.
  let stopped = false;
  const told = opts.onError;
  const onError =
    told &&
    ((error: PodmanError | DockerError): void => {
      try {
        told(error);
      } catch (thrown) {
        stopped = true;
        throw thrown;
      }
    });
  const listed = { ...opts, onError };
  const each = <T>(list: () => T[]): T[] => {
    try {
      return list();
    } catch (error) {
      if (stopped || !(error instanceof PodmanError || error instanceof DockerError)) throw error;
      if (onError) onError(error);
      else process.emitWarning(error.message, { type: error.name.replace(/Error$/, 'Warning'), code: error.code });
      return [];
    }
  };
  return [
    ...each(() => podmanStore.containers(listed)).map((c) => row('podman', c, c.pid !== null)),
    ...each(() => dockerStore.containers(listed)).map((c) => row('docker', c, c.running)),
  ];
}

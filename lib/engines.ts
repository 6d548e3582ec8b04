/**
 * One entry point over every engine, for programs that do not care which
 * one a user runs: the containers of rootless or rootful podman and Docker,
 * each row saying which engine it came from.
 */
import { checkEngineOptions } from './engine/arguments';
import { inspectedUid, type UserOptions } from './engine/users';
import * as dockerStore from './docker/store';
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
  /** Where the engine mounts its overlay while it runs. */
  mergedDir: string;
  /** Its rw layer's diff dir: what it changed. */
  upperDir: string;
  /** overlayfs's work dir of its rw layer. */
  workDir: string;
  /** top first */
  lowerDirs: string[];
}

/** Whose engines to look at: a uid (0 = rootful), and that user's environment and home. */
export type EnginesOptions = UserOptions;

const KEYS = { options: ['uid', 'env', 'home'], paths: ['home'] };

/**
 * The containers of every engine the user has (podman's storage, Docker's
 * data root, at their default places for that user or where the user's
 * storage.conf and daemon.json move them), podman's first. An engine with
 * no storage gives none; errors reading one that has (another user's, an
 * unsupported driver) are thrown as that engine's error.  A container whose
 * records cannot be read is left out with a process warning (the engines'
 * own containers() take an onError).
 */
export function containers(options?: EnginesOptions): EngineContainer[] {
  const opts = checkEngineOptions<UserOptions>(KEYS, options, 'containers');
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
  return [
    ...podmanStore.containers(opts).map((c) => row('podman', c, c.pid !== null)),
    ...dockerStore.containers(opts).map((c) => row('docker', c, c.running)),
  ];
}

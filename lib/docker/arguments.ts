/**
 * The checks of docker.*'s arguments, made once where the public functions
 * are (lib/docker/index.ts): the discovery modules behind them trust what they get.
 */
import { engineCheckers } from '../engine/arguments';
import type { DockerOptions } from './config';
import type { DockerDiffOptions, DockerExportOptions } from './layers';
import type { DockerSessionOptions } from './session';
import type { DockerListOptions } from './store';

export const {
  options: checkDockerOptions,
  list: checkListOptions,
  session: checkSessionOptions,
  diff: checkDiffOptions,
  export: checkExportOptions,
} = engineCheckers<DockerOptions, DockerSessionOptions, DockerDiffOptions, DockerExportOptions, DockerListOptions>({
  options: ['uid', 'env', 'home', 'daemonConfig', 'dataRoot', 'runtimeDir', 'pidFile'],
  paths: ['home', 'daemonConfig', 'dataRoot', 'runtimeDir', 'pidFile'],
});

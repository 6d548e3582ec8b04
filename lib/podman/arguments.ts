/**
 * The checks of podman.*'s arguments, made once where the public functions
 * are (lib/podman/index.ts): the discovery modules behind them trust what they get.
 */
import { engineCheckers } from '../engine/arguments';
import type { PodmanOptions } from './config';
import type { PodmanDiffOptions, PodmanExportOptions } from './layers';
import type { PodmanSessionOptions } from './session';
import type { PodmanListOptions } from './store';

export const {
  options: checkPodmanOptions,
  list: checkListOptions,
  session: checkSessionOptions,
  diff: checkDiffOptions,
  export: checkExportOptions,
} = engineCheckers<PodmanOptions, PodmanSessionOptions, PodmanDiffOptions, PodmanExportOptions, PodmanListOptions>({
  options: ['uid', 'env', 'home', 'storageConf', 'graphRoot', 'runRoot', 'runtimeDir'],
  paths: ['home', 'storageConf', 'graphRoot', 'runRoot', 'runtimeDir'],
});

/**
 * Podman discovery: where rootless and rootful podman keep their containers,
 * layers and pause process, read from podman's own files (no podman binary).
 * Re-exported by the package entry point as the namespace `podman`.
 *
 * Error codes (PodmanError.code): ENOPODMAN, EPODMANSTALE, EPODMANROOTFUL,
 * ENOCONTAINER, EPODMANAMBIGUOUS, ENOLAYER, EPODMANSTORAGE, EPODMANDRIVER,
 * EPODMANACCESS, ECONTAINERSTOPPED, ENOIMAGE, EPODMANLAYERS —
 * see lib/podman/errors.ts.
 */
export { PodmanError, isErrno } from './podman/errors';
export type { PodmanErrorCode, PodmanErrorDetails } from './podman/errors';
export { parseTomlStrings } from './podman/toml';
export type { TomlStrings } from './podman/toml';
export {
  storageConfig,
  storageConfPath,
  readStorageConf,
  runtimeDir,
  homeDir,
  currentUid,
  userEnv,
  SYSTEM_STORAGE_CONF,
  DEFAULT_STORAGE_CONF,
  ROOTFUL_GRAPHROOT,
  ROOTFUL_RUNROOT,
} from './podman/config';
export type { PodmanOptions, StorageConfig } from './podman/config';
export { pausePid, pausePidFile, isPauseProcess, processAlive, parsePid } from './podman/pause';
export { containers, container, layers, layerChain } from './podman/store';
export type { PodmanContainer, PodmanLayer } from './podman/store';
export { images, image } from './podman/store';
export type { PodmanImage } from './podman/store';
export { enterStorage, enterContainer, enterMerged, mountContainer, mountImage, OVERLAY_MAX_LAYERS } from './podman/session';
export type { PodmanSessionOptions, MountedLayers } from './podman/session';

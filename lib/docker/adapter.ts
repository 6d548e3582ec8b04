/**
 * Docker as lib/engine/ uses it: its data root, the rootless dockerd that
 * holds its mounts (in RootlessKit's namespaces), its containers, images
 * and overlay2 layer chains.
 */
import type { EngineAdapter } from '../engine/adapter';
import { storageConfig, type DockerOptions } from './config';
import { daemonPid } from './daemon';
import { dockerErrors } from './errors';
import { container, image, layerChain, type DockerContainer, type DockerImage } from './store';
import { volumes, volumesDir } from './volumes';

export const dockerAdapter: EngineAdapter<DockerOptions, DockerContainer, DockerImage> = {
  name: 'Docker',
  optionKeys: {
    options: ['uid', 'env', 'home', 'daemonConfig', 'dataRoot', 'runtimeDir', 'pidFile'],
    paths: ['home', 'daemonConfig', 'dataRoot', 'runtimeDir', 'pidFile'],
  },
  fail: dockerErrors,
  storage: (options) => {
    const cfg = storageConfig(options);
    // Only overlay2 is read (store.ts refuses the others).
    return { rootless: cfg.rootless, dir: cfg.dataRoot, layout: 'overlay' };
  },
  // Rootful dockerd mounts in the host's namespaces.
  storageProcess: (options) => {
    const cfg = storageConfig(options);
    if (!cfg.rootless) return null;
    return { pid: daemonPid(options), what: `rootless dockerd of uid ${cfg.uid}` };
  },
  enginePid: daemonPid,
  container,
  image,
  layerChain,
  volumesDir,
  volumes,
  // Docker mounts a container's merged dir exactly while it runs.
  notMounted: 'is not running',
  // `docker diff` takes containers only; their init layer, below the rw
  // layer, holds what Docker prepares in every container: nothing is left out.
  // overlay2 only: Docker's fuse-overlayfs driver is refused (EDOCKERDRIVER).
  layerFormat: () => 'overlay',
  diffImages: false,
  diffSkips: new Set<string>(),
};

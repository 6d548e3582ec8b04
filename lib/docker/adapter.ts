/**
 * Docker as lib/engine/ uses it: its data root, the rootless dockerd that
 * holds its mounts (in RootlessKit's namespaces), its containers, images
 * and layer chains (overlay2, fuse-overlayfs, vfs).
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
    // overlay2, fuse-overlayfs and vfs are read (store.ts refuses the others).
    return { rootless: cfg.rootless, dir: cfg.dataRoot, layout: cfg.driver === 'vfs' ? 'vfs' : 'overlay' };
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
  // The fuse-overlayfs driver's layers hold fuse-overlayfs's markers
  // (`.wh.` files, `.wh..wh..opq`), and `docker diff` compares its mounted
  // trees (Docker's naive diff), as containers/storage does for a mount_program.
  layerFormat: (options) => (storageConfig(options).driver === 'fuse-overlayfs' ? 'fuse-overlayfs' : 'overlay'),
  diffImages: false,
  diffSkips: new Set<string>(),
};

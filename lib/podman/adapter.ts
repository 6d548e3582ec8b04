/**
 * Podman as lib/engine/ uses it: its storage (graphroot), the pause process
 * that holds its mounts (rootless), its store's containers, images and
 * layer chains, and what `podman diff` leaves out.
 */
import * as path from 'node:path';

import type { EngineAdapter } from '../engine/adapter';
import { readStorageText } from '../engine/storage';
import type { LayerFormat } from '../layers/diff';
import { currentUid, storageConfig, type PodmanOptions } from './config';
import { podmanErrors } from './errors';
import { pausePid } from './pause';
import { container, image, layerChain, type PodmanContainer, type PodmanImage } from './store';
import { volumes, volumesDir } from './volumes';

/**
 * What podman leaves out of every diff, a container's or an image's: the
 * paths it mounts or writes itself in every container (libpod's list;
 * exact paths, not what is under them).
 */
const RUNTIME_PATHS = new Set([
  '/dev',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/mtab',
  '/etc/resolv.conf',
  '/proc',
  '/run',
  '/run/.containerenv',
  '/run/notify',
  '/run/secrets',
  '/sys',
]);

/**
 * Whose markers the store's layers hold: fuse-overlayfs's where
 * storage.conf names a mount_program, or where containers-storage marked
 * the store as one a mount program runs for (`overlay/.has-mount-program`
 * "true": written once one ran there; containers-storage then mounts the
 * store with fuse-overlayfs whatever storage.conf says, as it does where
 * the kernel's overlay cannot mount); the kernel overlay's otherwise.
 */
export function podmanLayerFormat(options: PodmanOptions): LayerFormat {
  const cfg = storageConfig(options);
  // Only the overlay driver runs a mount_program (vfs layers are whole trees).
  if (cfg.driver !== 'overlay') return 'overlay';
  if (cfg.mountProgram !== null) return 'fuse-overlayfs';
  const flag = path.join(cfg.graphRoot, 'overlay', '.has-mount-program');
  const text = readStorageText(flag, true, 'podman', podmanErrors, cfg.graphRoot);
  return text?.trim() === 'true' ? 'fuse-overlayfs' : 'overlay';
}

export const podmanAdapter: EngineAdapter<PodmanOptions, PodmanContainer, PodmanImage> = {
  name: 'podman',
  optionKeys: {
    options: ['uid', 'env', 'home', 'storageConf', 'graphRoot', 'runRoot', 'runtimeDir'],
    paths: ['home', 'storageConf', 'graphRoot', 'runRoot', 'runtimeDir'],
  },
  fail: podmanErrors,
  storage: (options) => {
    const cfg = storageConfig(options);
    // overlay and vfs are read (store.ts refuses the others).
    return { rootless: cfg.rootless, dir: cfg.graphRoot, layout: cfg.driver === 'vfs' ? 'vfs' : 'overlay' };
  },
  // Rootful podman mounts in the host's namespaces; root's podman with a
  // runtime dir of its own is a rootless one, with a pause process.
  storageProcess: (options) => {
    const uid = currentUid(options);
    if (uid === 0 && !options.runtimeDir) return null;
    return { pid: pausePid(options), what: `podman's pause process for uid ${uid}` };
  },
  enginePid: pausePid,
  container,
  image,
  layerChain,
  volumesDir,
  volumes,
  // containers/storage runs any mount_program in place of the kernel's
  // overlay; fuse-overlayfs is the one there is.
  layerFormat: podmanLayerFormat,
  notMounted: 'is not running (its layer is not mounted)',
  diffImages: true,
  diffSkips: RUNTIME_PATHS,
};

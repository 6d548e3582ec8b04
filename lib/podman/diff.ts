// podman diff, read from podman's storage instead of asked of a podman
// process: the container's (or image's) top layer against the layers below
// it, walked in the namespaces that own them (enterStorage).
import type { LayerChange } from '../diff';
import type { PodmanOptions } from './config';
import { PodmanError } from './errors';
import { enterStorage } from './session';
import { container, image, layerChain } from './store';

export interface PodmanDiffOptions extends PodmanOptions {
  /** Stops the diff. */
  signal?: AbortSignal;
}

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

/** The changes `podman diff nameOrId` lists: a container against its image, or an image's top layer against its parents. */
export async function diff(nameOrId: string, options: PodmanDiffOptions = {}): Promise<LayerChange[]> {
  const { signal, ...podmanOptions } = options;
  let layer: string;
  try {
    layer = container(nameOrId, podmanOptions).layer;
  } catch (error) {
    if (!(error instanceof PodmanError) || error.code !== 'ENOCONTAINER') throw error;
    try {
      layer = image(nameOrId, podmanOptions).layer;
    } catch (imageError) {
      if (imageError instanceof PodmanError && imageError.code === 'ENOIMAGE') throw error;
      throw imageError;
    }
  }
  const [upper, ...lowers] = layerChain(layer, podmanOptions);
  const session = await enterStorage(podmanOptions);
  try {
    const changes = await session.diffLayers(upper!, lowers, { signal });
    return changes.filter((change) => !RUNTIME_PATHS.has(change.path));
  } finally {
    await session.close();
  }
}

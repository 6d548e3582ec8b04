/**
 * docker diff and docker export, read from Docker's storage instead of
 * asked of the daemon (the shared code in lib/engine/layers.ts does the
 * walking): layers in the namespaces that own them (enterStorage), a
 * container's files through its merged dir (running) or its layers
 * mounted in a namespace of our own (stopped).
 */
import type { Readable } from 'node:stream';

import type { LayerChange } from '../layers/diff';
import { diffChain, exportContainerFiles, exportUpper } from '../engine/layers';
import type { ExportOptions } from '../layers/export';
import type { DockerOptions } from './config';
import { DockerError } from './errors';
import { enterMerged, enterStorage, mountContainer } from './session';
import { container, image, layerChain } from './store';

export interface DockerDiffOptions extends DockerOptions {
  /** Stops the diff. */
  signal?: AbortSignal;
}

export interface DockerExportOptions extends DockerOptions, ExportOptions {}

/** Docker leaves nothing out: its init layer, below the rw layer, holds what it prepares in every container. */
const NOTHING = new Set<string>();

/**
 * What `docker diff nameOrId` lists, without the daemon: the container's
 * rw layer against its init layer and its image's layers.
 */
export async function diff(nameOrId: string, options: DockerDiffOptions = {}): Promise<LayerChange[]> {
  const { signal, ...dockerOptions } = options;
  const chain = layerChain(container(nameOrId, dockerOptions).layer, dockerOptions);
  return diffChain(chain, () => enterStorage(dockerOptions), NOTHING, signal);
}

/**
 * What `docker export nameOrId` writes: the container's files as a tar,
 * through its merged dir while it runs, through its layers mounted in a
 * namespace of our own once it has stopped.
 */
export function exportContainer(nameOrId: string, options: DockerExportOptions = {}): Readable {
  const { signal, xattrs, ...dockerOptions } = options;
  return exportContainerFiles(
    {
      find: () => container(nameOrId, dockerOptions),
      enterMerged: (id) => enterMerged(id, dockerOptions),
      mount: (id) => mountContainer(id, dockerOptions),
    },
    { signal, xattrs },
  );
}

/** The top layer dir of a container (its rw layer), else of an image (ENOCONTAINER when neither has the name). */
function topLayer(nameOrId: string, options: DockerOptions): string {
  try {
    return container(nameOrId, options).layer;
  } catch (error) {
    if (!(error instanceof DockerError) || error.code !== 'ENOCONTAINER') throw error;
    try {
      const img = image(nameOrId, options);
      if (img.layer !== '') return img.layer;
    } catch (imageError) {
      if (!(imageError instanceof DockerError) || imageError.code !== 'ENOIMAGE') throw imageError;
    }
    throw error;
  }
}

/**
 * A container's changes (or an image's top layer) as an OCI layer tar: its
 * upper dir through exportDiff, whiteouts and opaque directories as `.wh.` entries.
 */
export function exportLayer(nameOrId: string, options: DockerExportOptions = {}): Readable {
  const { signal, xattrs, ...dockerOptions } = options;
  return exportUpper(() => layerChain(topLayer(nameOrId, dockerOptions), dockerOptions)[0]!, () => enterStorage(dockerOptions), { signal, xattrs });
}

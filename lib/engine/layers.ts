/**
 * diff and export over any engine's layers, read from its storage instead
 * of asked of the engine: layers walked in the namespaces that own them
 * (enterStorage), a container's files through its merged dir while it is
 * mounted, through its layers mounted in a namespace of our own once not.
 * vfs layers (each a whole tree) are diffed tree against tree.
 */
import { PassThrough, pipeline, type Readable } from 'node:stream';

import type { LayerChange } from '../layers/diff';
import type { ExportOptions } from '../layers/export';
import { naiveDiff } from '../layers/naive-diff';
import type { Session } from '../ns/session';
import type { EngineAdapter } from './adapter';
import { EngineError } from './errors';
import { mountContainer } from './mount';
import { enterMerged, enterStorage } from './session';

/** True for the engine's error with this code. */
function isEngineError(error: unknown, code: string): boolean {
  return error instanceof EngineError && error.code === code;
}

/**
 * The top layer of a container, else (where the engine diffs images) of an
 * image: the container's ENOCONTAINER when neither has the name, or the
 * image has no layer.
 */
function topLayer<O extends object>(adapter: EngineAdapter<O>, nameOrId: string, options: O, images: boolean): string {
  try {
    return adapter.container(nameOrId, options).layer;
  } catch (error) {
    if (!images || !isEngineError(error, 'ENOCONTAINER')) throw error;
    try {
      const img = adapter.image(nameOrId, options);
      if (img.layer !== '') return img.layer;
    } catch (imageError) {
      if (!isEngineError(imageError, 'ENOIMAGE')) throw imageError;
    }
    throw error;
  }
}

/**
 * The changes the engine's own diff lists: a container's rw layer against
 * the layers below it (or an image's top layer, where the engine diffs
 * images), less the paths the engine leaves out (adapter.diffSkips).
 */
export async function diff<O extends object>(
  adapter: EngineAdapter<O>,
  nameOrId: string,
  options: O & { signal?: AbortSignal },
): Promise<LayerChange[]> {
  const { signal, ...rest } = options;
  const engineOptions = rest as unknown as O;
  const chain = adapter.layerChain(topLayer(adapter, nameOrId, engineOptions, adapter.diffImages), engineOptions);
  const changes =
    adapter.storage(engineOptions).layout === 'vfs'
      ? await vfsDiff(adapter, chain[0]!, chain[1] ?? null, engineOptions, signal)
      : await overlayDiff(adapter, chain, engineOptions, signal);
  const skip = adapter.diffSkips;
  return skip.size === 0 ? changes : changes.filter((change) => !skip.has(change.path));
}

/** An overlay layer's upper dir against the diff dirs below it, in the storage namespaces. */
async function overlayDiff<O extends object>(
  adapter: EngineAdapter<O>,
  chain: string[],
  options: O,
  signal: AbortSignal | undefined,
): Promise<LayerChange[]> {
  const [upper, ...lowers] = chain;
  const session = await enterStorage(adapter, options);
  try {
    return await session.diffLayers(upper!, lowers, { signal, format: adapter.layerFormat(options) });
  } finally {
    await session.close();
  }
}

/**
 * A vfs layer's tree against its parent's (none: a base layer, all of it
 * added), each walked in a storage session rooted in it, so that what a
 * container made of its own tree (a directory swapped for a symlink) never
 * leads the walk out of it.
 */
async function vfsDiff<O extends object>(
  adapter: EngineAdapter<O>,
  layerDir: string,
  parentDir: string | null,
  options: O,
  signal: AbortSignal | undefined,
): Promise<LayerChange[]> {
  const layer = await enterStorage(adapter, { ...options, root: layerDir });
  try {
    const parent = parentDir === null ? null : await enterStorage(adapter, { ...options, root: parentDir });
    try {
      return await naiveDiff({ source: layer, root: '/' }, parent && { source: parent, root: '/' }, { signal });
    } finally {
      await parent?.close();
    }
  } finally {
    await layer.close();
  }
}

/**
 * A Readable that `open` fills once it has a session: the tar comes from
 * `open`'s stream and the session closes when that ends, fails or is
 * destroyed.  Errors of `open` itself come out as the stream's error.
 */
export function streamOnce(open: () => Promise<{ stream: Readable; close: () => Promise<void> }>): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  open().then(
    ({ stream, close }) => {
      if (out.destroyed) {
        stream.destroy();
        void close().catch(() => undefined);
        return;
      }
      pipeline(stream, out, () => void close().catch(() => undefined));
    },
    (error: Error) => out.destroy(error),
  );
  return out;
}

/** The engine's options without the export's own. */
function withoutExportOptions<O extends object>(options: O & ExportOptions): { engineOptions: O; exportOptions: ExportOptions } {
  const { signal, xattrs, onProgress, ...rest } = options;
  return { engineOptions: rest as unknown as O, exportOptions: { signal, xattrs, onProgress } };
}

/**
 * What the engine's export writes: the container's files as a tar,
 * through its merged dir while it is mounted (as the engine exports it,
 * with the empty files it mounts /etc/hosts and the like on), through its
 * layers mounted in a namespace of our own once not.
 */
export function exportContainer<O extends object>(adapter: EngineAdapter<O>, nameOrId: string, options: O & ExportOptions): Readable {
  const { engineOptions, exportOptions } = withoutExportOptions(options);
  return streamOnce(async () => {
    const c = adapter.container(nameOrId, engineOptions);
    let session: Session;
    let close: () => Promise<void>;
    if (c.mounted) {
      const merged = await enterMerged(adapter, c.id, engineOptions);
      session = merged;
      close = () => merged.close();
    } else {
      const mounted = await mountContainer(adapter, c.id, engineOptions);
      session = mounted.session;
      close = () => mounted.close();
    }
    return { stream: session.exportTar('/', exportOptions), close };
  });
}

/**
 * A container's changes (or an image's top layer) as an OCI layer tar: its
 * upper dir through exportDiff in the storage namespaces, whiteouts and
 * opaque directories as `.wh.` entries.  Overlay layouts only: a vfs
 * layer's dir is a whole tree, not its changes (the engine's `driver`
 * failure).
 */
export function exportLayer<O extends object>(adapter: EngineAdapter<O>, nameOrId: string, options: O & ExportOptions): Readable {
  const { engineOptions, exportOptions } = withoutExportOptions(options);
  return streamOnce(async () => {
    if (adapter.storage(engineOptions).layout === 'vfs') {
      throw adapter.fail(
        'driver',
        `exportLayer reads an overlay layer's upper dir; a vfs layer's dir is a whole tree, not its changes (use diff(), or exportContainer())`,
      );
    }
    const upper = adapter.layerChain(topLayer(adapter, nameOrId, engineOptions, true), engineOptions)[0]!;
    const format = adapter.layerFormat(engineOptions);
    const session = await enterStorage(adapter, engineOptions);
    return { stream: session.exportDiff(upper, { ...exportOptions, format }), close: () => session.close() };
  });
}

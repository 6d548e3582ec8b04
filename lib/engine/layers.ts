/**
 * diff and export over any engine's layers: the front end finds the layer
 * dirs and the sessions (podman's or Docker's), this does the rest once.
 */
import { PassThrough, pipeline, type Readable } from 'node:stream';

import type { LayerChange } from '../layers/diff';
import type { ExportOptions } from '../layers/export';
import type { Session } from '../ns/session';

/** A session and what ends it. */
interface OpenFiles {
  session: Session;
  close: () => Promise<void>;
}

/**
 * The changes of the top dir of `chain` (diff dirs, top first) against the
 * ones below it, read in the engine's storage namespaces; less the exact
 * paths in `skip` (what the engine leaves out of its own diff).
 */
export async function diffChain(
  chain: readonly string[],
  enterStorage: () => Promise<Session>,
  skip: ReadonlySet<string>,
  signal: AbortSignal | undefined,
): Promise<LayerChange[]> {
  const [upper, ...lowers] = chain;
  const session = await enterStorage();
  try {
    const changes = await session.diffLayers(upper!, lowers, { signal });
    return skip.size === 0 ? changes : changes.filter((change) => !skip.has(change.path));
  } finally {
    await session.close();
  }
}

/**
 * A Readable that `open` fills once it has a session: the tar comes from
 * `open`'s stream and the session closes when that ends, fails or is
 * destroyed.  Errors of `open` itself come out as the stream's error.
 */
function streamOnce(open: () => Promise<{ stream: Readable; close: () => Promise<void> }>): Readable {
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

/** How a front end reaches a container's files. */
export interface ContainerFiles {
  /** The container: its id, and whether its merged dir is mounted now. */
  find: () => { id: string; mounted: boolean };
  /** A session rooted in its merged dir (while mounted). */
  enterMerged: (id: string) => Promise<Session>;
  /** Its layers mounted read-only in a namespace of our own. */
  mount: (id: string) => Promise<{ session: Session; close: () => Promise<void> }>;
}

/**
 * A container's files as a tar: through its merged dir while it runs,
 * through its layers mounted in a namespace of our own once stopped.
 */
export function exportContainerFiles(files: ContainerFiles, options: ExportOptions): Readable {
  return streamOnce(async () => {
    const c = files.find();
    let open: OpenFiles;
    if (c.mounted) {
      const session = await files.enterMerged(c.id);
      open = { session, close: () => session.close() };
    } else {
      const mounted = await files.mount(c.id);
      open = { session: mounted.session, close: () => mounted.close() };
    }
    return { stream: open.session.exportTar('/', options), close: open.close };
  });
}

/**
 * A layer as an OCI layer tar: the upper dir `upper()` names, through
 * exportDiff in the storage namespaces; whiteouts and opaque directories
 * as `.wh.` entries.
 */
export function exportUpper(upper: () => string, enterStorage: () => Promise<Session>, options: ExportOptions): Readable {
  return streamOnce(async () => {
    const dir = upper();
    const session = await enterStorage();
    return { stream: session.exportDiff(dir, options), close: () => session.close() };
  });
}

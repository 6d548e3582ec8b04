// A directory tree as a tar stream, read through a session: the walker's
// entries and stats, each file's bytes from the worker, assembled into tar
// blocks in order while the next entries' bytes are already on their way.
import { Readable } from 'node:stream';

import { isOpaque } from './diff';
import type { Entry, EntryType } from './entry';
import { abortError, type FsError } from './errors';
import { destroyOnAbort } from './read-stream';
import type { BigIntStats, Stats } from './stats';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader, type TarType } from './tar';

export interface ExportOptions {
  /** Stops the stream (it is destroyed with an AbortError). */
  signal?: AbortSignal;
  /** Read each entry's extended attributes into the archive (SCHILY.xattr.*). Default true. */
  xattrs?: boolean;
}

/** What the export needs of a FileSystem. */
export interface ExportSource {
  walk(
    root: string,
    options: { stat: true; encoding: 'buffer'; signal?: AbortSignal; onError: (error: FsError) => void },
  ): AsyncIterable<Entry<Buffer, Stats | BigIntStats>>;
  readlink(path: Buffer, options: { encoding: 'buffer'; signal?: AbortSignal }): Promise<Buffer>;
  xattrs(path: Buffer, options: { signal?: AbortSignal }): Promise<Map<string, Buffer>>;
  /**
   * A file's bytes, read only if what is opened is a regular file: one
   * swapped for a FIFO or a device since the walk reads as empty at once
   * (never waited on), and comes out zero-filled.
   */
  readRegular(path: Buffer, signal: AbortSignal | undefined): Promise<Buffer>;
  /** The same, streamed: its first `size` bytes. */
  streamRegular(path: Buffer, size: number, signal: AbortSignal | undefined): Readable;
}

/** Entries prepared ahead of the one being written: their reads overlap. */
const WINDOW = 64;
/** Files up to this size come in one read; larger ones stream. */
const WHOLE_FILE = 1 << 20;

const TAR_TYPE: Partial<Record<EntryType, TarType>> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  fifo: 'fifo',
  'char-device': 'char-device',
  'block-device': 'block-device',
};

/** Overlay's own markers: what a layer means, not what its files carry. */
const isOverlayXattr = (name: string): boolean => name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');

interface Prepared {
  blocks: Buffer[];
  /** A large file's bytes, streamed when its turn comes. */
  stream?: { path: Buffer; size: number };
}

function major(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
}

/** `size` bytes: what was read, cut or padded with zeros (a file that changed size since its stat, as GNU tar pads). */
function fit(bytes: Buffer, size: number): Buffer {
  if (bytes.length === size) return bytes;
  if (bytes.length > size) return bytes.subarray(0, size);
  return Buffer.concat([bytes, Buffer.alloc(size - bytes.length)]);
}

/**
 * The tar of the tree under `root` (not `root` itself), names relative to
 * it.  With `layer`, an overlay upper dir exported as an OCI layer: a
 * whiteout device becomes `.wh.<name>`, an opaque directory gains
 * `<dir>/.wh..wh..opq`, overlay's xattrs stay out.
 */
export function exportTar(fs: ExportSource, root: string, options: ExportOptions & { layer?: boolean } = {}): Readable {
  const { signal, xattrs: withXattrs = true, layer = false } = options;
  const top = Buffer.from(root.endsWith('/') ? root : `${root}/`);
  const firstNames = new Map<string, Buffer>(); // dev:ino of hard-linked files, first name

  /** An entry gone between the walk and its reads (a running container changes) is left out, as tar leaves it. */
  const prepare = (entry: Entry<Buffer, Stats | BigIntStats>): Promise<Prepared | null> =>
    prepareEntry(entry).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });

  const prepareEntry = async (entry: Entry<Buffer, Stats | BigIntStats>): Promise<Prepared | null> => {
    const st = entry.stats!;
    const name = entry.path.subarray(top.length);
    const type = TAR_TYPE[entry.type];
    if (type === undefined) return null; // sockets: tar has no type for them
    const rdev = Number(st.rdev);
    // A hard link names the first of its names: claimed before any await,
    // in walk order, so that the first is also written first.
    let linkTo: Buffer | undefined;
    if (type === 'file' && Number(st.nlink) > 1) {
      const key = `${st.dev}:${st.ino}`;
      linkTo = firstNames.get(key);
      if (linkTo === undefined) firstNames.set(key, name);
    }
    const xattrs = withXattrs || layer ? await fs.xattrs(entry.path, { signal }) : new Map<string, Buffer>();
    const kept = new Map([...xattrs].filter(([key]) => withXattrs && !isOverlayXattr(key)));
    const header: TarHeader = {
      name,
      type,
      mode: Number(st.mode) & 0o7777,
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtime: { seconds: Math.floor(Number(st.mtimeMs) / 1000), nanoseconds: 0 },
      xattrs: kept,
    };
    const blocks: Buffer[] = [];
    if (layer && type === 'char-device' && rdev === 0) {
      const slash = name.lastIndexOf(0x2f);
      header.name = Buffer.concat([name.subarray(0, slash + 1), Buffer.from('.wh.'), name.subarray(slash + 1)]);
      header.type = 'file';
      header.xattrs = new Map();
      return { blocks: [encodeHeader(header)] };
    }
    if (linkTo !== undefined) {
      header.type = 'link';
      header.linkName = linkTo;
      return { blocks: [encodeHeader(header)] };
    }
    if (type === 'symlink') header.linkName = await fs.readlink(entry.path, { encoding: 'buffer', signal });
    if (type === 'char-device' || type === 'block-device') {
      header.devMajor = major(rdev);
      header.devMinor = minor(rdev);
    }
    if (type === 'file') {
      header.size = Number(st.size);
      blocks.push(encodeHeader(header));
      if (header.size > WHOLE_FILE) return { blocks, stream: { path: entry.path, size: header.size } };
      if (header.size > 0) {
        blocks.push(fit(await fs.readRegular(entry.path, signal), header.size), padding(header.size));
      }
      return { blocks };
    }
    blocks.push(encodeHeader(header));
    if (type === 'directory' && layer && isOpaque(xattrs)) {
      blocks.push(encodeHeader({ ...header, name: Buffer.concat([name, Buffer.from('/.wh..wh..opq')]), type: 'file', mode: 0, xattrs: new Map() }));
    }
    return { blocks };
  };

  async function* archive(): AsyncGenerator<Buffer> {
    const window: Promise<Prepared | null>[] = [];
    const drain = async function* (prepared: Prepared | null): AsyncGenerator<Buffer> {
      if (prepared === null) return;
      yield* prepared.blocks;
      if (prepared.stream !== undefined) {
        const { path, size } = prepared.stream;
        let sent = 0;
        try {
          for await (const chunk of fs.streamRegular(path, size, signal) as AsyncIterable<Buffer>) {
            sent += chunk.length;
            yield chunk;
          }
        } catch (error) {
          // Its header is out: a file gone, or no longer a file, is zeros, as tar pads it.
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTREGULAR') throw error;
        }
        if (sent < size) yield Buffer.alloc(size - sent);
        yield padding(size);
      }
    };
    // Entries gone while the walk runs are left out; any other error ends the archive.
    let walkError: FsError | undefined;
    const onError = (error: FsError): void => {
      if (error.code !== 'ENOENT') walkError ??= error;
    };
    try {
      for await (const entry of fs.walk(root, { stat: true, encoding: 'buffer', signal, onError })) {
        if (walkError !== undefined) throw walkError;
        const prepared = prepare(entry);
        prepared.catch(() => undefined); // awaited in turn below
        window.push(prepared);
        if (window.length >= WINDOW) yield* drain(await window.shift()!);
      }
      if (walkError !== undefined) throw walkError;
      while (window.length > 0) yield* drain(await window.shift()!);
      yield END_OF_ARCHIVE;
    } finally {
      // Settle what is still in flight before the stream ends.
      await Promise.allSettled(window);
    }
  }

  const stream = Readable.from(archive(), { objectMode: false, highWaterMark: 1 << 20 });
  if (signal !== undefined) {
    const onAbort = (): void => void stream.destroy(abortError(signal));
    destroyOnAbort(stream, signal, onAbort);
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return stream;
}

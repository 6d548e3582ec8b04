// A directory tree as a tar stream.  The archive is made in the server
// (native/core/tar.cc): its walker reads each entry and packs headers and
// bytes into data frames, sent only as the stream is consumed, so the
// stream costs one request whatever the tree holds.
import type { ProgressOptions } from '../core/progress';
import { TarFlag } from '../wire/protocol';
import type { LayerFormat } from './diff';
import { TarCounter } from './tar-count';

/**
 * Options of FileSystem#exportTar and FileSystem#exportDiff.  `onProgress`
 * counts the archive's members (a whiteout and an opaque marker are
 * members too) and their file bytes, as the server sends them.
 */
export interface ExportOptions extends ProgressOptions {
  /** Stops the stream (it is destroyed with an AbortError). */
  signal?: AbortSignal;
  /** Read each entry's extended attributes into the archive (SCHILY.xattr.*). Default true. */
  xattrs?: boolean;
}

/** Options of FileSystem#exportDiff. */
export interface LayerExportOptions extends ExportOptions {
  /**
   * Whose markers the upper dir holds (see LayerFormat); default 'overlay'.
   * fuse-overlayfs's are written as OCI whiteouts and opaque markers, never
   * as they are.
   */
  format?: LayerFormat;
}

/** Data frames of a tar stream (the stream's highWaterMark too): four of them run ahead of the consumer. */
export const TAR_CHUNK = 256 * 1024;

/** A tar stream's observer that tells `ticker` its members and file bytes. */
export function tarProgress(ticker: { add(entries: number, bytes: number): void; end(): void }): {
  data(bytes: Buffer): void;
  end(): void;
} {
  const counter = new TarCounter();
  return {
    data(bytes) {
      const { entries, bytes: fileBytes } = counter.push(bytes);
      ticker.add(entries, fileBytes);
    },
    end: () => ticker.end(),
  };
}

/** A tar request's flags. */
export function tarFlags(xattrs: boolean, layer: boolean, format: LayerFormat = 'overlay'): number {
  return (xattrs ? TarFlag.Xattrs : 0) | (layer ? TarFlag.Layer : 0) | (layer && format === 'fuse-overlayfs' ? TarFlag.FuseOverlayfs : 0);
}

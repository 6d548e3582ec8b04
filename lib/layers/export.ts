// A directory tree as a tar stream.  The archive is made in the server
// (native/core/tar.cc): its walker reads each entry and packs headers and
// bytes into data frames, sent only as the stream is consumed, so the
// stream costs one request whatever the tree holds.
import { TarFlag } from '../wire/protocol';
import type { LayerFormat } from './diff';

/** Options of FileSystem#exportTar and FileSystem#exportDiff. */
export interface ExportOptions {
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

/** A tar request's flags. */
export function tarFlags(xattrs: boolean, layer: boolean, format: LayerFormat = 'overlay'): number {
  return (xattrs ? TarFlag.Xattrs : 0) | (layer ? TarFlag.Layer : 0) | (layer && format === 'fuse-overlayfs' ? TarFlag.FuseOverlayfs : 0);
}

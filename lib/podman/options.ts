/** The options and results of podman's sessions, mounts, diff and export, as the shared engine code gives them. */
import type { MountedLayers as EngineMountedLayers } from '../engine/mount';
import type { ProgressOptions } from '../core/progress';
import type { ExportOptions } from '../layers/export';
import type { PodmanOptions } from './config';
import type { PodmanContainer, PodmanImage } from './store';

export interface PodmanSessionOptions extends PodmanOptions {
  /**
   * Resolve every path inside this directory of the namespace (an absolute
   * path there), as a container would: see EnterOptions.root.
   */
  root?: string;
}

export interface PodmanDiffOptions extends PodmanOptions {
  /** Stops the diff. */
  signal?: AbortSignal;
}

export interface PodmanExportOptions extends PodmanOptions, ExportOptions {}

/** Options of importVolume: `onProgress` counts entries made and file bytes written (FileSystem#extractTar's). */
export interface PodmanImportOptions extends PodmanDiffOptions, ProgressOptions {}

/** Layers stacked read-only in a namespace of our own; close() ends it all. */
export type MountedLayers = EngineMountedLayers<PodmanContainer, PodmanImage>;

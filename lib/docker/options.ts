/** The options and results of Docker's sessions, mounts, diff and export, as the shared engine code gives them. */
import type { MountedLayers as EngineMountedLayers } from '../engine/mount';
import type { ProgressOptions } from '../core/progress';
import type { ExportOptions } from '../layers/export';
import type { DockerOptions } from './config';
import type { DockerContainer, DockerImage } from './store';

export interface DockerSessionOptions extends DockerOptions {
  /**
   * Resolve every path inside this directory of the namespace (an absolute
   * path there), as a container would: see EnterOptions.root.
   */
  root?: string;
}

/** Layers stacked read-only in a namespace of our own; close() ends it all. */
export type MountedLayers = EngineMountedLayers<DockerContainer, DockerImage>;

export interface DockerDiffOptions extends DockerOptions {
  /** Stops the diff. */
  signal?: AbortSignal;
}

export interface DockerExportOptions extends DockerOptions, ExportOptions {}

/** Options of importVolume: `onProgress` counts entries made and file bytes written (FileSystem#extractTar's). */
export interface DockerImportOptions extends DockerDiffOptions, ProgressOptions {}

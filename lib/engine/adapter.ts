/**
 * What an engine (podman, Docker) must provide for the shared code of
 * lib/engine/ to enter its namespaces, mount its layers, diff and export
 * them: where its storage is and which process holds its mounts, its
 * records of containers and images, its layer chains and its errors.
 * lib/podman/adapter.ts and lib/docker/adapter.ts are the two.
 */
import type { LayerFormat } from '../layers/diff';
import type { EngineOptionKeys } from './arguments';
import type { EngineErrors } from './errors';

/**
 * How a storage driver keeps its layers on disk.  'overlay' (podman's
 * overlay, Docker's overlay2): a layer's dir holds what the layer changed,
 * whiteouts for what it deleted, and a container's files are its layers
 * stacked by overlayfs in its merged dir.  'vfs' (podman's and Docker's
 * vfs): a layer's dir holds the whole tree, a copy of the layer below with
 * the layer's changes made in it; a container's layer dir is its root, with
 * no mount at all.
 */
export type LayerLayout = 'overlay' | 'vfs';

/** What the shared code reads of an engine's container record. */
export interface AdapterContainer {
  /** The full container id. */
  id: string;
  /** Its names. */
  names: string[];
  /** Its rw layer, as the engine's layerChain() takes it. */
  layer: string;
  /** Where the engine mounts its overlay while it runs; vfs: its layer dir, its root. */
  mergedDir: string;
  /** Its merged dir is mounted now (vfs: the engine counts a mount of its layer dir). */
  mounted: boolean;
  /** Where it is mounted (normally mergedDir), null when it is not. */
  mountPoint: string | null;
  /** Its init pid while it runs, else null. */
  pid: number | null;
}

/** What the shared code reads of an engine's image record. */
export interface AdapterImage {
  /** The full image id. */
  id: string;
  /** Its names. */
  names: string[];
  /** Its top layer, as layerChain() takes it; '' for an image with no layer. */
  layer: string;
}

/** A volume, as podman.volumes() and docker.volumes() list it. */
export interface Volume {
  /** Its name. */
  name: string;
  /** Its `_data` directory, what containers mount (in the storage namespaces; on the host too). */
  mountPoint: string;
  /** Its driver (`local`), where the engine's files say it; null where they do not. */
  driver: string | null;
  /** Its labels, where the engine's files say them; null where they do not. */
  labels: Record<string, string> | null;
  /** When it was created (RFC 3339), where the engine's files say it; null where they do not. */
  createdAt: string | null;
  /** The full ids of the containers that use it (running or not), where the engine's files say them; null where they do not. */
  containers: string[] | null;
}

/** The process whose user and mount namespaces hold an engine's mounts. */
export interface StorageProcess {
  /** Its pid, checked to be the engine's. */
  pid: number;
  /** What it is, for messages: "podman's pause process for uid 1000". */
  what: string;
}

/** One engine, as lib/engine/ uses it; `O` its options, `C` and `I` its container and image records. */
export interface EngineAdapter<O extends object, C extends AdapterContainer = AdapterContainer, I extends AdapterImage = AdapterImage> {
  /** The engine's name in messages: 'podman', 'Docker'. */
  readonly name: string;
  /** Its option keys, for the argument checks. */
  readonly optionKeys: EngineOptionKeys;
  /** Its own errors for the shared failures. */
  readonly fail: EngineErrors;
  /**
   * Its storage root (podman's graphroot, Docker's data root), whether it
   * is a rootless engine's, and how its driver lays out layers.
   */
  storage(options: O): { rootless: boolean; dir: string; layout: LayerLayout };
  /**
   * The process whose namespaces hold its containers' merged dirs (podman's
   * pause process, rootless dockerd), checked; null when they are the host's
   * own (rootful).
   */
  storageProcess(options: O): StorageProcess | null;
  /** Its own long-lived process (pause process, dockerd), checked: whose id maps its layers show their files under. */
  enginePid(options: O): number;
  /** One container by name, id or id prefix: the engine's ENOCONTAINER when none. */
  container(nameOrId: string, options: O): C;
  /** One image by name, id or id prefix: the engine's ENOIMAGE when none. */
  image(ref: string, options: O): I;
  /**
   * The dirs of a layer and of every layer below it, top first: overlay,
   * their diff dirs; vfs, their whole trees (the first alone is the layer's
   * files).
   */
  layerChain(layer: string, options: O): string[];
  /** Where its volumes are: each `<dir>/<name>/_data`. */
  volumesDir(options: O): string;
  /** Its volumes, sorted by name, with what its files say of each (lib/engine/volumes.ts). */
  volumes(options: O): Volume[];
  /** Whose markers its layers hold: the kernel overlay's, or fuse-overlayfs's (podman with a mount_program). */
  layerFormat(options: O): LayerFormat;
  /**
   * What ECONTAINERSTOPPED says of a container whose merged dir is not
   * mounted ("is not running"): podman's may stay unmounted while it runs.
   */
  readonly notMounted: string;
  /** What diff() takes: containers, and images too where the engine's own diff does (podman's). */
  readonly diffImages: boolean;
  /** Exact paths the engine's own diff leaves out (what it mounts or writes itself in every container). */
  readonly diffSkips: ReadonlySet<string>;
}

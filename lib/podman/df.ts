/**
 * What `podman system df -v` reports, read from podman's storage instead of
 * asked of a podman process: sizes from its records, each container's rw
 * layer and each volume measured in the namespaces that own them (vfs: a
 * container's changes, found by the naive diff podman runs for vfs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { duSourceOf } from '../api/filesystem';
import { enterStorage } from '../engine/session';
import { du } from '../layers/du';
import { naiveDiff } from '../layers/naive-diff';
import { podmanAdapter } from './adapter';
import { storageConfig } from './config';
import { PodmanError } from './errors';
import type { PodmanDiffOptions } from './options';
import { containers, images, layerChain, layers, type PodmanContainer } from './store';
import type { PodmanOptions } from './config';

/** The volumes in podman's volumes directory (each a directory with `_data`), sorted; none when it is not there. */
function volumeNamesIn(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, '_data')))
    .map((entry) => entry.name)
    .sort();
}

/** An image as `podman system df -v` lists it. */
export interface ImageUsage {
  /** The full image id. */
  id: string;
  /** Its names. */
  names: string[];
  /** Its layers' bytes and its metadata's: SIZE. */
  size: number;
  /**
   * Of that, what it shares with other images, as podman's image library
   * counts it: all of it when other images stand on it, else its parent
   * image's size (the nearest image whose top layer is below its own).
   */
  sharedSize: number;
  /** size less sharedSize: UNIQUE SIZE. */
  uniqueSize: number;
  /** Containers made from it: CONTAINERS. */
  containers: number;
}

/** A container as `podman system df -v` lists it. */
export interface ContainerUsage {
  /** The full container id. */
  id: string;
  /** Its names. */
  names: string[];
  /** Its image id. */
  image: string;
  /** Bytes of the files in its rw layer (not directories; a hard-linked file once): SIZE. */
  size: number;
}

/** A layer of the store, and who stands on it. */
export interface LayerUsage {
  /** The full layer id. */
  id: string;
  /** layers.json's diff-size (null for containers' rw layers, which podman measures when asked). */
  diffSize: number | null;
  /** Images whose filesystem includes it. */
  images: number;
}

/**
 * A local volume as `podman system df -v` lists it, but for LINKS (the
 * containers that use it), which only libpod's database holds.
 */
export interface VolumeUsage {
  /** The volume's name. */
  name: string;
  /** Its `_data` directory, where containers mount it. */
  mountPoint: string;
  /** Bytes of everything in it but directories, each name of a hard-linked file counted: SIZE. */
  size: number;
}

/** What podman.df() gives: `podman system df -v`'s tables. */
export interface PodmanUsage {
  /** One row per image. */
  images: ImageUsage[];
  /** One row per container. */
  containers: ContainerUsage[];
  /** One row per layer, with the images standing on it. */
  layers: LayerUsage[];
  /** One row per local volume. */
  volumes: VolumeUsage[];
}

/**
 * What `podman system df -v` reports for images, containers and local
 * volumes, and the layers below images and containers: sizes from
 * podman's own records where it keeps them; each container's rw layer and
 * each volume (in `<graphroot>/volumes`, podman's default volume_path)
 * measured by one walk in the namespaces that own it (enterStorage).
 */
export async function df(options: PodmanDiffOptions = {}): Promise<PodmanUsage> {
  const { signal, ...podmanOptions } = options;
  const driver = storageConfig(podmanOptions).driver;
  if (driver !== 'overlay' && driver !== 'vfs') {
    throw new PodmanError('EPODMANDRIVER', `df reads overlay and vfs layouts only; the storage driver is '${driver}'`);
  }
  const allLayers = layers(podmanOptions);
  const byId = new Map(allLayers.map((l) => [l.id, l]));
  const allImages = images(podmanOptions);
  const allContainers = containers(podmanOptions);
  const chainOf = (top: string): string[] => [top, ...(byId.get(top)?.parents ?? [])];
  const imagesOn = new Map<string, number>();
  for (const img of allImages) for (const id of new Set(chainOf(img.layer))) imagesOn.set(id, (imagesOn.get(id) ?? 0) + 1);
  const layerBytes = (id: string): number => byId.get(id)?.diffSize ?? 0;

  const sizeOf = new Map(
    allImages.map((img) => [img.id, [...new Set(chainOf(img.layer))].reduce((sum, id) => sum + layerBytes(id), 0) + img.metadataSize]),
  );
  const imageOnTop = new Map(allImages.map((img) => [img.layer, img]));
  const imageUsage = allImages.map((img): ImageUsage => {
    const size = sizeOf.get(img.id)!;
    const below = byId.get(img.layer)?.parents ?? [];
    const hasChildren = allImages.some((other) => other !== img && byId.get(other.layer)?.parents.includes(img.layer));
    const parent = below.map((id) => imageOnTop.get(id)).find((found) => found !== undefined);
    const sharedSize = hasChildren ? size : parent ? sizeOf.get(parent.id)! : 0;
    return {
      id: img.id,
      names: img.names,
      size,
      sharedSize,
      uniqueSize: size - sharedSize,
      containers: allContainers.filter((c) => c.image === img.id).length,
    };
  });

  const containerUsage: ContainerUsage[] = [];
  const volumeUsage: VolumeUsage[] = [];
  // The volumes directory belongs to podman's user (a volume's files may
  // belong to subordinate ids: they are measured in the session).
  const volumes = path.join(storageConfig(podmanOptions).graphRoot, 'volumes');
  const volumeNames = volumeNamesIn(volumes);
  if (allContainers.length > 0 || volumeNames.length > 0) {
    const session = await enterStorage(podmanAdapter, podmanOptions);
    try {
      for (const c of allContainers) {
        let size: number;
        try {
          size =
            driver === 'vfs'
              ? await vfsChangesSize(c, podmanOptions, signal)
              : (await du(duSourceOf(session), c.upperDir, { directories: false, signal })).apparentBytes;
        } catch (error) {
          // Removed meanwhile (podman rm between the listing and the walk):
          // no row, as podman would print none.  Still listed: a real error.
          const gone = (error as NodeJS.ErrnoException).code === 'ENOENT' && !containers(podmanOptions).some((now) => now.id === c.id);
          if (gone) continue;
          throw error;
        }
        containerUsage.push({ id: c.id, names: c.names, image: c.image, size });
      }
      for (const name of volumeNames) {
        const mountPoint = path.join(volumes, name, '_data');
        try {
          const { apparentBytes } = await du(duSourceOf(session), mountPoint, { directories: false, linksOnce: false, signal });
          volumeUsage.push({ name, mountPoint, size: apparentBytes });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // removed meanwhile
        }
      }
    } finally {
      await session.close();
    }
  }

  return {
    images: imageUsage,
    containers: containerUsage,
    layers: allLayers.map((l) => ({ id: l.id, diffSize: l.diffSize, images: imagesOn.get(l.id) ?? 0 })),
    volumes: volumeUsage,
  };
}

/**
 * A vfs container's size as podman gives it (containers/storage's
 * ChangesSize over its naive diff): the bytes of what the container's dir
 * added or changed against its image's, directories left out, a
 * hard-linked file once, and no path skipped (podman's /etc/mtab link
 * counts, though `podman diff` does not list it).  Each tree is walked in
 * a session rooted in it (see lib/engine/layers.ts).
 */
async function vfsChangesSize(c: PodmanContainer, options: PodmanOptions, signal: AbortSignal | undefined): Promise<number> {
  const [dir, parentDir] = layerChain(c.layer, options);
  const layer = await enterStorage(podmanAdapter, { ...options, root: dir! });
  try {
    const parent = parentDir === undefined ? null : await enterStorage(podmanAdapter, { ...options, root: parentDir });
    try {
      const changes = await naiveDiff({ source: layer, root: '/' }, parent && { source: parent, root: '/' }, { signal });
      let size = 0;
      const linked = new Set<string>();
      for (const change of changes) {
        if (change.kind === 'deleted') continue;
        // bigint: an overlay's (xino) inode numbers pass 2^53.
        const st = await layer.lstat(change.path, { bigint: true, signal });
        if (st.isDirectory()) continue;
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          if (linked.has(key)) continue;
          linked.add(key);
        }
        size += Number(st.size);
      }
      return size;
    } finally {
      await parent?.close();
    }
  } finally {
    await layer.close();
  }
}

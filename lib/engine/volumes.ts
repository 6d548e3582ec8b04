/**
 * Volumes, the same for every engine: a named directory `_data` under the
 * engine's volumes dir (podman: `<graphroot>/volumes/<name>/_data`, its
 * default volume_path; Docker: `<data-root>/volumes/<name>/_data`, the
 * `local` driver's), mounted into the containers that use it.  A volume
 * filled by a rootless container holds files of the user's subordinate ids,
 * which the user cannot remove or chown from the host: here its files are
 * reached in the namespaces the engine mounts containers' layers in
 * (enterStorage), so a walk, `rm` or `chown` sees and sets the ids the
 * containers see.
 *
 *   enterVolume(v)        enterStorage() with every path resolved inside
 *                         the volume's `_data` (RESOLVE_IN_ROOT)
 *   exportVolume(v)       its files as a tar (what `podman volume export` writes)
 *   importVolume(v, tar)  a tar unpacked into it (`podman volume import`)
 *
 * Each engine's adapter lists its volumes (`volumes()`), with what its own
 * files say of them beside the directory (driver, labels, users).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import type { ProgressOptions } from '../core/progress';
import type { ExportOptions } from '../layers/export';
import type { ExtractResult } from '../layers/extract';
import { createNamespace } from '../ns/namespace';
import { enter, type Session } from '../ns/session';
import type { EngineAdapter, Volume } from './adapter';
import { isErrno, type EngineErrors, type EngineFailure } from './errors';
import { streamOnce } from './layers';
import { layerNamespaceOptions } from './mount';
import { enterStorage } from './session';

export type { Volume } from './adapter';

/** What podman and Docker accept as a volume name (both: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`). */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * `<volumesDir>/<name>/_data` when it is a volume's: `<name>` a volume
 * name, both it and `_data` directories, neither a symlink (a rootless
 * engine's volumes dir is its user's to plant links in: such a "volume"
 * is the front end's `storage` failure, not followed).  null when there is
 * no such volume.
 */
export function volumeMountPoint(volumesDir: string, name: string, fail: EngineErrors): string | null {
  if (!VOLUME_NAME.test(name)) return null;
  const dir = path.join(volumesDir, name);
  const mountPoint = path.join(dir, '_data');
  for (const file of [dir, mountPoint]) {
    let stats: fs.Stats;
    try {
      stats = fs.lstatSync(file);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return null;
      throw error;
    }
    if (!stats.isDirectory()) {
      throw fail('storage', `${file} is ${stats.isSymbolicLink() ? 'a symlink' : 'not a directory'}: not a volume, not followed`, {
        path: file,
      });
    }
  }
  return mountPoint;
}

/**
 * The volumes in `volumesDir`, sorted by name, each with its mount point;
 * none when the dir is not there.  Entries that are no volume (podman's
 * `backingFsBlockDev`, Docker's `metadata.db`, a planted symlink) are left
 * out.
 */
export function volumeDirs(volumesDir: string, fail: EngineErrors): { name: string; mountPoint: string }[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(volumesDir, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
  const out: { name: string; mountPoint: string }[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    let mountPoint: string | null;
    try {
      mountPoint = volumeMountPoint(volumesDir, entry.name, fail);
    } catch {
      continue; // a `_data` that is a symlink: volume(name) says so
    }
    if (mountPoint !== null) out.push({ name: entry.name, mountPoint });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One volume by its exact name: the engine's ENOVOLUME when none. */
export function volume<O extends object>(adapter: EngineAdapter<O>, name: string, options: O): Volume {
  const found = adapter.volumes(options).find((v) => v.name === name);
  if (found === undefined) {
    // A `_data` that is a symlink is listed as no volume: say why it is none.
    volumeMountPoint(adapter.volumesDir(options), name, adapter.fail);
    throw adapter.fail('noVolume', `no such volume: ${name}`);
  }
  return found;
}

/** True for the adapter's error of `failure` (each engine has its own codes). */
function isFailure<O extends object>(adapter: EngineAdapter<O>, error: unknown, ...failures: EngineFailure[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return failures.some((failure) => (adapter.fail(failure, '') as { code?: unknown }).code === code);
}

/**
 * A session in the storage namespaces (see enterStorage) whose paths
 * resolve inside the volume's `_data`, as a container that mounts it at
 * '/' would see it: ids as the containers see them, absolute symlinks and
 * '..' never leave it.
 *
 * A volume is a plain directory, mounted nowhere: when a rootless engine's
 * process does not run (after a reboot, before podman runs again; a
 * stopped rootless dockerd), the session is made in a user namespace of
 * the library's own with the engine's id maps instead (as mountContainer
 * makes one), held only by the session's worker.
 */
export async function enterVolume<O extends object>(adapter: EngineAdapter<O>, name: string, options: O): Promise<Session> {
  const root = volume(adapter, name, options).mountPoint;
  try {
    return await enterStorage(adapter, { ...options, root });
  } catch (error) {
    if (!isFailure(adapter, error, 'none', 'stale')) throw error;
  }
  const namespace = await createNamespace(layerNamespaceOptions(adapter, options));
  try {
    return await enter({ pid: namespace.pid, root });
  } finally {
    // The worker has joined its namespaces: they last as long as it does.
    await namespace.close();
  }
}

/**
 * The volume's files as a tar stream, entries named relative to its
 * `_data` with the ids the containers see: what `podman volume export`
 * writes.  Errors (no such volume ...) come out as the stream's.
 */
export function exportVolume<O extends object>(adapter: EngineAdapter<O>, name: string, options: O & ExportOptions): Readable {
  const { signal, xattrs, onProgress, ...rest } = options;
  const engineOptions = rest as unknown as O;
  return streamOnce(async () => {
    const session = await enterVolume(adapter, name, engineOptions);
    return { stream: session.exportTar('/', { signal, xattrs, onProgress }), close: () => session.close() };
  });
}

/**
 * A tar unpacked into the volume, over what is there (as `podman volume
 * import` does): each entry with the ids, mode and mtime it names, as the
 * containers see them; nothing is written outside the volume
 * (FileSystem#extractTar's rules).
 */
export async function importVolume<O extends object>(
  adapter: EngineAdapter<O>,
  name: string,
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: O & { signal?: AbortSignal } & ProgressOptions,
): Promise<ExtractResult> {
  const { signal, onProgress, ...rest } = options;
  const session = await enterVolume(adapter, name, rest as unknown as O);
  try {
    return await session.extractTar(source, '/', { signal, onProgress });
  } finally {
    await session.close();
  }
}

/**
 * Docker's volumes, read from its data root (whatever its storage driver):
 *
 *   volumes/<name>/_data                a volume of the `local` driver
 *   volumes/metadata.db                 BoltDB (lib/engine/bolt.ts): bucket
 *                                       `volumes`, per name {Driver, Labels}
 *   containers/<id>/config.v2.json      MountPoints: {Type: 'volume', Name}
 *                                       for each volume the container mounts
 *
 * createdAt is the mtime of `_data`, which the local driver reports as
 * its CreatedAt (so it moves whenever the volume's top directory changes).  A container whose record cannot be read is not counted among a
 * volume's users (containers() reports it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BoltDb, BoltError } from '../engine/bolt';
import { EngineError, isErrno } from '../engine/errors';
import { readStorageBytes, readStorageJson } from '../engine/storage';
import { volumeDirs, type Volume } from '../engine/volumes';
import { storageConfig, type DockerOptions } from './config';
import { dockerErrors } from './errors';

/** `<data-root>/volumes`. */
export function volumesDir(options: DockerOptions): string {
  return path.join(storageConfig(options).dataRoot, 'volumes');
}

/** A JSON object, else an empty one. */
function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** metadata.db's record of each volume, by name; null when there is no metadata.db. */
function metadata(dataRoot: string): Map<string, Record<string, unknown>> | null {
  const file = path.join(dataRoot, 'volumes', 'metadata.db');
  const bytes = readStorageBytes(file, true, 'Docker', dockerErrors, dataRoot);
  if (bytes === null) return null;
  const out = new Map<string, Record<string, unknown>>();
  try {
    for (const entry of new BoltDb(bytes).root.bucket('volumes')?.entries() ?? []) {
      if (entry.value === undefined) continue;
      const name = entry.key.toString('utf8');
      try {
        out.set(name, record(JSON.parse(entry.value.toString('utf8'))));
      } catch {
        throw dockerErrors('storage', `cannot parse volumes/${name} of ${file}: not valid JSON (${entry.value.length} bytes)`, {
          path: file,
        });
      }
    }
  } catch (error) {
    if (!(error instanceof BoltError)) throw error;
    throw dockerErrors('storage', `cannot read ${file}: ${error.message}`, { path: file, cause: error });
  }
  return out;
}

/** The ids of the containers mounting each volume, by volume name (config.v2.json's MountPoints). */
function volumeUsers(dataRoot: string): Map<string, string[]> {
  const dir = path.join(dataRoot, 'containers');
  let ids: string[];
  try {
    ids = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^[0-9a-f]{64}$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return new Map();
    throw error;
  }
  const users = new Map<string, string[]>();
  for (const id of ids) {
    let config: Record<string, unknown>;
    try {
      config = record(readStorageJson(path.join(dir, id, 'config.v2.json'), true, 'Docker', dockerErrors, dataRoot));
    } catch (error) {
      if (error instanceof EngineError) continue; // containers() reports it
      throw error;
    }
    for (const mount of Object.values(record(config.MountPoints))) {
      const m = record(mount);
      if (m.Type !== 'volume' || typeof m.Name !== 'string') continue;
      const list = users.get(m.Name) ?? [];
      if (!list.includes(id)) list.push(id);
      users.set(m.Name, list);
    }
  }
  return users;
}

/** Labels as a record of strings, else an empty one. */
function labelsOf(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(record(value)).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Docker's volumes, sorted by name (see the top of this file for what is read). */
export function volumes(options: DockerOptions): Volume[] {
  const dataRoot = storageConfig(options).dataRoot;
  const dirs = volumeDirs(path.join(dataRoot, 'volumes'), dockerErrors);
  if (dirs.length === 0) return [];
  const meta = metadata(dataRoot);
  const users = volumeUsers(dataRoot);
  return dirs.map(({ name, mountPoint }) => {
    const m = meta?.get(name);
    let createdAt: string | null = null;
    try {
      createdAt = fs.statSync(mountPoint).mtime.toISOString();
    } catch {
      // removed meanwhile
    }
    return {
      name,
      mountPoint,
      driver: m ? (typeof m.Driver === 'string' && m.Driver !== '' ? m.Driver : 'local') : null,
      labels: m ? labelsOf(m.Labels) : null,
      createdAt,
      containers: [...(users.get(name) ?? [])],
    };
  });
}

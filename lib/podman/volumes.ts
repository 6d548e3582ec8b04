/**
 * podman's volumes, read from its files: the directories of
 * `<graphroot>/volumes` (podman's default volume_path; a volume_path set
 * elsewhere in containers.conf is not looked at), and what libpod's state
 * database says of each — on podman 4 (Debian 12's 4.3) a BoltDB file,
 * `<graphroot>/libpod/bolt_state.db`, read with lib/engine/bolt.ts:
 *
 *   vol/<name>/config     the volume's config: volumeDriver, labels, createdAt
 *   ctr/<id>/config       a container's config: namedVolumes[].volumeName
 *
 * Which containers use a volume comes from the containers' configs, as
 * `podman ps --filter volume=` finds them: the volume's own
 * `vol-dependencies` bucket keeps the ids of containers already removed
 * (`podman rm`, `--rm`: seen on 4.3, the container gone from `ctr` in the
 * same transaction).  Without a bolt_state.db (podman 5 keeps a SQLite
 * `db.sql`, not read here) driver, labels, createdAt and containers are null.
 */
import * as path from 'node:path';

import { BoltDb, BoltError, type BoltBucket } from '../engine/bolt';
import { readStorageBytes } from '../engine/storage';
import { volumeDirs, type Volume } from '../engine/volumes';
import { storageConfig, type PodmanOptions } from './config';
import { podmanErrors } from './errors';

/** `<graphroot>/volumes`. */
export function volumesDir(options: PodmanOptions): string {
  return path.join(storageConfig(options).graphRoot, 'volumes');
}

/** What libpod's database says of the volumes: each one's config, and the containers naming each. */
interface LibpodVolumes {
  configs: Map<string, Record<string, unknown>>;
  users: Map<string, string[]>;
}

/** A JSON object of the database; a parse error names the key, never the text. */
function jsonRecord(bytes: Buffer | null, file: string, where: string): Record<string, unknown> {
  if (bytes === null) return {};
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw podmanErrors('storage', `cannot parse ${where} of ${file}: not valid JSON (${bytes.length} bytes)`, { path: file });
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The buckets of `bucket`, by key. */
function buckets(bucket: BoltBucket | null): [string, BoltBucket][] {
  return (bucket?.entries() ?? []).flatMap((e) => (e.bucket ? [[e.key.toString('utf8'), e.bucket] as [string, BoltBucket]] : []));
}

/** libpod's bolt_state.db, read; null when there is none. */
function libpodVolumes(graphRoot: string): LibpodVolumes | null {
  const file = path.join(graphRoot, 'libpod', 'bolt_state.db');
  const bytes = readStorageBytes(file, true, 'podman', podmanErrors, graphRoot);
  if (bytes === null) return null;
  try {
    const root = new BoltDb(bytes).root;
    const configs = new Map<string, Record<string, unknown>>();
    for (const [name, vol] of buckets(root.bucket('vol'))) configs.set(name, jsonRecord(vol.get('config'), file, `vol/${name}/config`));
    const users = new Map<string, string[]>();
    for (const [id, ctr] of buckets(root.bucket('ctr'))) {
      const named = jsonRecord(ctr.get('config'), file, `ctr/${id}/config`).namedVolumes;
      if (!Array.isArray(named)) continue;
      for (const mount of named as unknown[]) {
        const name = (mount as { volumeName?: unknown } | null)?.volumeName;
        if (typeof name !== 'string') continue;
        const ids = users.get(name) ?? [];
        if (!ids.includes(id)) ids.push(id);
        users.set(name, ids);
      }
    }
    return { configs, users };
  } catch (error) {
    if (!(error instanceof BoltError)) throw error;
    throw podmanErrors('storage', `cannot read ${file}: ${error.message}`, { path: file, cause: error });
  }
}

/** A string field of a record, else null. */
function stringOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Labels as a record of strings, else null. */
function labelsOf(value: unknown): Record<string, string> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** podman's volumes, sorted by name (see the top of this file for what is read). */
export function volumes(options: PodmanOptions): Volume[] {
  const graphRoot = storageConfig(options).graphRoot;
  const dirs = volumeDirs(path.join(graphRoot, 'volumes'), podmanErrors);
  const libpod = dirs.length === 0 ? null : libpodVolumes(graphRoot);
  return dirs.map(({ name, mountPoint }) => {
    const config = libpod?.configs.get(name);
    return {
      name,
      mountPoint,
      driver: config ? stringOf(config.volumeDriver) || 'local' : null,
      labels: config ? (labelsOf(config.labels) ?? {}) : null,
      createdAt: config ? stringOf(config.createdAt) : null,
      containers: libpod ? [...(libpod.users.get(name) ?? [])].sort() : null,
    };
  });
}

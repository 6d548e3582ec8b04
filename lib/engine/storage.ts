/** An engine's files on disk: its JSON records and overlay layer dirs, read with the front end's errors. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { readBoundedFile } from '../pidfile';
import { isErrno, type EngineErrors } from './errors';
import { ownEuid } from './users';

/** The owner of `file` or of its nearest ancestor we can stat, for error messages. */
function ownerOf(file: string): { dir: string; uid: number } | null {
  for (let dir = file; ; dir = path.dirname(dir)) {
    try {
      return { dir, uid: fs.statSync(dir).uid };
    } catch {
      if (dir === path.dirname(dir)) return null;
    }
  }
}

/** EACCES/EPERM on an engine's storage: it belongs to another user. */
export function accessError(file: string, cause: unknown, engine: string, fail: EngineErrors): Error {
  const owner = ownerOf(path.dirname(file));
  const whose = owner && owner.uid !== ownEuid() ? ` (${owner.dir} belongs to uid ${owner.uid})` : '';
  return fail(
    'access',
    `permission denied reading ${file}${whose}: this ${engine} storage belongs to another user; ` +
      `run as its owner (or root), or pass that user's storage options`,
    { path: file, cause },
  );
}

/**
 * The most of one storage file read: containers.json of thousands of
 * containers is a few MiB; a file larger than this is not the engine's.
 */
export const STORAGE_FILE_MAX_BYTES = 256 << 20;

/**
 * A file of the engine's storage as text; null when `missingOk` and it does
 * not exist.  Read as hostile input (a rootless engine's files are its
 * user's to replace): a FIFO, a device or a file past STORAGE_FILE_MAX_BYTES
 * is the front end's `storage` failure, never waited on.
 */
export function readStorageText(file: string, missingOk: boolean, engine: string, fail: EngineErrors): string | null {
  let refused: Error | undefined;
  try {
    return readBoundedFile(file, STORAGE_FILE_MAX_BYTES, (why) => (refused = fail('storage', `${file} ${why}`, { path: file }))).toString('utf8');
  } catch (err) {
    if (err === refused) throw err;
    if (missingOk && isErrno(err, 'ENOENT', 'ENOTDIR')) return null;
    if (isErrno(err, 'EACCES', 'EPERM')) throw accessError(file, err, engine, fail);
    throw fail('storage', `cannot read ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
}

/** A JSON file of the engine's storage, parsed; null when `missingOk` and it does not exist, or when it is empty. */
export function readStorageJson(file: string, missingOk: boolean, engine: string, fail: EngineErrors): unknown {
  const text = readStorageText(file, missingOk, engine, fail);
  if (text === null || text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw fail('storage', `cannot parse ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
}

/**
 * The diff dirs of overlay layer `id` under `driverDir` (podman's
 * `overlay`, Docker's `overlay2`) and of every layer below it, top first:
 * its own `diff`, then the entries of its `lower` file, `l/<short>` links
 * resolved to `<driverDir>/<layer>/diff`, each checked to stay inside
 * `driverDir` (the front end's `storage` failure otherwise).  null when the layer has no
 * `lower` file (a base layer, or one the front end knows another way).
 */
export function lowerFileChain(driverDir: string, id: string, engine: string, fail: EngineErrors): string[] | null {
  const lowerFile = path.join(driverDir, id, 'lower');
  const lower = readStorageText(lowerFile, true, engine, fail);
  const top = path.join(driverDir, id, 'diff');
  if (lower === null) return null;
  if (lower.trim() === '') return [top];
  return [
    top,
    ...lower
      .trim()
      .split(':')
      .map((entry) => {
        // The engine's own links point at its own layers: one that leads
        // elsewhere (a planted link, '..') would mount any directory as a layer.
        const dir = resolveLower(driverDir, entry);
        const relative = path.relative(driverDir, dir);
        if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
          throw fail('storage', `${lowerFile}: lower layer ${JSON.stringify(entry)} leads to ${dir}, outside ${driverDir}`, { path: lowerFile });
        }
        return dir;
      }),
  ];
}

/** `l/SHORT` -> the link's target, resolved against the driver's `l` dir; other entries relative to the driver dir. */
function resolveLower(driverDir: string, entry: string): string {
  const full = path.resolve(driverDir, entry);
  try {
    return path.resolve(path.dirname(full), fs.readlinkSync(full));
  } catch {
    return full; // not a link (or dangling): keep the path the engine would use
  }
}

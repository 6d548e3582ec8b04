/**
 * An engine's files on disk: its JSON records and overlay layer dirs, read
 * with the front end's errors.
 *
 * A rootless engine's storage is its user's to rewrite, and root reads it:
 * a record may be a symlink to /etc/shadow, a layer dir a symlink out of
 * the data root.  So files beneath the storage root are opened one
 * component at a time from the directory fd of the one before, never
 * following a symlink (openat(dirfd, name, O_NOFOLLOW), which node says as
 * an open of /proc/self/fd/<dirfd>/<name>: the kernel takes the magic link
 * to the directory the fd holds, not to a path read again); and an error
 * never quotes what a file holds (a JSON parse error would).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { debug } from '../core/debug';
import { readBoundedFd, readBoundedFile } from '../ns/pidfile';
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

/** The components of `file` below `root`; a file not beneath it is the caller's mistake. */
function componentsBelow(root: string, file: string): string[] {
  const relative = path.relative(root, file);
  const parts = relative.split('/');
  if (relative === '' || path.isAbsolute(relative) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`unshare-fs: ${file} is not beneath ${root}`);
  }
  return parts;
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = fs.constants;

/** openat(dirFd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY); node's error, about `shown`. */
function openAt(dirFd: number, name: string, flags: number, shown: string): number {
  try {
    return fs.openSync(`/proc/self/fd/${dirFd}/${name}`, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // O_NOFOLLOW | O_DIRECTORY on a symlink is ENOTDIR, not ELOOP: say which it is.
    const link = e.code === 'ELOOP' || (e.code === 'ENOTDIR' && lstatAt(dirFd, name)?.isSymbolicLink() === true);
    if (link) {
      throw Object.assign(new Error(`ELOOP: a symlink, not followed, open '${shown}'`), {
        code: 'ELOOP',
        errno: -os.constants.errno.ELOOP,
        syscall: 'open',
        path: shown,
      });
    }
    throw Object.assign(new Error(`${e.code}: ${(e.message.split(':')[1] ?? '').trim()}, open '${shown}'`), {
      code: e.code,
      errno: e.errno,
      syscall: 'open',
      path: shown,
    });
  }
}

/**
 * An fd of `file`, opened beneath the directory `root` without following
 * a symlink anywhere below it: ELOOP for a symlink on the way or at the
 * end, ENOTDIR for a file on the way, as node:fs errors about `file`.
 * `root` itself is the caller's choice and may be reached through links.
 */
export function openBeneath(root: string, file: string, flags: number = O_RDONLY): number {
  const parts = componentsBelow(root, file);
  let dirFd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
  try {
    // Without /proc every name would look missing: an empty listing, not an error.
    if (!fs.existsSync(`/proc/self/fd/${dirFd}`))
      throw new Error('unshare-fs: /proc is not mounted: storage files cannot be opened beneath their root');
    let shown = root;
    for (const [i, part] of parts.entries()) {
      shown = path.join(shown, part);
      const last = i === parts.length - 1;
      const fd = openAt(dirFd, part, last ? flags : O_RDONLY | O_DIRECTORY, shown);
      fs.closeSync(dirFd);
      dirFd = fd;
    }
    const fd = dirFd;
    dirFd = -1;
    return fd;
  } finally {
    if (dirFd >= 0) fs.closeSync(dirFd);
  }
}

/** What the lstat of `name` in the directory `dirFd` is: null when missing (fstatat(AT_SYMLINK_NOFOLLOW)). */
function lstatAt(dirFd: number, name: string): fs.Stats | null {
  try {
    return fs.lstatSync(`/proc/self/fd/${dirFd}/${name}`);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

/**
 * A file of the engine's storage as text; null when `missingOk` and it does
 * not exist.  Read as hostile input (a rootless engine's files are its
 * user's to replace): a FIFO, a device or a file past STORAGE_FILE_MAX_BYTES
 * is the front end's `storage` failure, never waited on.  With `root` (the
 * storage dir `file` is in), it is opened beneath `root` without following
 * a symlink (openBeneath): a symlink is a `storage` failure too.
 */
export function readStorageText(file: string, missingOk: boolean, engine: string, fail: EngineErrors, root?: string): string | null {
  return readStorageBytes(file, missingOk, engine, fail, root)?.toString('utf8') ?? null;
}

/** readStorageText's bytes, for a binary file (a BoltDB file: lib/engine/bolt.ts). */
export function readStorageBytes(file: string, missingOk: boolean, engine: string, fail: EngineErrors, root?: string): Buffer | null {
  let refused: Error | undefined;
  const bad = (why: string): Error => (refused = fail('storage', `${file} ${why}`, { path: file }));
  try {
    let bytes: Buffer;
    if (root === undefined) {
      bytes = readBoundedFile(file, STORAGE_FILE_MAX_BYTES, bad);
    } else {
      const fd = openBeneath(root, file);
      try {
        bytes = readBoundedFd(fd, STORAGE_FILE_MAX_BYTES, bad);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (debug.enabled) debug('discovery read %s: %s, %d bytes', engine, file, bytes.length);
    return bytes;
  } catch (err) {
    if (debug.enabled) debug('discovery read %s: %s, %s', engine, file, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    if (err === refused) throw err;
    if (missingOk && isErrno(err, 'ENOENT', 'ENOTDIR')) return null;
    if (isErrno(err, 'EACCES', 'EPERM')) throw accessError(file, err, engine, fail);
    if (isErrno(err, 'ELOOP')) {
      throw fail('storage', `${file} is a symlink, or has one on its way in ${root}: not followed in an engine's storage`, {
        path: file,
        cause: err,
      });
    }
    throw fail('storage', `cannot read ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
}

/**
 * A JSON file of the engine's storage, parsed; null when `missingOk` and it
 * does not exist, or when it is empty.  A parse error says where, never
 * what the file holds (JSON.parse's message quotes it: a record that is a
 * link to /etc/shadow must not show it).
 */
export function readStorageJson(file: string, missingOk: boolean, engine: string, fail: EngineErrors, root?: string): unknown {
  const text = readStorageText(file, missingOk, engine, fail, root);
  if (text === null || text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw fail('storage', `cannot parse ${file}: not valid JSON (${Buffer.byteLength(text)} bytes)`, { path: file });
  }
}

/** What the drivers name a layer dir: one component, no dots of its own (podman: 64 hex; Docker: 64 hex, '-init'). */
const LAYER_NAME = /^[0-9A-Za-z][0-9A-Za-z_-]*$/;
/** What the drivers name a short link in `l/`. */
const SHORT_NAME = /^[0-9A-Za-z]+$/;

/**
 * An fd of the layer dir `<driverDir>/<id>`, opened beneath `driverDir`
 * without following a symlink: a name that is no layer's, a symlink or a
 * file is the front end's `storage` failure about `record` (`about` says
 * where in it), a missing dir its `noLayer` one.
 */
function openLayerDir(driverDir: string, id: string, engine: string, fail: EngineErrors, record: string, about: string): number {
  const layerDir = path.join(driverDir, id);
  if (!LAYER_NAME.test(id)) throw fail('storage', `${about}: a layer name that is no layer dir's name`, { path: record });
  try {
    return openBeneath(driverDir, layerDir, O_RDONLY | O_DIRECTORY);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw fail('noLayer', `no such layer directory: ${layerDir}`, { path: layerDir, cause: err });
    if (isErrno(err, 'EACCES', 'EPERM')) throw accessError(layerDir, err, engine, fail);
    throw fail(
      'storage',
      `${about}: layer dir ${layerDir} is ${isErrno(err, 'ELOOP') ? 'a symlink' : 'not a directory'}: not followed out of ${driverDir}`,
      {
        path: record,
        cause: err,
      },
    );
  }
}

/**
 * `<driverDir>/<id>/diff`, checked by fds beneath `driverDir`: `<id>` a
 * directory there (not a symlink), `diff` in it not a symlink (a missing
 * `diff` is the mount's to report).  Anything else is the front end's
 * `storage` failure about `record` (the file that named the layer; `about`
 * says where in it), a missing layer dir its `noLayer` one.
 */
export function layerDiffDir(
  driverDir: string,
  id: string,
  engine: string,
  fail: EngineErrors,
  record = path.join(driverDir, id),
  about = record,
): string {
  const layerDir = path.join(driverDir, id);
  const fd = openLayerDir(driverDir, id, engine, fail, record, about);
  try {
    const diff = lstatAt(fd, 'diff');
    if (diff !== null && !diff.isDirectory()) {
      throw fail(
        'storage',
        `${about}: ${path.join(layerDir, 'diff')} is ${diff.isSymbolicLink() ? 'a symlink' : 'not a directory'}: not followed`,
        { path: record },
      );
    }
  } finally {
    fs.closeSync(fd);
  }
  return path.join(layerDir, 'diff');
}

/**
 * `<driverDir>/<id>`, a vfs driver's layer dir (podman's
 * `<graphroot>/vfs/dir`, Docker's `<data-root>/vfs/dir`): the layer's
 * whole tree, checked by fds beneath `driverDir` as layerDiffDir checks
 * an overlay layer's dir.
 */
export function vfsLayerDir(driverDir: string, id: string, engine: string, fail: EngineErrors, record = path.join(driverDir, id)): string {
  fs.closeSync(openLayerDir(driverDir, id, engine, fail, record, record));
  return path.join(driverDir, id);
}

/**
 * The diff dirs of overlay layer `id` under `driverDir` (podman's
 * `overlay`, Docker's `overlay2`) and of every layer below it, top first:
 * its own `diff`, then the entries of its `lower` file.  An entry is
 * `l/<short>`, a link the engine made to `../<layer>/diff`, or
 * `<layer>/diff`; every layer dir is then checked by fds beneath
 * `driverDir` (layerDiffDir): a link of another shape, a layer dir that is
 * itself a symlink, a `diff` that is one, is the front end's `storage`
 * failure (an error that names the entry's place, never its text).  null
 * when the layer has no `lower` file (a base layer, or one the front end
 * knows another way).
 */
export function lowerFileChain(driverDir: string, id: string, engine: string, fail: EngineErrors): string[] | null {
  const top = layerDiffDir(driverDir, id, engine, fail);
  const lowerFile = path.join(driverDir, id, 'lower');
  const lower = readStorageText(lowerFile, true, engine, fail, driverDir);
  if (lower === null) return null;
  if (lower.trim() === '') return [top];
  const entries = lower.trim().split(':');
  return [
    top,
    ...entries.map((entry, i) =>
      lowerLayerDir(driverDir, entry, lowerFile, `${lowerFile}: lower entry ${i + 1} of ${entries.length}`, engine, fail),
    ),
  ];
}

/**
 * The diff dir a `lower` entry names: `l/SHORT` by the link's target,
 * which must be `../<layer>/diff` as the engine writes it; `<layer>/diff`
 * as it is.  The engine's own links point at its own layers: one that
 * leads elsewhere (a planted link, '..') would mount any directory as a layer.
 */
function lowerLayerDir(driverDir: string, entry: string, lowerFile: string, about: string, engine: string, fail: EngineErrors): string {
  const outside = (): Error => fail('storage', `${about} leads outside ${driverDir}`, { path: lowerFile });
  const parts = entry.split('/');
  if (parts.length === 2 && parts[0] === 'l') {
    if (!SHORT_NAME.test(parts[1]!)) throw outside();
    let target: string;
    let lFd: number;
    try {
      lFd = openBeneath(driverDir, path.join(driverDir, 'l'), O_RDONLY | O_DIRECTORY);
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw fail('noLayer', `${about}: ${path.join(driverDir, 'l')} is missing`, { path: path.join(driverDir, 'l'), cause: err });
      throw fail('storage', `${about}: ${path.join(driverDir, 'l')} is not a directory of ${driverDir}`, {
        path: path.join(driverDir, 'l'),
        cause: err,
      });
    }
    try {
      target = fs.readlinkSync(`/proc/self/fd/${lFd}/${parts[1]}`);
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw fail('noLayer', `${about}: its short link is missing`, { path: path.join(driverDir, 'l', parts[1]!), cause: err });
      throw outside();
    } finally {
      fs.closeSync(lFd);
    }
    const link = target.split('/');
    if (link.length !== 3 || link[0] !== '..' || link[2] !== 'diff' || !LAYER_NAME.test(link[1]!)) throw outside();
    return layerDiffDir(driverDir, link[1]!, engine, fail, lowerFile, about);
  }
  if (parts.length === 2 && parts[1] === 'diff' && LAYER_NAME.test(parts[0]!))
    return layerDiffDir(driverDir, parts[0]!, engine, fail, lowerFile, about);
  throw outside();
}

// Copies between the host and a FileSystem (a session) to a destination
// that does not exist (FileSystem picks the name inside an existing
// directory, as `podman cp` does; unlike it, nothing is ever overwritten):
// the host side is read and written with node:fs as the calling user, the other side through the FileSystem's requests, contents streamed
// with backpressure both ways.  Symlinks are copied as links, never
// followed; FIFOs, sockets and devices are skipped (and counted): a copy
// never opens one.  Names are bytes all the way (a container's need not be
// UTF-8).
//
// Out of a session (copyToHost), the tree is read by one job in the server
// (a tar stream, native/core/tar.cc with kTarCopy) that opens every entry
// relative to a directory it holds, without following it: a directory
// swapped for a symlink mid-copy is never read through.  Host paths are
// made only under directories the copy itself made.
//
// A copy that fails or is stopped removes what it made; where that fails
// too, the error's `partialOutput` names what is left.
import * as nodeFs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';

import { abortError, errnoError } from '../core/errors';
import type { MkdirOptions, PathLike, RmOptions, SignalOptions, WriteData, WriteFileOptions } from '../core/options';
import type { IdMapper } from '../core/stats';
import { Progress, type ProgressListener } from '../core/progress';
import { readTar } from './tar';

/** Options of FileSystem#copyToHost. */
export interface CopyOptions {
  /** Copies a directory and everything under it (without it, a directory is EISDIR). */
  recursive?: boolean;
  /** Stops the copy, which then removes what it made. */
  signal?: AbortSignal;
  /** Told the entries and file bytes copied so far, at most every 100 ms, and the totals at the end. */
  onProgress?: ProgressListener;
}

/** Options of FileSystem#copyFromHost. */
export interface CopyInOptions extends CopyOptions {
  /**
   * Keep the host owners, mapped to the ids the namespace has for them
   * (65534 for one it has none for).  Default: what is copied in belongs to
   * the session's own user (root inside a container's namespace).
   */
  preserveOwnership?: boolean;
}

/** What a copy did. */
export interface CopyResult {
  /** Files, directories and symlinks copied. */
  entries: number;
  /** Bytes of file contents copied. */
  bytes: number;
  /** FIFOs, sockets and devices left out. */
  skipped: number;
}

const SLASH = Buffer.from('/');
const DOT = Buffer.from('.');
/** Directories are made writable to the copy first and get their mode once filled. */
const DIR_WHILE_FILLED = 0o700;

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * A tar time for utimes: seconds (node takes a negative number as "now",
 * so a time before the epoch goes as a Date, to the millisecond).
 */
function utime(time: { seconds: number; nanoseconds: number }): number | Date {
  const seconds = time.seconds + time.nanoseconds / 1e9;
  return seconds >= 0 ? seconds : new Date(seconds * 1000);
}

/** `base`/`name`, as bytes. */
const under = (base: Buffer, name: Buffer): Buffer => Buffer.concat([base, SLASH, name]);

/**
 * After a failed copy: its directories writable again (a mode of the
 * original's may have been set already), then `remove` of what it made.
 * Where that fails, `error.partialOutput` names what is left.
 */
async function removePartial(
  error: unknown,
  top: string,
  dirs: readonly (() => Promise<unknown>)[],
  remove: () => Promise<unknown>,
): Promise<never> {
  for (const writable of dirs) await writable().catch(() => undefined);
  try {
    await remove();
  } catch {
    if (error !== null && typeof error === 'object') (error as { partialOutput?: string }).partialOutput = top;
  }
  throw error;
}

/** What a copy into a FileSystem needs of it. */
export interface CopyTarget {
  mkdir(path: PathLike, options: MkdirOptions): Promise<string | undefined>;
  writeFile(path: PathLike, data: WriteData, options: WriteFileOptions): Promise<void>;
  chmod(path: PathLike, mode: number, options?: SignalOptions): Promise<void>;
  utimes(path: PathLike, atime: number, mtime: number, options: SignalOptions): Promise<void>;
  symlink(target: PathLike, path: PathLike, options: SignalOptions): Promise<void>;
  lchown(path: PathLike, uid: number, gid: number, options: SignalOptions): Promise<void>;
  rm(path: PathLike, options: RmOptions): Promise<unknown>;
}

/** Host `source` into `target` at `dest` (which must not exist). */
export async function copyIn(
  target: CopyTarget,
  unmap: { uid: IdMapper; gid: IdMapper },
  source: string,
  dest: string,
  options: { recursive: boolean; preserveOwnership: boolean; signal: AbortSignal | undefined; onProgress: CopyOptions['onProgress'] },
): Promise<CopyResult> {
  const { recursive, preserveOwnership, signal } = options;
  const result: CopyResult = { entries: 0, bytes: 0, skipped: 0 };
  const progress = new Progress(options.onProgress);
  const filled: [Buffer, number][] = [];
  let made = false; // something is at `dest` that this copy made
  const owner = (st: nodeFs.Stats): { uid?: number; gid?: number } =>
    preserveOwnership ? { uid: unmap.uid(st.uid), gid: unmap.gid(st.gid) } : {};
  const copyOne = async (from: Buffer, to: Buffer, st: nodeFs.Stats): Promise<void> => {
    checkAborted(signal);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      await target.mkdir(to, { mode: DIR_WHILE_FILLED, ...owner(st), signal });
      made = true;
      filled.push([to, mode]);
      result.entries++;
      progress.add(1, 0);
      const dir = await fsp.opendir(from, { encoding: 'buffer' as BufferEncoding });
      for await (const entry of dir) {
        const name = entry.name as unknown as Buffer;
        const child = under(from, name);
        await copyOne(child, under(to, name), await fsp.lstat(child));
      }
    } else if (st.isFile()) {
      let size = 0;
      // O_NOFOLLOW: a file swapped for a symlink since its lstat is not read through.
      const handle = await fsp.open(from, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NOFOLLOW | nodeFs.constants.O_NONBLOCK);
      try {
        const opened = await handle.stat();
        if (!opened.isFile()) {
          result.skipped++;
          return;
        }
        await target
          .writeFile(to, handle.createReadStream({ autoClose: false }), { flag: 'wx', mode, ...owner(st), signal })
          .catch((error: NodeJS.ErrnoException) => {
            // Made, unless it was there already.
            made ||= error.code !== 'EEXIST';
            throw error;
          });
        made = true;
        result.bytes += opened.size;
        size = opened.size;
      } finally {
        await handle.close();
      }
      await target.chmod(to, mode, { signal });
      // Seconds, to a fraction of a microsecond (a Date would keep milliseconds).
      await target.utimes(to, st.atimeMs / 1000, st.mtimeMs / 1000, { signal });
      result.entries++;
      progress.add(1, size);
    } else if (st.isSymbolicLink()) {
      await target.symlink(await fsp.readlink(from, { encoding: 'buffer' }), to, { signal });
      made = true;
      if (preserveOwnership) await target.lchown(to, unmap.uid(st.uid), unmap.gid(st.gid), { signal });
      result.entries++;
      progress.add(1, 0);
    } else {
      result.skipped++;
    }
  };
  const st = await fsp.lstat(source);
  if (st.isDirectory() && !recursive) throw errnoError('EISDIR', 'copy', source);
  try {
    await copyOne(Buffer.from(source), Buffer.from(dest), st);
    for (const [dir, mode] of filled.reverse()) await target.chmod(dir, mode);
    progress.end();
  } catch (error) {
    if (!made) throw error;
    const writable = filled.map(
      ([dir]) =>
        () =>
          target.chmod(dir, DIR_WHILE_FILLED),
    );
    return removePartial(error, dest, writable, () => target.rm(dest, { recursive: true, force: true }));
  }
  return result;
}

/**
 * `source` in `from` to the host at `dest` (which must not exist), owned
 * by the calling user, from `archive`: the tar of `source` the server
 * makes for a copy, its first entry `source` itself ('.').
 */
export async function copyOut(
  archive: Readable,
  source: string,
  dest: string,
  options: { recursive: boolean; signal: AbortSignal | undefined; onProgress: CopyOptions['onProgress'] },
): Promise<CopyResult> {
  const { recursive, signal } = options;
  const result: CopyResult = { entries: 0, bytes: 0, skipped: 0 };
  const progress = new Progress(options.onProgress);
  const top = Buffer.from(dest);
  // Names in the archive (latin1 keys) of the directories and files made:
  // an entry goes only into a directory made here, a hard link only to a
  // file made here, so nothing is ever written through a link.
  const dirs = new Set<string>();
  const files = new Set<string>();
  const filled: [Buffer, number][] = [];
  let seenTop = false;
  let made = false; // something is at `dest` that this copy made
  const malformed = (name: Buffer): Error => errnoError('EINVAL', 'copy', name.toString('utf8'));
  /** A name below the top: its host path, after checking it names a new entry in a directory made here. */
  const placed = (name: Buffer): Buffer => {
    const slash = name.lastIndexOf(0x2f);
    const parent = slash < 0 ? '.' : name.toString('latin1', 0, slash);
    const base = name.subarray(slash + 1);
    if (!dirs.has(parent) || base.length === 0 || base.equals(DOT) || base.equals(Buffer.from('..'))) throw malformed(name);
    return under(top, name);
  };
  try {
    for await (const { header: h, body } of readTar(archive)) {
      checkAborted(signal);
      const isTop = h.name.equals(DOT);
      if (isTop === seenTop) throw malformed(h.name); // the top first, once
      seenTop = true;
      if (isTop && h.type === 'directory' && !recursive) throw errnoError('EISDIR', 'copy', source);
      const to = isTop ? top : placed(h.name);
      const key = isTop ? '.' : h.name.toString('latin1');
      const mode = h.mode & 0o777; // no set-id bits on what the caller gets
      switch (h.type) {
        case 'directory':
          await fsp.mkdir(to, { mode: DIR_WHILE_FILLED });
          made = true;
          dirs.add(key);
          filled.push([to, mode]);
          break;
        case 'file': {
          const handle = await fsp.open(to, 'wx', mode);
          made = true;
          try {
            for await (const chunk of body()) {
              checkAborted(signal);
              for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done)).bytesWritten;
            }
            await handle.chmod(mode);
            const atime = h.atime ?? h.mtime;
            await handle.utimes(utime(atime), utime(h.mtime));
          } finally {
            await handle.close();
          }
          files.add(key);
          result.bytes += h.size;
          break;
        }
        case 'link':
          // The tree's hard links stay links: to a file this copy made.
          if (h.linkName === undefined || !files.has(h.linkName.toString('latin1'))) throw malformed(h.name);
          await fsp.link(under(top, h.linkName), to);
          break;
        case 'symlink':
          await fsp.symlink(h.linkName ?? Buffer.alloc(0), to);
          made = true;
          break;
        default:
          // A FIFO or a device: never opened (the server never reads one either).
          result.skipped++;
          continue;
      }
      result.entries++;
      progress.add(1, h.type === 'file' ? h.size : 0);
    }
    for (const [dir, mode] of filled.reverse()) await fsp.chmod(dir, mode);
    progress.end();
  } catch (error) {
    archive.destroy();
    if (!made) throw error;
    const writable = filled.map(
      ([dir]) =>
        () =>
          fsp.chmod(dir, DIR_WHILE_FILLED),
    );
    return removePartial(error, dest, writable, () => fsp.rm(top, { recursive: true, force: true }));
  }
  return result;
}

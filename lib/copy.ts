// Copies between the host and a FileSystem (a session), as `podman cp`
// does: the host side is read and written with node:fs as the calling
// user, the other side through the FileSystem's requests, contents streamed
// with backpressure both ways.  Symlinks are copied as links, never
// followed; FIFOs, sockets and devices are skipped (and counted): a copy
// never opens one.
import * as nodeFs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { abortError, fsError } from './errors';
import type { FileSystem } from './filesystem';
import type { IdMapper } from './stats';

/** Options of FileSystem#copyToHost. */
export interface CopyOptions {
  /** Copies a directory and everything under it (without it, a directory is EISDIR). */
  recursive?: boolean;
  /** Stops the copy; what was copied stays. */
  signal?: AbortSignal;
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

const EISDIR = 21;
/** Directories are made writable to the copy first and get their mode once filled. */
const DIR_WHILE_FILLED = 0o700;

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Host `source` into `target` at `dest` (which must not exist). */
export async function copyIn(
  target: FileSystem,
  unmap: { uid: IdMapper; gid: IdMapper },
  source: string,
  dest: string,
  options: { recursive: boolean; preserveOwnership: boolean; signal: AbortSignal | undefined },
): Promise<CopyResult> {
  const { recursive, preserveOwnership, signal } = options;
  const result: CopyResult = { entries: 0, bytes: 0, skipped: 0 };
  const filled: [string, number][] = [];
  const owner = (st: nodeFs.Stats): { uid?: number; gid?: number } =>
    preserveOwnership ? { uid: unmap.uid(st.uid), gid: unmap.gid(st.gid) } : {};
  const copyOne = async (from: string, to: string, st: nodeFs.Stats): Promise<void> => {
    checkAborted(signal);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      await target.mkdir(to, { mode: DIR_WHILE_FILLED, ...owner(st), signal });
      filled.push([to, mode]);
      result.entries++;
      const dir = await fsp.opendir(from);
      for await (const entry of dir) {
        const child = nodePath.join(from, entry.name);
        await copyOne(child, nodePath.posix.join(to, entry.name), await fsp.lstat(child));
      }
    } else if (st.isFile()) {
      // O_NOFOLLOW: a file swapped for a symlink since its lstat is not read through.
      const handle = await fsp.open(from, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NOFOLLOW | nodeFs.constants.O_NONBLOCK);
      try {
        const opened = await handle.stat();
        if (!opened.isFile()) {
          result.skipped++;
          return;
        }
        await target.writeFile(to, handle.createReadStream({ autoClose: false }), { flag: 'wx', mode, ...owner(st), signal });
        result.bytes += opened.size;
      } finally {
        await handle.close();
      }
      await target.chmod(to, mode, { signal });
      await target.utimes(to, st.atime, st.mtime, { signal });
      result.entries++;
    } else if (st.isSymbolicLink()) {
      await target.symlink(await fsp.readlink(from), to, { signal });
      if (preserveOwnership) await target.lchown(to, unmap.uid(st.uid), unmap.gid(st.gid), { signal });
      result.entries++;
    } else {
      result.skipped++;
    }
  };
  const st = await fsp.lstat(source);
  if (st.isDirectory() && !recursive) throw fsError(EISDIR, 'copy', source);
  await copyOne(source, dest, st);
  for (const [dir, mode] of filled.reverse()) await target.chmod(dir, mode, { signal });
  return result;
}

/** `source` in `from` to the host at `dest` (which must not exist), owned by the calling user. */
export async function copyOut(
  from: FileSystem,
  source: string,
  dest: string,
  options: {
    recursive: boolean;
    signal: AbortSignal | undefined;
    /** A file's bytes, failing with ENOTREGULAR (never waiting) if it is no longer a regular file. */
    open: (path: string, signal: AbortSignal | undefined) => Readable;
  },
): Promise<CopyResult> {
  const { recursive, signal, open } = options;
  const result: CopyResult = { entries: 0, bytes: 0, skipped: 0 };
  const filled: [string, number][] = [];
  const copyOne = async (
    path: string,
    to: string,
    type: string,
    st: { mode: number; atime: Date; mtime: Date; size: number },
  ): Promise<void> => {
    checkAborted(signal);
    const mode = st.mode & 0o777; // no set-id bits on what the caller gets
    if (type === 'directory') {
      await fsp.mkdir(to, { mode: DIR_WHILE_FILLED });
      filled.push([to, mode]);
    } else if (type === 'file') {
      try {
        await pipeline(open(path, signal), nodeFs.createWriteStream(to, { flags: 'wx', mode }), { signal });
      } catch (error) {
        // Swapped for a FIFO or a device since the walk saw a file: skipped,
        // as one seen so is (a FIFO would have made the copy wait).
        if ((error as NodeJS.ErrnoException).code !== 'ENOTREGULAR') throw error;
        await fsp.rm(to, { force: true });
        result.skipped++;
        return;
      }
      await fsp.chmod(to, mode);
      await fsp.utimes(to, st.atime, st.mtime);
      result.bytes += st.size;
    } else if (type === 'symlink') {
      await fsp.symlink(await from.readlink(path, { signal }), to);
    } else {
      result.skipped++;
      return;
    }
    result.entries++;
  };
  const st = await from.lstat(source, { signal });
  const type = st.isDirectory() ? 'directory' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
  if (type === 'directory' && !recursive) throw fsError(EISDIR, 'copy', source);
  await copyOne(source, dest, type, st);
  if (type === 'directory') {
    // One thread: a directory's entry comes before what is in it.
    for await (const entry of from.walk(source, { stat: true, threads: 1, signal })) {
      const relative = entry.fullPath.slice(source.length).replace(/^\/+/, '');
      await copyOne(entry.fullPath, nodePath.join(dest, relative), entry.type, entry.stats!);
    }
  }
  for (const [dir, mode] of filled.reverse()) await fsp.chmod(dir, mode);
  return result;
}

// Copies between the host and a FileSystem (a session), with node's fs.cp
// options and its rules for what is at the destination (FileSystem picks
// the name inside an existing directory, as `cp` and `podman cp` do): a
// directory is merged into, a file replaced with `force` (removed, then
// made anew with O_EXCL, so a symlink planted at its name is removed, never
// written through), a symlink replaced.  The host side is read and written
// with node:fs as the calling user, the other side through the
// FileSystem's requests, contents streamed with backpressure both ways.  Symlinks are copied as links, never
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
// A copy that fails or is stopped removes what it made, unless it was
// merging into a directory that was there (then, as node's cp, what was
// copied stays); where that fails too, the error's `partialOutput` names
// what is left.
import * as nodeFs from 'node:fs';
import type { Readable } from 'node:stream';

import { abortError, errnoError, systemFsError } from '../core/errors';
import type { MkdirOptions, PathLike, RmOptions, SignalOptions, WriteData, WriteFileOptions } from '../core/options';
import type { IdMapper } from '../core/stats';
import { Progress, type ProgressListener } from '../core/progress';
import { readTar } from './tar';

/**
 * Options of FileSystem#copyToHost (and copyFromHost): node's fs.cp's,
 * with what they mean across the boundary between host and session.
 */
export interface CopyOptions {
  /** Copies a directory and everything under it (without it, a directory is ERR_FS_EISDIR, as node's). */
  recursive?: boolean;
  /**
   * Replace an existing file or symlink at the destination (removed, then
   * made anew: a symlink there is never written through).  Default true.
   * A directory is always merged into, as node's cp does.
   */
  force?: boolean;
  /** With `force: false`, an existing file is ERR_FS_CP_EEXIST (else it is left as it is). Default false. */
  errorOnExist?: boolean;
  /**
   * Called with each source and destination path (the top one too), as
   * strings, before the entry is looked at; false (or a promise of it)
   * leaves that entry, and all under it, out.  Names that are not UTF-8
   * are given decoded (with U+FFFD).  copyToHost: the server still reads
   * what is left out (its tar stream), this process drops it; a hard link
   * to a file left out (or kept by `force: false`) is left out too (the
   * stream carries the content once, with the first name).
   */
  filter?: (source: string, destination: string) => boolean | Promise<boolean>;
  /**
   * Copy what symlinks point to.  copyFromHost: every symlink in the
   * source, followed on the host as node's cp does.  copyToHost: the
   * source path only, resolved inside the session's root (realpath);
   * links under it stay links, since the job that reads the tree never
   * follows one.  Default false.
   */
  dereference?: boolean;
  /**
   * Accepted for node's sake; targets are always copied verbatim here
   * (node resolves a relative one against the source's directory, which
   * across the boundary would name a path of the other side).
   */
  verbatimSymlinks?: boolean;
  /**
   * Keep the source files' atime and mtime (to the microsecond).  Default
   * true here, unlike node's cp (as `podman cp` does); `false` leaves the
   * copies with the times of their writing, as node's default does.
   */
  preserveTimestamps?: boolean;
  /**
   * node's copyFile mode (0 to 7, fs.constants.COPYFILE_EXCL …): checked
   * and otherwise without effect, since a file is always made where
   * nothing is (an existing one is removed first with `force`, as node's
   * cp does) and always with O_EXCL, as COPYFILE_EXCL asks.
   */
  mode?: number;
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

/** Options as FileSystem checked them. */
export interface CheckedCopyOptions {
  recursive: boolean;
  force: boolean;
  errorOnExist: boolean;
  filter: CopyOptions['filter'];
  dereference: boolean;
  preserveTimestamps: boolean;
  signal: AbortSignal | undefined;
  onProgress: CopyOptions['onProgress'];
}

/** node's cp errors that the destination rules give (a SystemError, as node's). */
const CP_ERRORS = {
  ERR_FS_CP_DIR_TO_NON_DIR: ['Cannot overwrite non-directory with directory', 'EISDIR'],
  ERR_FS_CP_EEXIST: ['Target already exists', 'EEXIST'],
  ERR_FS_CP_NON_DIR_TO_DIR: ['Cannot overwrite directory with non-directory', 'ENOTDIR'],
  ERR_FS_EISDIR: ['Path is a directory', 'EISDIR'],
} as const;

function cpError(code: keyof typeof CP_ERRORS, from: string, to: string): Error {
  const [description, errnoName] = CP_ERRORS[code];
  if (code === 'ERR_FS_EISDIR') return systemFsError(code, description, errnoName, 'cp', `${from} is a directory (not copied)`, from);
  const detail =
    code === 'ERR_FS_CP_EEXIST'
      ? `${to} already exists`
      : code === 'ERR_FS_CP_DIR_TO_NON_DIR'
        ? `cannot overwrite non-directory ${to} with directory ${from}`
        : `cannot overwrite directory ${to} with non-directory ${from}`;
  return systemFsError(code, description, errnoName, 'cp', detail, to);
}

/** What is at a destination before a copy: nothing, a directory or anything else. */
type Existing = 'none' | 'dir' | 'link' | 'other';

interface Kind {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

const existing = async (lstat: () => Promise<Kind>): Promise<Existing> => {
  try {
    const st = await lstat();
    return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw error;
  }
};

/**
 * node's rule for a non-directory over what is there: 'copy' (after
 * removing it with `force`), 'skip' (left as it is), or its error.
 */
async function onExisting(
  there: Existing,
  isLink: boolean,
  options: CheckedCopyOptions,
  from: string,
  to: string,
  unlink: () => Promise<unknown>,
): Promise<'copy' | 'skip'> {
  if (there === 'none') return 'copy';
  if (there === 'dir') throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', from, to);
  // node replaces a symlink with a symlink whatever `force` says; a link
  // over a file is its symlink(2)'s EEXIST.
  if (isLink) {
    if (there === 'link') await unlink();
    return 'copy';
  }
  if (options.force) {
    await unlink();
    return 'copy';
  }
  if (options.errorOnExist) throw cpError('ERR_FS_CP_EEXIST', from, to);
  return 'skip';
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
  lstat(path: PathLike, options: SignalOptions): Promise<Kind>;
  unlink(path: PathLike, options: SignalOptions): Promise<void>;
  rm(path: PathLike, options: RmOptions): Promise<unknown>;
}

/** Host `source` into `target` at `dest`, by node's cp rules for what is there. */
export async function copyIn(
  target: CopyTarget,
  unmap: { uid: IdMapper; gid: IdMapper },
  source: string,
  dest: string,
  options: CheckedCopyOptions & { preserveOwnership: boolean },
): Promise<CopyResult> {
  const { recursive, preserveOwnership, signal, filter, dereference } = options;
  const fsp = nodeFs.promises; // loaded on first use, as in copyOut
  const result: CopyResult = { entries: 0, bytes: 0, skipped: 0 };
  const progress = new Progress(options.onProgress);
  const filled: [Buffer, number][] = [];
  let made = false; // something is at `dest` that this copy made
  const owner = (st: nodeFs.Stats): { uid?: number; gid?: number } =>
    preserveOwnership ? { uid: unmap.uid(st.uid), gid: unmap.gid(st.gid) } : {};
  // With dereference, node's cp follows every symlink of the source.
  const statSource = (path: Buffer): Promise<nodeFs.Stats> => (dereference ? fsp.stat(path) : fsp.lstat(path));
  const copyOne = async (from: Buffer, to: Buffer): Promise<void> => {
    checkAborted(signal);
    if (filter !== undefined && !(await filter(from.toString(), to.toString()))) return;
    const st = await statSource(from);
    if (st.isDirectory() && !recursive) throw cpError('ERR_FS_EISDIR', source, dest);
    // The destination's own entry (lstat): a symlink there is never followed.
    const there = await existing(() => target.lstat(to, { signal }));
    const unlink = (): Promise<void> => target.unlink(to, { signal });
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      if (there === 'none') {
        await target.mkdir(to, { mode: DIR_WHILE_FILLED, ...owner(st), signal });
        made = true;
        filled.push([to, mode]);
      } else if (there !== 'dir') {
        throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', from.toString(), to.toString());
      }
      result.entries++;
      progress.add(1, 0);
      const dir = await fsp.opendir(from, { encoding: 'buffer' as BufferEncoding });
      for await (const entry of dir) {
        const name = entry.name as unknown as Buffer;
        await copyOne(under(from, name), under(to, name));
      }
    } else if (st.isFile()) {
      if ((await onExisting(there, false, options, from.toString(), to.toString(), unlink)) === 'skip') return;
      let size = 0;
      // O_NOFOLLOW: a file swapped for a symlink since its lstat is not read
      // through (with dereference, its stat followed links already).
      const noFollow = dereference ? 0 : nodeFs.constants.O_NOFOLLOW;
      const handle = await fsp.open(from, nodeFs.constants.O_RDONLY | noFollow | nodeFs.constants.O_NONBLOCK);
      try {
        const opened = await handle.stat();
        if (!opened.isFile()) {
          result.skipped++;
          return;
        }
        // 'wx' (O_EXCL): a symlink planted at `to` since is EEXIST, never written through.
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
      if (options.preserveTimestamps) await target.utimes(to, st.atimeMs / 1000, st.mtimeMs / 1000, { signal });
      result.entries++;
      progress.add(1, size);
    } else if (st.isSymbolicLink()) {
      await onExisting(there, true, options, from.toString(), to.toString(), unlink);
      await target.symlink(await fsp.readlink(from, { encoding: 'buffer' }), to, { signal });
      made = true;
      if (preserveOwnership) await target.lchown(to, unmap.uid(st.uid), unmap.gid(st.gid), { signal });
      result.entries++;
      progress.add(1, 0);
    } else {
      result.skipped++;
    }
  };
  // Merging into a directory that was there: a failure leaves what was copied, as node's cp does.
  const merging = (await existing(() => target.lstat(dest, { signal }))) === 'dir';
  try {
    await copyOne(Buffer.from(source), Buffer.from(dest));
    for (const [dir, mode] of filled.reverse()) await target.chmod(dir, mode);
    progress.end();
  } catch (error) {
    if (!made) throw error;
    if (merging) {
      for (const [dir, mode] of [...filled].reverse()) await target.chmod(dir, mode).catch(() => undefined);
      throw error;
    }
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
 * `source` in `from` to the host at `dest`, by node's cp rules for what is
 * there, owned by the calling user, from `archive`: the tar of `source`
 * the server makes for a copy, its first entry `source` itself ('.').
 */
export async function copyOut(archive: Readable, source: string, dest: string, options: CheckedCopyOptions): Promise<CopyResult> {
  const { recursive, signal, filter } = options;
  // node:fs/promises, through node:fs's getter: loaded by a copy, not by
  // every user of the package entry.
  const fsp = nodeFs.promises;
  const result: CopyResult = { entries: 0, bytes: 0, skipped: 0 };
  const progress = new Progress(options.onProgress);
  const top = Buffer.from(dest);
  // Names in the archive (latin1 keys) of the directories made (or merged
  // into, found by lstat as real directories) and files made: an entry
  // goes only into such a directory, a hard link only to a file made here,
  // so nothing is ever written through a link.
  const dirs = new Set<string>();
  const files = new Set<string>();
  // Directories the filter left out, and files it (or force: false) did: what is under or linked to them is dropped.
  const dropped = new Set<string>();
  const filled: [Buffer, number][] = [];
  let seenTop = false;
  let made = false; // something is at `dest` that this copy made
  const malformed = (name: Buffer): Error => errnoError('EINVAL', 'copy', name.toString('utf8'));
  const parentKey = (name: Buffer): string => {
    const slash = name.lastIndexOf(0x2f);
    return slash < 0 ? '.' : name.toString('latin1', 0, slash);
  };
  /** A name below the top: its host path, after checking it names a new entry in a directory made here. */
  const placed = (name: Buffer): Buffer => {
    const base = name.subarray(name.lastIndexOf(0x2f) + 1);
    if (!dirs.has(parentKey(name)) || base.length === 0 || base.equals(DOT) || base.equals(Buffer.from('..'))) throw malformed(name);
    return under(top, name);
  };
  // Merging into a directory that was there: a failure leaves what was copied, as node's cp does.
  const merging = (await existing(() => fsp.lstat(top))) === 'dir';
  try {
    for await (const { header: h, body } of readTar(archive)) {
      checkAborted(signal);
      const isTop = h.name.equals(DOT);
      if (isTop === seenTop) throw malformed(h.name); // the top first, once
      seenTop = true;
      const key = isTop ? '.' : h.name.toString('latin1');
      if (!isTop && dropped.has(parentKey(h.name))) {
        if (h.type === 'directory') dropped.add(key);
        continue;
      }
      const to = isTop ? top : placed(h.name);
      const from = isTop ? source : `${source.replace(/\/+$/, '')}/${h.name.toString()}`;
      if (filter !== undefined && !(await filter(from, to.toString()))) {
        dropped.add(key);
        continue;
      }
      if (isTop && h.type === 'directory' && !recursive) throw cpError('ERR_FS_EISDIR', source, dest);
      const there = await existing(() => fsp.lstat(to));
      const unlink = (): Promise<void> => fsp.unlink(to);
      const mode = h.mode & 0o777; // no set-id bits on what the caller gets
      switch (h.type) {
        case 'directory':
          if (there === 'none') {
            await fsp.mkdir(to, { mode: DIR_WHILE_FILLED });
            made = true;
            filled.push([to, mode]);
          } else if (there !== 'dir') {
            throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', from, to.toString());
          }
          dirs.add(key);
          break;
        case 'file': {
          if ((await onExisting(there, false, options, from, to.toString(), unlink)) === 'skip') {
            dropped.add(key);
            continue;
          }
          // 'wx' (O_EXCL): a symlink planted at `to` since is EEXIST, never written through.
          const handle = await fsp.open(to, 'wx', mode);
          made = true;
          try {
            for await (const chunk of body()) {
              checkAborted(signal);
              for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done)).bytesWritten;
            }
            await handle.chmod(mode);
            const atime = h.atime ?? h.mtime;
            if (options.preserveTimestamps) await handle.utimes(utime(atime), utime(h.mtime));
          } finally {
            await handle.close();
          }
          files.add(key);
          result.bytes += h.size;
          break;
        }
        case 'link': {
          // The tree's hard links stay links: to a file this copy made.
          const linked = h.linkName?.toString('latin1');
          if (linked !== undefined && dropped.has(linked)) continue;
          if (linked === undefined || !files.has(linked)) throw malformed(h.name);
          if ((await onExisting(there, false, options, from, to.toString(), unlink)) === 'skip') continue;
          await fsp.link(under(top, h.linkName!), to);
          break;
        }
        case 'symlink':
          await onExisting(there, true, options, from, to.toString(), unlink);
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
    if (merging) {
      for (const [dir, mode] of [...filled].reverse()) await fsp.chmod(dir, mode).catch(() => undefined);
      throw error;
    }
    const writable = filled.map(
      ([dir]) =>
        () =>
          fsp.chmod(dir, DIR_WHILE_FILLED),
    );
    return removePartial(error, dest, writable, () => fsp.rm(top, { recursive: true, force: true }));
  }
  return result;
}

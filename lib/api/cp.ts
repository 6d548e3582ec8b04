// FileSystem#cp: node's fs.promises.cp inside a session, its rules and its
// errors (lib/internal/fs/cp/cp.js in node 20, checked against node by
// test/cp.test.ts): the same checks before anything is written (a directory
// into itself, a directory over a file …), the same symlink rewriting, the
// same order of filter calls.  Files are copied by the server (CopyFile:
// copy_file_range or sendfile between fds it opened), never through this
// process; the tree is walked with the FileSystem's requests.
//
// Where node follows a path, the server follows it inside the session's
// root only (RESOLVE_IN_ROOT).  Without `dereference`, a file is opened
// with O_NOFOLLOW: a file swapped for a symlink after its lstat is ELOOP,
// never read through; a destination file is created with O_NOFOLLOW, so a
// symlink planted at its name is never written through.  A FIFO, a socket
// or a device found by the walk is node's error before anything opens it;
// one swapped in for a file afterwards is EINVAL from the server, never
// read.  What this walk does not do, unlike copyToHost's job: hold its
// directories open.  Each request resolves its path again, so a directory
// swapped for a symlink mid-copy redirects what follows, inside the
// session's root and never out of it.
import * as nodePath from 'node:path';

import { abortError, systemFsError, type FsError } from '../core/errors';
import type { ErrnoName } from '../core/errno';
import { checkBoolean, checkInteger, checkSignal, invalid } from '../core/checks';
import type { MkdirOptions, SignalOptions } from '../core/options';
import { Progress, type CopyProgress, type ProgressListener } from '../core/progress';
import type { BigIntStats } from '../core/stats';

/** What cp reads and changes of a FileSystem (its own methods). */
export interface CpFs {
  stat(path: string, options: { bigint: true; signal?: AbortSignal }): Promise<BigIntStats>;
  lstat(path: string, options: { bigint: true; signal?: AbortSignal }): Promise<BigIntStats>;
  readdir(path: string, options: SignalOptions): Promise<string[]>;
  readlink(path: string, options: SignalOptions): Promise<string>;
  mkdir(path: string, options: MkdirOptions): Promise<string | undefined>;
  chmod(path: string, mode: number, options: SignalOptions): Promise<void>;
  utimes(path: string, atime: Date, mtime: Date, options: SignalOptions): Promise<void>;
  symlink(target: string, path: string, options: SignalOptions): Promise<void>;
  unlink(path: string, options: SignalOptions): Promise<void>;
}

/**
 * fs.constants.COPYFILE_EXCL.  COPYFILE_FICLONE asks for what
 * copy_file_range does anyway (a reflink where the filesystem makes one);
 * COPYFILE_FICLONE_FORCE is accepted and not enforced.
 */
const COPYFILE_EXCL = 1;

/** Options of FileSystem#cp: node's fs.promises.cp's, and the library's signal and onProgress. */
export interface CpOptions {
  /** Follow symlinks in `src` (copy what they point to). Default false. */
  dereference?: boolean;
  /** With `force: false`, an existing destination is ERR_FS_CP_EEXIST. Default false. */
  errorOnExist?: boolean;
  /** Called for each source and destination path (the top one too); false (or a promise of it) leaves that entry out. */
  filter?: (source: string, destination: string) => boolean | Promise<boolean>;
  /** Overwrite existing files and symlinks. Default true. */
  force?: boolean;
  /** copyFile's mode (fs.constants.COPYFILE_EXCL …). Default 0. */
  mode?: number;
  /** Keep atime and mtime of the source. Default false. */
  preserveTimestamps?: boolean;
  /** Copy directories and what they hold. Default false (a directory is ERR_FS_EISDIR). */
  recursive?: boolean;
  /** Copy symlink targets as they are, not resolved against the link's directory. Default false. */
  verbatimSymlinks?: boolean;
  /** Stops the copy between two entries (what was copied stays, as with node's). */
  signal?: AbortSignal;
  /** Progress, at most every 100 ms, and once at the end. */
  onProgress?: ProgressListener;
}

export type { CopyProgress };

export const CP_OPTIONS = [
  'dereference',
  'errorOnExist',
  'filter',
  'force',
  'mode',
  'preserveTimestamps',
  'recursive',
  'verbatimSymlinks',
  'signal',
  'onProgress',
];

/** What cp needs of a FileSystem, and how its paths resolve. */
export interface CpHost {
  fs: CpFs;
  resolve: (path: string) => string;
  /** The server's CopyFile: `exclusive` as COPYFILE_EXCL, `follow` the source's last symlink. */
  copyFile(src: string, dest: string, exclusive: boolean, follow: boolean, signal: AbortSignal | undefined): Promise<void>;
}

interface Checked {
  dereference: boolean;
  errorOnExist: boolean;
  filter: CpOptions['filter'];
  force: boolean;
  mode: number;
  preserveTimestamps: boolean;
  recursive: boolean;
  verbatimSymlinks: boolean;
  signal: AbortSignal | undefined;
  onProgress: CpOptions['onProgress'];
}

/** cp's options checked as node checks them (validateCpOptions), less its unknown keys. */
export function checkCpOptions(o: Record<string, unknown>): Checked {
  const checked: Checked = {
    dereference: checkBoolean('dereference', o.dereference),
    errorOnExist: checkBoolean('errorOnExist', o.errorOnExist),
    filter: undefined,
    force: o.force === undefined ? true : checkBoolean('force', o.force),
    mode: checkInteger('mode', o.mode, 0, 7, 0),
    preserveTimestamps: checkBoolean('preserveTimestamps', o.preserveTimestamps),
    recursive: checkBoolean('recursive', o.recursive),
    verbatimSymlinks: checkBoolean('verbatimSymlinks', o.verbatimSymlinks),
    signal: checkSignal(o.signal),
    onProgress: undefined,
  };
  if (o.filter !== undefined && typeof o.filter !== 'function') throw invalid('filter', 'a function', o.filter);
  checked.filter = o.filter as Checked['filter'];
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw invalid('cp onProgress', 'a function', o.onProgress);
  checked.onProgress = o.onProgress as Checked['onProgress'];
  if (checked.dereference && checked.verbatimSymlinks) {
    const error = new TypeError('Option "dereference" cannot be used in combination with option "verbatimSymlinks"');
    (error as TypeError & { code: string }).code = 'ERR_INCOMPATIBLE_OPTION_PAIR';
    throw error;
  }
  return checked;
}

/** node's cp errors (a SystemError with `info`), by their code: the description and the errno. */
const CP_ERRORS: Record<string, [string, ErrnoName]> = {
  ERR_FS_CP_DIR_TO_NON_DIR: ['Cannot overwrite non-directory with directory', 'EISDIR'],
  ERR_FS_CP_EEXIST: ['Target already exists', 'EEXIST'],
  ERR_FS_CP_EINVAL: ['Invalid src or dest', 'EINVAL'],
  ERR_FS_CP_FIFO_PIPE: ['Cannot copy a FIFO pipe', 'EINVAL'],
  ERR_FS_CP_NON_DIR_TO_DIR: ['Cannot overwrite directory with non-directory', 'ENOTDIR'],
  ERR_FS_CP_SOCKET: ['Cannot copy a socket file', 'EINVAL'],
  ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY: ['Cannot overwrite symlink in subdirectory of self', 'EINVAL'],
  ERR_FS_CP_UNKNOWN: ['Cannot copy an unknown file type', 'EINVAL'],
  ERR_FS_EISDIR: ['Path is a directory', 'EISDIR'],
};

/** A cp error as node makes it (a SystemError): `code` ERR_FS_…, `errno`, `syscall` 'cp', `path`, `info`. */
export interface CpError extends Error {
  /** node's code: 'ERR_FS_CP_EINVAL', 'ERR_FS_EISDIR' … */
  code: string;
  /** The errno the code stands for (positive, as node gives it: 22 for EINVAL). */
  errno: number;
  /** Always 'cp'. */
  syscall: 'cp';
  /** The path the error is about (most often the destination). */
  path: string;
  /** What node puts in a SystemError's `info`. */
  info: {
    /** The detail between parentheses in the message. */
    message: string;
    /** As `path`. */
    path: string;
    /** Always 'cp'. */
    syscall: 'cp';
    /** As `errno`. */
    errno: number;
    /** The errno's name ('EINVAL'). */
    code: ErrnoName;
  };
}

export function cpError(code: keyof typeof CP_ERRORS, message: string, path: string): CpError {
  const [description, errnoName] = CP_ERRORS[code]!;
  return systemFsError(code, description, errnoName, 'cp', message, path) as CpError;
}

const identical = (a: BigIntStats, b: BigIntStats): boolean => a.ino === b.ino && a.dev === b.dev;

/** Whether `dest` is `src` or under it, component by component (node's isSrcSubdir). */
function isSubdir(resolve: (path: string) => string, src: string, dest: string): boolean {
  const srcParts = resolve(src).split('/').filter(Boolean);
  const destParts = resolve(dest).split('/').filter(Boolean);
  return srcParts.every((part, i) => destParts[i] === part);
}

/** Copies `src` to `dest` with node's fs.cp rules; resolves with the counts. */
export async function cp(host: CpHost, src: string, dest: string, opts: Checked): Promise<CopyProgress> {
  const { fs, resolve } = host;
  const progress = new Progress(opts.onProgress);
  const stat = (path: string): Promise<BigIntStats> =>
    opts.dereference ? fs.stat(path, { bigint: true, signal: opts.signal }) : fs.lstat(path, { bigint: true, signal: opts.signal });
  const statIfAny = async (path: string, how: (path: string) => Promise<BigIntStats>): Promise<BigIntStats | undefined> => {
    try {
      return await how(path);
    } catch (error) {
      if ((error as FsError).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const checkAborted = (): void => {
    if (opts.signal?.aborted) throw abortError(opts.signal);
  };

  /** node's checkPaths: the filter, then what src and dest are to each other. */
  const checkPaths = async (from: string, to: string): Promise<{ skipped: boolean; srcStat?: BigIntStats; destStat?: BigIntStats }> => {
    checkAborted();
    if (opts.filter !== undefined && !(await opts.filter(from, to))) return { skipped: true };
    const srcStat = await stat(from);
    const destStat = await statIfAny(to, stat);
    if (destStat !== undefined) {
      if (identical(srcStat, destStat)) throw cpError('ERR_FS_CP_EINVAL', 'src and dest cannot be the same', to);
      if (srcStat.isDirectory() && !destStat.isDirectory()) {
        throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', `cannot overwrite non-directory ${to} with directory ${from}`, to);
      }
      if (!srcStat.isDirectory() && destStat.isDirectory()) {
        throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', `cannot overwrite directory ${to} with non-directory ${from}`, to);
      }
    }
    if (srcStat.isDirectory() && isSubdir(resolve, from, to)) {
      throw cpError('ERR_FS_CP_EINVAL', `cannot copy ${from} to a subdirectory of self ${to}`, to);
    }
    return { skipped: false, srcStat, destStat };
  };

  /** node's checkParentPaths: no directory above `to` is `from` itself (through a link). */
  const checkParents = async (from: string, srcStat: BigIntStats, to: string): Promise<void> => {
    const srcParent = resolve(nodePath.posix.dirname(from));
    const destParent = resolve(nodePath.posix.dirname(to));
    if (destParent === srcParent || destParent === nodePath.posix.parse(destParent).root) return;
    const parentStat = await statIfAny(destParent, (path) => fs.stat(path, { bigint: true, signal: opts.signal }));
    if (parentStat === undefined) return;
    if (identical(srcStat, parentStat)) throw cpError('ERR_FS_CP_EINVAL', `cannot copy ${from} to a subdirectory of self ${to}`, to);
    return checkParents(from, srcStat, destParent);
  };

  const copyFile = async (from: string, to: string, srcStat: BigIntStats): Promise<void> => {
    await host.copyFile(from, to, (opts.mode & COPYFILE_EXCL) !== 0, opts.dereference, opts.signal);
    const mode = Number(srcStat.mode) & 0o7777;
    if (opts.preserveTimestamps) {
      // A read-only copy is made writable for utimes, as node's does.
      if ((mode & 0o200) === 0) await fs.chmod(to, mode | 0o200, { signal: opts.signal });
      // Dates, to the millisecond, as node's copy gets them.
      const times = await fs.stat(from, { bigint: true, signal: opts.signal });
      await fs.utimes(to, msDate(times.atimeNs), msDate(times.mtimeNs), { signal: opts.signal });
    }
    await fs.chmod(to, mode, { signal: opts.signal });
    progress.add(1, Number(srcStat.size));
  };

  const onFile = async (from: string, to: string, srcStat: BigIntStats, destStat: BigIntStats | undefined): Promise<void> => {
    if (destStat === undefined) return copyFile(from, to, srcStat);
    if (opts.force) {
      await fs.unlink(to, { signal: opts.signal });
      return copyFile(from, to, srcStat);
    }
    if (opts.errorOnExist) throw cpError('ERR_FS_CP_EEXIST', `${to} already exists`, to);
  };

  const onDir = async (from: string, to: string, srcStat: BigIntStats, destStat: BigIntStats | undefined): Promise<void> => {
    if (destStat === undefined) {
      await fs.mkdir(to, { signal: opts.signal });
      await copyDir(from, to);
      await fs.chmod(to, Number(srcStat.mode) & 0o7777, { signal: opts.signal });
    } else {
      await copyDir(from, to);
    }
    progress.add(1, 0);
  };

  const copyDir = async (from: string, to: string): Promise<void> => {
    const names = await fs.readdir(from, { signal: opts.signal });
    for (const name of names) {
      const srcItem = nodePath.posix.join(from, name);
      const destItem = nodePath.posix.join(to, name);
      const { skipped, destStat } = await checkPaths(srcItem, destItem);
      if (!skipped) await copyEntry(srcItem, destItem, destStat);
    }
  };

  const onLink = async (from: string, to: string, destStat: BigIntStats | undefined): Promise<void> => {
    let target = await fs.readlink(from, { signal: opts.signal });
    if (!opts.verbatimSymlinks && !nodePath.posix.isAbsolute(target)) {
      target = resolve(nodePath.posix.resolve(resolve(nodePath.posix.dirname(from)), target));
    }
    if (destStat === undefined) {
      await fs.symlink(target, to, { signal: opts.signal });
      progress.add(1, 0);
      return;
    }
    let destTarget: string;
    try {
      destTarget = await fs.readlink(to, { signal: opts.signal });
    } catch (error) {
      // Not a link (EINVAL): replaced as it stands, as node does.
      if ((error as FsError).code !== 'EINVAL') throw error;
      await fs.symlink(target, to, { signal: opts.signal });
      progress.add(1, 0);
      return;
    }
    if (!nodePath.posix.isAbsolute(destTarget)) destTarget = nodePath.posix.resolve(resolve(nodePath.posix.dirname(to)), destTarget);
    if (isSubdir(resolve, target, destTarget)) {
      throw cpError('ERR_FS_CP_EINVAL', `cannot copy ${target} to a subdirectory of self ${destTarget}`, to);
    }
    const followed = await fs.stat(from, { bigint: true, signal: opts.signal });
    if (followed.isDirectory() && isSubdir(resolve, destTarget, target)) {
      throw cpError('ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY', `cannot overwrite ${destTarget} with ${target}`, to);
    }
    await fs.unlink(to, { signal: opts.signal });
    await fs.symlink(target, to, { signal: opts.signal });
    progress.add(1, 0);
  };

  /** node's getStatsForCopy: what the entry is decides how it is copied. */
  const copyEntry = async (from: string, to: string, destStat: BigIntStats | undefined): Promise<void> => {
    checkAborted();
    const srcStat = await stat(from);
    if (srcStat.isDirectory()) {
      if (!opts.recursive) throw cpError('ERR_FS_EISDIR', `${from} is a directory (not copied)`, from);
      return onDir(from, to, srcStat, destStat);
    }
    if (srcStat.isFile() || srcStat.isCharacterDevice() || srcStat.isBlockDevice()) return onFile(from, to, srcStat, destStat);
    if (srcStat.isSymbolicLink()) return onLink(from, to, destStat);
    if (srcStat.isSocket()) throw cpError('ERR_FS_CP_SOCKET', `cannot copy a socket file: ${to}`, to);
    if (srcStat.isFIFO()) throw cpError('ERR_FS_CP_FIFO_PIPE', `cannot copy a FIFO pipe: ${to}`, to);
    throw cpError('ERR_FS_CP_UNKNOWN', `cannot copy an unknown file type: ${to}`, to);
  };

  const top = await checkPaths(src, dest);
  if (top.skipped) return progress.counts;
  await checkParents(src, top.srcStat!, dest);
  const destParent = nodePath.posix.dirname(dest);
  if ((await statIfAny(destParent, (path) => fs.stat(path, { bigint: true, signal: opts.signal }))) === undefined) {
    await fs.mkdir(destParent, { recursive: true, signal: opts.signal });
  }
  await copyEntry(src, dest, top.destStat);
  progress.end();
  return progress.counts;
}

/** Nanoseconds since the epoch as a Date (milliseconds, rounded down as node's stats Dates are). */
function msDate(ns: bigint): Date {
  const ms = ns / 1_000_000n - (ns < 0n && ns % 1_000_000n !== 0n ? 1n : 0n);
  return new Date(Number(ms));
}

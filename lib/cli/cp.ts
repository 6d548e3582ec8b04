// unshare-fs cp SRC DST: a copy between the host and a container, two
// containers, or a volume, with `podman cp`'s rules for the destination:
//   - a directory that exists receives the copy under SRC's last name;
//   - SRC ending in '/.' copies what the directory holds into DST (made
//     when missing);
//   - an existing file is replaced by a file; a directory is never put
//     where a non-directory is, nor a file where a directory is asked for
//     with a trailing '/' that is not one;
//   - directories are always copied whole (podman cp has no -r).
//   - a SRC that is a symlink is followed, and what it points to copied
//     under its own name, as podman cp does.
// `--archive=false` keeps the source's owners, mapped into the
// destination's namespace (podman cp: chowned to the container's user
// otherwise).  Between two containers the copy passes through a private
// directory of the host, removed afterwards.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';

import { host } from '../index';
import { UsageError, type Output } from './output';
import type { Target } from './target';

export interface CpOptions {
  /** podman cp's --archive (default true): what is copied in belongs to the container's user. */
  archive: boolean;
}

const isHost = (target: Target): boolean => target.fs === host;

type Kind = 'dir' | 'other' | undefined;

/** What is at `path` in `target`: a directory (a symlink to one followed unless `lstat`), something else, or nothing. */
async function kindOf(target: Target, path: string, lstat = false): Promise<Kind> {
  try {
    const st = lstat ? await target.fs.lstat(path) : await target.fs.stat(path);
    return st.isDirectory() ? 'dir' : 'other';
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || (!lstat && code === 'ELOOP')) return lstat ? undefined : kindOf(target, path, true);
    throw error;
  }
}

/**
 * A copy's onProgress for the run's progress line: each copy tells its own
 * totals, the line adds what each call adds (container to container, both
 * legs count).
 */
function copyCounter(out: Output): (entries: number, bytes: number) => void {
  let told = { entries: 0, bytes: 0 };
  return (entries, bytes) => {
    out.progress.add({ entries: entries - told.entries, bytes: bytes - told.bytes });
    told = { entries, bytes };
  };
}

/** One entry `from` of `src` to the free path `to` of `dst`; Ctrl-C stops it in the server. */
async function copyOne(src: Target, from: string, dst: Target, to: string, options: CpOptions, out: Output): Promise<void> {
  const signal = out.closed.signal;
  const copyIn = { recursive: true, preserveOwnership: !options.archive, signal, onProgress: copyCounter(out) };
  if (isHost(src)) {
    await dst.fs.copyFromHost(from, to, copyIn);
    return;
  }
  if (isHost(dst)) {
    await src.fs.copyToHost(from, to, { recursive: true, signal, onProgress: copyCounter(out) });
    return;
  }
  // Container to container: out to a private host directory, then in.
  const staging = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'unshare-fs-cp-'));
  try {
    const middle = nodePath.join(staging, 'entry');
    await src.fs.copyToHost(from, middle, { recursive: true, signal, onProgress: copyCounter(out) });
    await dst.fs.copyFromHost(middle, to, copyIn);
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
}

/**
 * `from` to exactly `to`: a directory onto a directory merges (podman cp
 * writes into what is there), a non-directory replaces a non-directory,
 * and the two kinds never replace each other.
 */
async function place(src: Target, from: string, dst: Target, to: string, options: CpOptions, out: Output): Promise<void> {
  const [fromKind, toKind] = await Promise.all([kindOf(src, from, true), kindOf(dst, to)]);
  if (fromKind === 'dir' && toKind === 'dir') return merge(src, from, dst, to, options, out);
  if (fromKind === 'dir' && toKind === 'other') {
    throw Object.assign(new Error(`cannot overwrite non-directory '${dst.prefix}${to}' with directory '${src.prefix}${from}'`), {
      code: 'ENOTDIR',
    });
  }
  if (toKind === 'dir') {
    throw Object.assign(new Error(`cannot overwrite directory '${dst.prefix}${to}' with non-directory '${src.prefix}${from}'`), {
      code: 'EISDIR',
    });
  }
  if (toKind !== undefined) await dst.fs.rm(to);
  await copyOne(src, from, dst, to, options, out);
}

/** What the directory `from` holds, into the directory `to`. */
async function merge(src: Target, from: string, dst: Target, to: string, options: CpOptions, out: Output): Promise<void> {
  for (const name of await src.fs.readdir(from)) {
    if (out.closed.signal.aborted) return;
    await place(src, nodePath.posix.join(from, name), dst, nodePath.posix.join(to, name), options, out);
  }
}

/**
 * `path` with its last component followed while it is a symlink (podman cp
 * copies what a SRC symlink points to): each target read with readlink,
 * resolved in the target's own file system (a container's absolute link
 * stays in the container), at most 40 times (ELOOP), as the kernel does.
 */
async function followLinks(target: Target, path: string): Promise<string> {
  for (let hops = 0; hops < 40; hops++) {
    if (!(await target.fs.lstat(path)).isSymbolicLink()) return path;
    const link = await target.fs.readlink(path);
    path = nodePath.posix.isAbsolute(link) ? link : nodePath.posix.join(nodePath.posix.dirname(path), link);
  }
  throw Object.assign(new Error(`ELOOP: too many symbolic links encountered, stat '${path}'`), { code: 'ELOOP', path });
}

/** Copies `src` to `dst` with podman cp's rules (see the file's head). */
export async function cp(src: Target, dst: Target, options: CpOptions, out: Output): Promise<void> {
  const contents = /(^|\/)\.$/.test(src.path);
  const named = contents ? src.path.replace(/\/?\.$/, '') || '/' : src.path;
  const from = await followLinks(src, named);
  // The error lstat gives when there is nothing, with the path as written.
  const fromKind = (await src.fs.lstat(from)).isDirectory() ? 'dir' : 'other';
  const toKind = await kindOf(dst, dst.path);
  if (fromKind !== 'dir' && dst.path.endsWith('/') && toKind !== 'dir') {
    throw Object.assign(new Error(`'${dst.prefix}${dst.path}' is not a directory`), { code: 'ENOTDIR' });
  }
  if (contents) {
    if (fromKind !== 'dir') throw new UsageError(`'${src.prefix}${src.path}': '/.' is for a directory`);
    if (toKind === undefined) await dst.fs.mkdir(dst.path);
    return merge(src, from, dst, dst.path, options, out);
  }
  const name = nodePath.posix.basename(from);
  const to = toKind === 'dir' && name !== '' ? nodePath.posix.join(dst.path, name) : dst.path;
  return place(src, from, dst, to, options, out);
}

// unshare-fs rm: coreutils rm's rules over the library's rm job, which
// removes a tree fd-relative in the target's server, never following a
// symlink: a container's files are hostile input.
import * as path from 'node:path';

import type { TreeOptions } from '../index';
import type { Output } from './output';
import type { Target } from './target';

export interface RmOptions {
  /** -r: directories and everything under them. */
  recursive?: boolean;
  /** -f: a missing file is no error. */
  force?: boolean;
  /** Told the entries done; the one place a progress display plugs in. */
  onProgress?: TreeOptions['onProgress'];
}

/** The path a target names, made absolute in its own file system (a host path against the cwd). */
export function absolutePath(target: Target): string {
  return target.session === null ? path.resolve(target.path) : path.posix.resolve('/', target.path);
}

/**
 * Removes one target as `rm` does: refuses '.' and '..' as last names
 * and, as rm's --preserve-root, the target's '/' (a container's root, a
 * volume's: emptying a volume is `unshare-fs volume rm`); a directory
 * only with -r.  With -r an entry that cannot be removed is told and the
 * rest goes on (exit 1, as rm); a mount point inside the tree is left
 * alone (EBUSY), as the library's job does.
 */
export async function rm(target: Target, options: RmOptions, out: Output): Promise<void> {
  const shown = `'${target.prefix}${target.path}'`;
  const last = target.path.replace(/\/+$/, '').split('/').pop();
  if (options.recursive && (last === '.' || last === '..')) {
    throw new Error(`refusing to remove '.' or '..' directory: skipping ${shown}`);
  }
  if (absolutePath(target) === '/') {
    const hint = target.prefix.startsWith('volume:') ? `; to empty the volume: unshare-fs volume rm ${target.prefix.slice(7, -1)}` : '';
    throw new Error(`it is dangerous to operate recursively on ${shown} (same as '/'): not removed${hint}`);
  }
  await target.fs.rm(target.path, {
    recursive: !!options.recursive,
    force: !!options.force,
    signal: out.closed.signal,
    ...(options.recursive && { onError: (error) => out.fail(error, target.prefix) }),
    ...(options.recursive && options.onProgress && { onProgress: options.onProgress }),
  });
}

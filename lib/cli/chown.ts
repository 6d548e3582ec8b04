// unshare-fs chown: coreutils chown's OWNER[:GROUP] over the library's
// chown, ids as the target sees them (a container's: its own ids, which
// the host sees shifted into the user's subordinate range).
import type { TreeOptions } from '../index';
import { UsageError, type Output } from './output';
import type { Target } from './target';
import { readIdsByName } from './users';

export interface ChownOptions {
  /** -R: everything under a directory too, symlinks changed themselves, never followed (chown -R -P). */
  recursive?: boolean;
  /** -h: a symlink itself, not the file it names. */
  noDereference?: boolean;
  /** Told the entries done; the one place a progress display plugs in. */
  onProgress?: TreeOptions['onProgress'];
}

/** OWNER as written: each part a name, a number, or absent. */
export interface OwnerSpec {
  user?: string;
  group?: string;
  /** `USER:` (a colon, no group): the user's login group, as chown takes it. */
  loginGroup: boolean;
}

/** Splits OWNER (`USER`, `USER:GROUP`, `USER:`, `:GROUP`); a usage error for an empty one. */
export function parseOwner(text: string): OwnerSpec {
  const colon = text.indexOf(':');
  const user = colon < 0 ? text : text.slice(0, colon);
  const group = colon < 0 ? '' : text.slice(colon + 1);
  if (user === '' && group === '' && colon < 0) throw new UsageError(`invalid spec: '${text}'`);
  if (colon >= 0 && user === '' && group === '' && text !== ':') throw new UsageError(`invalid spec: '${text}'`);
  return {
    ...(user !== '' && { user }),
    ...(group !== '' && { group }),
    loginGroup: colon >= 0 && group === '' && user !== '',
  };
}

/** An id chown takes: 0 to 2^32-2 (2^32-1 is -1, "leave it"). */
function numericId(text: string): number | undefined {
  const digits = text.startsWith('+') ? text.slice(1) : text;
  if (!/^\d{1,10}$/.test(digits)) return undefined;
  const n = Number(digits);
  return n <= 0xfffffffe ? n : undefined;
}

/**
 * The ids OWNER names in the target (-1: left as it is).  As GNU chown, a
 * name is looked up first (in the target's own /etc/passwd and /etc/group)
 * and a number taken as an id when no such name exists; `+N` is always a
 * number.  An unknown name fails this target only.
 */
export async function resolveOwner(spec: OwnerSpec, target: Target): Promise<{ uid: number; gid: number }> {
  const needsNames = [spec.user, spec.group].some((part) => part !== undefined && !part.startsWith('+'));
  const names = needsNames ? await readIdsByName(target.fs) : undefined;
  let uid = -1;
  let gid = -1;
  if (spec.user !== undefined) {
    const account = spec.user.startsWith('+') ? undefined : names?.user(spec.user);
    const n = account?.uid ?? numericId(spec.user);
    if (n === undefined) throw new Error(`invalid user: '${spec.user}' (not in ${target.prefix}/etc/passwd)`);
    uid = n;
    if (spec.loginGroup) {
      if (account === undefined || Number.isNaN(account.gid)) {
        throw new Error(`invalid spec: '${spec.user}:' (no login group in ${target.prefix}/etc/passwd)`);
      }
      gid = account.gid;
    }
  }
  if (spec.group !== undefined) {
    const n = (spec.group.startsWith('+') ? undefined : names?.group(spec.group)) ?? numericId(spec.group);
    if (n === undefined) throw new Error(`invalid group: '${spec.group}' (not in ${target.prefix}/etc/group)`);
    gid = n;
  }
  return { uid, gid };
}

/**
 * Changes the owner of one target.  Without -R the path is followed when it
 * is a symlink (as chown; -h changes the link); with -R the library's job
 * changes the tree in the server, links themselves, and an entry that
 * cannot be changed is told while the rest goes on (exit 1).
 */
export async function chown(target: Target, spec: OwnerSpec, options: ChownOptions, out: Output): Promise<void> {
  const { uid, gid } = await resolveOwner(spec, target);
  const signal = out.closed.signal;
  if (options.recursive) {
    await target.fs.chown(target.path, uid, gid, {
      recursive: true,
      signal,
      onError: (error) => out.fail(error, target.prefix),
      ...(options.onProgress && { onProgress: options.onProgress }),
    });
  } else if (options.noDereference) {
    await target.fs.lchown(target.path, uid, gid, { signal });
  } else {
    await target.fs.chown(target.path, uid, gid, { signal });
  }
}

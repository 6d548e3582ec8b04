/**
 * Why the kernel refused a user namespace, in the error: the sysctls that
 * limit or forbid them, named with their current values, since a bare
 * ENOSPC ("no space left on device") or EPERM says nothing of the cause.
 */
import { readFileSync } from 'node:fs';

import { UnshareFsError } from '../core/errors';

/** A sysctl that can refuse user namespaces, and its value here. */
export interface UserNamespaceSysctl {
  name: string;
  value: string;
}

function sysctl(name: string): UserNamespaceSysctl | undefined {
  try {
    return { name, value: readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim() };
  } catch {
    return undefined; // not this kernel's (AppArmor's, Debian's patch) or /proc/sys hidden
  }
}

/**
 * `error` (from making the holder's user namespace or writing its maps)
 * with the cause named in its message and a `sysctl` property, when a
 * sysctl explains it; otherwise `error` unchanged.  The errno code stays.
 */
export function explainUserNamespaceError(error: unknown): unknown {
  const e = error as Error & { code?: unknown; sysctl?: UserNamespaceSysctl };
  // The library's own refusals (UnshareFsError) are not the kernel's.
  if (typeof e !== 'object' || e === null || typeof e.code !== 'string' || e instanceof UnshareFsError) return error;
  let found: UserNamespaceSysctl | undefined;
  let hint: string | undefined;
  if (e.code === 'ENOSPC') {
    // Per user namespace: this one's limit, or an ancestor's, is reached.
    found = sysctl('user.max_user_namespaces');
    hint = found
      ? `user namespaces are exhausted: user.max_user_namespaces is ${found.value} (here or in an enclosing namespace); raise it with sysctl, or end unused namespaces`
      : 'user namespaces are exhausted (user.max_user_namespaces)';
  } else if (e.code === 'EPERM' || e.code === 'EACCES') {
    const apparmor = sysctl('kernel.apparmor_restrict_unprivileged_userns');
    const debian = sysctl('kernel.unprivileged_userns_clone');
    const max = sysctl('user.max_user_namespaces');
    if (apparmor && apparmor.value !== '0') {
      found = apparmor;
      hint = `AppArmor restricts unprivileged user namespaces: kernel.apparmor_restrict_unprivileged_userns is ${apparmor.value}; set it to 0, or give node an AppArmor profile that allows userns`;
    } else if (debian && debian.value === '0') {
      found = debian;
      hint = 'unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is 0; set it to 1';
    } else if (max && max.value === '0') {
      found = max;
      hint = 'user namespaces are disabled: user.max_user_namespaces is 0';
    } else {
      hint = 'no sysctl forbids user namespaces here; a seccomp filter (a container runtime) may';
    }
  }
  if (hint === undefined) return error;
  e.message += ` (${hint})`;
  if (found) e.sysctl = found;
  return e;
}

// Requests only the library's own objects make (a Namespace's mounts, a
// session's root): functions, not methods of a FileSystem, so that no
// public object reaches them (the server refuses them where they do not
// belong as well).
import { checkPath, checkPathLength } from '../core/checks';
import { voidRequest } from './answer';
import type { Channel } from './channel';
import { encodeMount, encodeSetRoot, encodeUnmount } from './requests';

/** The server a privileged request goes to, and how it resolves paths. */
export interface RequestTarget {
  channel(): Channel;
  resolvePath(path: string): string;
}

/** mount(2) in the server's mount namespace: only a Namespace's own worker accepts it. */
export function mountRequest(
  server: RequestTarget,
  mount: { source: string; target: string; fstype: string; flags: number; data: string },
  caller: (...args: never[]) => unknown,
): Promise<void> {
  const target = Buffer.from(server.resolvePath(mount.target));
  checkPathLength(target, 'mount', mount.target);
  const frame = encodeMount({
    flags: BigInt(mount.flags),
    source: Buffer.from(mount.source),
    target,
    fstype: Buffer.from(mount.fstype),
    data: Buffer.from(mount.data),
  });
  return voidRequest(() => server.channel(), frame, caller);
}

/** umount2(2) in the server's mount namespace: only a Namespace's own worker accepts it. */
export function unmountRequest(server: RequestTarget, target: string, flags: number, caller: (...args: never[]) => unknown): Promise<void> {
  const resolved = Buffer.from(server.resolvePath(target));
  checkPathLength(resolved, 'umount', target);
  return voidRequest(() => server.channel(), encodeUnmount(flags, resolved), caller);
}

/** Makes the server resolve every later path inside `dir` (RESOLVE_IN_ROOT); a worker takes it once. */
export function setRootRequest(server: RequestTarget, dir: string, caller: (...args: never[]) => unknown): Promise<void> {
  const bytes = checkPath(dir, 'root');
  checkPathLength(bytes, 'open', dir);
  return voidRequest(() => server.channel(), encodeSetRoot(bytes), caller);
}

// Namespaces the library makes itself: a holder process in a new user and
// mount namespace, as rootless podman's pause process is, with overlays
// mounted in it.
import type * as ChildProcess from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { Channel, socketTransport } from '../wire/channel';
import { CallSite, UnshareFsError } from '../core/errors';
import { checkIdMap, formatIdMap, readIdMaps, type IdRange } from './idmap';
import { native, nativeError, type ExitStatus } from '../wire/native';
import { checkArgv, checkBoolean, checkOneOf, checkOptionsObject, checkString, invalid, invalidValue, outOfRange } from '../core/checks';
import { serverOf } from '../api/filesystem';
import { readyFrame } from '../wire/answer';
import { mountRequest, unmountRequest } from '../wire/privileged';
import { enter, enterToMount, type Session } from './session';
import { podmanIdMap, subidRanges } from './subids';
import { explainUserNamespaceError } from './userns';
import { passwdEntry } from './users';

/**
 * execFile, promised; node:child_process (and node:net, which it loads) is
 * loaded on the first namespace made, not by every user of the package
 * entry: a short command on a host path does not pay for it.
 */
const run = (file: string, args: string[]): Promise<unknown> =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  promisify((require('node:child_process') as typeof ChildProcess).execFile)(file, args);

/** Options of createNamespace(): how ids are mapped, and whether a user namespace is made at all. */
export interface CreateNamespaceOptions {
  /**
   * As root: the uid map to write.  Default: the shape rootless podman uses
   * when root has subordinate ranges (0 -> 0, then each range after the
   * other from 1), else every id mapped to itself.
   */
  uidMap?: IdRange[];
  /** As root: the gid map to write (default: the uid map). */
  gidMap?: IdRange[];
  /**
   * As an ordinary user: map every subordinate range (getsubids, else
   * /etc/subuid and /etc/subgid), one after the other from id 1,
   * with newuidmap/newgidmap ('auto', the default, when possible; 'require'
   * fails when it is not; 'none' maps the user's own ids only).
   */
  subids?: 'auto' | 'require' | 'none';
  /**
   * As root: false makes a mount namespace only, in our own user namespace.
   * Overlays there read rootful layers' trusted.* xattrs (opaque
   * directories, whiteouts kept as xattrs), which an overlay mounted in a
   * user namespace cannot.  Default true.
   */
  userNamespace?: boolean;
}

/** What Namespace#mountOverlay mounts, and where. */
export interface OverlayOptions {
  /** Lower layers, uppermost first. */
  lowerDirs: string[];
  /** Writable layer; omit it (and workDir) for a read-only overlay. */
  upperDir?: string;
  /** overlayfs's work dir, an empty directory on the upper dir's filesystem; needed with (and only with) `upperDir`. */
  workDir?: string;
  /** The mount point, a directory as the namespace sees it. */
  target: string;
  /** Mounts read-only even with an upper dir (without one it always is). Default false. */
  readOnly?: boolean;
}

/** Options of Namespace#mountTmpfs. */
export interface TmpfsOptions {
  /** The tmpfs size limit: bytes, or what mount(8) takes ('64m', '50%'). Default: the kernel's (half of RAM). */
  size?: number | string;
}

const NAMESPACE_OPTIONS = ['uidMap', 'gidMap', 'subids', 'userNamespace'];
const OVERLAY_OPTIONS = ['lowerDirs', 'upperDir', 'workDir', 'target', 'readOnly'];
const TMPFS_OPTIONS = ['size'];
const SUBIDS = ['auto', 'require', 'none'] as const;
/** A tmpfs size as mount(8) writes it: a number of bytes, a k/m/g/t/p/e suffix, or a percentage of RAM. */
const TMPFS_SIZE = /^[0-9]{1,20}[kmgtpe%]?$/i;

interface CheckedNamespaceOptions {
  uidMap: IdRange[] | undefined;
  gidMap: IdRange[] | undefined;
  subids: (typeof SUBIDS)[number];
  userNamespace: boolean;
}

function checkNamespaceOptions(options: unknown): CheckedNamespaceOptions {
  const o = checkOptionsObject(options, NAMESPACE_OPTIONS, 'createNamespace');
  const userNamespace = o.userNamespace === undefined ? true : checkBoolean('userNamespace', o.userNamespace);
  return {
    uidMap: o.uidMap === undefined ? undefined : checkIdMap(o.uidMap, 'uidMap'),
    gidMap: o.gidMap === undefined ? undefined : checkIdMap(o.gidMap, 'gidMap'),
    subids: checkOneOf('subids', o.subids, SUBIDS, 'auto'),
    userNamespace,
  };
}

function checkOverlayOptions(options: unknown): {
  lowerDirs: string[];
  upperDir?: string;
  workDir?: string;
  target: string;
  readOnly: boolean;
} {
  if (options === undefined) throw invalid('mountOverlay options', 'an object with lowerDirs and target', options);
  const o = checkOptionsObject(options, OVERLAY_OPTIONS, 'mountOverlay');
  if (!Array.isArray(o.lowerDirs)) throw invalid('lowerDirs', 'an array of paths', o.lowerDirs);
  if (o.lowerDirs.length === 0) throw invalidValue('lowerDirs', 'at least one path', o.lowerDirs);
  const lowerDirs = o.lowerDirs.map((dir: unknown, i) => checkString(`lowerDirs[${i}]`, dir));
  const target = checkString('target', o.target);
  const upperDir = o.upperDir === undefined ? undefined : checkString('upperDir', o.upperDir);
  const workDir = o.workDir === undefined ? undefined : checkString('workDir', o.workDir);
  // overlayfs needs both for a writable overlay, and neither for a read-only one.
  if (upperDir !== undefined && workDir === undefined) throw invalid('workDir', 'a path when upperDir is given', workDir);
  if (workDir !== undefined && upperDir === undefined) throw invalid('upperDir', 'a path when workDir is given', upperDir);
  return { lowerDirs, upperDir, workDir, target, readOnly: checkBoolean('readOnly', o.readOnly) };
}

function checkTmpfsOptions(options: unknown): string {
  const { size } = checkOptionsObject(options, TMPFS_OPTIONS, 'mountTmpfs');
  if (size === undefined) return '';
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size < 0) throw outOfRange('size', 'a non-negative integer number of bytes', size);
    return `size=${size}`;
  }
  if (typeof size !== 'string') throw invalid('size', "a number of bytes or a string such as '64m' or '50%'", size);
  // Mount options are comma-separated: anything but a size would add options.
  if (!TMPFS_SIZE.test(size)) throw invalidValue('size', "a number with an optional k, m, g, t, p, e or % suffix, such as '64m'", size);
  return `size=${size}`;
}

const MS_RDONLY = 1;
const MNT_DETACH = 2;

function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/** Only createNamespace() makes namespaces. */
const NAMESPACE_TOKEN = Symbol('unshare-fs namespace');

let makeNamespace: (pid: number, holder: Channel, maps: { uidMap: IdRange[]; gidMap: IdRange[] }, ownUserNamespace: boolean) => Namespace;

function frozenMap(ranges: IdRange[]): readonly IdRange[] {
  return Object.freeze(ranges.map((range) => Object.freeze({ ...range })));
}

/**
 * A user and mount namespace of the library's own, held by a holder process
 * (as rootless podman's pause process holds its): mount overlays and tmpfs in
 * it, enter it for sessions, run commands in it.  Made by createNamespace();
 * close() (or `await using`) ends it and its mounts.  Commands run by exec()
 * are also in a pid namespace whose init is the holder's child, so that
 * nothing they start outlives the holder.
 */
export class Namespace implements AsyncDisposable {
  /** The holder process; its namespaces are the namespace. */
  readonly pid: number;
  /** The namespace's uid_map (ids inside to host ids), frozen. */
  readonly uidMap: readonly IdRange[];
  /** The namespace's gid_map, frozen. */
  readonly gidMap: readonly IdRange[];
  /** False when only the caller's own uid and gid could be mapped (no subordinate range). */
  readonly fullRange: boolean;
  /** False for a mount namespace made in our own user namespace (userNamespace: false). */
  readonly ownUserNamespace: boolean;
  readonly #holder: Channel;
  readonly #sessions = new Set<Session>();
  #control: Promise<Session> | undefined;
  #closing: Promise<void> | undefined;

  static {
    makeNamespace = (pid, holder, maps, ownUserNamespace) => new Namespace(NAMESPACE_TOKEN, pid, holder, maps, ownUserNamespace);
  }

  /** Not for use: namespaces come from createNamespace().  Private in the types, and refused at run time. */
  private constructor(
    token: symbol,
    pid: number,
    holder: Channel,
    maps: { uidMap: IdRange[]; gidMap: IdRange[] },
    ownUserNamespace: boolean,
  ) {
    if (token !== NAMESPACE_TOKEN) throw new TypeError('Illegal constructor: namespaces come from createNamespace()');
    this.pid = pid;
    this.ownUserNamespace = ownUserNamespace;
    this.#holder = holder;
    // Frozen: the maps describe the holder, they do not steer it.
    this.uidMap = frozenMap(maps.uidMap);
    this.gidMap = frozenMap(maps.gidMap);
    this.fullRange = maps.uidMap.reduce((n, r) => n + r.count, 0) > 1;
  }

  /** A session inside the namespace; closed with the namespace. */
  async enter(): Promise<Session> {
    this.#assertOpen();
    const session = await enter({ pid: this.pid });
    this.#sessions.add(session);
    void session.whenClosed().then(() => this.#sessions.delete(session));
    return session;
  }

  /**
   * Runs a command inside the namespace as its root (what `podman unshare
   * CMD` does), with this process's stdio; resolves with how it exited.
   * It runs in the namespace's pid namespace too (through a relay process
   * that exits as it does): what it leaves running, a daemon such as
   * fuse-overlayfs's, is killed by the kernel when the namespace ends, even
   * when this process is SIGKILLed.
   */
  async exec(argv: string[]): Promise<ExitStatus> {
    const site = new CallSite(this.exec);
    const args = checkArgv(argv);
    this.#assertOpen();
    let pid: number;
    try {
      pid = native().spawnCommand(this.pid, args, { pidNamespace: true });
    } catch (error) {
      throw site.graft(nativeError(error));
    }
    return native().reap(pid, 0x7fffffff);
  }

  /** Mounts an overlay of `lowerDirs` (and `upperDir`) on `target`, inside the namespace. */
  async mountOverlay(options: OverlayOptions): Promise<void> {
    const site = new CallSite(this.mountOverlay);
    const { lowerDirs, upperDir, workDir, target, readOnly } = checkOverlayOptions(options);
    // Overlay options are comma-separated and lowerdir colon-separated.
    const escape = (dir: string): string => dir.replace(/([\\,:])/g, '\\$1');
    const parts = [`lowerdir=${lowerDirs.map(escape).join(':')}`];
    if (upperDir !== undefined) parts.push(`upperdir=${escape(upperDir)}`, `workdir=${escape(workDir!)}`);
    // In a user namespace of its own, even root's, overlay must keep
    // whiteouts and opaque markers in user.* xattrs: trusted.* is out of reach.
    if (this.ownUserNamespace) parts.push('userxattr');
    const data = parts.join(',');
    const flags = readOnly || upperDir === undefined ? MS_RDONLY : 0;
    const session = await this.#controlSession();
    try {
      await mountRequest(serverOf(session), { source: 'overlay', target, fstype: 'overlay', flags, data }, this.mountOverlay);
    } catch (error) {
      throw site.graft(withOptions(error as Error, data));
    }
  }

  /** Mounts a tmpfs on `target`, inside the namespace. */
  async mountTmpfs(target: string, options?: TmpfsOptions): Promise<void> {
    const site = new CallSite(this.mountTmpfs);
    checkString('target', target);
    const data = checkTmpfsOptions(options);
    const session = await this.#controlSession();
    try {
      await mountRequest(serverOf(session), { source: 'tmpfs', target, fstype: 'tmpfs', flags: 0, data }, this.mountTmpfs);
    } catch (error) {
      throw site.graft(withOptions(error as Error, data));
    }
  }

  /** Detaches the mount on `target` (MNT_DETACH), inside the namespace. */
  async unmount(target: string): Promise<void> {
    const site = new CallSite(this.unmount);
    checkString('target', target);
    const session = await this.#controlSession();
    try {
      await unmountRequest(serverOf(session), target, MNT_DETACH, this.unmount);
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  /** Ends the holder (its mounts go with it) and every session opened here. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#sessions].map((s) => s.close()));
      if (this.#control) await (await this.#control.catch(() => undefined))?.close();
      await this.#holder.close();
    })();
    return this.#closing;
  }

  /** close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closing || !this.#holder.isOpen) {
      throw new UnshareFsError('ECLOSED', 'unshare-fs: the namespace is closed');
    }
  }

  /** The session that mounts: the only one whose worker is let mount; made again if it died. */
  async #controlSession(): Promise<Session> {
    this.#assertOpen();
    const current = await this.#control?.catch(() => undefined);
    if (current === undefined || current.closed) this.#control = enterToMount(this.pid);
    return this.#control!;
  }
}

function withOptions(error: Error, data: string): Error {
  const e = error as Error & { options?: string };
  e.options = data;
  e.message += ` (options '${data}')`;
  return e;
}

async function writeMaps(pid: number, options: CheckedNamespaceOptions): Promise<void> {
  const uid = process.geteuid!();
  const gid = process.getegid!();
  if (uid === 0) {
    // Root's ranges after root itself, as rootless podman maps a user's; with none, every id as itself.
    const rootShape = (kind: 'uid' | 'gid'): IdRange[] => {
      const ranges = subidRanges(kind, 'root', 0);
      return ranges.length > 0 ? podmanIdMap(0, ranges) : [{ inside: 0, outside: 0, count: 4294967295 }];
    };
    const uidMap = options.uidMap ?? rootShape('uid');
    const gidMap = options.gidMap ?? (options.uidMap ? uidMap : rootShape('gid'));
    writeFileSync(`/proc/${pid}/uid_map`, formatIdMap(uidMap));
    writeFileSync(`/proc/${pid}/gid_map`, formatIdMap(gidMap));
    return;
  }
  if (options.uidMap || options.gidMap) {
    throw new UnshareFsError('EPERM', 'unshare-fs: only root can choose the id maps of a namespace');
  }
  const mode = options.subids;
  // A uid without a passwd entry can still own ranges by number in /etc/subuid.
  const name = passwdEntry(uid)?.name;
  const subuid = mode === 'none' ? [] : subidRanges('uid', name, uid);
  const subgid = mode === 'none' ? [] : subidRanges('gid', name, uid);
  const newuidmap = findTool('newuidmap');
  const newgidmap = findTool('newgidmap');
  if (mode !== 'none' && subuid.length > 0 && subgid.length > 0 && newuidmap && newgidmap) {
    const args = (map: IdRange[]): string[] => [String(pid), ...map.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)])];
    await run(newuidmap, args(podmanIdMap(uid, subuid)));
    await run(newgidmap, args(podmanIdMap(gid, subgid)));
    return;
  }
  if (mode === 'require') {
    const who = name ?? `uid ${uid} (no passwd entry)`;
    const missing =
      subuid.length === 0 || subgid.length === 0
        ? `no range for ${who} in /etc/subuid and /etc/subgid (or getsubids)`
        : 'newuidmap/newgidmap are not installed (Debian: uidmap)';
    throw new UnshareFsError('ENOSUBIDS', `unshare-fs: cannot map a subordinate id range: ${missing}`);
  }
  // An unprivileged process may map only its own ids, and the gid map only
  // after giving up setgroups.
  writeFileSync(`/proc/${pid}/uid_map`, `0 ${uid} 1\n`);
  writeFileSync(`/proc/${pid}/setgroups`, 'deny');
  writeFileSync(`/proc/${pid}/gid_map`, `0 ${gid} 1\n`);
}

/**
 * Starts a holder process in a new user + mount namespace (and a pid namespace for its commands) and returns its handle.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { createNamespace } from 'unshare-fs';
 *
 * await using ns = await createNamespace();
 * const target = mkdtempSync(join(tmpdir(), 'stack-'));
 * // Uppermost first; no upper dir: read-only.
 * await ns.mountOverlay({ lowerDirs: ['/srv/layers/app', '/srv/layers/base'], target });
 * await using session = await ns.enter();
 * for await (const entry of session.walk(target)) console.log(entry.fullPath);
 * ```
 * @throws node:fs-style errors when the kernel refuses the user namespace, with a `sysctl` property (`{ name, value }`) saying why: `ENOSPC` (`user.max_user_namespaces`), `EPERM` or `EACCES` (AppArmor's or Debian's switch for unprivileged user namespaces).
 * UnshareFsError `EPERM` (an ordinary user asked for id maps, or for `userNamespace: false`), `ENOSUBIDS` (`subids: 'require'` without a subordinate range or newuidmap/newgidmap), `EPROTO` (the holder speaks another protocol).
 * `TypeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) for bad options.
 */
export async function createNamespace(options?: CreateNamespaceOptions): Promise<Namespace> {
  const site = new CallSite(createNamespace);
  const checked = checkNamespaceOptions(options);
  const newUserNamespace = checked.userNamespace;
  if (!newUserNamespace && process.geteuid!() !== 0) {
    throw site.graft(new UnshareFsError('EPERM', 'unshare-fs: only root can make a mount namespace without a user namespace'));
  }
  let spawned: { pid: number; fd: number };
  const explain = (error: unknown): Error => (newUserNamespace ? explainUserNamespaceError(error) : error) as Error;
  try {
    spawned = native().spawnHolder(newUserNamespace);
  } catch (error) {
    throw site.graft(explain(nativeError(error)));
  }
  const holder = new Channel(socketTransport(spawned.fd), async () => {
    const status = await native().reap(spawned.pid, 2000);
    return new UnshareFsError('ECLOSED', `unshare-fs: the namespace holder (pid ${spawned.pid}) ended (${JSON.stringify(status)})`);
  });
  try {
    await readyFrame(holder);
    if (newUserNamespace) await writeMaps(spawned.pid, checked);
  } catch (error) {
    await holder.close();
    throw site.graft(explain(error));
  }
  return makeNamespace(spawned.pid, holder, readIdMaps(spawned.pid), newUserNamespace);
}

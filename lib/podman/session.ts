/**
 * Sessions into podman's namespaces, and read-only mounts of stopped
 * containers and images:
 *
 *   enterStorage()        the namespaces where podman mounts containers' merged
 *                         dirs: rootless, the pause process's (what `podman
 *                         unshare` gives); rootful, the host's own
 *   enterMerged(c)        the same, with every path resolved inside c's merged
 *                         dir (RESOLVE_IN_ROOT: absolute symlinks stay inside)
 *   enterContainer(c)     the container's own namespaces (what `podman exec`
 *                         sees): its rootfs at '/'
 *   mountContainer(c)     c's layers (its rw layer on top) stacked read-only in
 *   mountImage(ref)       a namespace of our own, for stopped containers and
 *                         images: no podman process needed
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { readIdMaps, type IdRange } from '../idmap';
import { createNamespace, subidRange, type CreateNamespaceOptions, type Namespace } from '../namespace';
import { enter, type Session } from '../session';
import { type PodmanOptions, currentUid, storageConfig } from './config';
import { PodmanError, isErrno } from './errors';
import { pausePid } from './pause';
import { container, image, layerChain, type PodmanContainer, type PodmanImage } from './store';

export interface PodmanSessionOptions extends PodmanOptions {
  /**
   * Resolve every path inside this directory of the namespace (an absolute
   * path there), as a container would: see EnterOptions.root.
   */
  root?: string;
}

/** overlayfs refuses more lower layers than this (OVL_MAX_STACK). */
export const OVERLAY_MAX_LAYERS = 500;
/** mount(2) copies at most a page of options. */
const MOUNT_DATA_MAX = 4095;

function ownEuid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : 0;
}

/** Rewrites errors of enter() that mean "not yours" or "gone". */
function enterError(error: unknown, what: string, pid: number): unknown {
  if (isErrno(error, 'EPERM', 'EACCES')) {
    return new PodmanError(
      'EPODMANACCESS',
      `cannot enter the namespaces of ${what} (pid ${pid}): ${(error as Error).message}; ` +
        `they belong to another user: run as that user (or root)`,
      { pid, cause: error },
    );
  }
  return error;
}

async function enterPid(pid: number, root: string | undefined, what: string): Promise<Session> {
  try {
    return await enter(root === undefined ? { pid } : { pid, root });
  } catch (error) {
    throw enterError(error, what, pid);
  }
}

/**
 * A session in the namespaces where podman mounts its containers' merged
 * dirs. Rootless: the pause process's user and mount namespaces (uids as the
 * containers see them). Rootful (uid 0): the host's own mount namespace — the
 * worker joins this process's namespaces.
 */
export async function enterStorage(options: PodmanSessionOptions = {}): Promise<Session> {
  const uid = currentUid(options);
  if (uid === 0 && !options.runtimeDir) {
    if (ownEuid() !== 0) {
      throw new PodmanError(
        'EPODMANACCESS',
        `rootful podman's storage (${storageConfig(options).graphRoot}) belongs to root: run as root`,
      );
    }
    return enterPid(process.pid, options.root, 'this process');
  }
  const pid = pausePid(options);
  return enterPid(pid, options.root, `podman's pause process for uid ${uid}`);
}

/** The container, checked to be running (need 'pid') or to have its layer mounted (need 'mount'). */
function runningContainer(nameOrId: string, options: PodmanOptions, need: 'pid' | 'mount'): PodmanContainer & { pid: number } {
  const c = container(nameOrId, options);
  const name = `${c.names[0] ?? c.id.slice(0, 12)} (${c.id.slice(0, 12)})`;
  if (need === 'pid' && c.pid === null) {
    throw new PodmanError('ECONTAINERSTOPPED', `container ${name} is not running: use mountContainer() to read its files`);
  }
  if (need === 'mount' && !c.mounted) {
    throw new PodmanError(
      'ECONTAINERSTOPPED',
      `container ${name} is not running (its layer is not mounted): use mountContainer() to read its files`,
    );
  }
  return c as PodmanContainer & { pid: number };
}

/**
 * A session in the container's own namespaces, as `podman exec` sees it:
 * its rootfs at '/', its own mounts (/proc, /dev, bind mounts) on top.
 * Throws ECONTAINERSTOPPED if it is not running.
 */
export async function enterContainer(nameOrId: string, options: PodmanSessionOptions = {}): Promise<Session> {
  const c = runningContainer(nameOrId, options, 'pid');
  try {
    const session = await enterPid(c.pid, options.root, `container ${c.names[0] ?? c.id}`);
    return session;
  } catch (error) {
    if (isErrno(error, 'ESRCH', 'ENOENT')) {
      throw new PodmanError('ECONTAINERSTOPPED', `container ${c.names[0] ?? c.id} stopped (its pid ${c.pid} is gone)`, {
        pid: c.pid,
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * A session in the storage namespaces (see enterStorage) whose paths resolve
 * inside the container's merged dir, as the container would resolve them:
 * '/etc/passwd' is `${mergedDir}/etc/passwd`, and absolute symlinks and '..'
 * never leave it. No mounts of the container (/proc, bind mounts) are seen.
 */
export async function enterMerged(nameOrId: string, options: PodmanOptions = {}): Promise<Session> {
  const c = runningContainer(nameOrId, options, 'mount');
  return enterStorage({ ...options, root: c.mountPoint ?? c.mergedDir });
}

/** Layers stacked read-only in a namespace of our own; close() ends it all. */
export interface MountedLayers extends AsyncDisposable {
  /** The namespace holding the mount. */
  readonly namespace: Namespace;
  /** A session rooted at the mount: '/' is the top of the stack. */
  readonly session: Session;
  /** The mount point (a temp dir, as seen from the namespace). */
  readonly target: string;
  /** The layers' diff dirs, top first. */
  readonly layers: readonly string[];
  /** What was mounted. */
  readonly container?: PodmanContainer;
  readonly image?: PodmanImage;
  /** Closes the session and the namespace (the mount goes with it) and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

/** Short links (`overlay/l/<id>`) for each diff dir, when they exist; else the dir. */
function shortLinks(diffDirs: string[]): string[] {
  return diffDirs.map((dir) => {
    const layerDir = path.dirname(dir);
    try {
      const short = fs.readFileSync(path.join(layerDir, 'link'), 'utf8').trim();
      const link = path.join(path.dirname(layerDir), 'l', short);
      if (short !== '' && fs.realpathSync(link) === fs.realpathSync(dir)) return link;
    } catch {
      // no link file: keep the long path
    }
    return dir;
  });
}

/** Lower dirs for mount(2): the diff dirs, or their short links if those are too long. */
function lowerDirsForMount(diffDirs: string[], what: string): string[] {
  if (diffDirs.length > OVERLAY_MAX_LAYERS) {
    throw new PodmanError(
      'EPODMANLAYERS',
      `${what} has ${diffDirs.length} layers; overlayfs stacks at most ${OVERLAY_MAX_LAYERS}`,
    );
  }
  // lowerdir=...,userxattr plus escaping: leave room for both.
  const length = (dirs: string[]): number => dirs.reduce((n, d) => n + d.length + 1, 40);
  if (length(diffDirs) <= MOUNT_DATA_MAX) return diffDirs;
  const short = shortLinks(diffDirs);
  if (length(short) <= MOUNT_DATA_MAX) return short;
  throw new PodmanError(
    'EPODMANLAYERS',
    `${what}: the ${diffDirs.length} layer paths do not fit in one page of overlay mount options`,
  );
}

/**
 * The id maps that make the layers' files look as podman shows them. An
 * ordinary user: createNamespace()'s default (own uid as 0, the subuid range
 * from 1), which is rootless podman's. Root: for rootful storage every id
 * mapped to itself (a mount namespace only); for a user's rootless storage, that user's pause
 * process's maps (or the same shape built from /etc/subuid and /etc/subgid).
 */
function namespaceOptions(options: PodmanOptions): CreateNamespaceOptions {
  if (ownEuid() !== 0) return {};
  const cfg = storageConfig(options);
  // Rootful layers keep opaque markers in trusted.* xattrs, which only an
  // overlay mounted outside any user namespace of ours can read.
  if (!cfg.rootless) return { userNamespace: false };
  try {
    return readIdMaps(pausePid(options));
  } catch {
    // no pause process: build podman's shape
  }
  const owner = fs.statSync(cfg.graphRoot);
  const name = userName(cfg.uid);
  const shape = (file: string, id: number): IdRange[] => {
    const range = subidRange(file, name, cfg.uid);
    const own = { inside: 0, outside: id, count: 1 };
    return range ? [own, { inside: 1, outside: range.start, count: range.count }] : [own];
  };
  return { uidMap: shape('/etc/subuid', owner.uid), gidMap: shape('/etc/subgid', owner.gid) };
}

function userName(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (Number(f[2]) === uid) return f[0];
    }
  } catch {
    // fall through
  }
  return String(uid);
}

async function mountLayers(
  diffDirs: string[],
  what: string,
  extra: { container?: PodmanContainer; image?: PodmanImage },
  options: PodmanOptions,
): Promise<MountedLayers> {
  for (const dir of diffDirs) {
    try {
      fs.accessSync(dir, fs.constants.X_OK);
    } catch (error) {
      if (isErrno(error, 'EACCES', 'EPERM')) {
        throw new PodmanError('EPODMANACCESS', `cannot use layer ${dir} of ${what}: permission denied; it belongs to another user`, {
          path: dir,
          cause: error,
        });
      }
      throw new PodmanError('ENOLAYER', `layer dir ${dir} of ${what} is missing`, { path: dir, cause: error });
    }
  }
  const lowerDirs = lowerDirsForMount(diffDirs, what);
  const target = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-mount-'));
  // The namespace's root may be our uid or an unmapped one: let it in.
  fs.chmodSync(target, 0o755);
  let namespace: Namespace | undefined;
  let emptyLower: string | undefined;
  try {
    namespace = await createNamespace(namespaceOptions(options));
    // A single lower layer with no upper is refused by older kernels: an
    // empty dir at the bottom changes nothing.
    let lowers = lowerDirs;
    try {
      await namespace.mountOverlay({ lowerDirs: lowers, target, readOnly: true });
    } catch (error) {
      if (lowers.length !== 1 || !isErrno(error, 'EINVAL')) throw error;
      emptyLower = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-empty-'));
      fs.chmodSync(emptyLower, 0o755);
      lowers = [...lowers, emptyLower];
      await namespace.mountOverlay({ lowerDirs: lowers, target, readOnly: true });
    }
    const session = await enter({ pid: namespace.pid, root: target });
    const ns = namespace;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        try {
          await session.close();
          await ns.close();
        } finally {
          removeDir(target);
          if (emptyLower) removeDir(emptyLower);
        }
      })());
    return {
      namespace: ns,
      session,
      target,
      layers: diffDirs,
      ...extra,
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await namespace?.close().catch(() => undefined);
    removeDir(target);
    if (emptyLower) removeDir(emptyLower);
    throw error;
  }
}

function removeDir(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // still mounted somewhere, or gone already
  }
}

/**
 * Mounts a container's layers — its rw layer on top of its image's — read-only
 * in a namespace of our own, running or not (what it showed when it stopped).
 * No podman process is needed.
 */
export async function mountContainer(nameOrId: string, options: PodmanOptions = {}): Promise<MountedLayers> {
  const c = container(nameOrId, options);
  const chain = layerChain(c.layer, options);
  return mountLayers(chain, `container ${c.names[0] ?? c.id}`, { container: c }, options);
}

/** Mounts an image's layers read-only in a namespace of our own (ref: name, id, or id prefix). */
export async function mountImage(ref: string, options: PodmanOptions = {}): Promise<MountedLayers> {
  const img = image(ref, options);
  const chain = layerChain(img.layer, options);
  return mountLayers(chain, `image ${img.names[0] ?? img.id}`, { image: img }, options);
}

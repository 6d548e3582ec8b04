/**
 * What both engines do with layers on disk: stack a container's or an
 * image's diff dirs read-only in a namespace of the library's own (for
 * stopped containers and images: no engine process needed), with the id
 * maps that make their files look as the engine shows them.  A vfs layer's
 * dir is the whole tree already: it is mounted alone, read-only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { forgetAtExit, removeAtExit } from '../ns/exit-cleanup';
import { readIdMaps } from '../ns/idmap';
import { createNamespace, type CreateNamespaceOptions, type Namespace } from '../ns/namespace';
import { enter, type Session } from '../ns/session';
import type { LayerFormat } from '../layers/diff';
import type { AdapterContainer, AdapterImage, EngineAdapter } from './adapter';
import { isErrno, type EngineErrors } from './errors';
import { readStorageText } from './storage';
import { podmanIdMap, subidRanges } from '../ns/subids';
import { passwdEntry } from '../ns/users';
import { ownEuid } from './users';

/**
 * Where fuse-overlayfs is looked for: system paths only, never the
 * storage.conf's mount_program (a user's file may name any binary, and
 * root may be the one mounting).
 */
const FUSE_OVERLAYFS_PATHS = ['/usr/bin/fuse-overlayfs', '/usr/local/bin/fuse-overlayfs', '/bin/fuse-overlayfs'];

/** overlayfs refuses more lower layers than this (OVL_MAX_STACK). */
export const OVERLAY_MAX_LAYERS = 500;
/** mount(2) copies at most a page of options. */
const MOUNT_DATA_MAX = 4095;

/** Layers stacked read-only in a namespace of our own; close() ends it all. */
export interface MountedLayers<C, I> extends AsyncDisposable {
  /** The namespace holding the mount. */
  readonly namespace: Namespace;
  /** A session rooted at the mount: '/' is the top of the stack. */
  readonly session: Session;
  /** The mount point (a temp dir, as seen from the namespace); removed by close(), or at process exit, SIGINT or SIGTERM without it. */
  readonly target: string;
  /** The layers' diff dirs, top first (vfs: the one layer dir). */
  readonly layers: readonly string[];
  /** What was mounted. */
  readonly container?: C;
  /** The image mounted, for an image's layers. */
  readonly image?: I;
  /** Closes the session and the namespace (the mount goes with it) and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

/**
 * Short links (`<driver dir>/l/<short>`, named by the layer's `link` file,
 * as podman's overlay and Docker's overlay2 both keep them) for each diff
 * dir, when they exist; else the dir.
 */
function shortLinks(diffDirs: string[], fail: EngineErrors): string[] {
  return diffDirs.map((dir) => {
    const layerDir = path.dirname(dir);
    try {
      const short = (readStorageText(path.join(layerDir, 'link'), false, 'engine', fail, path.dirname(layerDir)) ?? '').trim();
      const link = path.join(path.dirname(layerDir), 'l', short);
      if (short !== '' && fs.realpathSync(link) === fs.realpathSync(dir)) return link;
    } catch {
      // no link file: keep the long path
    }
    return dir;
  });
}

/** Lower dirs for mount(2): the diff dirs, or their short links if those are too long. */
function lowerDirsForMount(diffDirs: string[], what: string, fail: EngineErrors): string[] {
  if (diffDirs.length > OVERLAY_MAX_LAYERS) {
    throw fail('layers', `${what} has ${diffDirs.length} layers; overlayfs stacks at most ${OVERLAY_MAX_LAYERS}`);
  }
  // lowerdir=...,userxattr plus escaping: leave room for both.
  const length = (dirs: string[]): number => dirs.reduce((n, d) => n + d.length + 1, 40);
  if (length(diffDirs) <= MOUNT_DATA_MAX) return diffDirs;
  const short = shortLinks(diffDirs, fail);
  if (length(short) <= MOUNT_DATA_MAX) return short;
  throw fail('layers', `${what}: the ${diffDirs.length} layer paths do not fit in one page of overlay mount options`);
}

/**
 * The id maps under which a rootless engine's layers show their files as
 * the engine shows them, for root mounting them: the engine's own process's
 * maps when it runs (`enginePid`), else the shape both rootless engines
 * make, the owner of its storage dir as 0 and its subordinate range from 1
 * (getsubids, else /etc/subuid and /etc/subgid).  An ordinary user gets
 * createNamespace()'s default, which is that shape.  Rootful storage: no
 * user namespace (its opaque markers are trusted.* xattrs, which only an
 * overlay mounted outside one can read).
 */
export function layerNamespaceOptions<O extends object>(adapter: EngineAdapter<O>, options: O): CreateNamespaceOptions {
  const storage = adapter.storage(options);
  if (ownEuid() !== 0) return {};
  if (!storage.rootless) return { userNamespace: false };
  try {
    return readIdMaps(adapter.enginePid(options));
  } catch {
    // the engine does not run: build its shape
  }
  const owner = fs.statSync(storage.dir);
  const name = passwdEntry(owner.uid)?.name;
  return {
    uidMap: podmanIdMap(owner.uid, subidRanges('uid', name, owner.uid)),
    gidMap: podmanIdMap(owner.gid, subidRanges('gid', name, owner.uid)),
  };
}

/**
 * The diff dirs of `layer` and all below it, stacked read-only under the
 * engine's id maps; `what` names them in errors.  vfs: the layer's own dir
 * alone, which holds its whole tree, read-only as the one lower layer of an
 * overlay (what is below it must not show through).
 */
function mountChain<O extends object, C extends AdapterContainer, I extends AdapterImage>(
  adapter: EngineAdapter<O, C, I>,
  options: O,
  layer: string,
  what: string,
  extra: { container?: C; image?: I },
): Promise<MountedLayers<C, I>> {
  const chain = adapter.layerChain(layer, options);
  const dirs = adapter.storage(options).layout === 'vfs' ? chain.slice(0, 1) : chain;
  return mountLayers<C, I>(dirs, what, extra, layerNamespaceOptions(adapter, options), adapter.fail, adapter.layerFormat(options));
}

/**
 * A container's layers (its rw layer on top of its image's; Docker's init
 * layer between them) read-only in a namespace of our own, running or not
 * (what it showed when it stopped): no engine process needed.
 */
export async function mountContainer<O extends object, C extends AdapterContainer, I extends AdapterImage>(
  adapter: EngineAdapter<O, C, I>,
  nameOrId: string,
  options: O,
): Promise<MountedLayers<C, I>> {
  const c = adapter.container(nameOrId, options);
  return mountChain(adapter, options, c.layer, `container ${c.names[0] ?? c.id}`, { container: c });
}

/** An image's layers read-only in a namespace of our own (ref: name, id, or id prefix). */
export async function mountImage<O extends object, C extends AdapterContainer, I extends AdapterImage>(
  adapter: EngineAdapter<O, C, I>,
  ref: string,
  options: O,
): Promise<MountedLayers<C, I>> {
  const img = adapter.image(ref, options);
  if (img.layer === '') throw adapter.fail('noLayer', `image ${img.names[0] ?? img.id} has no layer to mount`);
  return mountChain(adapter, options, img.layer, `image ${img.names[0] ?? img.id}`, { image: img });
}

/**
 * The fuse-overlayfs binary a root-owned system dir holds, not writable by
 * others; the engine's `layers` failure when there is none.
 */
function fuseOverlayfs(what: string, fail: EngineErrors): string {
  for (const file of FUSE_OVERLAYFS_PATHS) {
    try {
      const st = fs.statSync(file);
      if (st.isFile() && st.uid === 0 && (st.mode & 0o022) === 0) return file;
    } catch {
      // not here
    }
  }
  throw fail('layers', `${what}: its layers are fuse-overlayfs's and need it to be read, but fuse-overlayfs is not installed`);
}

/**
 * Mounts `lowerDirs` read-only with fuse-overlayfs on `target` inside
 * `namespace`: the kernel's overlay reads none of fuse-overlayfs's markers
 * (its opaque directories would show what is below, `.wh..wh..opq` as a
 * file).  fuse-overlayfs runs as the namespace's root and serves the
 * mount from a daemon of its own there until it is unmounted; the daemon
 * leaves its parent, but not the namespace's pid namespace, which the
 * kernel empties when the holder ends (a SIGKILLed node included).
 */
async function mountFuseOverlay(
  namespace: Namespace,
  lowerDirs: string[],
  target: string,
  what: string,
  fail: EngineErrors,
): Promise<void> {
  const program = fuseOverlayfs(what, fail);
  // fuse-overlayfs splits its options at ',' and lowerdir at ':', and knows no escape.
  const bad = [...lowerDirs, target].find((dir) => /[,:]/.test(dir));
  if (bad !== undefined) throw fail('layers', `${what}: layer path ${bad} has a ',' or ':', which fuse-overlayfs cannot be given`);
  // Its stdio to /dev/null: the daemon it leaves would hold ours open.
  const status = await namespace.exec([
    '/bin/sh',
    '-c',
    'exec "$0" -o "$1" "$2" </dev/null >/dev/null 2>&1',
    program,
    `lowerdir=${lowerDirs.join(':')}`,
    target,
  ]);
  if (status.code !== 0) {
    throw fail('layers', `${what}: fuse-overlayfs could not mount its layers (exit ${status.code ?? status.signal})`);
  }
}

/**
 * Stacks `diffDirs` (top first) read-only in a new namespace made with
 * `namespaceOptions`: with the kernel's overlay, or with fuse-overlayfs
 * for its layers (`format`).
 */
export async function mountLayers<C, I>(
  diffDirs: string[],
  what: string,
  extra: { container?: C; image?: I },
  namespaceOptions: CreateNamespaceOptions,
  fail: EngineErrors,
  format: LayerFormat = 'overlay',
): Promise<MountedLayers<C, I>> {
  for (const dir of diffDirs) {
    try {
      fs.accessSync(dir, fs.constants.X_OK);
    } catch (error) {
      if (isErrno(error, 'EACCES', 'EPERM')) {
        throw fail('access', `cannot use layer ${dir} of ${what}: permission denied; it belongs to another user`, {
          path: dir,
          cause: error,
        });
      }
      throw fail('noLayer', `layer dir ${dir} of ${what} is missing`, { path: dir, cause: error });
    }
  }
  const lowerDirs = lowerDirsForMount(diffDirs, what, fail);
  const target = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-mount-'));
  removeAtExit(target);
  // The namespace's root may be our uid or an unmapped one: let it in.
  fs.chmodSync(target, 0o755);
  let namespace: Namespace | undefined;
  let emptyLower: string | undefined;
  try {
    namespace = await createNamespace(namespaceOptions);
    // A single lower layer with no upper is refused by older kernels: an
    // empty dir at the bottom changes nothing.
    let lowers = lowerDirs;
    try {
      if (format === 'fuse-overlayfs') await mountFuseOverlay(namespace, lowers, target, what, fail);
      else await namespace.mountOverlay({ lowerDirs: lowers, target, readOnly: true });
    } catch (error) {
      if (format === 'fuse-overlayfs' || lowers.length !== 1 || !isErrno(error, 'EINVAL')) throw error;
      emptyLower = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-empty-'));
      removeAtExit(emptyLower);
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
          // fuse-overlayfs's daemon ends once its mount is gone; the
          // namespace's end would kill it anyway (its pid namespace).
          if (format === 'fuse-overlayfs') await ns.unmount(target).catch(() => undefined);
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
    if (format === 'fuse-overlayfs') await namespace?.unmount(target).catch(() => undefined);
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
  forgetAtExit(dir);
}

/**
 * Where podman keeps its state, worked out the way podman 4 / containers-storage
 * do it, from environment variables and storage.conf, without running podman.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type * as Toml from 'smol-toml';

import { homeDir, inspectedUid as currentUid, userEnv, type UserOptions } from '../engine/users';
import { readStorageText } from '../engine/storage';
import { PodmanError, podmanErrors } from './errors';

/**
 * smol-toml's parse, loaded on the first storage.conf read: what reads no
 * podman storage (the command line on a host path) does not pay its load.
 */
function parseToml(text: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('smol-toml') as typeof Toml).parse(text);
}

/** Options shared by every discovery function. All are optional. */
export interface PodmanOptions extends UserOptions {
  /** storage.conf to read instead of looking one up */
  storageConf?: string;
  /** override the graphroot */
  graphRoot?: string;
  /** override the runroot */
  runRoot?: string;
  /** override XDG_RUNTIME_DIR (where libpod/tmp/pause.pid lives for rootless podman) */
  runtimeDir?: string;
}

/** Where podman keeps its state for one user, as storageConfig() worked it out. */
export interface StorageConfig {
  /** The inspected user. */
  uid: number;
  /** True for an ordinary user's podman, false for root's. */
  rootless: boolean;
  /** images, layers and container rw layers: `graphroot` */
  graphRoot: string;
  /** mount points, container runtime data: `runroot` */
  runRoot: string;
  /** storage driver, e.g. 'overlay' */
  driver: string;
  /**
   * The overlay driver's mount_program (storage.conf's
   * `[storage.options.overlay]`, or the older `[storage.options]`), e.g.
   * '/usr/bin/fuse-overlayfs'; null when the kernel's overlay mounts.
   */
  mountProgram: string | null;
  /** the storage.conf that was read, or null if none existed */
  configFile: string | null;
  /** rootless: the runtime dir (XDG_RUNTIME_DIR); rootful: null */
  runtimeDir: string | null;
}

export const SYSTEM_STORAGE_CONF = '/etc/containers/storage.conf';
export const DEFAULT_STORAGE_CONF = '/usr/share/containers/storage.conf';
export const ROOTFUL_GRAPHROOT = '/var/lib/containers/storage';
export const ROOTFUL_RUNROOT = '/run/containers/storage';
const KNOWN_DRIVERS = ['overlay', 'vfs', 'btrfs', 'zfs', 'devicemapper', 'aufs'];

export { homeDir, userEnv } from '../engine/users';
export { inspectedUid as currentUid } from '../engine/users';

/**
 * The rootless runtime dir, as podman picks it: $XDG_RUNTIME_DIR, else
 * /run/user/UID if it exists, else ${TMPDIR:-/tmp}/podman-run-UID.
 */
export function runtimeDir(opts: PodmanOptions = {}): string {
  if (opts.runtimeDir) return opts.runtimeDir;
  const env = userEnv(opts);
  const uid = currentUid(opts);
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  const runUser = `/run/user/${uid}`;
  if (fs.existsSync(runUser)) return runUser;
  return path.join(env.TMPDIR || '/tmp', `podman-run-${uid}`);
}

/** The storage.conf containers-storage would read for this user, existing or not. */
export function storageConfPath(opts: PodmanOptions = {}): string {
  if (opts.storageConf) return opts.storageConf;
  const env = userEnv(opts);
  if (env.CONTAINERS_STORAGE_CONF) return env.CONTAINERS_STORAGE_CONF;
  if (currentUid(opts) !== 0) {
    const base = env.XDG_CONFIG_HOME || path.join(homeDir(opts), '.config');
    return path.join(base, 'containers', 'storage.conf');
  }
  return fs.existsSync(SYSTEM_STORAGE_CONF) ? SYSTEM_STORAGE_CONF : DEFAULT_STORAGE_CONF;
}

interface StorageKeys {
  graphroot?: string;
  runroot?: string;
  driver?: string;
  rootless_storage_path?: string;
  mount_program?: string;
}

/** A table of the file, or undefined; EPODMANSTORAGE when the key is there but no table. */
function table(file: string, parent: Record<string, unknown>, key: string, name: string): Record<string, unknown> | undefined {
  const v = parent[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new PodmanError('EPODMANSTORAGE', `${file}: ${name} is not a table`, { path: file });
  }
  return v as Record<string, unknown>;
}

/**
 * Reads the [storage] keys we use from a storage.conf; null if it does not
 * exist.  The file is TOML as containers-storage reads it (dotted keys,
 * inline tables, multi-line strings); a file it would refuse (bad syntax,
 * a key defined twice, a key of ours that is not a string) is
 * EPODMANSTORAGE, saying what and where but quoting nothing of the file.
 */
export function readStorageConf(file: string): StorageKeys | null {
  const text = readStorageText(file, true, 'podman', podmanErrors);
  if (text === null) return null;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch (error) {
    // The TOML error's first line says what is wrong; the rest (and the
    // error itself) quote the file, which may be a link to a secret.
    const { line, column } = error as { line?: number; column?: number };
    const where = typeof line === 'number' ? ` (line ${line}, column ${column})` : '';
    throw new PodmanError('EPODMANSTORAGE', `${file}: not valid TOML: ${(error as Error).message.split('\n')[0]}${where}`, { path: file });
  }
  const storage = table(file, doc, 'storage', 'storage');
  if (storage === undefined) return {};
  const out: StorageKeys = {};
  for (const k of ['graphroot', 'runroot', 'driver', 'rootless_storage_path'] as const) {
    const v = storage[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new PodmanError('EPODMANSTORAGE', `${file}: storage.${k} is not a string`, { path: file });
    if (v !== '') out[k] = v;
  }
  // containers-storage reads mount_program from [storage.options.overlay],
  // and from [storage.options] as older files have it; the first wins.
  const options = table(file, storage, 'options', 'storage.options');
  const overlay = options && table(file, options, 'overlay', 'storage.options.overlay');
  for (const [where, name] of [
    [overlay, 'storage.options.overlay.mount_program'],
    [options, 'storage.options.mount_program'],
  ] as const) {
    const v = where?.mount_program;
    if (v === undefined || out.mount_program !== undefined) continue;
    if (typeof v !== 'string') throw new PodmanError('EPODMANSTORAGE', `${file}: ${name} is not a string`, { path: file });
    if (v !== '') out.mount_program = v;
  }
  return out;
}

/** Resolves graphroot, runroot and driver for rootless (uid != 0) or rootful podman. */
export function storageConfig(opts: PodmanOptions = {}): StorageConfig {
  const env = userEnv(opts);
  const uid = currentUid(opts);
  const rootless = uid !== 0;
  const home = homeDir(opts);
  const rtDir = rootless ? runtimeDir(opts) : null;

  let graphRoot: string;
  let runRoot: string;
  if (rootless) {
    const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
    graphRoot = path.join(dataHome, 'containers', 'storage');
    runRoot = path.join(rtDir as string, 'containers');
  } else {
    graphRoot = ROOTFUL_GRAPHROOT;
    runRoot = ROOTFUL_RUNROOT;
  }

  // Rootless: the user's storage.conf if it exists, else the system one — of
  // which only `driver` and `rootless_storage_path` apply to rootless users.
  let configFile: string | null = null;
  let keys: StorageKeys = {};
  const own = storageConfPath(opts);
  const ownKeys = readStorageConf(own);
  if (ownKeys) {
    configFile = own;
    keys = ownKeys;
  } else if (rootless && !opts.storageConf && !env.CONTAINERS_STORAGE_CONF) {
    for (const sys of [SYSTEM_STORAGE_CONF, DEFAULT_STORAGE_CONF]) {
      const k = readStorageConf(sys);
      if (k) {
        configFile = sys;
        keys = { driver: k.driver, rootless_storage_path: k.rootless_storage_path, mount_program: k.mount_program };
        break;
      }
    }
  }

  if (keys.graphroot) graphRoot = expand(keys.graphroot, uid, home);
  else if (rootless && keys.rootless_storage_path) graphRoot = expand(keys.rootless_storage_path, uid, home);
  if (keys.runroot) runRoot = expand(keys.runroot, uid, home);
  if (opts.graphRoot) graphRoot = opts.graphRoot;
  if (opts.runRoot) runRoot = opts.runRoot;

  const driver = env.STORAGE_DRIVER || keys.driver || detectDriver(graphRoot);
  const mountProgram = keys.mount_program ?? null;
  return { uid, rootless, graphRoot, runRoot, driver, mountProgram, configFile, runtimeDir: rtDir };
}

function expand(p: string, uid: number, home: string): string {
  return p
    .replace(/\$HOME\b|\$\{HOME\}/g, home)
    .replace(/\$UID\b|\$\{UID\}/g, String(uid))
    .replace(/^~(?=\/|$)/, home);
}

/** The driver whose `<driver>-layers` dir exists in graphroot; 'overlay' by default. */
function detectDriver(graphRoot: string): string {
  for (const d of KNOWN_DRIVERS) {
    if (fs.existsSync(path.join(graphRoot, `${d}-layers`))) return d;
  }
  return 'overlay';
}

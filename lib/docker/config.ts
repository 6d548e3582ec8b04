/**
 * Where Docker keeps its state, worked out the way dockerd does it, from
 * its daemon.json and the environment of rootless mode, without asking the
 * daemon (DOCKER_HOST and the daemon's API are not used).
 *
 *   rootful:  /etc/docker/daemon.json, data root /var/lib/docker,
 *             pid file /var/run/docker.pid
 *   rootless: ${XDG_CONFIG_HOME:-~/.config}/docker/daemon.json,
 *             data root ${XDG_DATA_HOME:-~/.local/share}/docker,
 *             pid file $XDG_RUNTIME_DIR/docker.pid
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { readStorageJson } from '../engine/storage';
import { homeDir, inspectedUid, userEnv, type UserOptions } from '../engine/users';
import { DockerError, dockerErrors } from './errors';

/** Options shared by every Docker discovery function. All are optional. */
export interface DockerOptions extends UserOptions {
  /** daemon.json to read instead of looking one up */
  daemonConfig?: string;
  /** override the data root (`data-root`) */
  dataRoot?: string;
  /** override XDG_RUNTIME_DIR (where a rootless daemon keeps docker.pid) */
  runtimeDir?: string;
  /** override the daemon's pid file (`pidfile`) */
  pidFile?: string;
}

/** Where Docker keeps its state for one user, as storageConfig() worked it out. */
export interface DockerStorageConfig {
  /** The inspected user. */
  uid: number;
  /** True for an ordinary user's daemon (RootlessKit), false for root's. */
  rootless: boolean;
  /** images, layers, containers: `data-root` */
  dataRoot: string;
  /** storage driver, e.g. 'overlay2' */
  driver: string;
  /** the daemon.json that was read, or null if none existed */
  configFile: string | null;
  /** rootless: the runtime dir (XDG_RUNTIME_DIR); rootful: null */
  runtimeDir: string | null;
  /** the daemon's pid file */
  pidFile: string;
}

export const ROOTFUL_DAEMON_JSON = '/etc/docker/daemon.json';
export const ROOTFUL_DATA_ROOT = '/var/lib/docker';
export const ROOTFUL_PID_FILE = '/var/run/docker.pid';
const KNOWN_DRIVERS = ['overlay2', 'fuse-overlayfs', 'btrfs', 'zfs', 'vfs', 'devicemapper', 'aufs', 'overlay'];

/** The rootless runtime dir: $XDG_RUNTIME_DIR, else /run/user/UID (dockerd-rootless.sh needs one of them). */
function runtimeDir(opts: DockerOptions): string {
  return opts.runtimeDir || userEnv(opts).XDG_RUNTIME_DIR || `/run/user/${inspectedUid(opts)}`;
}

/** The daemon.json dockerd reads for this user, existing or not. */
export function daemonConfigPath(opts: DockerOptions = {}): string {
  if (opts.daemonConfig) return opts.daemonConfig;
  if (inspectedUid(opts) === 0) return ROOTFUL_DAEMON_JSON;
  const base = userEnv(opts).XDG_CONFIG_HOME || path.join(homeDir(opts), '.config');
  return path.join(base, 'docker', 'daemon.json');
}

function stringKey(config: Record<string, unknown>, key: string, file: string): string | undefined {
  const v = config[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new DockerError('EDOCKERSTORAGE', `${file}: "${key}" is not a string`, { path: file });
  return v;
}

/** Resolves data root, driver and pid file for rootless (uid != 0) or rootful Docker. */
export function storageConfig(opts: DockerOptions = {}): DockerStorageConfig {
  const env = userEnv(opts);
  const uid = inspectedUid(opts);
  const rootless = uid !== 0;
  const rtDir = rootless ? runtimeDir(opts) : null;
  const file = daemonConfigPath(opts);
  const parsed = readStorageJson(file, true, 'Docker', dockerErrors);
  if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
    throw new DockerError('EDOCKERSTORAGE', `${file}: expected a JSON object`, { path: file });
  }
  const config = (parsed ?? {}) as Record<string, unknown>;
  const configFile = parsed === null ? null : file;

  const dataRoot =
    opts.dataRoot ??
    stringKey(config, 'data-root', file) ??
    stringKey(config, 'graph', file) ??
    (rootless ? path.join(env.XDG_DATA_HOME || path.join(homeDir(opts), '.local', 'share'), 'docker') : ROOTFUL_DATA_ROOT);
  const pidFile =
    opts.pidFile ?? stringKey(config, 'pidfile', file) ?? (rootless ? path.join(rtDir as string, 'docker.pid') : ROOTFUL_PID_FILE);
  const driver = stringKey(config, 'storage-driver', file) ?? (env.DOCKER_DRIVER || detectDriver(dataRoot));
  return { uid, rootless, dataRoot, driver, configFile, runtimeDir: rtDir, pidFile };
}

/** The driver whose `image/<driver>` dir exists in the data root (dockerd's own test); 'overlay2' by default. */
function detectDriver(dataRoot: string): string {
  for (const d of KNOWN_DRIVERS) {
    if (fs.existsSync(path.join(dataRoot, 'image', d))) return d;
  }
  return 'overlay2';
}

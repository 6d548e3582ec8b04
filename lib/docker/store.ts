/**
 * Docker's files, read directly (the layouts of dockerd 20.10's overlay2,
 * fuse-overlayfs and vfs drivers; <driver> is the driver's name):
 *   <data-root>/containers/<id>/config.v2.json            a container: names, image, state, pid
 *   <data-root>/image/<driver>/layerdb/mounts/<id>/{mount-id,init-id,parent}
 *                                                        its rw layer, init layer, image chain id
 *   <data-root>/image/<driver>/repositories.json          image names -> image ids
 *   <data-root>/image/<driver>/imagedb/content/sha256/<id> an image's config (rootfs.diff_ids)
 *   <data-root>/image/<driver>/layerdb/sha256/<chain>/{cache-id,parent,size}
 *                                                        a layer: its layer dir, parent, bytes
 *   overlay2, fuse-overlayfs (the same layout, fuse-overlayfs's markers in it):
 *     <data-root>/<driver>/<dir>/{diff,work,merged,lower,link}, <driver>/l/<short> -> ../<dir>/diff
 *   vfs: <data-root>/vfs/dir/<dir>, the layer's whole tree (a container's
 *     is its root; nothing is mounted), its parent known from layerdb only
 */
import type * as Crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { processAlive } from '../engine/process';
import { layerDiffDir, lowerFileChain, readStorageJson, readStorageText, accessError, vfsLayerDir } from '../engine/storage';
import { isErrno } from '../engine/errors';
import { storageConfig, type DockerOptions, type DockerStorageConfig } from './config';
import { DockerError, dockerErrors } from './errors';

/** A container of Docker's data root, as config.v2.json and layerdb describe it. */
export interface DockerContainer {
  /** The full container id. */
  id: string;
  /** its name, without Docker's leading '/' */
  names: string[];
  /** image id (hex, without 'sha256:') */
  image: string;
  /** the image as the container was created from it (Config.Image: 'unshare-fs-test'), if recorded */
  imageName: string | null;
  /** the container's rw layer: its layer dir (layerdb's mount-id) */
  layer: string;
  /** the init layer below it (`<layer>-init`: /etc/hosts, /dev ... as Docker prepares them), null if none */
  initLayer: string | null;
  /** When it was created (RFC 3339). */
  created: string;
  /** Where dockerd mounts its overlay while it runs; vfs: its layer dir, which is its root (Docker mounts nothing). */
  mergedDir: string;
  /** Its rw layer's diff dir: what it changed; vfs: its layer dir, its whole tree. */
  upperDir: string;
  /** overlayfs's work dir of its rw layer; vfs: '' (none). */
  workDir: string;
  /** lower diff dirs, top to bottom: the init layer's, then the image's (as docker inspect's GraphDriver.Data.LowerDir); vfs: none. */
  lowerDirs: string[];
  /** State.Running, and its init pid alive */
  running: boolean;
  /** true while it runs: Docker mounts the merged dir for a running container (vfs: uses its layer dir) */
  mounted: boolean;
  /** the merged dir while mounted, else null */
  mountPoint: string | null;
  /** the container's init pid (State.Pid) while it runs, else null */
  pid: number | null;
}

/** An image of Docker's data root (imagedb, repositories.json, layerdb). */
export interface DockerImage {
  /** The image id (hex, without 'sha256:'). */
  id: string;
  /** 'unshare-fs-test:latest' (repositories.json) */
  names: string[];
  /** the top layer's layer dir (its chain, via layerChain, is the image's filesystem); '' for an image with no layer */
  layer: string;
  /** the layers' chain ids, bottom first */
  chainIds: string[];
  /** When it was created (RFC 3339), when recorded. */
  created: string | null;
  /** bytes of its layers' files, as layerdb records them */
  size: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const hex = (id: string): string => id.replace(/^sha256:/, '');
/** What dockerd names layer dirs (every driver): 64 random hex digits, '-init' for an init layer. */
const LAYER_DIR = /^[0-9a-f]{64}(-init)?$/;
/** A layer dir name read from Docker's records, or null when it is none (missing, or not a name dockerd makes). */
const layerDirName = (text: string | null): string | null => (text !== null && LAYER_DIR.test(text) ? text : null);

/** The drivers whose layouts are read. */
export const DOCKER_DRIVERS = ['overlay2', 'fuse-overlayfs', 'vfs'];

/** The configuration, checked to be one of a driver in DOCKER_DRIVERS. */
function supported(opts: DockerOptions): DockerStorageConfig {
  const cfg = storageConfig(opts);
  if (!DOCKER_DRIVERS.includes(cfg.driver)) {
    throw new DockerError(
      'EDOCKERDRIVER',
      `storage driver is '${cfg.driver}'; only 'overlay2', 'fuse-overlayfs' and 'vfs' layouts are understood`,
    );
  }
  return cfg;
}

/** Where the driver keeps layer dirs: <data-root>/overlay2, <data-root>/fuse-overlayfs, <data-root>/vfs/dir. */
const driverDir = (cfg: DockerStorageConfig): string =>
  cfg.driver === 'vfs' ? path.join(cfg.dataRoot, 'vfs', 'dir') : path.join(cfg.dataRoot, cfg.driver);

/** <data-root>/image/<driver>: the driver's layerdb, imagedb and repositories.json. */
const imageDir = (cfg: DockerStorageConfig): string => path.join(cfg.dataRoot, 'image', cfg.driver);

/** A file of the data root as text, opened beneath it without following a link (null when missing). */
function readText(cfg: DockerStorageConfig, file: string): string | null {
  const text = readStorageText(file, true, 'Docker', dockerErrors, cfg.dataRoot);
  return text === null ? null : text.trim();
}

/** A JSON file of the data root, opened as readText opens it. */
function readJson(cfg: DockerStorageConfig, file: string): unknown {
  return readStorageJson(file, true, 'Docker', dockerErrors, cfg.dataRoot);
}

/** Options of the listings (containers(), images()). */
export interface DockerListOptions extends DockerOptions {
  /**
   * Told of each record left out of the listing because it cannot be read
   * (a symlink, a FIFO, JSON that does not parse, a layer that leads out
   * of the data root): an EDOCKERSTORAGE DockerError whose `path` is the
   * record's file.  Without it, each is a process warning
   * (process.emitWarning).  EDOCKERACCESS (the storage is another user's)
   * still fails the whole listing.
   */
  onError?: (error: DockerError) => void;
}

/** A record's failure that costs that record only: anything but EDOCKERACCESS. */
function recordFailure(err: unknown): err is DockerError {
  return err instanceof DockerError && err.code !== 'EDOCKERACCESS';
}

/** What `read` gives, or the failure of a record it could not read (recordFailure); anything else is thrown. */
function orFailure<T>(read: () => T): T | DockerError {
  try {
    return read();
  } catch (err) {
    if (!recordFailure(err)) throw err;
    return err;
  }
}

/** Tells of the records left out: to onError, else as process warnings. */
function report(bad: Iterable<DockerError>, opts: DockerListOptions): void {
  for (const error of bad) {
    if (opts.onError) opts.onError(error);
    else process.emitWarning(error.message, { type: 'DockerWarning', code: error.code });
  }
}

/** The directories of `dir` (none when it does not exist). */
function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return [];
    if (isErrno(err, 'EACCES', 'EPERM')) throw accessError(path.join(dir, '.'), err, 'Docker', dockerErrors);
    throw new DockerError('EDOCKERSTORAGE', `cannot list ${dir}: ${(err as Error).message}`, { path: dir, cause: err });
  }
}

/**
 * The diff dirs of a layer dir and of every layer below it, top first;
 * vfs: the layer dirs, each a whole tree (the first alone is all of the
 * layer's files).
 */
export function layerChain(layerId: string, opts: DockerOptions = {}): string[] {
  return chainOf(supported(opts), layerId);
}

function chainOf(cfg: DockerStorageConfig, layerId: string): string[] {
  const dir = driverDir(cfg);
  if (!LAYER_DIR.test(layerId)) {
    throw new DockerError('ENOLAYER', `no such layer directory: ${path.join(dir, layerId)}`, { path: path.join(dir, layerId) });
  }
  if (cfg.driver === 'vfs') {
    // vfs keeps no `lower` file: the parents are layerdb's.
    const parents = vfsParents(cfg);
    const chain = [layerId];
    for (let p = parents.get(layerId); p && !chain.includes(p); p = parents.get(p)) chain.push(p);
    return chain.map((id) => vfsLayerDir(dir, id, 'Docker', dockerErrors));
  }
  // A base layer has no `lower` file: it is all of its chain.
  return lowerFileChain(dir, layerId, 'Docker', dockerErrors) ?? [layerDiffDir(dir, layerId, 'Docker', dockerErrors)];
}

/**
 * The parent of each layer dir, as layerdb records them (vfs keeps no
 * `lower` file): an image layer's (`sha256/<chain>/cache-id`) is its
 * parent chain's, a container's rw layer's (`mounts/<id>/mount-id`) its
 * init layer, and the init layer's the image's top layer (`parent`).
 */
function vfsParents(cfg: DockerStorageConfig): Map<string, string | null> {
  const layerdb = path.join(imageDir(cfg), 'layerdb');
  const parents = new Map<string, string | null>();
  const cacheIds = new Map<string, string>();
  const chainDirs = listDir(path.join(layerdb, 'sha256')).filter((c) => /^[0-9a-f]{64}$/.test(c));
  for (const chain of chainDirs) {
    const cacheId = layerDirName(readText(cfg, path.join(layerdb, 'sha256', chain, 'cache-id')));
    if (cacheId) cacheIds.set(chain, cacheId);
  }
  const cacheOf = (chainId: string | null): string | null => (chainId === null ? null : (cacheIds.get(hex(chainId)) ?? null));
  for (const [chain, cacheId] of cacheIds) parents.set(cacheId, cacheOf(readText(cfg, path.join(layerdb, 'sha256', chain, 'parent'))));
  for (const id of listDir(path.join(layerdb, 'mounts'))) {
    const mountId = layerDirName(readText(cfg, path.join(layerdb, 'mounts', id, 'mount-id')));
    if (!mountId) continue;
    const initId = layerDirName(readText(cfg, path.join(layerdb, 'mounts', id, 'init-id')));
    const image = cacheOf(readText(cfg, path.join(layerdb, 'mounts', id, 'parent')));
    parents.set(mountId, initId ?? image);
    if (initId) parents.set(initId, image);
  }
  return parents;
}

/** A container's config.v2.json; null when it is not the container's (being created or removed). */
function readConfig(cfg: DockerStorageConfig, id: string): Record<string, unknown> | null {
  const c = record(readJson(cfg, path.join(cfg.dataRoot, 'containers', id, 'config.v2.json')));
  return str(c.ID) === id ? c : null;
}

/** One container of the data root from its config and layer records; null while it has no layer yet. */
function readContainer(cfg: DockerStorageConfig, id: string, c: Record<string, unknown>): DockerContainer | null {
  const mountsDir = path.join(imageDir(cfg), 'layerdb', 'mounts');
  // No layer yet (being created), or a name that is no layer dir.
  const layer = layerDirName(readText(cfg, path.join(mountsDir, id, 'mount-id')));
  if (!layer) return null;
  const initLayer = layerDirName(readText(cfg, path.join(mountsDir, id, 'init-id')));
  const state = record(c.State);
  const statePid = typeof state.Pid === 'number' && state.Pid > 0 ? state.Pid : null;
  const running = state.Running === true && statePid !== null && processAlive(statePid);
  const vfs = cfg.driver === 'vfs';
  const dir = path.join(driverDir(cfg), layer);
  let lowerDirs: string[];
  try {
    // vfs: its dir checked; it is a whole tree, with no lower dirs.
    if (vfs) {
      vfsLayerDir(driverDir(cfg), layer, 'Docker', dockerErrors);
      lowerDirs = [];
    } else lowerDirs = chainOf(cfg, layer).slice(1);
  } catch (err) {
    if (err instanceof DockerError && err.code === 'ENOLAYER') lowerDirs = [];
    else throw err;
  }
  const name = str(c.Name);
  return {
    id,
    names: name ? [name.replace(/^\//, '')] : [],
    image: hex(str(c.Image) ?? ''),
    imageName: str(record(c.Config).Image),
    layer,
    initLayer,
    created: str(c.Created) ?? '',
    mergedDir: vfs ? dir : path.join(dir, 'merged'),
    upperDir: vfs ? dir : path.join(dir, 'diff'),
    workDir: vfs ? '' : path.join(dir, 'work'),
    lowerDirs,
    running,
    mounted: running,
    mountPoint: running ? (vfs ? dir : path.join(dir, 'merged')) : null,
    pid: running ? statePid : null,
  };
}

/** The containers whose records read, and the failure of each whose do not, by id. */
function scanContainers(opts: DockerOptions): { good: DockerContainer[]; bad: Map<string, DockerError> } {
  const cfg = supported(opts);
  const good: DockerContainer[] = [];
  const bad = new Map<string, DockerError>();
  for (const id of listDir(path.join(cfg.dataRoot, 'containers'))) {
    // One bad record costs that record only.
    const built = orFailure(() => {
      const c = readConfig(cfg, id);
      return c && readContainer(cfg, id, c);
    });
    if (built instanceof DockerError) bad.set(id, built);
    else if (built) good.push(built);
  }
  return { good, bad };
}

/**
 * Every container (running or not).  A container whose records cannot be
 * read (see DockerListOptions.onError) is left out and reported.
 */
export function containers(opts: DockerListOptions = {}): DockerContainer[] {
  const { good, bad } = scanContainers(opts);
  report(bad.values(), opts);
  return good;
}

/** Resolves a full id or a unique id prefix among `ids`. */
function resolveId(ref: string, ids: string[], what: 'container' | 'image'): string {
  const id = what === 'image' ? hex(ref) : ref;
  if (ids.includes(id)) return id;
  const matches = /^[0-9a-f]+$/.test(id) ? ids.filter((candidate) => candidate.startsWith(id)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new DockerError('EDOCKERAMBIGUOUS', `${what} id prefix '${ref}' is ambiguous: ${matches.join(', ')}`, { candidates: matches });
  }
  throw new DockerError(what === 'container' ? 'ENOCONTAINER' : 'ENOIMAGE', `no such ${what}: ${ref}`);
}

/**
 * One container by exact name (with or without the leading '/'), exact id,
 * or unique id prefix (in that order): ENOCONTAINER, EDOCKERAMBIGUOUS, or
 * the failure of the one it names when its records cannot be read.  Every
 * config is read for the names, the layers of the container found alone.
 */
export function container(nameOrIdPrefix: string, opts: DockerOptions = {}): DockerContainer {
  const cfg = supported(opts);
  const configs = new Map<string, Record<string, unknown>>();
  const bad = new Map<string, DockerError>();
  for (const id of listDir(path.join(cfg.dataRoot, 'containers'))) {
    const c = orFailure(() => readConfig(cfg, id));
    if (c instanceof DockerError) bad.set(id, c);
    else if (c !== null) configs.set(id, c);
  }
  /** The container `id`, or the failure of its records; null while it has no layer (it is none yet). */
  const build = (id: string): DockerContainer | DockerError | null => {
    const c = configs.get(id);
    return c === undefined ? (bad.get(id) ?? null) : orFailure(() => readContainer(cfg, id, c));
  };
  const found = (built: DockerContainer | DockerError): DockerContainer => {
    if (built instanceof DockerError) throw built;
    return built;
  };
  const name = nameOrIdPrefix.replace(/^\//, '');
  for (const [id, c] of configs) {
    const named = str(c.Name)?.replace(/^\//, '') === name ? build(id) : null;
    if (named) return found(named);
  }
  // An id, or its start: the containers it fits, built (one still without a layer is none).
  const fits = /^[0-9a-f]+$/.test(nameOrIdPrefix) ? (id: string) => id.startsWith(nameOrIdPrefix) : (id: string) => id === nameOrIdPrefix;
  const candidates = new Map<string, DockerContainer | DockerError>();
  for (const id of [...configs.keys(), ...bad.keys()]) {
    const built = fits(id) ? build(id) : null;
    if (built) candidates.set(id, built);
  }
  return found(candidates.get(resolveId(nameOrIdPrefix, [...candidates.keys()], 'container'))!);
}

/** Chain id of each layer, bottom first: the first diff id, then sha256 of "<parent chain> <diff id>". */
function chainIds(diffIds: string[]): string[] {
  // node:crypto loaded on first use, not by every user of the package entry.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require('node:crypto') as typeof Crypto;
  const out: string[] = [];
  for (const diffId of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`);
  }
  return out;
}

/** The images whose records read, and the failure of each whose do not, by id. */
function scanImages(opts: DockerOptions): { good: DockerImage[]; bad: Map<string, DockerError> } {
  const cfg = supported(opts);
  const imgDir = imageDir(cfg);
  const names = new Map<string, string[]>();
  const repositories = record(record(readJson(cfg, path.join(imgDir, 'repositories.json'))).Repositories);
  for (const tags of Object.values(repositories)) {
    for (const [tag, id] of Object.entries(record(tags))) {
      if (typeof id !== 'string' || tag.includes('@')) continue;
      names.set(hex(id), [...(names.get(hex(id)) ?? []), tag]);
    }
  }
  const layerdb = path.join(imgDir, 'layerdb', 'sha256');
  const contentDir = path.join(imgDir, 'imagedb', 'content', 'sha256');
  const good: DockerImage[] = [];
  const bad = new Map<string, DockerError>();
  for (const id of listDir(contentDir)) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    try {
      const config = record(readJson(cfg, path.join(contentDir, id)));
      const diffIds = record(config.rootfs).diff_ids;
      const chain = chainIds(
        Array.isArray(diffIds) ? diffIds.filter((d): d is string => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d)) : [],
      );
      let size = 0;
      for (const chainId of chain) size += Number(readText(cfg, path.join(layerdb, hex(chainId), 'size')) ?? 0) || 0;
      const last = chain.at(-1);
      const top = last !== undefined ? layerDirName(readText(cfg, path.join(layerdb, hex(last), 'cache-id'))) : null;
      if (last !== undefined && !top) continue; // its layers are being written or removed
      good.push({ id, names: (names.get(id) ?? []).sort(), layer: top ?? '', chainIds: chain, created: str(config.created), size });
    } catch (err) {
      if (!recordFailure(err)) throw err;
      bad.set(id, err);
    }
  }
  return { good, bad };
}

/**
 * Every image (imagedb), with its names from repositories.json.  An image
 * whose records cannot be read is left out and reported, as containers() does.
 */
export function images(opts: DockerListOptions = {}): DockerImage[] {
  const { good, bad } = scanImages(opts);
  report(bad.values(), opts);
  return good;
}

/** True if the image name `name` ('repo:tag') is what `ref` asks for ('repo' meaning 'repo:latest'). */
function nameMatches(name: string, ref: string): boolean {
  if (name === ref) return true;
  const tagged = /:[^/]+$/.test(ref) ? ref : `${ref}:latest`;
  return (
    name === tagged || name === `docker.io/${tagged}` || name === `docker.io/library/${tagged}` || `docker.io/library/${name}` === tagged
  );
}

/**
 * One image by name ('repo:tag', 'repo' meaning 'repo:latest'), full id
 * (with or without 'sha256:'), or unique id prefix: ENOIMAGE, EDOCKERAMBIGUOUS.
 */
export function image(ref: string, opts: DockerOptions = {}): DockerImage {
  const { good: all, bad } = scanImages(opts);
  const byName = all.filter((i) => i.names.some((n) => nameMatches(n, ref)));
  if (byName.length === 1) return byName[0]!;
  const id = resolveId(ref, [...all.map((i) => i.id), ...bad.keys()], 'image');
  const failure = bad.get(id);
  if (failure) throw failure;
  return all.find((i) => i.id === id) as DockerImage;
}

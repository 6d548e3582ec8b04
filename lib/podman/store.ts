/**
 * containers-storage's JSON files and layer directories, read directly:
 *   graphroot/<driver>-containers/containers.json   containers
 *   graphroot/<driver>-images/images.json           images
 *   graphroot/<driver>-layers/layers.json           layers (+ runroot/.../volatile-layers.json)
 *   runroot/<driver>-layers/mountpoints.json        mounted layers
 *   overlay: graphroot/overlay/<layer>/{diff,work,merged,lower,link}, overlay/l/<short> -> ../<layer>/diff
 *   vfs:     graphroot/vfs/dir/<layer>, the layer's whole tree (a container's is its root)
 *   runroot/<driver>-containers/<id>/userdata/{pidfile,conmon.pid}
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { livePid } from '../engine/process';
import { layerDiffDir, lowerFileChain, readStorageJson, vfsLayerDir } from '../engine/storage';
import { PodmanError, podmanErrors } from './errors';
import { PodmanOptions, StorageConfig, storageConfig } from './config';

/** A layer of podman's store (layers.json and volatile-layers.json). */
export interface PodmanLayer {
  /** The full layer id (its layer dir's name). */
  id: string;
  /** Its names, if any. */
  names: string[];
  /** parent layer id, null for a base layer */
  parent: string | null;
  /** ancestors, nearest first (parent, grandparent, ...) */
  parents: string[];
  /** When it was created (RFC 3339), when recorded. */
  created: string | null;
  /** overlay: graphroot/overlay/<id>/diff; vfs: graphroot/vfs/dir/<id>, the whole tree up to this layer */
  diffDir: string;
  /** true if runroot's mountpoints.json counts a mount of this layer */
  mounted: boolean;
  /** Where it is mounted, when mounted. */
  mountPoint: string | null;
  /** bytes of its files, as layers.json records them for image layers (null where it does not: a container's rw layer) */
  diffSize: number | null;
}

/** A container of podman's store, as containers.json and the layer dirs describe it. */
export interface PodmanContainer {
  /** The full container id. */
  id: string;
  /** Its names. */
  names: string[];
  /** image id */
  image: string;
  /** image name from the container's metadata (e.g. 'localhost/x:latest'), if recorded */
  imageName: string | null;
  /** the container's rw layer id */
  layer: string;
  /** When it was created (RFC 3339). */
  created: string;
  /** Where podman mounts its overlay while it runs; vfs: its layer dir, which is its root (podman mounts nothing). */
  mergedDir: string;
  /** Its rw layer's diff dir: what it changed; vfs: its layer dir, its whole tree. */
  upperDir: string;
  /** overlayfs's work dir of its rw layer; vfs: '' (none). */
  workDir: string;
  /** lower diff dirs, top to bottom (as podman inspect's GraphDriver.Data.LowerDir); vfs: none. */
  lowerDirs: string[];
  /** mountpoints.json counts a mount of its rw layer. */
  mounted: boolean;
  /** mount point recorded in mountpoints.json (normally mergedDir), null if not mounted */
  mountPoint: string | null;
  /** the container's init pid (userdata/pidfile), null if absent or not running */
  pid: number | null;
  /** conmon's pid (userdata/conmon.pid), null if absent or not running */
  conmonPid: number | null;
}

interface Mount {
  path: string;
  count: number;
}

/** A JSON array of the store, opened beneath `root` (graphroot or runroot) without following a link. */
function readJsonArray(root: string, file: string, missingOk: boolean): Record<string, unknown>[] {
  const v = readStorageJson(file, missingOk, 'podman', podmanErrors, root);
  if (v === null) return [];
  if (!Array.isArray(v)) throw new PodmanError('EPODMANSTORAGE', `${file}: expected a JSON array`, { path: file });
  return v.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null);
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The drivers whose layouts are read: overlay (kernel overlay) and vfs (a whole copy per layer). */
const DRIVERS = ['overlay', 'vfs'];

/** EPODMANDRIVER unless the store's driver is one of DRIVERS. */
function requireDriver(cfg: StorageConfig): void {
  if (!DRIVERS.includes(cfg.driver)) {
    throw new PodmanError('EPODMANDRIVER', `storage driver is '${cfg.driver}'; only 'overlay' and 'vfs' layouts are understood`);
  }
}

/** graphroot/<driver>-<kind>/<file> (kind: containers, images, layers). */
const recordFile = (cfg: StorageConfig, kind: string, file: string): string => path.join(cfg.graphRoot, `${cfg.driver}-${kind}`, file);

/** Where the driver keeps layer dirs: graphroot/overlay, graphroot/vfs/dir. */
const driverDir = (cfg: StorageConfig): string =>
  cfg.driver === 'vfs' ? path.join(cfg.graphRoot, 'vfs', 'dir') : path.join(cfg.graphRoot, 'overlay');

function mounts(cfg: StorageConfig): Map<string, Mount> {
  const file = path.join(cfg.runRoot, `${cfg.driver}-layers`, 'mountpoints.json');
  const out = new Map<string, Mount>();
  for (const e of readJsonArray(cfg.runRoot, file, true)) {
    const id = str(e.id);
    if (!id) continue;
    out.set(id, { path: str(e.path) ?? '', count: typeof e.count === 'number' ? e.count : 0 });
  }
  return out;
}

/** Resolves a full id or a unique id prefix among `ids`. */
function resolveId(ref: string, ids: string[], what: 'container' | 'layer'): string {
  if (ids.includes(ref)) return ref;
  const matches = ref === '' ? [] : ids.filter((id) => id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new PodmanError('EPODMANAMBIGUOUS', `${what} id prefix '${ref}' is ambiguous: ${matches.join(', ')}`, {
      candidates: matches,
    });
  }
  throw new PodmanError(what === 'container' ? 'ENOCONTAINER' : 'ENOLAYER', `no such ${what}: ${ref}`);
}

/** Every layer of the store (persistent and volatile), with its parent chain. */
export function layers(opts: PodmanOptions = {}): PodmanLayer[] {
  const cfg = storageConfig(opts);
  requireDriver(cfg);
  const raw = [
    ...readJsonArray(cfg.graphRoot, recordFile(cfg, 'layers', 'layers.json'), true),
    ...readJsonArray(cfg.runRoot, path.join(cfg.runRoot, `${cfg.driver}-layers`, 'volatile-layers.json'), true),
  ];
  const parentOf = new Map<string, string | null>();
  for (const e of raw) {
    const id = str(e.id);
    if (id && !parentOf.has(id)) parentOf.set(id, str(e.parent));
  }
  const m = mounts(cfg);
  const seen = new Set<string>();
  const out: PodmanLayer[] = [];
  for (const e of raw) {
    const id = str(e.id);
    if (!id || seen.has(id)) continue;
    seen.add(id);
    const parents: string[] = [];
    for (let p = parentOf.get(id) ?? null; p && !parents.includes(p) && p !== id; p = parentOf.get(p) ?? null) {
      parents.push(p);
    }
    const mount = m.get(id);
    out.push({
      id,
      names: strs(e.names),
      parent: parentOf.get(id) ?? null,
      parents,
      created: str(e.created),
      diffDir: cfg.driver === 'vfs' ? path.join(driverDir(cfg), id) : path.join(driverDir(cfg), id, 'diff'),
      mounted: mount !== undefined && mount.count > 0,
      mountPoint: mount && mount.count > 0 ? mount.path || null : null,
      diffSize: typeof e['diff-size'] === 'number' ? e['diff-size'] : null,
    });
  }
  return out;
}

/**
 * The diff dirs of a layer and all below it, top to bottom: the layer's own
 * `diff`, then the entries of its `lower` file (`l/<short>` links resolved to
 * `overlay/<id>/diff`). Without a `lower` file, falls back to layers.json's
 * parent chain. vfs: each layer's `vfs/dir/<id>` by layers.json's parent
 * chain, each a whole tree (the first alone is all of this layer's files).
 * `layerId` is a full id or a unique prefix.
 */
export function layerChain(layerId: string, opts: PodmanOptions = {}): string[] {
  const cfg = storageConfig(opts);
  requireDriver(cfg);
  return chainOf(cfg, layerId, () => layers(opts));
}

function chainOf(cfg: StorageConfig, layerId: string, allLayers: () => PodmanLayer[]): string[] {
  const layersDir = driverDir(cfg);
  let id = layerId;
  if (!/^[0-9a-f]{64}$/.test(id) || !fs.existsSync(path.join(layersDir, id))) {
    id = resolveId(
      layerId,
      allLayers().map((l) => l.id),
      'layer',
    );
  }
  if (cfg.driver === 'vfs') {
    const layer = allLayers().find((l) => l.id === id);
    return [id, ...(layer ? layer.parents : [])].map((p) => vfsLayerDir(layersDir, p, 'podman', podmanErrors));
  }
  // The layer dir and every one below it checked by fds beneath overlay/.
  const chain = lowerFileChain(layersDir, id, 'podman', podmanErrors);
  if (chain) return chain;
  const layer = allLayers().find((l) => l.id === id);
  return [id, ...(layer ? layer.parents : [])].map((p) => layerDiffDir(layersDir, p, 'podman', podmanErrors));
}

function imageNameOf(metadata: unknown): string | null {
  if (typeof metadata !== 'string' || metadata === '') return null;
  try {
    const m = JSON.parse(metadata) as Record<string, unknown>;
    return str(m['image-name']);
  } catch {
    return null;
  }
}

/** Options of the listings (containers()). */
export interface PodmanListOptions extends PodmanOptions {
  /**
   * Told of each container left out of the listing because its layers
   * cannot be read (a layer dir that is a symlink, a lower link leading out
   * of the store): an EPODMANSTORAGE PodmanError.  Without it, each is a
   * process warning (process.emitWarning).  containers.json itself that
   * cannot be read, or EPODMANACCESS, still fails the whole listing.
   */
  onError?: (error: PodmanError) => void;
}

/** containers.json's records, with what building one from its record needs. */
interface ContainerRecords {
  cfg: StorageConfig;
  records: Record<string, unknown>[];
  mounts: Map<string, Mount>;
  allLayers: () => PodmanLayer[];
}

function containerRecords(opts: PodmanOptions): ContainerRecords {
  const cfg = storageConfig(opts);
  requireDriver(cfg);
  const raw = readJsonArray(cfg.graphRoot, recordFile(cfg, 'containers', 'containers.json'), true);
  let all: PodmanLayer[] | undefined;
  return {
    cfg,
    records: raw.filter((e) => str(e.id) && str(e.layer)),
    mounts: mounts(cfg),
    allLayers: () => (all ??= layers(opts)),
  };
}

/**
 * A container from its record (its id and layer there): its lower dirs
 * read, its pid files read.  A PodmanError of its own but EPODMANACCESS
 * (a layer dir that is a symlink, a lower link leading out of the store)
 * comes back as `bad`: that record is left out of a listing; anything else
 * is thrown.
 */
function buildContainer(
  { cfg, mounts: m, allLayers }: ContainerRecords,
  e: Record<string, unknown>,
): PodmanContainer | { bad: PodmanError } {
  const id = str(e.id)!;
  const layer = str(e.layer)!;
  const vfs = cfg.driver === 'vfs';
  const dir = path.join(driverDir(cfg), layer);
  let lowerDirs: string[];
  try {
    if (vfs) {
      // Its dir checked; it is a whole tree: the image's below it are no lower dirs of it.
      vfsLayerDir(driverDir(cfg), layer, 'podman', podmanErrors);
      lowerDirs = [];
    } else lowerDirs = chainOf(cfg, layer, allLayers).slice(1);
  } catch (err) {
    if (err instanceof PodmanError && err.code === 'ENOLAYER') lowerDirs = [];
    else if (err instanceof PodmanError && err.code !== 'EPODMANACCESS') return { bad: err };
    else throw err;
  }
  const mount = m.get(layer);
  const userdata = path.join(cfg.runRoot, `${cfg.driver}-containers`, id, 'userdata');
  return {
    id,
    names: strs(e.names),
    image: str(e.image) ?? '',
    imageName: imageNameOf(e.metadata),
    layer,
    created: str(e.created) ?? '',
    mergedDir: vfs ? dir : path.join(dir, 'merged'),
    upperDir: vfs ? dir : path.join(dir, 'diff'),
    workDir: vfs ? '' : path.join(dir, 'work'),
    lowerDirs,
    mounted: mount !== undefined && mount.count > 0,
    mountPoint: mount && mount.count > 0 ? mount.path || null : null,
    pid: livePid(path.join(userdata, 'pidfile')),
    conmonPid: livePid(path.join(userdata, 'conmon.pid')),
  };
}

/**
 * Every container in the store (running or not).  One whose layers cannot
 * be read (see PodmanListOptions.onError) is left out and reported.
 */
export function containers(opts: PodmanListOptions = {}): PodmanContainer[] {
  const store = containerRecords(opts);
  const good: PodmanContainer[] = [];
  for (const e of store.records) {
    // One bad record costs that record only.
    const built = buildContainer(store, e);
    if (!('bad' in built)) good.push(built);
    else if (opts.onError) opts.onError(built.bad);
    else process.emitWarning(built.bad.message, { type: 'PodmanWarning', code: built.bad.code });
  }
  return good;
}

/**
 * One container by exact name, exact id, or unique id prefix (in that order).
 * Throws `ENOCONTAINER` if none matches, `EPODMANAMBIGUOUS` (with
 * `candidates`) if a prefix matches several, and the failure of the one it
 * names when its layers cannot be read.  Only that container's layers are
 * read.
 */
export function container(nameOrIdPrefix: string, opts: PodmanOptions = {}): PodmanContainer {
  const store = containerRecords(opts);
  const { records } = store;
  let found = records.find((e) => strs(e.names).includes(nameOrIdPrefix)) ?? records.find((e) => e.id === nameOrIdPrefix);
  if (!found) {
    const id = resolveId(
      nameOrIdPrefix,
      records.map((e) => str(e.id)!),
      'container',
    );
    found = records.find((e) => e.id === id)!;
  }
  const built = buildContainer(store, found);
  if ('bad' in built) throw built.bad;
  return built;
}

/** An image of podman's store (images.json). */
export interface PodmanImage {
  /** The full image id. */
  id: string;
  /** e.g. 'localhost/unshare-fs-test:latest' */
  names: string[];
  /** Its manifest digest, when recorded. */
  digest: string | null;
  /** the image's top layer id (its chain, via layerChain, is the image's filesystem) */
  layer: string;
  /** When it was created (RFC 3339), when recorded. */
  created: string | null;
  /** bytes of its manifest, config and signatures (images.json's big-data-sizes), which podman counts in its size */
  metadataSize: number;
}

/** Every image of the store (graphroot/<driver>-images/images.json). */
export function images(opts: PodmanOptions = {}): PodmanImage[] {
  const cfg = storageConfig(opts);
  requireDriver(cfg);
  const out: PodmanImage[] = [];
  for (const e of readJsonArray(cfg.graphRoot, recordFile(cfg, 'images', 'images.json'), true)) {
    const id = str(e.id);
    const layer = str(e.layer);
    if (!id || !layer) continue;
    const sizes = e['big-data-sizes'];
    const metadataSize =
      typeof sizes === 'object' && sizes !== null
        ? Object.values(sizes).reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0)
        : 0;
    out.push({ id, names: strs(e.names), digest: str(e.digest), layer, created: str(e.created), metadataSize });
  }
  return out;
}

/** True if the image name `name` ('registry/path:tag') is what `ref` asks for. */
function nameMatches(name: string, ref: string): boolean {
  if (name === ref) return true;
  const tagged = /:[^/]+$/.test(ref) ? ref : `${ref}:latest`;
  return name === tagged || name.endsWith(`/${tagged}`);
}

/**
 * One image by name (`localhost/x:tag`, `x:tag`, `x` meaning `x:latest`),
 * full id (with or without `sha256:`), or unique id prefix. Throws `ENOIMAGE`
 * if none matches, `EPODMANAMBIGUOUS` (with `candidates`) if several do.
 */
export function image(ref: string, opts: PodmanOptions = {}): PodmanImage {
  const all = images(opts);
  const byName = all.filter((i) => i.names.some((n) => nameMatches(n, ref)));
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    const ids = byName.map((i) => i.id);
    throw new PodmanError('EPODMANAMBIGUOUS', `image name '${ref}' is ambiguous: ${byName.map((i) => i.names.join(' ')).join(', ')}`, {
      candidates: ids,
    });
  }
  const id = ref.replace(/^sha256:/, '');
  const matches = /^[0-9a-f]+$/.test(id) ? all.filter((i) => i.id.startsWith(id)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new PodmanError('EPODMANAMBIGUOUS', `image id prefix '${ref}' is ambiguous: ${matches.map((i) => i.id).join(', ')}`, {
      candidates: matches.map((i) => i.id),
    });
  }
  throw new PodmanError('ENOIMAGE', `no such image: ${ref}`);
}

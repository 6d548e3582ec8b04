// What a layer of the vfs driver changed against the layer below it, with
// the rules of containers/storage's naive diff (pkg/archive ChangesDirs,
// changes_linux.go, changes_unix.go), which `podman diff` applies to vfs
// layers: each layer's dir holds the whole tree, so the two trees are
// walked whole, through sessions (the ids and permissions of the namespace
// that owns them, every path resolved inside each tree's root), and
// compared path by path:
//
// - a path only in the new tree is added, one only in the old tree is
//   deleted where the new tree still has its directory (a directory
//   replaced by a file hides what the old one held: no deletions below it);
// - a path in both is changed when st_mode (type and permissions), uid,
//   gid or rdev differ; for all but directories, also size or mtime (equal
//   to the nanosecond, or to the second where either side has no
//   nanoseconds, one second apart where the rounded side is the later);
//   or the security.capability xattrs, the user.* xattrs or the symlink
//   targets differ; inode numbers and ctimes never count (a copy changes
//   them);
// - every directory above a change is changed, unless it is a change of
//   its own.
//
// Like containers/storage, "directory" in these rules is any mode with the
// S_IFDIR bit (block devices and sockets have it too).
import type { BigIntStats, StatField } from '../core/stats';
import type { ChangeKind, LayerChange } from './diff';

/** What the naive diff needs of a FileSystem: bigint walks, xattrs and readlink. */
export interface NaiveDiffSource {
  walkBatches(
    root: string,
    options: { stat: readonly StatField[]; bigint: true; signal?: AbortSignal },
  ): AsyncIterable<readonly { fullPath: string; stats: BigIntStats | undefined }[]>;
  xattrs(path: string, options: { signal?: AbortSignal }): Promise<Map<string, Buffer>>;
  readlink(path: string, options: { signal?: AbortSignal }): Promise<string>;
}

/** One tree to compare: a source and the directory in it whose contents are the layer. */
export interface NaiveDiffTree {
  source: NaiveDiffSource;
  root: string;
}

/** The stat fields the rules compare. */
interface Node {
  mode: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  mtimeNs: bigint;
}

const FIELDS: readonly StatField[] = ['mode', 'uid', 'gid', 'rdev', 'size', 'mtime'];
const S_IFMT = 0o170000n;
const S_IFDIR = 0o040000n;
const S_IFREG = 0o100000n;
const S_IFLNK = 0o120000n;
const NS_PER_S = 1000000000n;
/** xattr and readlink requests in flight at once. */
const CONCURRENCY = 32;

/** containers/storage's isDir(): the S_IFDIR bit, whatever else the type has. */
const dirBit = (mode: bigint): boolean => (mode & S_IFDIR) === S_IFDIR;

/** The directory of a path: '/' for '/a', '/a' for '/a/b'. */
function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** Seconds and nanoseconds of a time, as Go's Time.Unix() and Nanosecond() split it. */
function split(ns: bigint): [bigint, bigint] {
  let sec = ns / NS_PER_S;
  let nsec = ns % NS_PER_S;
  if (nsec < 0n) {
    nsec += NS_PER_S;
    sec -= 1n;
  }
  return [sec, nsec];
}

/**
 * containers/storage's sameFSTimePair: equal; or, where a tar writer
 * rounded one side to whole seconds (no nanoseconds), equal seconds, or the
 * rounded side one second later.
 */
function sameTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  const [aSec, aNsec] = split(a);
  const [bSec, bNsec] = split(b);
  if (aNsec !== 0n && bNsec !== 0n) return false;
  if (aSec === bSec) return true;
  if (bNsec === 0n && aSec === bSec - 1n) return true;
  return aNsec === 0n && aSec - 1n === bSec;
}

/** statDifferent(): what the stats alone say changed. */
function statDifferent(o: Node, n: Node): boolean {
  if (o.mode !== n.mode || o.uid !== n.uid || o.gid !== n.gid || o.rdev !== n.rdev) return true;
  return !dirBit(o.mode) && (!sameTime(o.mtimeNs, n.mtimeNs) || o.size !== n.size);
}

/** Every entry below the tree's root by its path there ('/etc/passwd'). */
async function walk(tree: NaiveDiffTree, signal: AbortSignal | undefined): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const cut = tree.root === '/' ? 0 : tree.root.replace(/\/+$/, '').length;
  for await (const batch of tree.source.walkBatches(tree.root, { stat: FIELDS, bigint: true, signal })) {
    for (const entry of batch) {
      const s = entry.stats!;
      out.set(entry.fullPath.slice(cut), { mode: s.mode, uid: s.uid, gid: s.gid, rdev: s.rdev, size: s.size, mtimeNs: s.mtimeNs });
    }
  }
  return out;
}

/** The full path in the tree's source of `path` below its root. */
const inTree = (tree: NaiveDiffTree, path: string): string => (tree.root === '/' ? path : tree.root.replace(/\/+$/, '') + path);

/** The xattrs the rules compare (security.capability, user.*); none where the entry is gone or the file system has none. */
async function comparedXattrs(tree: NaiveDiffTree, path: string, signal: AbortSignal | undefined): Promise<Map<string, Buffer>> {
  let all: Map<string, Buffer>;
  try {
    all = await tree.source.xattrs(inTree(tree, path), { signal });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return new Map();
    throw error;
  }
  return new Map([...all].filter(([name]) => name === 'security.capability' || name.startsWith('user.')));
}

function sameXattrs(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) {
    const other = b.get(name);
    if (other === undefined || !other.equals(value)) return false;
  }
  return true;
}

/** What the stats cannot tell: the xattrs of files and directories, the targets of symlinks. */
async function contentDifferent(
  newTree: NaiveDiffTree,
  oldTree: NaiveDiffTree,
  path: string,
  mode: bigint,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const type = mode & S_IFMT;
  if (type === S_IFLNK) {
    const [a, b] = await Promise.all([
      newTree.source.readlink(inTree(newTree, path), { signal }),
      oldTree.source.readlink(inTree(oldTree, path), { signal }),
    ]);
    return a !== b;
  }
  // user.* xattrs exist on files and directories only, capabilities on files.
  if (type !== S_IFREG && type !== S_IFDIR) return false;
  const [a, b] = await Promise.all([comparedXattrs(newTree, path, signal), comparedXattrs(oldTree, path, signal)]);
  return !sameXattrs(a, b);
}

/**
 * What the tree `newTree` changed against `oldTree` (null: an empty one, as
 * for a base layer), with containers/storage's naive diff rules (see
 * above), sorted by path.
 */
export async function naiveDiff(
  newTree: NaiveDiffTree,
  oldTree: NaiveDiffTree | null,
  options: { signal?: AbortSignal } = {},
): Promise<LayerChange[]> {
  const { signal } = options;
  const newer = await walk(newTree, signal);
  const older = oldTree === null ? new Map<string, Node>() : await walk(oldTree, signal);
  const changes = new Map<string, ChangeKind>();
  const unsure: [string, bigint][] = [];
  for (const [path, n] of newer) {
    const o = older.get(path);
    if (o === undefined) changes.set(path, 'added');
    else if (statDifferent(o, n)) changes.set(path, 'changed');
    else unsure.push([path, n.mode]);
  }
  for (let i = 0; i < unsure.length && oldTree !== null; i += CONCURRENCY) {
    const slice = unsure.slice(i, i + CONCURRENCY);
    const different = await Promise.all(slice.map(([path, mode]) => contentDifferent(newTree, oldTree, path, mode, signal)));
    slice.forEach(([path], j) => {
      if (different[j]) changes.set(path, 'changed');
    });
  }
  for (const path of older.keys()) {
    if (newer.has(path)) continue;
    const parent = parentOf(path);
    // Deleted where the new tree still has its directory (by the S_IFDIR bit).
    const newParent = parent === '/' ? undefined : newer.get(parent);
    if (parent === '/' || (newParent !== undefined && dirBit(newParent.mode))) changes.set(path, 'deleted');
  }
  // Every directory above a change, where it is no change of its own.
  const raised = new Set<string>(['/']);
  for (const path of [...changes.keys()]) {
    for (let dir = parentOf(path); !raised.has(dir); dir = parentOf(dir)) {
      raised.add(dir);
      if (!changes.has(dir)) changes.set(dir, 'changed');
    }
  }
  return [...changes].map(([path, kind]): LayerChange => ({ path, kind })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

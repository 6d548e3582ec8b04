// unshare-fs: read container files from inside their user and mount
// namespaces; the same fast API for host paths.
import { host } from './host';

export { Entry, type EntryType } from './entry';
export { fsError, UnshareFsError, type FsError } from './errors';
export {
  FileSystem,
  type Dirent,
  type ReadFileOptions,
  type ReaddirOptions,
  type StatOptions,
  type WalkEntry,
} from './filesystem';
export { host } from './host';
export { OVERFLOW_ID, type IdRange } from './idmap';
export { type MountInfo } from './mounts';
export { createNamespace, Namespace, type CreateNamespaceOptions, type OverlayOptions } from './namespace';
export type { ExitStatus } from './native';
export { enter, Session, type EnterOptions } from './session';
export type { PathLike, WalkOptions } from './options';
export { STAT_FIELDS, type StatField } from './protocol';
export { BigIntStats, Stats } from './stats';

/** Walks a host directory tree; see FileSystem#walk. */
export const walk: typeof host.walk = host.walk.bind(host);
/** Walks a host directory tree a batch at a time; see FileSystem#walkBatches. */
export const walkBatches: typeof host.walkBatches = host.walkBatches.bind(host);
export const lstat: typeof host.lstat = host.lstat.bind(host);
export const stat: typeof host.stat = host.stat.bind(host);
export const readdir: typeof host.readdir = host.readdir.bind(host);
export const readlink: typeof host.readlink = host.readlink.bind(host);
export const readFile: typeof host.readFile = host.readFile.bind(host);
export * as podman from './podman';

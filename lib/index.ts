// unshare-fs: read container files from inside their user and mount
// namespaces; the same fast API for host paths.
//
// The package's only entry point (package.json "exports"): what is exported
// here is the API, and nothing else of lib/ can be imported.
import { host } from './api/host';
import { STAT_FIELDS as PROTOCOL_STAT_FIELDS, type StatField } from './core/stats';

export type { ChangeKind, DiffOptions, LayerChange, LayerFormat } from './layers/diff';
export type { DiskUsage, DuOptions } from './layers/du';
export type { ExportOptions, LayerExportOptions } from './layers/export';
export type { ExtractOptions, ExtractResult } from './layers/extract';
export type { ProgressListener, ProgressOptions } from './core/progress';
export { Entry, type EntryType, type StatsLike } from './core/entry';
export { UnshareFsError, type FsError, type UnshareFsErrorCode } from './core/errors';
export { FileSystem } from './api/filesystem';
export type { FileHandle, FileReadOptions, FileReadResult, FileWriteResult } from './api/file-handle';
export type { Dir } from './api/dir';
export type { AccessMode, MkdtempOptions, OpendirOptions, StatFs } from './core/options';
export type { CopyInOptions, CopyOptions, CopyResult } from './layers/copy';
export type { CopyProgress, CpError, CpOptions } from './api/cp';
export {
  type Dirent,
  type ReadFileOptions,
  type ReaddirOptions,
  type ReadlinkOptions,
  type ReadStreamOptions,
  type StatOptions,
  type WalkEntry,
  type WalkResult,
  type WalkStats,
  type StatMembers,
  type StatsKind,
  type PickedStats,
  type ChownOptions,
  type MkdirOptions,
  type MknodOptions,
  type OwnerOptions,
  type RmOptions,
  type RmdirOptions,
  type OpenFlag,
  type SignalOptions,
  type TreeOptions,
  type TreeResult,
  type WriteData,
  type WriteFileOptions,
  type WriteFlag,
  type WriteStreamOptions,
  type PathLike,
  type WalkOptions,
} from './core/options';
export { host } from './api/host';
export { OVERFLOW_ID, type IdRange } from './ns/idmap';
export { type MountInfo } from './ns/mounts';
export { createNamespace, Namespace, type CreateNamespaceOptions, type OverlayOptions, type TmpfsOptions } from './ns/namespace';
export type { ExitStatus } from './wire/native';
export { enter, Session, type EnterOptions, type ExecOptions } from './ns/session';
export type { StatField };
export { BigIntStats, Stats } from './core/stats';

/**
 * The stat fields a walk can ask for (WalkOptions.stat).  A frozen copy:
 * the protocol's own list gives each field its bit.
 */
export const STAT_FIELDS: typeof PROTOCOL_STAT_FIELDS = Object.freeze([...PROTOCOL_STAT_FIELDS] as const);

/** Walks a host directory tree; see FileSystem#walk. */
export const walk: typeof host.walk = host.walk.bind(host);
/** Walks a host directory tree a batch at a time; see FileSystem#walkBatches. */
export const walkBatches: typeof host.walkBatches = host.walkBatches.bind(host);
/** lstat(2) of a host path; see FileSystem#lstat. */
export const lstat: typeof host.lstat = host.lstat.bind(host);
/** stat(2) of a host path; see FileSystem#stat. */
export const stat: typeof host.stat = host.stat.bind(host);
/** A host directory's names; see FileSystem#readdir. */
export const readdir: typeof host.readdir = host.readdir.bind(host);
/** A host symlink's target; see FileSystem#readlink. */
export const readlink: typeof host.readlink = host.readlink.bind(host);
/** A host file's content; see FileSystem#readFile. */
export const readFile: typeof host.readFile = host.readFile.bind(host);
export * as podman from './podman';
export * as docker from './docker';
export { containers, type Engine, type EngineContainer, type EnginesOptions } from './engines';
export { scanContainers, type ScanBatch, type ScanOptions } from './scan';
export type { EngineErrorFields } from './engine/errors';
export type { Volume } from './engine/volumes';
export type { MountedLayers as EngineMountedLayers } from './engine/mount';
export type { UserOptions } from './engine/users';

// The public option and result types of the file API: values only, so
// that every layer can name them.
import type { Entry, StatsLike } from './entry';
import type { FsError } from './errors';
import type { BigIntStats, Stats, StatField } from './stats';

/**
 * Told what a long job has done so far: entries, then bytes (a file's
 * bytes, as each job's doc says).  The same shape as rm's and chown's
 * `onProgress(entries)`, with the bytes after.
 */
export type ProgressListener = (entries: number, bytes: number) => void;

/** Options of the jobs that tell their progress. */
export interface ProgressOptions {
  /**
   * Told the counts of entries and bytes done so far, at most every 100 ms
   * while the job runs and once at its end with the totals (before the
   * promise settles or the stream ends).  What it throws ends the job
   * with that error.
   */
  onProgress?: ProgressListener;
}

/**
 * A path: a string, a Buffer for names that are not UTF-8, or a file: URL
 * (as node's url.fileURLToPath() reads it, with node's errors for another
 * scheme, a host or an encoded slash).
 */
export type PathLike = string | Buffer | URL;

/** Options of walk() and walkBatches(). */
export interface WalkOptions {
  /** Deepest level listed: 1 lists the root's own entries only. Default: no limit. */
  maxDepth?: number;
  /** Stat every entry (true), only the named fields, or not at all (false, the default: names and types). */
  stat?: boolean | readonly StatField[];
  /** Stats with bigint numbers and nanosecond times. */
  bigint?: boolean;
  /** Do not descend into directories on another device than the root. */
  oneFileSystem?: boolean;
  /** Stops the walk, in the worker too. */
  signal?: AbortSignal;
  /**
   * What an error inside the tree does (an unreadable directory, an entry
   * gone before its stat): 'throw' (the default) ends the walk with it;
   * 'skip' ignores it; a function is told of it and decides, as
   * @nodelib/fs.walk's errorFilter: `false` ends the walk with the error,
   * anything else (true, nothing) goes on.  What it throws ends the walk.
   */
  onError?: 'throw' | 'skip' | ((error: FsError) => unknown);
  /**
   * 'buffer' gives names and paths as Buffers, for names that are not
   * UTF-8; 'latin1' as strings of one char a byte (what
   * `Buffer.from(name, 'latin1')` turns back into the bytes), made without
   * a Buffer an entry.
   */
  encoding?: 'utf8' | 'latin1' | 'buffer';
  /**
   * Threads listing directories at once, 1 to 16 (default 2, or 1 where
   * this process can run on one CPU only: its affinity, or a cgroup CPU
   * quota under 2).  Entries of one directory always come together; the
   * order of directories varies when more than one thread walks.
   */
  threads?: number;
  /**
   * Entries the walker leaves out, evaluated in the walker before an
   * entry's stat: an excluded entry is not listed and an excluded
   * directory is never opened, so nothing under it is read.  Each pattern
   * is an fnmatch(3) glob (`*`, `?`, `[...]`, a backslash escapes; `*`
   * matches a leading dot too): one without a slash is matched against
   * each entry's name at every depth (`'node_modules'`, `'*.log'`), one
   * with a slash against the entry's path relative to the walk's root,
   * where `*` does not cross a slash (`'usr/lib/*.a'`); a leading slash
   * anchors a pattern at the root (`'/proc'`: the root's own proc only).
   * No `**`.  At most 256 patterns, each 1 to 4,095 bytes, no NUL.
   */
  exclude?: readonly string[];
  /**
   * Keeps an entry when it returns true.  Runs in JavaScript on each entry
   * the walker sends, after `exclude`: it does not prune (a directory it
   * rejects is still walked, and its entries are offered to it too); use
   * `exclude` to skip a subtree.  What it throws ends the walk.
   */
  filter?(entry: Entry<string | Buffer, StatsLike | undefined>): boolean;
  /**
   * Prunes a directory when it returns true: the directory is still
   * listed (and offered to `filter`), but the walker never opens it, so
   * nothing under it is read.  Runs in JavaScript on every directory the
   * walker would descend into (within `maxDepth`, not excluded), before
   * `filter`; the walker waits for its answers about a directory's
   * subdirectories before it goes on, so a pruning walk lists one
   * directory at a time on one thread (`threads` has no effect) and costs
   * a round trip per directory with subdirectories: `exclude` prunes by
   * name without one.  What it throws ends the walk.  fdir's
   * `exclude(dirName, dirPath)`, @nodelib/fs.walk's `deepFilter` negated.
   */
  prune?(entry: Entry<string | Buffer, StatsLike | undefined>): boolean;
  /**
   * Told the entries yielded so far (those `filter` keeps) and the bytes
   * their stats' `size` adds up to (0 without `size` among the stats), at
   * most every 100 ms, and the totals once the walk has run to its end,
   * before the iteration ends.  What it throws ends the walk.
   */
  onProgress?: ProgressListener;
}

/** Options of lstat() and stat(). */
export interface StatOptions {
  /** Stats with bigint numbers and nanosecond times (`atimeNs` …), as node's `bigint: true` (default false). */
  bigint?: boolean;
  /** Rejects the call with an AbortError (the answer, if it comes, is dropped). */
  signal?: AbortSignal;
}

/** Options of readdir(). */
export interface ReaddirOptions {
  /** Entries (fs.Dirent's fields and methods) instead of names. */
  withFileTypes?: boolean;
  /** 'buffer' gives names (and an entry's paths) as Buffers; another Buffer encoding names in it, as node's. */
  encoding?: BufferEncoding | 'buffer';
  /**
   * Everything under `path`, as node:fs has it: names become paths relative
   * to `path` ('a/b/c'); entries keep their own name and parentPath.  One
   * walk in the server; symlinks are not followed.
   */
  recursive?: boolean;
  /** Stops the walk in the server and rejects the call with an AbortError. */
  signal?: AbortSignal;
}

/** Options of readlink(). */
export interface ReadlinkOptions {
  /** 'buffer' gives the target as a Buffer (for targets that are not UTF-8), another Buffer encoding a string in it; default 'utf8'. */
  encoding?: BufferEncoding | 'buffer';
  /** Rejects the call with an AbortError (the answer, if it comes, is dropped). */
  signal?: AbortSignal;
}

/** Options of readFile(). */
export interface ReadFileOptions {
  /** Decode the bytes with this encoding; without it a Buffer comes back. */
  encoding?: BufferEncoding | null;
  /**
   * How the file is opened, as node:fs's flags (default 'r'): one that
   * creates or truncates ('w+', 'a+', 'wx+' …) does so first, as its own
   * write request, then the file is read; 'rs' reads as 'r' (O_SYNC
   * changes nothing for a read).
   */
  flag?: OpenFlag | number;
  /** Stops the read in the server too, wherever it waits. */
  signal?: AbortSignal;
}

/** Options of createReadStream(): those of fs.createReadStream. */
export interface ReadStreamOptions {
  /**
   * A reading flag of node:fs ('r', the default, 'rs', 'r+' …).  One that
   * creates or truncates ('w+', 'a+') is refused (ERR_INVALID_ARG_VALUE):
   * the stream's read is one request, opened by the server as it starts.
   */
  flags?: OpenFlag | number;
  /** Chunks come as strings decoded with this (as the stream's setEncoding). */
  encoding?: BufferEncoding | null;
  /** Checked, no effect: no flag that creates a file is taken here. */
  mode?: number | string;
  /**
   * Checked, no effect: the server opens and closes the file within the
   * request; no descriptor is left for the caller to close.
   */
  autoClose?: boolean;
  /** Emit 'close' after the stream is destroyed (default true). */
  emitClose?: boolean;
  /** Only null or absent: the server opens the file by path, in its own namespaces. */
  fd?: null;
  /** Only null or absent, as `fd`. */
  fs?: null;
  /** First byte to read (default 0). */
  start?: number;
  /** Last byte to read, inclusive, as fs.createReadStream has it (default: to the end). */
  end?: number;
  /** Bytes per chunk and the stream's buffer (default 64 KiB); at most a few chunks are in flight. */
  highWaterMark?: number;
  /** Destroys the stream with an AbortError and stops the read in the server. */
  signal?: AbortSignal;
}

/** Options of the calls that take only an AbortSignal. */
export interface SignalOptions {
  /** Rejects the call with an AbortError; the change may still have been made. */
  signal?: AbortSignal;
}

/** Owners for what a call creates: the ids seen inside (as stats show them); -1 or absent: the server's own. */
export interface OwnerOptions {
  /** The owner's uid, as seen inside (-1 or absent: the server's own). */
  uid?: number;
  /** The owner's gid, as seen inside (-1 or absent: the server's own). */
  gid?: number;
}

export interface MkdirOptions extends SignalOptions, OwnerOptions {
  /** Makes missing parents too, and is no error when the directory exists. */
  recursive?: boolean;
  /** Default 0o777, less the worker's umask (022). */
  mode?: number | string;
}

export interface WriteFileOptions extends OwnerOptions {
  /** How strings are turned into bytes (default utf8). */
  encoding?: BufferEncoding | null;
  /** A created file's mode (default 0o666, less the umask); an existing file keeps its own. */
  mode?: number | string;
  /** How the file is opened, as node:fs's flags: see {@link WriteFlag} (default 'w'; appendFile's 'a'). */
  flag?: WriteFlag | number;
  /** fsync(2) the file before it is closed, as node's `flush` (default false). */
  flush?: boolean;
  /** Stops the write in the server too; what was written stays. */
  signal?: AbortSignal;
}

/**
 * A flag string of node:fs: 'r' reads; 'r+' reads and writes a file that
 * must exist; 'w' truncates or creates; 'a' appends; with 'x' the file must
 * not exist (EEXIST); with 's' writes are synchronous (O_SYNC); '+' adds
 * reading or writing.  A number of O_* bits is taken too.
 */
export type OpenFlag =
  | 'r'
  | 'rs'
  | 'sr'
  | 'r+'
  | 'rs+'
  | 'sr+'
  | 'w'
  | 'wx'
  | 'xw'
  | 'w+'
  | 'wx+'
  | 'xw+'
  | 'a'
  | 'ax'
  | 'xa'
  | 'as'
  | 'sa'
  | 'a+'
  | 'ax+'
  | 'xa+'
  | 'as+'
  | 'sa+';

/**
 * How writeFile() and createWriteStream() open the file: any flag of
 * node:fs ({@link OpenFlag}).  The '+' (reading too) changes nothing for a
 * write; a read-only flag ('r', 'rs') fails as node's does (EBADF, or
 * ENOENT when the file is missing); 'r+' writes over a file that must exist
 * without truncating it.
 */
export type WriteFlag = OpenFlag;

/** Options of createWriteStream(): those of fs.createWriteStream, and the owner. */
export interface WriteStreamOptions extends OwnerOptions {
  /** As writeFile's flag (default 'w'); 'r+' with `start` changes a file in place. */
  flags?: WriteFlag | number;
  /** A created file's mode (default 0o666, less the umask); an existing file keeps its own. */
  mode?: number | string;
  /** Strings written are turned into bytes with this (default utf8). */
  encoding?: BufferEncoding | null;
  /** The offset the writes begin at (default 0); with an 'a' flag the kernel appends anyway, as for node on Linux. */
  start?: number;
  /** fsync(2) the file before it is closed (default false). */
  flush?: boolean;
  /**
   * Checked, no effect: the server opens and closes the file within the
   * request; no descriptor is left for the caller to close.
   */
  autoClose?: boolean;
  /** Emit 'close' after the stream is destroyed (default true). */
  emitClose?: boolean;
  /** Only null or absent: the server opens the file by path, in its own namespaces. */
  fd?: null;
  /** Only null or absent, as `fd`. */
  fs?: null;
  /** The stream's buffer (default 64 KiB); at most 1 MiB more is in flight to the server. */
  highWaterMark?: number;
  /** Destroys the stream with an AbortError and stops the write in the server. */
  signal?: AbortSignal;
}

/** Data writeFile takes: bytes, a string, or chunks of them from an (async) iterable such as a Readable. */
export type WriteData =
  | string
  | NodeJS.ArrayBufferView
  | Iterable<string | NodeJS.ArrayBufferView>
  | AsyncIterable<string | NodeJS.ArrayBufferView>;

export interface MknodOptions extends SignalOptions, OwnerOptions {
  /** What to make: a FIFO (the default), or a device (an overlay whiteout is a character device 0, 0). */
  type?: 'fifo' | 'char-device' | 'block-device';
  /** Permission bits (less the umask). Default 0o666. */
  mode?: number | string;
  /** A device's major number (default 0). */
  major?: number;
  /** A device's minor number (default 0). */
  minor?: number;
}

export interface RmOptions extends TreeOptions {
  /** Removes directories and everything under them. */
  recursive?: boolean;
  /** A missing path (or entry) is no error. */
  force?: boolean;
  /** Lets the session's root ('/') be emptied (it stays, empty); refused otherwise (EPERM). */
  allowRoot?: boolean;
  /**
   * With `recursive`, runs the job again after an EBUSY, EMFILE, ENFILE,
   * ENOTEMPTY or EPERM, up to this many times, waiting `retryDelay` ms
   * longer each time, as node's rm (default 0).  An entry a container
   * process adds while the job runs is what ENOTEMPTY retries for here.
   */
  maxRetries?: number;
  /** Milliseconds added to the wait before each retry (default 100). */
  retryDelay?: number;
}

/** Options of rmdir(): node's. */
export interface RmdirOptions extends SignalOptions {
  /** Removes a directory's tree, as rm() with `recursive` (node's deprecated option); ENOTDIR for anything else. */
  recursive?: boolean;
  /** As rm's, with `recursive` only (ignored without it, as in node). */
  maxRetries?: number;
  /** As rm's, with `recursive` only. */
  retryDelay?: number;
}

export interface ChownOptions extends TreeOptions {
  /**
   * Changes everything under a directory too, as `chown -R -P`: symlinks
   * are changed themselves (the path's own included) and never followed.
   */
  recursive?: boolean;
}

/** A readdir result with file types, shaped like fs.Dirent. */
export type Dirent<Name extends string | Buffer = string> = Entry<Name, undefined>;

/** An entry of a walk without `encoding: 'buffer'` or `bigint`: string paths, number stats if asked for. */
export type WalkEntry = Entry<string, Stats | undefined>;

/**
 * The members of the stats each stat field fills: its own, and those
 * computed from it (the `is…()` tests read `mode`; `hostUid` is `uid`
 * mapped; `blocks` comes with `blksize`; a time with its Date and its
 * other units).
 */
export interface StatMembers {
  /** `mode`, and the `is…()` tests that read its type bits. */
  mode: 'mode' | 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice';
  /** `uid`, and `hostUid`: it mapped through the namespace's uid_map. */
  uid: 'uid' | 'hostUid';
  /** `gid`, and `hostGid`. */
  gid: 'gid' | 'hostGid';
  /** `nlink` alone. */
  nlink: 'nlink';
  /** `size` alone. */
  size: 'size';
  /** `ino` alone. */
  ino: 'ino';
  /** `dev` alone. */
  dev: 'dev';
  /** `rdev` alone. */
  rdev: 'rdev';
  /** `blocks`, and `blksize`, which come with it. */
  blocks: 'blocks' | 'blksize';
  /** The access time as a Date, in ms and (BigIntStats) in ns. */
  atime: 'atime' | 'atimeMs' | 'atimeNs';
  /** The modification time, as `atime`. */
  mtime: 'mtime' | 'mtimeMs' | 'mtimeNs';
  /** The inode change time, as `atime`. */
  ctime: 'ctime' | 'ctimeMs' | 'ctimeNs';
}

/**
 * The stats of a walk with `stat: [...fields]`: only the members those
 * fields fill (the others are undefined at run time, so the type has
 * none of them).
 */
export type PickedStats<S extends Stats | BigIntStats, F extends StatField> = S extends unknown
  ? Pick<S, Extract<StatMembers[F], keyof S>>
  : never;

// The conditionals below test keys with `keyof`: an options type whose keys
// are all optional is a weak type, which an object without those keys does
// not extend.

/**
 * Stats or BigIntStats, as the `bigint` of walk options `O` says (either when it is not known).
 * @useDeclaredType
 */
export type StatsKind<O> = O extends { bigint: true }
  ? BigIntStats
  : O extends { bigint: false }
    ? Stats
    : 'bigint' extends keyof O
      ? Stats | BigIntStats
      : Stats;

/**
 * An entry's `stats` for walk options `O`: {@link Stats} (or
 * {@link BigIntStats} with `bigint: true`) with `stat: true`, only the
 * named members with a field list ({@link PickedStats}), undefined
 * without `stat`; possibly undefined when `stat` is not known.
 * @useDeclaredType
 */
export type WalkStats<O> = O extends { stat: true }
  ? StatsKind<O>
  : O extends { stat: readonly (infer F extends StatField)[] }
    ? PickedStats<StatsKind<O>, F>
    : O extends { stat: false }
      ? undefined
      : 'stat' extends keyof O
        ? StatsKind<O> | undefined
        : undefined;

/** Names and paths: Buffers with `encoding: 'buffer'`, strings without. */
type WalkName<O> = O extends { encoding: 'buffer' }
  ? Buffer
  : O extends { encoding: 'utf8' | 'latin1' }
    ? string
    : 'encoding' extends keyof O
      ? string | Buffer
      : string;

/**
 * What walk() and walkBatches() with options `O` yield: an {@link Entry} whose paths are
 * Buffers with `encoding: 'buffer'` (strings otherwise) and whose `stats`
 * are as {@link WalkStats} says: a `Stats` with `stat: true`, exactly the
 * named fields with `stat: [...]`, `BigIntStats` with `bigint: true`.
 * @useDeclaredType
 */
export type WalkResult<O extends WalkOptions | undefined> = O extends undefined
  ? Entry<string, undefined>
  : Entry<WalkName<O>, WalkStats<O>>;

/** Options of the tree-wide changes: rm (recursive) and chown (recursive). */
export interface TreeOptions {
  /**
   * What an entry's error does (a file that cannot be removed, a mount
   * point met): 'throw' (the default) ends the job with it; a function is
   * told of it and the job goes on; 'skip' goes on without telling.
   */
  onError?: 'throw' | 'skip' | ((error: FsError) => void);
  /** Told the count of entries done, every 1,024 of them. */
  onProgress?: (entries: number) => void;
  /** Descend into mount points inside the tree (default: each is an EBUSY error, left alone). */
  crossMounts?: boolean;
  /** Stops the job in the server; the call rejects with an AbortError whose `entries` says what was done. */
  signal?: AbortSignal;
}

/** What a tree job did. */
export interface TreeResult {
  /** Entries removed or changed. */
  entries: number;
  /** Entries that failed (told to onError). */
  errors: number;
}

/** access()'s mode: F_OK (0), or R_OK (4) | W_OK (2) | X_OK (1). */
export type AccessMode = number;

/** opendir()'s options, node's. */
export interface OpendirOptions extends SignalOptions {
  /** 'utf8' (names as strings) or 'buffer'. */
  encoding?: 'utf8' | 'buffer' | null;
  /** Accepted and checked as node's; the server's batches decide what is held. */
  bufferSize?: number;
  /** Every entry under the directory, as readdir's `recursive`. */
  recursive?: boolean;
}

/** mkdtemp()'s options, node's. */
export interface MkdtempOptions extends SignalOptions {
  /** The path's encoding: a Buffer encoding, or 'buffer'. */
  encoding?: BufferEncoding | 'buffer' | null;
}

/** statfs()'s answer, node's StatFs fields. */
export interface StatFs<T extends number | bigint = number> {
  /** The file system type (f_type, a magic number: 0xEF53 ext4 …). */
  type: T;
  /** Bytes of a block. */
  bsize: T;
  /** Blocks in all. */
  blocks: T;
  /** Blocks free. */
  bfree: T;
  /** Blocks free to an unprivileged user. */
  bavail: T;
  /** Inodes in all. */
  files: T;
  /** Inodes free. */
  ffree: T;
  /** Bytes of a fragment (f_frsize), where node's StatFs has it (node 22 and later). */
  frsize?: T;
}

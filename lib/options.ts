// Checks every option before it crosses into C++, with messages that name
// the option, what was expected and what came.
import { fsError, type FsError } from './errors';
import { ALL_STAT, MAX_WALK_THREADS, STAT_FIELDS, WALK_ONE_FILE_SYSTEM, WALK_THREADS_SHIFT, type StatField } from './protocol';

// Two threads keep both cores of a small machine busy with syscalls while
// the consumer decodes on the main thread.
const DEFAULT_WALK_THREADS = 2;

export type PathLike = string | Buffer;

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
   * a function is told of it and the walk goes on; 'skip' ignores it.
   */
  onError?: 'throw' | 'skip' | ((error: FsError) => void);
  /** 'buffer' gives names and paths as Buffers, for names that are not UTF-8. */
  encoding?: 'utf8' | 'buffer';
  /**
   * Threads listing directories at once, 1 to 16 (default 2).  Entries of
   * one directory always come together; the order of directories varies
   * when more than one thread walks.
   */
  threads?: number;
}

export interface CheckedWalk {
  maxDepth: number;
  statMask: number;
  bigint: boolean;
  flags: number;
  signal: AbortSignal | undefined;
  onError: 'throw' | 'skip' | ((error: FsError) => void);
  buffer: boolean;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  return `${typeof value} ${String(value)}`;
}

function invalid(name: string, expected: string, value: unknown): TypeError {
  const error = new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
  (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

function checkBoolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(name, 'a boolean', value);
  return value;
}

/** Validates a path argument and returns its bytes. */
export function checkPath(value: unknown, name = 'path'): Buffer {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    throw invalid(name, 'a string or a Buffer', value);
  }
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  if (bytes.includes(0)) {
    const error = new TypeError(`Expected ${name} without null bytes but received ${describe(String(value))}`);
    (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
  return bytes;
}

export function emptyPathError(syscall: string): FsError {
  return fsError(2, syscall, '');
}

/** Linux's PATH_MAX, counting the NUL: longer paths are ENAMETOOLONG before anything is sent. */
export const PATH_MAX = 4096;
const ENAMETOOLONG = 36;

/** Throws the error the kernel would give a path of `bytes`: ENOENT when empty, ENAMETOOLONG when too long. */
export function checkPathLength(bytes: Buffer, syscall: string, path: PathLike): void {
  if (bytes.length === 0) throw emptyPathError(syscall);
  if (bytes.length >= PATH_MAX) throw fsError(ENAMETOOLONG, syscall, path.toString());
}

const WALK_OPTIONS = ['maxDepth', 'stat', 'bigint', 'oneFileSystem', 'signal', 'onError', 'encoding', 'threads'];

export function checkWalkOptions(options: unknown, what = 'walk'): CheckedWalk {
  const o = checkOptionsObject(options, WALK_OPTIONS, what);
  let maxDepth = 0xffffffff;
  if (o.maxDepth !== undefined && o.maxDepth !== Infinity) {
    if (typeof o.maxDepth !== 'number' || !Number.isInteger(o.maxDepth) || o.maxDepth < 0) {
      throw outOfRange('maxDepth', 'a non-negative integer', o.maxDepth);
    }
    maxDepth = Math.min(o.maxDepth, 0xffffffff);
  }
  let statMask = 0;
  if (o.stat === true) statMask = ALL_STAT;
  else if (Array.isArray(o.stat)) {
    for (const field of o.stat) {
      const bit = STAT_FIELDS.indexOf(field as StatField);
      if (bit < 0) {
        throw invalid('stat', `true, false or field names among ${STAT_FIELDS.join(', ')}`, field);
      }
      statMask |= 1 << bit;
    }
  } else if (o.stat !== undefined && o.stat !== false) {
    throw invalid('stat', 'a boolean or an array of field names', o.stat);
  }
  const bigint = checkBoolean('bigint', o.bigint);
  const threads = checkInteger('threads', o.threads, 1, MAX_WALK_THREADS, DEFAULT_WALK_THREADS);
  const flags = (checkBoolean('oneFileSystem', o.oneFileSystem) ? WALK_ONE_FILE_SYSTEM : 0) | (threads << WALK_THREADS_SHIFT);
  const signal = checkSignal(o.signal);
  const onError = o.onError ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip' && typeof onError !== 'function') {
    throw invalid('onError', "'throw', 'skip' or a function", onError);
  }
  return {
    maxDepth,
    statMask,
    bigint,
    flags,
    signal,
    onError: onError as CheckedWalk['onError'],
    buffer: checkEncoding(o.encoding),
  };
}

/** True for 'buffer', false for utf8 (the default). */
export function checkEncoding(value: unknown): boolean {
  if (value === undefined || value === null || value === 'utf8' || value === 'utf-8') return false;
  if (value === 'buffer') return true;
  throw invalid('encoding', "'utf8' or 'buffer'", value);
}

/**
 * An options object (undefined counts as empty) whose keys are all among
 * `known`: a misspelt option throws instead of being ignored.
 */
export function checkOptionsObject(options: unknown, known: readonly string[], what: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid(`${what} options`, 'an object', options);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const error = new TypeError(
        `Unknown option '${key}' for ${what}: expected ${known.length > 0 ? `one of ${known.join(', ')}` : 'none'}`,
      );
      (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
      throw error;
    }
  }
  return options as Record<string, unknown>;
}

export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalid('signal', 'an AbortSignal', value);
  return value as AbortSignal | undefined;
}

/** An integer in [min, max], or `fallback` when undefined. */
export function checkInteger(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function outOfRange(name: string, expected: string, value: unknown): RangeError {
  return Object.assign(new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`), {
    code: 'ERR_OUT_OF_RANGE',
  });
}

export { checkBoolean, invalid };

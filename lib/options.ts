// Checks every option before it crosses into C++, with messages that name
// the option, what was expected and what came.
import { types } from 'node:util';

import { fsError, type FsError } from './errors';

const { isDate } = types;
import type { Entry } from './entry';
import {
  ALL_STAT,
  FRAME_HEADER,
  MAX_EXCLUDES,
  MAX_EXCLUDE_BYTES,
  MAX_REQUEST,
  MAX_WALK_THREADS,
  STAT_FIELDS,
  WALK_ONE_FILE_SYSTEM,
  WALK_THREADS_SHIFT,
  type StatField,
} from './protocol';
import type { BigIntStats, Stats } from './stats';

// Two threads keep both cores of a small machine busy with syscalls while
// the consumer decodes on the main thread.
const DEFAULT_WALK_THREADS = 2;

/** A path: a string, or a Buffer for names that are not UTF-8. */
export type PathLike = string | Buffer;

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
  filter?(entry: Entry<string | Buffer, Stats | BigIntStats>): boolean;
}

export interface CheckedWalk {
  maxDepth: number;
  statMask: number;
  bigint: boolean;
  flags: number;
  signal: AbortSignal | undefined;
  onError: 'throw' | 'skip' | ((error: FsError) => void);
  buffer: boolean;
  /** The exclude patterns' bytes, as the walk request carries them. */
  exclude: Buffer[];
  filter: ((entry: Entry<string | Buffer, Stats | BigIntStats>) => boolean) | undefined;
}

/** What came, as node's own argument errors show it: short, and never a function's source. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  return `${typeof value} ${String(value)}`;
}

/** The argument has the wrong type (ERR_INVALID_ARG_TYPE). */
function invalid(name: string, expected: string, value: unknown): TypeError {
  const error = new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
  (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

/** The argument has the right type and a value that is not allowed (ERR_INVALID_ARG_VALUE). */
export function invalidValue(name: string, expected: string, value: unknown): TypeError {
  const error = new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
  (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
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

const WALK_OPTIONS = ['maxDepth', 'stat', 'bigint', 'oneFileSystem', 'signal', 'onError', 'encoding', 'threads', 'exclude', 'filter'];

/** Bytes of exclude patterns a walk request holds beside its fields and a PATH_MAX root (each pattern takes 4 more). */
const EXCLUDE_ROOM = MAX_REQUEST - FRAME_HEADER - 6 * 4 - 4096;

/** The exclude patterns, checked the way the server checks them, as bytes. */
function checkExclude(value: unknown): Buffer[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('exclude', 'an array of glob strings', value);
  if (value.length > MAX_EXCLUDES) throw outOfRange('exclude', `at most ${MAX_EXCLUDES} patterns`, value);
  const out: Buffer[] = [];
  let room = EXCLUDE_ROOM;
  for (const pattern of value) {
    if (typeof pattern !== 'string') throw invalid('exclude', 'an array of glob strings', pattern);
    const bytes = Buffer.from(pattern);
    if (bytes.length === 0 || bytes.length > MAX_EXCLUDE_BYTES || bytes.includes(0) || pattern === '/') {
      throw invalidValue('exclude', `patterns of 1 to ${MAX_EXCLUDE_BYTES} bytes, without NUL, other than '/'`, pattern);
    }
    room -= 4 + bytes.length;
    if (room < 0) throw outOfRange('exclude', `patterns of at most ${EXCLUDE_ROOM} bytes in all`, value);
    out.push(bytes);
  }
  return out;
}

export function checkWalkOptions(options: unknown, what = 'walk'): CheckedWalk {
  const o = checkOptionsObject(options, WALK_OPTIONS, what);
  let maxDepth = 0xffffffff;
  if (o.maxDepth !== undefined && o.maxDepth !== Infinity) {
    if (typeof o.maxDepth !== 'number') throw invalid('maxDepth', 'a non-negative integer', o.maxDepth);
    if (!Number.isInteger(o.maxDepth) || o.maxDepth < 0) {
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
        const expected = `true, false or field names among ${STAT_FIELDS.join(', ')}`;
        throw typeof field === 'string' ? invalidValue('stat', expected, field) : invalid('stat', expected, field);
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
  const onError = checkOnError(o.onError);
  return {
    maxDepth,
    statMask,
    bigint,
    flags,
    signal,
    onError,
    buffer: checkEncoding(o.encoding),
    exclude: checkExclude(o.exclude),
    filter: checkFilter(o.filter),
  };
}

function checkFilter(value: unknown): CheckedWalk['filter'] {
  if (value !== undefined && typeof value !== 'function') throw invalid('filter', 'a function', value);
  return value as CheckedWalk['filter'];
}

/** What an error inside a tree does (walks, rm, chown -R): 'throw' (the default), 'skip', or a function told of it. */
export function checkOnError(value: unknown): 'throw' | 'skip' | ((error: FsError) => void) {
  const onError = value ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip' && typeof onError !== 'function') {
    const expected = "'throw', 'skip' or a function";
    throw typeof onError === 'string' ? invalidValue('onError', expected, onError) : invalid('onError', expected, onError);
  }
  return onError as 'throw' | 'skip' | ((error: FsError) => void);
}

/** True for 'buffer', false for utf8 (the default). */
export function checkEncoding(value: unknown): boolean {
  if (value === undefined || value === null || value === 'utf8' || value === 'utf-8') return false;
  if (value === 'buffer') return true;
  throw typeof value === 'string' ? invalidValue('encoding', "'utf8' or 'buffer'", value) : invalid('encoding', "'utf8' or 'buffer'", value);
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

/** An integer in [min, max], or `fallback` when undefined: a TypeError for another type, a RangeError for another number. */
export function checkInteger(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  return requireInteger(name, value, min, max);
}

/** An integer in [min, max], which must be given. */
export function requireInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalid(name, `an integer from ${min} to ${max}`, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A string, not empty, without NUL bytes (which would cut it short in C): names, ids and mount points. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(name, 'a string', value);
  if (value === '') throw invalidValue(name, 'a non-empty string', value);
  if (value.includes('\0')) throw invalidValue(name, 'a string without null bytes', value);
  return value;
}

/** One of `allowed`, or `fallback` when undefined. */
export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  const expected = allowed.map((v) => `'${v}'`).join(', ');
  if (typeof value !== 'string') throw invalid(name, `one of ${expected}`, value);
  if (!allowed.includes(value as T)) throw invalidValue(name, `one of ${expected}`, value);
  return value as T;
}

export function outOfRange(name: string, expected: string, value: unknown): RangeError {
  return Object.assign(new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`), {
    code: 'ERR_OUT_OF_RANGE',
  });
}

export { checkBoolean, invalid };

/** A file mode: an integer or an octal string, 0 to 0o7777 (node's parseFileMode). */
export function checkMode(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'string') {
    if (!/^[0-7]+$/.test(value)) throw invalidValue(name, 'an octal string or an integer', value);
    value = parseInt(value, 8);
  }
  return requireInteger(name, value, 0, 0o7777);
}

/** An id to give a file, as node:fs's chown takes it: -1 leaves it as it is. */
export function checkOwnerId(name: string, value: unknown, optional: boolean): number {
  if (value === undefined && optional) return -1;
  return requireInteger(name, value, -1, 0xfffffffe);
}

/** A time as node:fs's utimes takes it (seconds as a number or a numeric string, or a Date): whole seconds and nanoseconds. */
export function checkTime(name: string, value: unknown): [seconds: number, nanoseconds: number] {
  let seconds: number;
  if (isDate(value)) {
    // Whole milliseconds: split exactly, not through a fraction of a second.
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw invalidValue(name, 'a valid Date', value);
    const whole = Math.floor(ms / 1000);
    return [whole, (ms - whole * 1000) * 1e6];
  } else if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) seconds = Number(value);
  else throw invalid(name, 'a number, a numeric string or a Date', value);
  if (!Number.isFinite(seconds)) throw invalidValue(name, 'a finite time', value);
  const whole = Math.floor(seconds);
  return [whole, Math.min(999_999_999, Math.round((seconds - whole) * 1e9))];
}

/** A command line: a non-empty array of strings without NUL bytes. */
export function checkArgv(argv: unknown): string[] {
  if (!Array.isArray(argv)) throw invalid('argv', 'a non-empty array of strings', argv);
  if (argv.length === 0) throw invalidValue('argv', 'a non-empty array of strings', argv);
  argv.forEach((arg: unknown, i) => {
    if (typeof arg !== 'string') throw invalid(`argv[${i}]`, 'a string', arg);
    // execve takes C strings: a NUL byte would cut an argument short.
    if (arg.includes('\0')) throw invalidValue(`argv[${i}]`, 'a string without null bytes', arg);
  });
  return [...argv];
}

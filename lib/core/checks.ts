// Checks every option before it crosses into C++, with messages that name
// the option, what was expected and what came.
import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';

import { errnoError, type FsError } from './errors';
import type { PathLike } from './options';

const { isDate } = types;

/** What came, as node's own argument errors show it: short, and never a function's source. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  // What is left has a string form of its own.
  return `${typeof value} ${String(value as number | bigint | boolean | symbol)}`;
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

/**
 * A path argument as a string or a Buffer: a file: URL becomes its path as
 * node's url.fileURLToPath() gives it, with node's errors for another
 * scheme (ERR_INVALID_URL_SCHEME), a host (ERR_INVALID_FILE_URL_HOST) or an
 * encoded slash (ERR_INVALID_FILE_URL_PATH); strings and Buffers are kept
 * as they are (a Buffer's bytes are never decoded).
 */
export function pathOf(value: unknown): unknown {
  return value instanceof URL ? fileURLToPath(value) : value;
}

/** Validates a path argument and returns its bytes. */
export function checkPath(value: unknown, name = 'path'): Buffer {
  value = pathOf(value);
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    throw invalid(name, 'a string, a Buffer or a file: URL', value);
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
  return errnoError('ENOENT', syscall, '');
}

/** Linux's PATH_MAX, counting the NUL: longer paths are ENAMETOOLONG before anything is sent. */
export const PATH_MAX = 4096;

/** Throws the error the kernel would give a path of `bytes`: ENOENT when empty, ENAMETOOLONG when too long. */
export function checkPathLength(bytes: Buffer, syscall: string, path: PathLike): void {
  if (bytes.length === 0) throw emptyPathError(syscall);
  if (bytes.length >= PATH_MAX) throw errnoError('ENAMETOOLONG', syscall, path.toString());
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

/** A walk's names: 'utf8' (the default), 'latin1' (also as node's alias 'binary') or 'buffer'. */
export function checkEncoding(value: unknown): 'utf8' | 'latin1' | 'buffer' {
  if (value === undefined || value === null || value === 'utf8' || value === 'utf-8') return 'utf8';
  if (value === 'buffer' || value === 'latin1') return value;
  if (value === 'binary') return 'latin1';
  throw typeof value === 'string'
    ? invalidValue('encoding', "'utf8', 'latin1' or 'buffer'", value)
    : invalid('encoding', "'utf8', 'latin1' or 'buffer'", value);
}

/** A names' encoding as node:fs takes it: 'buffer', or any Buffer encoding (utf8 by default). */
export function checkNameEncoding(value: unknown): BufferEncoding | 'buffer' {
  if (value === undefined || value === null) return 'utf8';
  if (value === 'buffer') return value;
  if (typeof value !== 'string') throw invalid('encoding', "'buffer' or a Buffer encoding", value);
  if (!Buffer.isEncoding(value)) throw invalidValue('encoding', "'buffer' or a Buffer encoding", value);
  return value === 'utf-8' ? 'utf8' : value;
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
  return value;
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
  // A copy: the caller's array can change afterwards without changing what was checked.
  return Array.from(argv, (arg: unknown, i): string => {
    if (typeof arg !== 'string') throw invalid(`argv[${i}]`, 'a string', arg);
    // execve takes C strings: a NUL byte would cut an argument short.
    if (arg.includes('\0')) throw invalidValue(`argv[${i}]`, 'a string without null bytes', arg);
    return arg;
  });
}

/**
 * What a node:fs flag (a string of fs's table, or a number of O_* bits)
 * asks of open(2): reading, writing, creating, truncating, appending,
 * exclusive creation, synchronous writes.
 */
export interface OpenFlags {
  read: boolean;
  write: boolean;
  create: boolean;
  truncate: boolean;
  append: boolean;
  exclusive: boolean;
  sync: boolean;
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC, O_DSYNC, O_NOCTTY } = constants;

/** node's own table of flag strings (lib/internal/fs/utils.js, stringToFlags). */
const FLAG_STRINGS: Readonly<Record<string, number>> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** The open(2) bits a flag number may hold here: those a whole-file read or write means something with. */
const KNOWN_BITS = O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_SYNC | O_DSYNC | O_NOCTTY;

/**
 * A flag option as open(2) bits: node's flag strings, `fallback` when
 * absent, or a number of O_* bits, all within `allowed` and never both
 * O_WRONLY and O_RDWR (`expected` says which, in the error).
 */
function flagBits(name: string, value: unknown, fallback: string, allowed: number, expected: string): number {
  if (value === undefined || value === null) return FLAG_STRINGS[fallback]!;
  if (typeof value === 'string') {
    const known = FLAG_STRINGS[value];
    if (known === undefined) throw invalidValue(name, `one of ${Object.keys(FLAG_STRINGS).join(', ')} or a number`, value);
    return known;
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || (value & ~allowed) !== 0 || (value & (O_WRONLY | O_RDWR)) === (O_WRONLY | O_RDWR)) {
      throw invalidValue(name, expected, value);
    }
    return value;
  }
  throw invalid(name, 'a string or a number', value);
}

/** A flag option (`flag`, `flags`) as node:fs takes it, `fallback` when absent. */
export function checkOpenFlags(name: string, value: unknown, fallback: string): OpenFlags {
  // Bits such as O_DIRECTORY or O_NOFOLLOW change what is opened; the
  // server opens every file its own way (never through a final symlink of a
  // session's root, never blocking), so they are refused, not ignored.
  const bits = flagBits(name, value, fallback, KNOWN_BITS, 'O_RDONLY, O_WRONLY or O_RDWR with O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC');
  const access = bits & (O_WRONLY | O_RDWR);
  return {
    read: access !== O_WRONLY,
    write: access !== O_RDONLY,
    create: (bits & O_CREAT) !== 0,
    truncate: (bits & O_TRUNC) !== 0,
    append: (bits & O_APPEND) !== 0,
    exclusive: (bits & O_EXCL) !== 0,
    sync: (bits & O_DSYNC) !== 0,
  };
}

/** What open() takes beyond KNOWN_BITS: what to open (a directory, not through a symlink) and O_NOATIME; O_NONBLOCK the server adds anyway. */
const OPEN_ONLY_BITS = constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NOATIME | constants.O_NONBLOCK;

/**
 * open()'s flags as the open(2) bits the server is sent: node's flag
 * strings, or a number of O_* bits.  O_NOCTTY and O_NONBLOCK are left out:
 * the server adds both to every open.
 */
export function checkOpenBits(name: string, value: unknown, fallback: string): number {
  const expected = 'O_RDONLY, O_WRONLY or O_RDWR with O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC, O_DIRECTORY, O_NOFOLLOW, O_NOATIME';
  return flagBits(name, value, fallback, KNOWN_BITS | OPEN_ONLY_BITS, expected) & ~(O_NOCTTY | constants.O_NONBLOCK);
}

/**
 * node's `fd` and `fs` stream options: only null or absent here.  A
 * descriptor of this process, or an fs implementation of it, cannot serve a
 * file the server opens in its own namespaces: the server opens by path.
 */
export function checkNoHandle(o: Record<string, unknown>, what: string): void {
  for (const key of ['fd', 'fs']) {
    if (o[key] !== undefined && o[key] !== null) {
      throw invalidValue(`${what} ${key}`, 'null or undefined (the server opens the file by path, in its own namespaces)', o[key]);
    }
  }
}

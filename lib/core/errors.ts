// node:fs style errors: code, errno, syscall, path and node's message, with
// the stack of the caller's own call site.
import * as util from 'node:util';

import { ERRNO, type ErrnoName } from './errno';

/** An error of a file operation, shaped as node:fs's: errno code, syscall, path. */
export interface FsError extends Error {
  /**
   * The errno name: 'ENOENT', 'EACCES' …; node's "Unknown system error N"
   * for a number node has no name for.
   */
  code: ErrnoName | `Unknown system error ${number}`;
  /** The negated errno number, as node:fs gives it. */
  errno: number;
  /** The system call that failed. */
  syscall: string;
  /** The path it failed on. */
  path?: string;
}

const systemErrors = util.getSystemErrorMap();

/** Builds the error node:fs would throw for `errno` (positive) in `syscall` on `path`. */
export function fsError(errno: number, syscall: string, path?: string): FsError {
  const known = systemErrors.get(-errno);
  const code = known ? (known[0] as ErrnoName) : (`Unknown system error ${errno}` as const);
  const description = known ? known[1] : 'unknown error';
  let message = `${code}: ${description}, ${syscall}`;
  if (path !== undefined) message += ` '${path}'`;
  const error = new Error(message) as FsError;
  error.errno = -errno;
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  return error;
}

/** The node:fs error of the errno named `code` in `syscall` on `path`. */
export function errnoError(code: ErrnoName, syscall: string, path?: string): FsError {
  return fsError(ERRNO[code], syscall, path);
}

/**
 * A node SystemError with an ERR_FS_… code, as node's rm and cp throw them:
 * `${description}: ${syscall} returned ${errnoName} (${detail}) ${path}`,
 * `errno` positive, and node's `info` object.
 */
export interface SystemFsError extends Error {
  /** node's code: 'ERR_FS_EISDIR', 'ERR_FS_CP_EINVAL' … */
  code: string;
  /** The errno the code stands for, positive as node gives it (21 for EISDIR). */
  errno: number;
  syscall: string;
  path: string;
  /** What node puts in a SystemError's `info`. */
  info: { message: string; path: string; syscall: string; errno: number; code: ErrnoName };
}

/** The SystemError node builds for `code` (see SystemFsError). */
export function systemFsError(
  code: string,
  description: string,
  errnoName: ErrnoName,
  syscall: string,
  detail: string,
  path: string,
): SystemFsError {
  const errno = ERRNO[errnoName];
  const error = new Error(`${description}: ${syscall} returned ${errnoName} (${detail}) ${path}`) as SystemFsError;
  error.name = 'SystemError';
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  error.path = path;
  error.info = { message: detail, path, syscall, errno, code: errnoName };
  return error;
}

/** Records where an async call started, to graft onto its eventual error. */
export class CallSite {
  private readonly site: Error;
  constructor(fn: (...args: never[]) => unknown) {
    this.site = {} as Error;
    Error.captureStackTrace(this.site, fn);
  }

  graft<E extends Error>(error: E): E {
    const frames = (this.site.stack ?? '').split('\n').slice(1).join('\n');
    error.stack = `${error.name}: ${error.message}\n${frames}`;
    return error;
  }
}

/**
 * Gives the error of an awaited request the stack of those awaiting it.
 * Called in the catch block of async function `fn` right after its await,
 * V8's async stack traces then name the callers' own lines, as for
 * node:fs/promises, without capturing a stack on every call.
 */
export function withCallerStack<E extends Error>(error: E, fn: (...args: never[]) => unknown): E {
  Error.captureStackTrace(error, fn);
  return error;
}

/**
 * The codes of UnshareFsError:
 * - `ECLOSED`: the session, namespace or host server is closed (or closing);
 * - `EWORKERDIED`: the session's worker ended while it was in use;
 * - `EPROTO`: the server sent a frame the client does not understand;
 * - `EBADPIDFILE`: a pid file does not hold a pid;
 * - `ENOPASSWD`: a uid has no passwd entry where one is needed;
 * - `ENOSUBIDS`: no subordinate id range to map;
 * - `EPERM`: what only root may do (choose id maps, a mount namespace alone);
 * - `ETARFORMAT`: a tar archive that does not parse;
 * - `ETARPATH`: a tar member that would land outside the directory.
 */
export type UnshareFsErrorCode =
  | 'ECLOSED'
  | 'EWORKERDIED'
  | 'EPROTO'
  | 'EBADPIDFILE'
  | 'ENOPASSWD'
  | 'ENOSUBIDS'
  | 'EPERM'
  | 'ETARFORMAT'
  | 'ETARPATH';

/** Errors of the library itself (closed session, dead worker, bad protocol). */
export class UnshareFsError extends Error {
  /** The library's own error code: see {@link UnshareFsErrorCode}. */
  readonly code: UnshareFsErrorCode;
  constructor(code: UnshareFsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnshareFsError';
    this.code = code;
  }
}

/**
 * A frame the server should never have sent (a bad length, a reply of a
 * kind the request never gets, a record that does not parse): the client
 * and the server do not agree on the protocol.
 */
export function protocolError(what: string, options?: { cause?: unknown }): UnshareFsError {
  return new UnshareFsError('EPROTO', `unshare-fs: ${what}`, options);
}

/**
 * A request the server ended before its answer was whole (its end frame
 * says END_CANCELLED: the server is closing, or a cancel nobody asked for
 * through an AbortSignal): never taken for a complete answer.
 */
export function cutShortError(what: string, path?: string): UnshareFsError {
  const of = path === undefined ? '' : ` of '${path}'`;
  return new UnshareFsError('ECLOSED', `unshare-fs: the ${what}${of} was cut short: the server is closing`);
}

/** The error of a call stopped by its AbortSignal, as node's own (AbortError, ABORT_ERR). */
export function abortError(signal: AbortSignal): Error {
  const error = new Error('The operation was aborted', { cause: signal.reason });
  error.name = 'AbortError';
  (error as Error & { code: string }).code = 'ABORT_ERR';
  return error;
}

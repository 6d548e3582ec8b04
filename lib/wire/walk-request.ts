// A walk's options, checked and packed the way its request carries them.
import type { Entry } from '../core/entry';
import type { FsError } from '../core/errors';
import {
  PATH_MAX,
  checkBoolean,
  checkEncoding,
  checkInteger,
  checkOnError,
  checkOptionsObject,
  checkSignal,
  invalid,
  invalidValue,
  outOfRange,
} from '../core/checks';
import { checkProgress, type ProgressListener } from '../core/progress';
import type { BigIntStats, Stats } from '../core/stats';
import { ALL_STAT, FRAME_HEADER, MAX_EXCLUDES, MAX_EXCLUDE_BYTES, MAX_REQUEST, MAX_WALK_THREADS, WalkFlag } from './protocol';
import { WALK_FIXED_BYTES, excludeBytes } from './requests';
import { STAT_FIELDS, type StatField } from '../core/stats';
import { defaultWalkThreads } from './walk-threads';

export interface CheckedWalk {
  maxDepth: number;
  statMask: number;
  bigint: boolean;
  flags: number;
  signal: AbortSignal | undefined;
  onError: 'throw' | 'skip' | ((error: FsError) => unknown);
  encoding: 'utf8' | 'latin1' | 'buffer';
  /** The exclude patterns' bytes, as the walk request carries them. */
  exclude: Buffer[];
  filter: ((entry: Entry<string | Buffer, Stats | BigIntStats | undefined>) => boolean) | undefined;
  onProgress: ProgressListener | undefined;
  /** Evaluated for each directory the walker would descend into: true prunes it (WalkFlag.Prune). */
  prune: ((entry: Entry<string | Buffer, Stats | BigIntStats | undefined>) => boolean) | undefined;
  /** A summing walk (WalkFlag.Summarize, the library's own): its SUMMARY records. */
  onSummary?: ((sums: bigint[]) => void) | undefined;
}

const WALK_OPTIONS = [
  'maxDepth',
  'stat',
  'bigint',
  'oneFileSystem',
  'signal',
  'onError',
  'encoding',
  'threads',
  'exclude',
  'filter',
  'onProgress',
  'prune',
];

/** Bytes a walk request has for its exclude patterns (each with its length) beside its fields and a PATH_MAX root. */
const EXCLUDE_ROOM = MAX_REQUEST - FRAME_HEADER - WALK_FIXED_BYTES - PATH_MAX;

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
    room -= excludeBytes(bytes);
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
  const threads = checkInteger('threads', o.threads, 1, MAX_WALK_THREADS, o.threads === undefined ? defaultWalkThreads() : 1);
  const prune = checkFunction('prune', o.prune);
  const flags =
    (checkBoolean('oneFileSystem', o.oneFileSystem) ? WalkFlag.OneFileSystem : 0) |
    (prune === undefined ? 0 : WalkFlag.Prune) |
    (threads << WalkFlag.ThreadsShift);
  const signal = checkSignal(o.signal);
  const onError = checkOnError(o.onError);
  return {
    maxDepth,
    statMask,
    bigint,
    flags,
    signal,
    onError,
    encoding: checkEncoding(o.encoding),
    exclude: checkExclude(o.exclude),
    filter: checkFilter(o.filter),
    onProgress: checkProgress(o.onProgress, what),
    prune,
  };
}

function checkFilter(value: unknown): CheckedWalk['filter'] {
  return checkFunction('filter', value);
}

function checkFunction(name: string, value: unknown): CheckedWalk['filter'] {
  if (value !== undefined && typeof value !== 'function') throw invalid(name, 'a function', value);
  return value as CheckedWalk['filter'];
}

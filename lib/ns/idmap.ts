// uid_map / gid_map: how ids inside a user namespace appear on the host.
import { readFileSync } from 'node:fs';

import { checkOptionsObject, invalid, outOfRange, requireInteger } from '../core/checks';

/** One line of a uid_map or gid_map: `count` ids from `inside` are `outside` on the host. */
export interface IdRange {
  /** The first id as the namespace sees it. */
  inside: number;
  /** The first id as the parent namespace sees it. */
  outside: number;
  /** How many consecutive ids the range maps. */
  count: number;
}

/** The id the kernel shows for an id that has no mapping (overflowuid). */
export const OVERFLOW_ID = 65534;

export function parseIdMap(text: string): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [inside, outside, count, extra] = line.trim().split(/\s+/);
    // Exactly three fields, as the kernel writes them; any other line is skipped.
    if (inside === undefined || outside === undefined || count === undefined || extra !== undefined) continue;
    ranges.push({ inside: Number(inside), outside: Number(outside), count: Number(count) });
  }
  return ranges;
}

export function readIdMaps(pid: number): { uidMap: IdRange[]; gidMap: IdRange[] } {
  return {
    uidMap: parseIdMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8')),
    gidMap: parseIdMap(readFileSync(`/proc/${pid}/gid_map`, 'utf8')),
  };
}

/** A function from an id inside to the host's id, for the given map. */
export function mapper(ranges: readonly IdRange[]): (id: number) => number {
  const first = ranges[0];
  if (ranges.length === 1 && first !== undefined && first.inside === 0 && first.outside === 0 && first.count >= 0xffffffff) {
    return (id) => id;
  }
  // Called for every entry of a walk: a plain indexed loop, no iterator.
  return (id) => {
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i]!; // i < ranges.length
      if (id >= range.inside && id - range.inside < range.count) return range.outside + (id - range.inside);
    }
    return OVERFLOW_ID;
  };
}

/** The inverse: a function from a host id to the id seen inside (OVERFLOW_ID when unmapped). */
export function inverseMapper(ranges: readonly IdRange[]): (id: number) => number {
  return mapper(ranges.map((r) => ({ inside: r.outside, outside: r.inside, count: r.count })));
}

export function formatIdMap(ranges: readonly IdRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.count}\n`).join('');
}

/** The kernel's limit on the lines of one uid_map or gid_map (UID_GID_MAP_MAX_EXTENTS). */
export const MAX_ID_MAP_LINES = 340;
/** A map is written in one write(2) of less than a page, or the kernel refuses it. */
const MAX_ID_MAP_BYTES = 4095;
const U32_MAX = 0xffffffff;
const RANGE_KEYS = ['inside', 'outside', 'count'];

/**
 * A uid or gid map as the kernel takes it: 1 to 340 ranges of integers,
 * `inside` and `outside` below 2^32 - 1 and `count` at least 1, neither
 * range wrapping past 2^32 - 1.  Overlapping ranges are left for the kernel
 * to refuse (EINVAL).  Returns a copy, so the caller's array can change
 * afterwards without changing what was checked.
 */
export function checkIdMap(value: unknown, name: string): IdRange[] {
  if (!Array.isArray(value)) throw invalid(name, 'an array of { inside, outside, count } ranges', value);
  if (value.length < 1 || value.length > MAX_ID_MAP_LINES) {
    throw outOfRange(name, `from 1 to ${MAX_ID_MAP_LINES} ranges`, value);
  }
  const ranges = value.map((item: unknown, i): IdRange => {
    const at = `${name}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(at, 'an object { inside, outside, count }', item);
    }
    const range = checkOptionsObject(item, RANGE_KEYS, at);
    const inside = requireInteger(`${at}.inside`, range.inside, 0, U32_MAX - 1);
    const outside = requireInteger(`${at}.outside`, range.outside, 0, U32_MAX - 1);
    // The kernel refuses a range whose end wraps: first + count must stay below 2^32.
    const count = requireInteger(`${at}.count`, range.count, 1, U32_MAX - Math.max(inside, outside));
    return { inside, outside, count };
  });
  if (formatIdMap(ranges).length > MAX_ID_MAP_BYTES) {
    throw outOfRange(
      name,
      `a map of at most ${MAX_ID_MAP_BYTES} bytes as written to /proc/PID/${name === 'gidMap' ? 'gid' : 'uid'}_map`,
      value,
    );
  }
  return ranges;
}

// uid_map / gid_map: how ids inside a user namespace appear on the host.
import { readFileSync } from 'node:fs';

/** One line of a uid_map or gid_map: `count` ids from `inside` are `outside` on the host. */
export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

/** The id the kernel shows for an id that has no mapping (overflowuid). */
export const OVERFLOW_ID = 65534;

export function parseIdMap(text: string): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 3) continue;
    const [inside, outside, count] = fields.map(Number);
    ranges.push({ inside, outside, count });
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
  if (ranges.length === 1 && ranges[0].inside === 0 && ranges[0].outside === 0 && ranges[0].count >= 0xffffffff) {
    return (id) => id;
  }
  // Called for every entry of a walk: a plain indexed loop, no iterator.
  return (id) => {
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i];
      if (id >= range.inside && id - range.inside < range.count) return range.outside + (id - range.inside);
    }
    return OVERFLOW_ID;
  };
}

export function formatIdMap(ranges: readonly IdRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.count}\n`).join('');
}

/**
 * Subordinate id ranges (/etc/subuid, /etc/subgid) of a user: what
 * `getsubids` (shadow's uidmap package, which also asks NSS and sssd)
 * reports when it is installed, else every range the files give.
 */
import type * as ChildProcess from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import type { IdRange } from './idmap';

export interface SubidRange {
  start: number;
  count: number;
}

export type SubidKind = 'uid' | 'gid';

/**
 * The files read when getsubids is not there.  UNSHARE_FS_SUBUID and
 * UNSHARE_FS_SUBGID point elsewhere (for tests), and then getsubids, which
 * reads only the real ones, is not asked.
 */
function subidFile(kind: SubidKind): { file: string; overridden: boolean } {
  const override = process.env[kind === 'uid' ? 'UNSHARE_FS_SUBUID' : 'UNSHARE_FS_SUBGID'];
  if (override) return { file: override, overridden: true };
  return { file: kind === 'uid' ? '/etc/subuid' : '/etc/subgid', overridden: false };
}

/** Every range `file` gives the owner, by name or by id, in file order. */
export function subidRangesFromFile(file: string, name: string | undefined, id: number): SubidRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const ranges: SubidRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner === undefined || owner === '' || owner.startsWith('#')) continue;
    if ((owner === name || owner === String(id)) && /^[0-9]+$/.test(start ?? '') && /^[0-9]+$/.test(count ?? '') && Number(count) > 0) {
      ranges.push({ start: Number(start), count: Number(count) });
    }
  }
  return ranges;
}

/** `getsubids [-g] name`'s lines (`0: name 100000 65536`); undefined when it is not installed or fails. */
export function parseGetsubids(output: string): SubidRange[] {
  const ranges: SubidRange[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*[0-9]+:\s+\S+\s+([0-9]+)\s+([0-9]+)\s*$/.exec(line);
    if (m && Number(m[2]) > 0) ranges.push({ start: Number(m[1]), count: Number(m[2]) });
  }
  return ranges;
}

const GETSUBIDS = ['/usr/bin/getsubids', '/bin/getsubids', '/usr/sbin/getsubids'];

function fromGetsubids(kind: SubidKind, name: string): SubidRange[] | undefined {
  const tool = GETSUBIDS.find((p) => existsSync(p));
  if (!tool) return undefined;
  const args = kind === 'gid' ? ['-g', name] : [name];
  // Loaded here, on first use: see namespace.ts's run().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('node:child_process') as typeof ChildProcess;
  const run = spawnSync(tool, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  // Exit 1 with no output is "no ranges" for this user; the files may still name the uid.
  if (run.status !== 0) return undefined;
  return parseGetsubids(run.stdout);
}

/**
 * Every subordinate range of the user (`name` may be unknown: a uid
 * without a passwd entry), in the order the system lists them.
 */
export function subidRanges(kind: SubidKind, name: string | undefined, id: number): SubidRange[] {
  const { file, overridden } = subidFile(kind);
  if (!overridden && name !== undefined) {
    const ranges = fromGetsubids(kind, name);
    if (ranges && ranges.length > 0) return ranges;
  }
  return subidRangesFromFile(file, name, id);
}

/**
 * The map rootless podman writes: the user's own id as 0, then each
 * subordinate range after the other from 1, in the order listed.
 */
export function podmanIdMap(ownId: number, ranges: SubidRange[]): IdRange[] {
  const map: IdRange[] = [{ inside: 0, outside: ownId, count: 1 }];
  let next = 1;
  for (const range of ranges) {
    if (next + range.count > 4294967295) break;
    map.push({ inside: next, outside: range.start, count: range.count });
    next += range.count;
  }
  return map;
}

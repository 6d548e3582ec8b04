// lib/ns/idmap.ts against the kernel's own mapping: what mapper() says an id
// inside is on the host, the kernel shows on a file chowned inside; what
// inverseMapper() says a host id is inside, stat(1) run in the namespace
// shows.  The maps come from /proc (readIdMaps), as sessions read them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { createNamespace, type Namespace, type Session } from '../lib';
import { OVERFLOW_ID, inverseMapper, mapper, parseIdMap, readIdMaps, type IdRange } from '../lib/ns/idmap';
import { requires, subuidRange } from './helpers/requirements';
import { removeTree } from './helpers/tree';

const asRoot = process.geteuid!() === 0;
// Several ranges, with holes between them: as root written here, as a user
// every subordinate range mapped from id 1 (one range of the user's own id first).
const ROOT_MAP: IdRange[] = [
  { inside: 0, outside: 0, count: 1 },
  { inside: 1, outside: 200_000, count: 1_000 },
  { inside: 5_000, outside: 300_000, count: 10 },
  { inside: 70_000, outside: 5_000, count: 3 },
];

/** Ids to try: each range's first and last id, and the ids just outside them. */
function probes(ranges: readonly IdRange[], limit: number): number[] {
  const ids = new Set<number>();
  for (const r of ranges) {
    for (const id of [r.inside - 1, r.inside, r.inside + Math.floor(r.count / 2), r.inside + r.count - 1, r.inside + r.count]) {
      if (id >= 0 && id < limit) ids.add(id);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

test('parseIdMap reads the kernel format, every line of it', () => {
  expect(parseIdMap('         0          0 4294967295\n')).toEqual([{ inside: 0, outside: 0, count: 4294967295 }]);
  expect(parseIdMap('0 1000 1\n1 100000 65536\n')).toEqual([
    { inside: 0, outside: 1000, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ]);
  expect(readIdMaps(process.pid).uidMap).toEqual(parseIdMap(fs.readFileSync('/proc/self/uid_map', 'utf8')));
});

(asRoot ? requires() : requires(subuidRange)).describe('mapper and inverseMapper agree with the kernel', () => {
  let ns: Namespace;
  let session: Session;
  let dir: string;
  let uidMap: IdRange[];
  let gidMap: IdRange[];

  beforeAll(async () => {
    ns = await createNamespace(asRoot ? { uidMap: ROOT_MAP } : { subids: 'require' });
    session = await ns.enter();
    ({ uidMap, gidMap } = readIdMaps(ns.pid));
    expect(uidMap).toEqual(ns.uidMap);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-idmap-'));
    fs.chmodSync(dir, 0o755);
  });

  afterAll(async () => {
    await session?.close();
    await ns?.close();
    if (dir) removeTree(dir);
  });

  test('an id chowned inside is, on the host, what mapper() says; an unmapped one is EINVAL', async () => {
    const toHostUid = mapper(uidMap);
    const toHostGid = mapper(gidMap);
    const ids = probes(uidMap, 0xffffffff);
    expect(ids.length).toBeGreaterThan(uidMap.length * 2);
    let mapped = 0;
    for (const id of ids) {
      const file = path.join(dir, `f${id}`);
      await session.writeFile(file, '');
      const expectedUid = toHostUid(id);
      const gid = gidMap.some((r) => id >= r.inside && id - r.inside < r.count) ? id : 0;
      if (expectedUid === OVERFLOW_ID) {
        await expect(session.lchown(file, id, gid)).rejects.toMatchObject({ code: 'EINVAL' });
        continue;
      }
      await session.lchown(file, id, gid);
      const st = fs.lstatSync(file);
      expect([id, st.uid, st.gid]).toEqual([id, expectedUid, toHostGid(gid)]);
      mapped++;
    }
    expect(mapped).toBeGreaterThan(uidMap.length);
  });

  test('a host id seen inside is what inverseMapper() says (overflow when unmapped)', async () => {
    const fromHost = inverseMapper(uidMap);
    // Host files: this process's own (as root: files chowned to ids in and out of every range).
    const hostIds = asRoot
      ? probes(
          uidMap.map((r) => ({ inside: r.outside, outside: r.inside, count: r.count })),
          0xffffffff,
        )
      : [process.getuid!()];
    const out = path.join(dir, 'stat-out');
    for (const hostId of hostIds) {
      const file = path.join(dir, `h${hostId}`);
      fs.writeFileSync(file, '');
      if (asRoot) fs.lchownSync(file, hostId, 0);
      // stat(1) inside the namespace: the kernel's view, not the library's.
      const status = await ns.exec(['sh', '-c', 'stat -c %u "$1" > "$2"', 'sh', file, out]);
      expect(status).toMatchObject({ code: 0 });
      const seen = Number(fs.readFileSync(out, 'utf8').trim());
      expect([hostId, seen]).toEqual([hostId, fromHost(hostId)]);
      expect((await session.lstat(file)).uid).toBe(seen);
    }
    // A file the namespace cannot map (root's /, unless root is mapped) shows the overflow id.
    const rootSeen = fromHost(0);
    await ns.exec(['sh', '-c', 'stat -c %u / > "$1"', 'sh', out]);
    expect(Number(fs.readFileSync(out, 'utf8').trim())).toBe(rootSeen);
    if (!asRoot) expect(rootSeen).toBe(OVERFLOW_ID);
  });
});

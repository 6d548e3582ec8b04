// Subordinate ranges (lib/ns/subids.ts) and passwd lookups (lib/ns/users.ts):
// every range of a user, from getsubids when it is installed, from the files
// otherwise; mapped one after the other from 1 as rootless podman does; and a
// uid without a passwd entry either works (no name needed) or is told why.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { createNamespace } from '../lib';
import { readIdMaps } from '../lib/ns/idmap';
import { parseGetsubids, podmanIdMap, subidRanges, subidRangesFromFile } from '../lib/ns/subids';
import { readableCopy, type PackageCopy } from './helpers/package-copy';
import { command, requirement, requires, root, subuidRange, testUser, testUserInfo, userNamespaces } from './helpers/requirements';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-subids-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const SUBUID = [
  '# comment',
  'alice:100000:65536',
  'bob:200000:1000',
  '',
  '4242:300000:500',
  'alice:400000:10',
  'alice:500000:0',
  'alice:x:5',
  'carol',
].join('\n');

describe('subordinate ranges from a file', () => {
  test('every range of the user, by name or by uid, in file order', () => {
    const file = path.join(dir, 'subuid');
    fs.writeFileSync(file, SUBUID);
    expect(subidRangesFromFile(file, 'alice', 1000)).toEqual([
      { start: 100000, count: 65536 },
      { start: 400000, count: 10 },
    ]);
    expect(subidRangesFromFile(file, undefined, 4242)).toEqual([{ start: 300000, count: 500 }]);
    expect(subidRangesFromFile(file, 'carol', 7)).toEqual([]);
    expect(subidRangesFromFile(path.join(dir, 'missing'), 'alice', 1000)).toEqual([]);
  });

  test('UNSHARE_FS_SUBUID and UNSHARE_FS_SUBGID point at other files (and getsubids is then not asked)', () => {
    fs.writeFileSync(path.join(dir, 'subuid'), SUBUID);
    fs.writeFileSync(path.join(dir, 'subgid'), 'alice:700000:5\n');
    const saved = { ...process.env };
    try {
      process.env.UNSHARE_FS_SUBUID = path.join(dir, 'subuid');
      process.env.UNSHARE_FS_SUBGID = path.join(dir, 'subgid');
      expect(subidRanges('uid', 'alice', 1000)).toHaveLength(2);
      expect(subidRanges('gid', 'alice', 1000)).toEqual([{ start: 700000, count: 5 }]);
    } finally {
      process.env = saved;
    }
  });

  test("getsubids' output", () => {
    expect(parseGetsubids('0: alice 100000 65536\n1: alice 400000 10\n')).toEqual([
      { start: 100000, count: 65536 },
      { start: 400000, count: 10 },
    ]);
    expect(parseGetsubids('')).toEqual([]);
  });

  test('several ranges map one after the other from 1, as rootless podman maps them', () => {
    expect(
      podmanIdMap(1000, [
        { start: 100000, count: 65536 },
        { start: 400000, count: 10 },
      ]),
    ).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
      { inside: 65537, outside: 400000, count: 10 },
    ]);
    expect(podmanIdMap(1000, [])).toEqual([{ inside: 0, outside: 1000, count: 1 }]);
  });
});

requires(command('getsubids', 'uidmap'), testUser).describe('getsubids', () => {
  test("the test user's ranges are what getsubids reports", () => {
    const user = testUserInfo();
    // The real files: UNSHARE_FS_SUBUID/SUBGID (set to fake a machine without ranges) would stand in for them.
    const saved = { ...process.env };
    delete process.env.UNSHARE_FS_SUBUID;
    delete process.env.UNSHARE_FS_SUBGID;
    try {
      for (const kind of ['uid', 'gid'] as const) {
        const out = spawnSync('getsubids', kind === 'gid' ? ['-g', user.name] : [user.name], { encoding: 'utf8' });
        expect(out.status).toBe(0);
        expect(subidRanges(kind, user.name, user.uid)).toEqual(parseGetsubids(out.stdout));
        expect(subidRanges(kind, user.name, user.uid).length).toBeGreaterThan(0);
      }
    } finally {
      process.env = saved;
    }
  });
});

const IS_ROOT = process.geteuid?.() === 0;

// Root chooses its maps from files it can point at; an ordinary user's go
// through newuidmap, which reads the real /etc/subuid: each run checks its own.
(IS_ROOT ? requires(root, userNamespaces) : requires(subuidRange, userNamespaces)).describe(
  IS_ROOT ? 'as root, every range of root is mapped' : "an ordinary user's namespace maps every range of the user",
  () => {
    if (!IS_ROOT) {
      test('own id as 0, then each subordinate range after the other, as rootless podman maps them', async () => {
        const me = os.userInfo();
        const ns = await createNamespace();
        try {
          const maps = readIdMaps(ns.pid);
          expect(maps.uidMap).toEqual(podmanIdMap(me.uid, subidRanges('uid', me.username, me.uid)));
          expect(maps.gidMap).toEqual(podmanIdMap(me.gid, subidRanges('gid', me.username, me.gid)));
          expect(maps.uidMap.length).toBeGreaterThanOrEqual(2);
        } finally {
          await ns.close();
        }
      });
      return;
    }
    test('a namespace maps root, then each of two fabricated ranges after the other', async () => {
      fs.writeFileSync(path.join(dir, 'subuid'), 'root:165536:1000\nother:1:1\nroot:300000:500\n');
      fs.writeFileSync(path.join(dir, 'subgid'), 'root:165536:2000\n');
      const saved = { ...process.env };
      process.env.UNSHARE_FS_SUBUID = path.join(dir, 'subuid');
      process.env.UNSHARE_FS_SUBGID = path.join(dir, 'subgid');
      try {
        const ns = await createNamespace();
        try {
          const maps = readIdMaps(ns.pid);
          expect(maps.uidMap).toEqual([
            { inside: 0, outside: 0, count: 1 },
            { inside: 1, outside: 165536, count: 1000 },
            { inside: 1001, outside: 300000, count: 500 },
          ]);
          expect(maps.gidMap).toEqual([
            { inside: 0, outside: 0, count: 1 },
            { inside: 1, outside: 165536, count: 2000 },
          ]);
        } finally {
          await ns.close();
        }
      } finally {
        process.env = saved;
      }
    });
  },
);

const setpriv = requirement('setpriv', () => {
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'setpriv not installed (util-linux)';
  try {
    fs.readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .forEach((l) => {
        if (l.split(':')[2] === '4242') throw new Error('uid 4242 has a passwd entry');
      });
  } catch (error) {
    return (error as Error).message;
  }
  return true;
});

/** The library as uid 4242 can read it (the checkout may be in a 0700 home). */
let readable: PackageCopy | undefined;

/** Runs `script` with node as uid/gid 4242, which has no passwd entry. */
function asUidWithoutPasswd(script: string, env: NodeJS.ProcessEnv = {}) {
  readable ??= readableCopy();
  return spawnSync(
    'setpriv',
    [
      '--reuid=4242',
      '--regid=4242',
      '--clear-groups',
      process.execPath,
      '-e',
      `const lib = require(${JSON.stringify(readable.lib)});\n${script}`,
    ],
    {
      encoding: 'utf8',
      cwd: '/',
      env: { PATH: process.env.PATH, ...env },
      timeout: 20000,
    },
  );
}

(IS_ROOT ? requires(root, setpriv, userNamespaces) : requires(userNamespaces)).describe('a uid without a passwd entry', () => {
  afterAll(() => {
    readable?.remove();
    readable = undefined;
  });
  if (!IS_ROOT) {
    // An ordinary user cannot become uid 4242; in a user namespace of its
    // own where it is uid 4242 (no passwd entry there either), it can.
    test('createNamespace() works as a uid with no passwd entry, inside a user namespace of ours', () => {
      const lib = path.resolve(__dirname, '../dist/index.js');
      const script = `require(${JSON.stringify(lib)}).createNamespace({ subids: 'none' }).then(async (ns) => { console.log(JSON.stringify(ns.uidMap)); await ns.close(); }, (e) => { console.log('ERR', e.code, e.message); process.exitCode = 1; })`;
      const run = spawnSync('unshare', ['--user', '--map-user=4242', '--map-group=4242', process.execPath, '-e', script], {
        encoding: 'utf8',
        cwd: '/',
        timeout: 20000,
      });
      expect(run.stdout).not.toContain('uv_os_get_passwd');
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([{ inside: 0, outside: 4242, count: 1 }]);
    });
    return;
  }
  test('createNamespace() works: no name is needed to map its own id', () => {
    const run = asUidWithoutPasswd(
      `lib.createNamespace().then(async (ns) => { console.log(JSON.stringify(ns.uidMap)); await ns.close(); }, (e) => { console.log('ERR', e.code, e.message); process.exitCode = 1; });`,
    );
    expect(run.stdout).not.toContain('uv_os_get_passwd');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([{ inside: 0, outside: 4242, count: 1 }]);
  });

  test("what needs its home (podman's storage, HOME unset) is ENOPASSWD, saying so", () => {
    const run = asUidWithoutPasswd(
      `try { lib.podman.storageConfig(); console.log('no error'); } catch (e) { console.log(e.code + ' ' + e.message); }`,
    );
    expect(run.stdout).toMatch(/^ENOPASSWD unshare-fs: uid 4242 has no passwd entry/);
  });
});

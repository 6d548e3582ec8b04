// du against GNU du on the same trees: on the host, and inside a namespace
// of our own where the files belong to subordinate ids the host user
// cannot read (du runs there too, through the session).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, host, type DiskUsage } from '../lib';
import { serverOf } from '../lib/api/filesystem';
import { CallSite } from '../lib/core/errors';
import { WalkFlag } from '../lib/wire/protocol';
import { checkWalkOptions } from '../lib/wire/walk-request';
import { BatchStream } from '../lib/wire/walk-stream';
import { overlayFixture } from './helpers/overlay';
import { requires, subuidRange, userNamespaces } from './helpers/requirements';
import { removeTree, tempDir, XINO_OVERLAY_SCRIPT } from './helpers/tree';

const root = process.geteuid!() === 0;
const fullRange = root ? requires() : requires(subuidRange);

/** A tree with hard links (inside and to the top), symlinks, a sparse file, empty and nested directories. */
function makeTree(): string {
  const dir = tempDir('unshare-fs-du-');
  fs.mkdirSync(path.join(dir, 'a/b/c'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'empty'));
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(dir, 'a/b', `f${i}`), 'x'.repeat(i * 97));
  fs.writeFileSync(path.join(dir, 'a/big'), Buffer.alloc(300000, 1));
  fs.linkSync(path.join(dir, 'a/big'), path.join(dir, 'a/b/c/big-link'));
  fs.linkSync(path.join(dir, 'a/big'), path.join(dir, 'big-link-2'));
  fs.symlinkSync('a/big', path.join(dir, 'sym'));
  const sparse = fs.openSync(path.join(dir, 'sparse'), 'w');
  fs.ftruncateSync(sparse, 10 << 20);
  fs.closeSync(sparse);
  return dir;
}

/** GNU du's numbers for `dir`, run by `run` (on the host, or in a namespace). */
function gnuDu(run: (argv: string[]) => string, dir: string): DiskUsage {
  const first = (out: string): number => Number(out.trim().split(/\s+/)[0]);
  return {
    entries: run(['find', dir]).trim().split('\n').length,
    apparentBytes: first(run(['du', '-s', '-b', dir])),
    allocatedBytes: first(run(['du', '-s', '-B1', dir])),
  };
}

const onHost = (argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });

describe('du', () => {
  test('equals GNU du -s (apparent and allocated) and find | wc -l on the host', async () => {
    const dir = makeTree();
    try {
      const usage = await host.du(dir);
      expect(usage).toEqual(gnuDu(onHost, dir));
      // The hard-linked file once: 300000 bytes, not 900000.
      expect(usage.apparentBytes).toBeLessThan(600000 + (10 << 20));
      expect((await host.du(path.join(dir, 'a/big'))).apparentBytes).toBe(300000);
    } finally {
      removeTree(dir);
    }
  });

  test('bad arguments and a missing path fail clearly', async () => {
    await expect(host.du(5 as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.du('/tmp', { onError: 'ignore' } as object)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(host.du('/tmp', { oneFileSystem: 'yes' } as object)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.du('/no/such/dir')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'lstat' });
  });
});

describe('du: errors inside the tree', () => {
  // An unreadable directory: as an ordinary user a 0000 directory; as root,
  // root reads everything, so du runs in a namespace whose root is the
  // host's nobody.
  let dir: string;
  let closed: string;
  beforeAll(() => {
    dir = tempDir('unshare-fs-du-errors-');
    fs.chmodSync(dir, 0o755);
    closed = path.join(dir, 'closed');
    fs.mkdirSync(path.join(closed, 'inner'), { recursive: true });
    fs.writeFileSync(path.join(closed, 'inner/secret'), 'x'.repeat(5000));
    fs.writeFileSync(path.join(dir, 'open.txt'), 'yy');
    fs.chmodSync(closed, 0o000);
  });
  afterAll(() => {
    fs.chmodSync(closed, 0o755);
    removeTree(dir);
  });

  async function duOf(options: Parameters<typeof host.du>[1]): Promise<DiskUsage> {
    if (process.geteuid!() !== 0) return host.du(dir, options);
    const ns = await createNamespace({ uidMap: [{ inside: 0, outside: 65534, count: 1 }] });
    try {
      const session = await ns.enter();
      return await session.du(dir, options);
    } finally {
      await ns.close();
    }
  }

  /** What du counts when it leaves out what the closed directory holds: the top, open.txt and closed itself. */
  const withoutInside = (): DiskUsage => {
    const stats = ['', 'open.txt', 'closed'].map((name) => fs.lstatSync(path.join(dir, name)));
    return {
      entries: 3,
      apparentBytes: stats.reduce((sum, s) => sum + s.size, 0),
      allocatedBytes: stats.reduce((sum, s) => sum + s.blocks * 512, 0),
    };
  };

  test('by default du fails with the path of the directory', async () => {
    await expect(duOf({})).rejects.toMatchObject({ code: 'EACCES', syscall: 'scandir', path: closed });
  });

  test('onError hears of it and du goes on; what is inside is not counted', async () => {
    const told: string[] = [];
    expect(await duOf({ onError: (error) => told.push(`${error.code} ${error.syscall} ${error.path}`) })).toEqual(withoutInside());
    expect(told).toEqual([`EACCES scandir ${closed}`]);
  });

  test("'skip' goes on silently; onError returning false ends du with the error", async () => {
    expect(await duOf({ onError: 'skip' })).toEqual(withoutInside());
    await expect(duOf({ onError: () => false })).rejects.toMatchObject({ code: 'EACCES', path: closed });
  });
});

test('the server refuses a summing walk that asks to prune (EINVAL): nothing to prune', async () => {
  const site = new CallSite(host.du);
  const checked = checkWalkOptions({ prune: () => false });
  checked.flags |= WalkFlag.Summarize;
  const stream = new BatchStream(
    () => serverOf(host).channel(),
    '/tmp',
    Buffer.from('/tmp'),
    checked,
    (id) => id,
    (id) => id,
    site,
  );
  await expect(stream.nextBatch()).rejects.toMatchObject({ code: 'EINVAL', syscall: 'scandir' });
});

fullRange.describe('du in a namespace of our own', () => {
  test('equals du run inside on an overlay of subordinate-id files; oneFileSystem leaves the mount out like du -x', async () => {
    const fixture = await overlayFixture();
    const session = await fixture.ns.enter();
    const out = tempDir('unshare-fs-du-out-');
    fs.chmodSync(out, 0o777);
    try {
      let n = 0;
      const run = async (argv: string[]): Promise<string> => {
        const file = path.join(out, `out${n++}`);
        const status = await session.exec(['sh', '-c', '"$@" > "$0"', file, ...argv]);
        expect(status).toEqual({ code: 0, signal: null });
        return fs.readFileSync(file, 'utf8');
      };
      const merged = fixture.mergedDir;
      const expected: DiskUsage = {
        entries: (await run(['find', merged])).trim().split('\n').length,
        apparentBytes: Number((await run(['du', '-s', '-b', merged])).split(/\s+/)[0]),
        allocatedBytes: Number((await run(['du', '-s', '-B1', merged])).split(/\s+/)[0]),
      };
      expect(expected.entries).toBeGreaterThan(10);
      expect(await session.du(merged)).toEqual(expected);
      // The overlay is a mount under the base dir: du -x of the base stops at it.
      const base = path.dirname(merged);
      const apparentX = Number((await run(['du', '-s', '-x', '-b', base])).split(/\s+/)[0]);
      expect((await session.du(base, { oneFileSystem: true })).apparentBytes).toBe(apparentX);
      expect((await session.du(base)).apparentBytes).toBeGreaterThan(apparentX);
    } finally {
      await session.close();
      await fixture.dispose();
      removeTree(out);
    }
  });
});

requires(userNamespaces).describe('du of an overlay with xino=on', () => {
  // xino puts the layer's fsid in st_ino's top bits: a lower layer's inodes
  // are 2^63 + ino, where doubles are 2048 apart, so two hard-linked pairs
  // whose tmpfs inodes are close had one key as numbers and du left one out.
  test('counts two hard-linked pairs of a lower layer apart, as GNU du does', async () => {
    const base = tempDir('unshare-fs-du-xino-');
    fs.chmodSync(base, 0o755);
    const ns = await createNamespace();
    try {
      const script = [
        ...XINO_OVERLAY_SCRIPT,
        'stat -c "%i" m/f m/p > inodes',
        'find m | wc -l > find',
        'du -s --apparent-size -B1 m > apparent',
        'du -s -B1 m > allocated',
      ].join('\n');
      expect(await ns.exec(['sh', '-c', script, base])).toEqual({ code: 0, signal: null });
      const read = (name: string): string => fs.readFileSync(path.join(base, name), 'utf8');
      const first = (name: string): number => Number(read(name).trim().split(/\s+/)[0]);
      // The case at hand: inodes past 2^53, distinct, equal as numbers.
      const [f, p] = read('inodes').trim().split('\n').map(BigInt);
      expect(f! >= 1n << 53n && p! >= 1n << 53n && f !== p).toBe(true);
      expect(Number(f)).toBe(Number(p));
      const expected: DiskUsage = { entries: first('find'), apparentBytes: first('apparent'), allocatedBytes: first('allocated') };
      expect(expected.apparentBytes).toBeGreaterThanOrEqual(50100);
      const session = await ns.enter();
      try {
        expect(await session.du(path.join(base, 'm'))).toEqual(expected);
      } finally {
        await session.close();
      }
    } finally {
      await ns.close(); // the tmpfs and overlay mounts go with the namespace
      removeTree(base);
    }
  });
});

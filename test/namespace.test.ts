// Namespaces the library makes: overlay semantics seen through a session,
// the two views of ownership, and the merged dir the host cannot see.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, type BigIntStats, type Entry, type Session } from '../lib';
import { overlayFixture, type OverlayFixture } from './helpers/overlay';
import { requires, subuidRange } from './helpers/requirements';
import { findRows, walkRows } from './helpers/tree';

const asRoot = process.geteuid!() === 0;
// As an ordinary user the full id range needs a subuid range and newuidmap.
const fullRange = asRoot ? requires() : requires(subuidRange);

fullRange.describe('an overlay in a namespace of our own', () => {
  let fixture: OverlayFixture;
  let session: Session;

  beforeAll(async () => {
    fixture = await overlayFixture();
    session = await fixture.ns.enter();
  });

  afterAll(async () => fixture?.dispose());

  test('the host sees an empty merged dir; the session sees the layers', async () => {
    expect(fs.readdirSync(fixture.mergedDir)).toEqual([]);
    expect((await session.readdir(fixture.mergedDir)).sort()).toEqual(['bin', 'etc', 'etc-link', 'home', 'opt', 'shadowed.txt']);
  });

  test('a whiteout hides a lower file; an opaque dir hides lower contents; upper shadows lower', async () => {
    await expect(session.lstat(path.join(fixture.mergedDir, 'gone.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await session.readdir(path.join(fixture.mergedDir, 'opt/old'))).toEqual(['new']);
    expect(await session.readFile(path.join(fixture.mergedDir, 'shadowed.txt'), 'utf8')).toBe('upper\n');
    // The whiteout is a 0:0 character device in the upper layer, seen from the host.
    const whiteout = fs.lstatSync(path.join(fixture.upperDir, 'gone.txt'));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
  });

  test('uid 1000 inside is the mapped id outside; the host cannot read the 0700 dir', async () => {
    const privateDir = path.join(fixture.mergedDir, 'home/user/private');
    const st = await session.lstat(privateDir);
    expect(st.uid).toBe(1000);
    expect(st.mode & 0o777).toBe(0o700);
    const expectedHost = session.toHostUid(1000);
    expect(expectedHost).not.toBe(1000);
    expect(st.hostUid).toBe(expectedHost);
    expect(fs.lstatSync(path.join(fixture.upperDir, 'home/user/private')).uid).toBe(expectedHost);
    expect(await session.readFile(path.join(privateDir, 'key'), 'utf8')).toBe('secret\n');
    if (!asRoot) {
      expect(() => fs.readdirSync(path.join(fixture.upperDir, 'home/user/private'))).toThrow(expect.objectContaining({ code: 'EACCES' }));
    }
  });

  test('the walk inside equals find -printf run through nsenter, entry by entry', async () => {
    const ours = await walkRows(
      session.walk(fixture.mergedDir, { stat: true, bigint: true }) as AsyncIterable<Entry<string, BigIntStats>>,
      fixture.mergedDir,
      (p) => session.readlink(p),
    );
    const theirs = findRows(fixture.mergedDir, ['nsenter', '-U', '-m', '-t', String(fixture.ns.pid), '--']);
    expect(ours).toEqual(theirs);
    expect(ours.find((r) => r.path === 'home/user/private/key')).toMatchObject({ uid: 1000, mode: '600' });
  });

  test('mounts() shows the overlay with its layers', async () => {
    const overlay = (await session.mounts()).find((m) => m.mountPoint === fixture.mergedDir);
    expect(overlay?.fsType).toBe('overlay');
    expect(overlay?.overlay?.lowerDirs).toEqual(fixture.lowerDirs);
    expect(overlay?.overlay?.upperDir).toBe(fixture.upperDir);
  });

  test('a read-only overlay needs no upper layer; unmount removes it', async () => {
    const target = path.join(fixture.base, 'ro');
    fs.mkdirSync(target);
    await fixture.ns.mountOverlay({ lowerDirs: fixture.lowerDirs, target, readOnly: true });
    expect(await session.readFile(path.join(target, 'shadowed.txt'), 'utf8')).toBe('middle\n');
    expect((await session.readdir(target)).sort()).toEqual(['bin', 'etc', 'etc-link', 'gone.txt', 'opt', 'shadowed.txt']);
    await fixture.ns.unmount(target);
    expect(await session.readdir(target)).toEqual([]);
  });

  test('a refused mount names the syscall, the target and the options', async () => {
    const target = path.join(fixture.base, 'nowhere-to-be-found');
    const error = await fixture.ns.mountOverlay({ lowerDirs: ['/does/not/exist'], target }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'mount', path: target });
    expect((error as { options: string }).options).toContain('lowerdir=/does/not/exist');
  });

  test('tmpfs mounts are private to the namespace', async () => {
    const target = path.join(fixture.base, 'scratch');
    fs.mkdirSync(target);
    await fixture.ns.mountTmpfs(target, { size: '1m' });
    const mount = (await session.mounts()).find((m) => m.mountPoint === target);
    expect(mount?.fsType).toBe('tmpfs');
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(target);
    await fixture.ns.unmount(target);
  });
});

describe('id maps', () => {
  test('the handle reports its maps and whether the full range is mapped', async () => {
    const ns = await createNamespace({ subids: 'none', ...(asRoot ? { uidMap: [{ inside: 0, outside: 0, count: 1 }] } : {}) });
    try {
      expect(ns.fullRange).toBe(false);
      expect(ns.uidMap).toEqual([{ inside: 0, outside: process.geteuid!(), count: 1 }]);
      const session = await ns.enter();
      const st = await session.lstat('/');
      // Host root is not mapped in a single-id namespace (unless we are it).
      expect(st.uid).toBe(asRoot ? 0 : 65534);
    } finally {
      await ns.close();
    }
  });

  fullRange.test('with a subordinate range, ids from 1 are mapped too', async () => {
    const ns = await createNamespace(
      asRoot
        ? {
            uidMap: [
              { inside: 0, outside: 0, count: 1 },
              { inside: 1, outside: 100000, count: 65536 },
            ],
          }
        : { subids: 'require' },
    );
    try {
      expect(ns.fullRange).toBe(true);
      expect(ns.uidMap.length).toBe(2);
      expect(ns.uidMap[1]).toMatchObject({ inside: 1 });
    } finally {
      await ns.close();
    }
  });

  test('asking an ordinary user for a chosen map is an error', async () => {
    if (asRoot) {
      const ns = await createNamespace({ uidMap: [{ inside: 0, outside: 12345, count: 1 }] });
      expect(ns.uidMap).toEqual([{ inside: 0, outside: 12345, count: 1 }]);
      await ns.close();
    } else {
      await expect(createNamespace({ uidMap: [{ inside: 0, outside: 0, count: 1 }] })).rejects.toMatchObject({ code: 'EPERM' });
    }
  });
});

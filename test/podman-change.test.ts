// The write side against real podman: rootless when the tests run as an
// ordinary user, rootful as root.  What people run `podman unshare` for:
// removing a volume's files that a container wrote as its users, handing a
// directory to a container user, writing into a running container with the
// owner and mode a program there expects.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { podman, type Session } from '../lib';
import { ensureScenario, IMAGE, pod, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const gate = requires(podmanImage);
/** A container of this file's own: the scenario's are read by other files at the same time. */
const TARGET = `unshare-fs-change-${process.pid}`;

/** Runs a throwaway container with `dir` mounted at /data; its output, or its failure. */
function runWithVolume(dir: string, user: string, script: string): { ok: boolean; out: string } {
  const r = tryPod(['run', '--rm', '--network', 'none', '--user', user, '-v', `${dir}:/data`, IMAGE, '/bin/sh', '-ec', script]);
  return { ok: r.ok, out: r.ok ? r.out : r.err };
}

gate.describe(`changing files through podman's namespaces (${MODE}, uid ${UID})`, () => {
  let storage: Session;
  const dirs: string[] = [];

  beforeAll(async () => {
    ensureScenario();
    pod(['run', '-d', '--network', 'none', '--name', TARGET, IMAGE, 'sleep', '600']);
    pod(['exec', TARGET, '/bin/sh', '-ec', 'mkdir -p /data/user-dir && chown 1000:1000 /data/user-dir']);
    storage = await podman.enterStorage();
  });

  afterAll(async () => {
    tryPod(['rm', '-f', '-t', '0', TARGET]);
    // Whatever a failed test left: removed from inside, where it can be.
    for (const dir of dirs) await storage?.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    await storage?.close();
    for (const dir of dirs) removeTree(dir);
  });

  function volumeDir(): string {
    const dir = tempDir('unshare-fs-volume-');
    fs.chmodSync(dir, 0o755);
    dirs.push(dir);
    return dir;
  }

  test('a volume a container filled as its root and as uid 1000 is removed by the library, where the host user cannot', async () => {
    const dir = volumeDir();
    const filled = runWithVolume(
      dir,
      '0',
      `
      mkdir -p /data/app/cache/a/b /data/home
      i=0; while [ $i -lt 200 ]; do echo $i > /data/app/cache/a/b/f$i; i=$((i+1)); done
      echo secret > /data/home/key && chmod 0600 /data/home/key
      mkdir /data/home/private && echo x > /data/home/private/x && chmod 0700 /data/home/private
      chown -R 1000:1000 /data/home /data/app/cache
      ln -s /etc/passwd /data/app/passwd-link
      `,
    );
    expect(filled).toMatchObject({ ok: true });
    if (!ROOTFUL) {
      // The host user owns the volume dir but not what uid 1000 made in it.
      const host = spawnSync('rm', ['-rf', dir], { encoding: 'utf8' });
      expect(host.status).not.toBe(0);
      expect(host.stderr).toMatch(/Permission denied/);
      expect(fs.existsSync(dir)).toBe(true);
    }
    // What is left (the host's rm took what the host user owns), and the volume dir.
    let left = 1;
    for await (const batch of storage.walkBatches(dir)) left += batch.length;
    expect(left).toBeGreaterThan(200);
    const progress: number[] = [];
    const result = await storage.rm(dir, { recursive: true, onProgress: (n) => progress.push(n) });
    expect(result).toEqual({ entries: left, errors: 0 });
    expect(progress).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('chown -R hands a host directory to container uid 1000: a container running as 1000 can write there afterwards', async () => {
    const dir = volumeDir();
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub/existing'), 'old\n');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'passwd-link'));
    const before = runWithVolume(dir, '1000', 'echo new > /data/sub/new');
    expect(before).toMatchObject({ ok: false, out: expect.stringMatching(/Permission denied/) });
    const result = await storage.chown(dir, 1000, 1000, { recursive: true });
    expect(result).toEqual({ entries: 4, errors: 0 });
    const after = runWithVolume(
      dir,
      '1000',
      'echo new > /data/sub/new && echo more >> /data/sub/existing && stat -c "%u %g %n" /data /data/sub /data/sub/new',
    );
    expect(after).toMatchObject({ ok: true });
    expect(after.out.split('\n')).toEqual(['1000 1000 /data', '1000 1000 /data/sub', '1000 1000 /data/sub/new']);
    // The host sees uid 1000 through the namespace's map; the link's target was left alone.
    expect(fs.lstatSync(path.join(dir, 'sub')).uid).toBe(storage.toHostUid(1000));
    expect(fs.statSync('/etc/passwd').uid).toBe(0);
    expect(await storage.readFile(path.join(dir, 'sub/existing'), 'utf8')).toBe('old\nmore\n');
  });

  test('writeFile with uid 1000 and mode 0600 into a running container: podman exec sees the content, the owner and the mode', async () => {
    const rooted = await podman.enterMerged(TARGET);
    try {
      await rooted.writeFile('/data/user-dir/from-library', 'written by unshare-fs\n', { uid: 1000, gid: 1000, mode: 0o600 });
      await rooted.mkdir('/data/user-dir/made/by/lib', { recursive: true, uid: 1000, gid: 1000, mode: 0o700 });
      expect(
        pod(['exec', TARGET, 'stat', '-c', '%u %g %a', '/data/user-dir/from-library', '/data/user-dir/made/by/lib']).trim().split('\n'),
      ).toEqual(['1000 1000 600', '1000 1000 700']);
      expect(pod(['exec', '--user', '1000', TARGET, 'cat', '/data/user-dir/from-library'])).toBe('written by unshare-fs\n');
    } finally {
      await rooted.rm('/data/user-dir/from-library', { force: true });
      await rooted.rm('/data/user-dir/made', { recursive: true, force: true });
      await rooted.close();
    }
    expect(tryPod(['exec', TARGET, 'ls', '/data/user-dir/from-library']).ok).toBe(false);
  });

  test('a symlink planted in the container pointing at a host file is never written through, nor removed through', async () => {
    const hostDir = tempDir('unshare-fs-host-target-');
    dirs.push(hostDir);
    fs.chmodSync(hostDir, 0o777);
    const hostFile = path.join(hostDir, 'target');
    fs.writeFileSync(hostFile, 'host\n');
    fs.chmodSync(hostFile, 0o666);
    // The target's directory exists in the container too, so a write that follows the link inside lands there.
    pod(['exec', TARGET, '/bin/sh', '-ec', `mkdir -p ${hostDir}; ln -sfn ${hostFile} /data/planted; ln -sfn ${hostDir} /data/planted-dir`]);
    const rooted = await podman.enterMerged(TARGET);
    try {
      await rooted.writeFile('/data/planted', 'through the link\n');
      await rooted.chmod('/data/planted', 0o600);
      await rooted.rm('/data/planted-dir', { recursive: true });
      expect(fs.readFileSync(hostFile, 'utf8')).toBe('host\n');
      expect(fs.statSync(hostFile).mode & 0o777).toBe(0o666);
      // The write landed inside the container, at the link's target there.
      expect(pod(['exec', TARGET, 'cat', hostFile])).toBe('through the link\n');
      expect(tryPod(['exec', TARGET, 'ls', '/data/planted-dir']).ok).toBe(false);
    } finally {
      await rooted.rm('/data/planted', { force: true });
      await rooted.rm(hostDir, { recursive: true, force: true });
      await rooted.close();
    }
  });

  test('a tree copied into a running container and back out: podman exec sees what was copied, the round trip keeps it', async () => {
    const source = tempDir('unshare-fs-cp-src-');
    const backDir = tempDir('unshare-fs-cp-back-');
    dirs.push(source, backDir);
    fs.mkdirSync(path.join(source, 'conf.d'));
    fs.writeFileSync(path.join(source, 'app.conf'), 'key = value\n');
    fs.writeFileSync(path.join(source, 'conf.d/secret'), 'secret\n');
    fs.chmodSync(path.join(source, 'conf.d/secret'), 0o600);
    fs.writeFileSync(path.join(source, 'data.bin'), Buffer.alloc(1 << 20, 9));
    fs.symlinkSync('app.conf', path.join(source, 'current'));
    const rooted = await podman.enterMerged(TARGET);
    try {
      expect(await rooted.copyFromHost(source, '/data/copied', { recursive: true })).toEqual({
        entries: 6,
        bytes: (1 << 20) + 19,
        skipped: 0,
      });
      // Inside, it belongs to the container's root, with the modes of the originals.
      const listing = pod([
        'exec',
        TARGET,
        'sh',
        '-c',
        'cd /data/copied && for f in . app.conf conf.d conf.d/secret data.bin; do stat -c "%n %u %g %a" $f; done; readlink current',
      ]);
      const modeOf = (name: string): string => (fs.statSync(path.join(source, name)).mode & 0o777).toString(8);
      expect(listing.trim().split('\n')).toEqual([
        `. 0 0 ${modeOf('.')}`,
        `app.conf 0 0 ${modeOf('app.conf')}`,
        `conf.d 0 0 ${modeOf('conf.d')}`,
        'conf.d/secret 0 0 600',
        `data.bin 0 0 ${modeOf('data.bin')}`,
        'app.conf',
      ]);
      const back = path.join(backDir, 'copied');
      expect(await rooted.copyToHost('/data/copied', back, { recursive: true })).toEqual({ entries: 6, bytes: (1 << 20) + 19, skipped: 0 });
      for (const name of ['app.conf', 'conf.d/secret', 'data.bin']) {
        expect(fs.readFileSync(path.join(back, name)).equals(fs.readFileSync(path.join(source, name)))).toBe(true);
        expect(fs.statSync(path.join(back, name)).mode & 0o777).toBe(fs.statSync(path.join(source, name)).mode & 0o777);
        expect(fs.statSync(path.join(back, name)).uid).toBe(UID);
      }
      expect(fs.readlinkSync(path.join(back, 'current'))).toBe('app.conf');
    } finally {
      await rooted.rm('/data/copied', { recursive: true, force: true });
      await rooted.close();
    }
  });

  test('ids the namespace has no host id for are refused by the kernel', async () => {
    if (ROOTFUL) {
      // Rootful podman's storage is the host's: every id exists.
      const dir = volumeDir();
      await storage.chown(dir, 123456, 123456);
      expect(fs.lstatSync(dir).uid).toBe(123456);
      return;
    }
    const dir = volumeDir();
    const unmapped = 70000; // past the 65536 subordinate ids and the user's own
    await expect(storage.chown(dir, unmapped, unmapped)).rejects.toMatchObject({ code: 'EINVAL', syscall: 'chown' });
    await expect(storage.writeFile(path.join(dir, 'f'), 'x', { uid: unmapped })).rejects.toMatchObject({
      code: 'EINVAL',
      syscall: 'fchown',
    });
    expect(execFileSync('ls', ['-A', dir], { encoding: 'utf8' })).toBe('f\n'); // created before the chown failed
  });
});

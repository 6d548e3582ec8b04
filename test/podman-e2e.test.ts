// End-to-end against real podman: rootless when the tests run as an ordinary
// user, rootful as root. Needs scripts/podman-setup.sh for this user (podman
// and the image localhost/unshare-fs-test); the seed scenario
// (scripts/podman-scenario.sh: contenedor1 and contenedor2) is started here
// when it is not running. A third container, made and removed here, serves
// the planted-symlink and stopped-container tests.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { podman, type BigIntStats, type Entry, type FileSystem, type MountInfo, type Session } from '../lib';
import { parseMountInfo } from '../lib/ns/mounts';
import { ensureScenario, graphDriverData, IMAGE, pod, podmanImage, ROOTFUL, SCENARIO, tryPod, UID, codeOf } from './helpers/podman';
import { requires } from './helpers/requirements';
import { FIND_FORMAT, parseFind, walkRows, type Row } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const THIRD = `unshare-fs-e2e-stop-${process.pid}`;
/** A dir the third container makes opaque: removed (it is in the image) and made again. */
const OPAQUE = 'usr';

/** find -printf over `dir` as podman sees it: `podman unshare find` rootless, plain find rootful. */
function findRows(dir: string): Row[] {
  const args = [dir, '-mindepth', '1', '-printf', FIND_FORMAT];
  if (ROOTFUL) {
    return parseFind(execFileSync('find', args, { encoding: 'utf8', maxBuffer: 1 << 28 }));
  }
  return parseFind(pod(['unshare', 'find', ...args]));
}

async function rowsOf(fsApi: FileSystem, dir: string, options: { oneFileSystem?: boolean } = {}): Promise<Row[]> {
  return walkRows(
    fsApi.walk(dir, { stat: true, bigint: true, encoding: 'utf8', ...options }) as AsyncIterable<Entry<string, BigIntStats>>,
    dir,
    (p) => fsApi.readlink(p),
  );
}

/** Rows without what a different mount of the same layers may number differently. */
const portable = (rows: Row[]): Omit<Row, 'ino'>[] => rows.map(({ ino: _ino, ...rest }) => rest);

const overlaysUnder = (mounts: MountInfo[], graphRoot: string): MountInfo[] =>
  mounts.filter((m) => m.fsType === 'overlay' && m.mountPoint.startsWith(`${graphRoot}/overlay/`));

const gate = requires(podmanImage);

gate.describe(`podman end-to-end (${MODE}, uid ${UID})`, () => {
  let storage: Session;
  const merged = new Map<string, string>();
  let hostSecretDir: string;
  let hostSecret: string;
  let thirdCreated = false;
  let stoppedRows: Row[] | undefined;

  beforeAll(async () => {
    ensureScenario();
    for (const name of SCENARIO) merged.set(name, podman.container(name).mergedDir);
    storage = await podman.enterStorage();
    // A host file the third container has no copy of.
    hostSecretDir = fs.mkdtempSync('/tmp/unshare-fs-host-secret-');
    fs.chmodSync(hostSecretDir, 0o755);
    hostSecret = path.join(hostSecretDir, 'key');
    fs.writeFileSync(hostSecret, 'HOST SECRET - must never be read through a container\n', { mode: 0o644 });
    tryPod(['rm', '-f', '-t', '0', THIRD]);
    pod(['run', '-d', '--network', 'none', '--name', THIRD, IMAGE, 'sleep', '1000']);
    thirdCreated = true;
    const sh = (user: string, script: string): string => pod(['exec', '--user', user, THIRD, '/bin/sh', '-ec', script]);
    sh(
      '0',
      `
      ln -s ${hostSecret} /evil
      ln -s ../../../../../../../..${hostSecret} /evil-relative
      mkdir -p /etc/ssh-planted && ln -s ${hostSecret} /etc/ssh-planted/key-link
      rm /etc/motd
      rm -rf /usr && mkdir -p /usr/bin && echo new > /usr/bin/new
      mkdir -p /srv/user && chown 1000:1000 /srv/user
      echo 'root file' > /srv/root-file
      `,
    );
    sh('1000', `mkdir -m 0700 /srv/user/private && echo 'uid 1000 secret' > /srv/user/private/s && chmod 0600 /srv/user/private/s`);
  });

  afterAll(async () => {
    await storage?.close();
    if (thirdCreated) tryPod(['rm', '-f', '-t', '0', THIRD]);
    if (hostSecretDir) fs.rmSync(hostSecretDir, { recursive: true, force: true });
  });

  describe.each(SCENARIO)('%s', (name) => {
    test('every entry walked in mergedDir equals podman unshare find -printf, entry by entry', async () => {
      const dir = merged.get(name)!;
      const ours = await rowsOf(storage, dir);
      const theirs = findRows(dir);
      console.log(`${MODE} ${name}: ${ours.length} entries walked, ${theirs.length} from ${ROOTFUL ? 'find' : 'podman unshare find'}`);
      expect(ours.length).toBeGreaterThan(250);
      expect(ours.length).toBe(theirs.length);
      for (let i = 0; i < ours.length; i++) expect(ours[i]).toEqual(theirs[i]);
      const priv = ours.find((r) => r.path === 'home/user/private');
      expect(priv).toMatchObject({ type: 'd', mode: '700', uid: 1000, gid: 1000 });
      expect(ours.find((r) => r.path === 'data/link-to-hello')).toMatchObject({ type: 'l', target: 'hello.txt' });
      expect(ours.some((r) => r.path === `data/only-in-c${SCENARIO.indexOf(name) + 1}`)).toBe(true);
    });

    test('upperDir, lowerDirs, workDir and mergedDir equal podman inspect .GraphDriver.Data', () => {
      const data = graphDriverData(name);
      const c = podman.container(name);
      expect(c.upperDir).toBe(data.UpperDir);
      expect(c.lowerDirs).toEqual(data.LowerDir ? data.LowerDir.split(':') : []);
      expect(c.workDir).toBe(data.WorkDir);
      expect(c.mergedDir).toBe(data.MergedDir);
      expect(podman.layerChain(c.layer)).toEqual([c.upperDir, ...c.lowerDirs]);
    });

    test('the 0700 dir of uid 1000 is readable through the session, not from the host', async () => {
      const dir = `${merged.get(name)}/home/user/private`;
      const st = await storage.lstat(dir);
      expect(st.uid).toBe(1000);
      expect(st.mode & 0o7777).toBe(0o700);
      expect(await storage.readdir(dir)).toEqual(['secret.txt']);
      expect(await storage.readFile(`${dir}/secret.txt`, 'utf8')).toBe(`user secret of ${name}\n`);
      if (!ROOTFUL) {
        const pause = podman.pausePid();
        const viaProc = `/proc/${pause}/root${dir}`;
        expect(() => fs.readdirSync(viaProc)).toThrow(expect.objectContaining({ code: 'EACCES' }));
        // The host sees the subordinate uid the session maps 1000 to.
        expect(fs.statSync(viaProc).uid).toBe(storage.toHostUid(1000));
        expect(storage.toHostUid(1000)).not.toBe(1000);
        // And the merged dir itself is empty in the host mount namespace.
        expect(fs.readdirSync(merged.get(name)!)).toEqual([]);
      }
    });

    test("enterContainer's / equals the storage view of mergedDir (paths, types, sizes)", async () => {
      const session = await podman.enterContainer(name);
      try {
        const mounts = await session.mounts();
        // The container's own mounts (/proc, /dev, /etc/hosts ...) are not in mergedDir.
        const mountPoints = mounts
          .map((m) => m.mountPoint)
          .filter((p) => p !== '/')
          .map((p) => p.slice(1));
        const under = (p: string): boolean => mountPoints.some((m) => p === m || p.startsWith(`${m}/`));
        const view = (rows: Row[]): { path: string; type: string; size: number }[] =>
          rows.filter((r) => !under(r.path)).map((r) => ({ path: r.path, type: r.type, size: r.type === 'd' ? 0 : r.size }));
        const inside = view(await rowsOf(session, '/', { oneFileSystem: true }));
        const outside = view(await rowsOf(storage, merged.get(name)!));
        console.log(
          `${MODE} ${name}: ${inside.length} entries compared between enterContainer('/') and the merged dir (${mountPoints.length} container mounts left out)`,
        );
        expect(inside.length).toBeGreaterThan(250);
        expect(inside).toEqual(outside);
        expect(await session.readFile('/data/hello.txt', 'utf8')).toBe(`hello from ${name}\n`);
      } finally {
        await session.close();
      }
    });
  });

  test('mount isolation: the storage namespace holds one overlay per mounted container or image, each container only its own', async () => {
    const cfg = podman.storageConfig();
    const hostMounts = parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    // What podman may have mounted (any container's merged dir, any layer's
    // for `podman image mount`), read before and after the mounts: other
    // test files make and remove containers and mount images meanwhile.
    const podmanMerged = (): string[] => [
      ...podman.containers().map((c) => c.mergedDir),
      ...podman.layers().map((l) => path.join(cfg.graphRoot, 'overlay', l.id, 'merged')),
    ];
    const before = podmanMerged();
    const storageMounts = await storage.mounts();
    const known = new Set([...before, ...podmanMerged()]);
    const running = podman.containers().filter((c) => c.pid !== null && c.mounted);
    const inStorage = overlaysUnder(storageMounts, cfg.graphRoot);
    for (const name of SCENARIO) {
      const c = podman.container(name);
      const at = inStorage.filter((m) => m.mountPoint === c.mergedDir);
      expect(at).toHaveLength(1);
      expect(at[0]!.overlay?.upperDir).toBe(c.upperDir);
      const onHost = overlaysUnder(hostMounts, cfg.graphRoot).filter((m) => m.mountPoint === c.mergedDir);
      // Rootless: mounted only in the pause process's namespace. Rootful: the storage namespace is the host's.
      expect(onHost).toHaveLength(ROOTFUL ? 1 : 0);
    }
    // Every overlay there is podman's (a container's or an image's merged dir), one each.
    const points = inStorage.map((m) => m.mountPoint);
    expect(new Set(points).size).toBe(points.length);
    for (const p of points) expect(known).toContain(p);
    for (const c of running) if (SCENARIO.some((n) => c.names.includes(n))) expect(points).toContain(c.mergedDir);
    if (!ROOTFUL) expect(overlaysUnder(hostMounts, cfg.graphRoot)).toEqual([]);

    for (const [i, name] of SCENARIO.entries()) {
      const own = podman.container(name);
      const otherName = SCENARIO[1 - i];
      if (otherName === undefined) throw new Error(`SCENARIO has no container besides ${name}`);
      const other = podman.container(otherName);
      const session = await podman.enterContainer(name);
      try {
        const mounts = await session.mounts();
        const overlays = mounts.filter((m) => m.fsType === 'overlay');
        expect(overlays.map((m) => m.mountPoint)).toEqual(['/']);
        expect(overlays[0]!.overlay?.upperDir).toBe(own.upperDir);
        expect(mounts.some((m) => m.overlay?.upperDir === other.upperDir || m.mountPoint.includes(other.layer))).toBe(false);
      } finally {
        await session.close();
      }
    }
  });

  test('a planted absolute symlink to a host file never reads the host file', async () => {
    expect(fs.readFileSync(hostSecret, 'utf8')).toContain('HOST SECRET');
    const c = podman.container(THIRD);
    const rooted = await podman.enterMerged(THIRD);
    try {
      expect(rooted.root).toBe(c.mergedDir);
      expect(await rooted.readlink('/evil')).toBe(hostSecret);
      for (const link of ['/evil', '/evil-relative', '/etc/ssh-planted/key-link']) {
        expect(await codeOf(rooted.readFile(link))).toBe('ENOENT');
        expect(await codeOf(rooted.stat(link))).toBe('ENOENT');
      }
      // The container's own copy at that path is what the link reads, once there is one.
      pod(['exec', THIRD, '/bin/sh', '-ec', `mkdir -p ${hostSecretDir} && echo "container's own file" > ${hostSecret}`]);
      for (const link of ['/evil', '/evil-relative', '/etc/ssh-planted/key-link']) {
        expect(await rooted.readFile(link, 'utf8')).toBe("container's own file\n");
      }
      pod(['exec', THIRD, 'rm', '-rf', hostSecretDir]);
      expect(await codeOf(rooted.readFile('/evil'))).toBe('ENOENT');
      // So does the container's own namespace.
      const inside = await podman.enterContainer(THIRD);
      try {
        expect(await codeOf(inside.readFile('/evil'))).toBe('ENOENT');
      } finally {
        await inside.close();
      }
      // Without root, the same link from the storage namespace reaches the host's /tmp: why `root` exists.
      const unrooted = await storage.readFile(`${c.mergedDir}/evil`, 'utf8').catch((e: Error) => `(${(e as { code?: string }).code})`);
      console.log(`${MODE}: ${c.mergedDir}/evil read without root gives ${JSON.stringify(unrooted.slice(0, 30))}; with root: ENOENT`);
    } finally {
      await rooted.close();
    }
  });

  test('mountContainer after podman stop equals what the container showed while running', async () => {
    const running = podman.container(THIRD);
    expect(running.pid).not.toBeNull();
    const rooted = await podman.enterMerged(THIRD);
    let before: Row[];
    try {
      before = await rowsOf(rooted, '/');
    } finally {
      await rooted.close();
    }
    const data = graphDriverData(THIRD);
    pod(['stop', '-t', '0', THIRD]);
    const stopped = podman.container(THIRD);
    expect(stopped.pid).toBeNull();
    expect(stopped.mounted).toBe(false);
    expect(await codeOf(podman.enterContainer(THIRD))).toBe('ECONTAINERSTOPPED');
    expect(await codeOf(podman.enterMerged(THIRD))).toBe('ECONTAINERSTOPPED');

    const mount = await podman.mountContainer(THIRD);
    try {
      expect(mount.layers).toEqual([data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])]);
      expect(mount.session.root).toBe(mount.target);
      const after = await rowsOf(mount.session, '/');
      console.log(`${MODE} ${THIRD}: ${before.length} entries while running, ${after.length} mounted after stop`);
      expect(portable(after)).toEqual(portable(before));
      // Whiteouts of the rw layer are honoured; subordinate uids look like podman's.
      const paths = new Set(after.map((r) => r.path));
      expect(paths.has('etc/motd')).toBe(false);
      expect(paths.has('usr/bin/new')).toBe(true);
      stoppedRows = after;
      expect(after.find((r) => r.path === 'srv/user/private')).toMatchObject({ type: 'd', mode: '700', uid: 1000, gid: 1000 });
      expect(await mount.session.readFile('/srv/user/private/s', 'utf8')).toBe('uid 1000 secret\n');
      expect(await codeOf(mount.session.readFile('/evil'))).toBe('ENOENT');
      // The mount exists only in the library's namespace.
      // (a rooted session's /proc is inside its root: ask an unrooted one)
      const mine = (await (await mount.namespace.enter()).mounts()).filter((m) => m.fsType === 'overlay');
      expect(mine.map((m) => m.mountPoint)).toContain(mount.target);
      expect(parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === mount.target)).toBe(false);
    } finally {
      await mount.close();
    }
    expect(fs.existsSync(mount.target)).toBe(false);
    await mount.close(); // idempotent
  });

  // Runs after the test above: the opaque dir /usr (rm -rf /usr; mkdir /usr/bin) hides the image's /usr/sbin.
  test('mountContainer honours opaque dirs of the rw layer', () => {
    expect(stoppedRows).toBeDefined();
    const paths = new Set(stoppedRows!.map((r) => r.path));
    expect(paths.has(`${OPAQUE}/bin/new`)).toBe(true);
    expect(paths.has(`${OPAQUE}/sbin`)).toBe(false);
  });

  test('mountImage walks the image: equal to its layer, in the order podman inspect gives', async () => {
    const data = graphDriverData(IMAGE, 'image');
    const layers = [data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])];
    const img = podman.image(IMAGE);
    expect(pod(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).trim()).toBe(img.id);
    for (const ref of [IMAGE, 'unshare-fs-test', `${IMAGE}:latest`, img.id, img.id.slice(0, 12), `sha256:${img.id}`]) {
      expect(podman.image(ref).id).toBe(img.id);
    }
    const mount = await podman.mountImage(img.id.slice(0, 12));
    try {
      expect(mount.layers).toEqual(layers);
      expect(mount.image?.id).toBe(img.id);
      const rows = await rowsOf(mount.session, '/');
      console.log(`${MODE} image ${IMAGE}: ${rows.length} entries in ${layers.length} layer(s)`);
      expect(rows.length).toBeGreaterThan(250);
      expect(rows.some((r) => r.path === 'bin/busybox')).toBe(true);
      expect(rows.some((r) => r.path.startsWith('data/'))).toBe(false);
      if (layers.length === 1) expect(portable(rows)).toEqual(portable(findRows(layers[0]!)));
    } finally {
      await mount.close();
    }
  });

  test("clear errors: unknown container and image, no podman, stale pause pid, another user's storage", async () => {
    expect(await codeOf(podman.enterContainer('unshare-fs-no-such-container'))).toBe('ENOCONTAINER');
    expect(await codeOf(podman.enterMerged('unshare-fs-no-such-container'))).toBe('ENOCONTAINER');
    expect(await codeOf(podman.mountContainer('unshare-fs-no-such-container'))).toBe('ENOCONTAINER');
    expect(await codeOf(podman.mountImage('localhost/unshare-fs-no-such-image'))).toBe('ENOIMAGE');
    const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-runtime-'));
    try {
      expect(await codeOf(podman.enterStorage({ runtimeDir }))).toBe('ENOPODMAN');
      fs.mkdirSync(path.join(runtimeDir, 'libpod/tmp'), { recursive: true });
      fs.writeFileSync(path.join(runtimeDir, 'libpod/tmp/pause.pid'), String(process.pid));
      expect(await codeOf(podman.enterStorage({ runtimeDir }))).toBe('EPODMANSTALE');
    } finally {
      fs.rmSync(runtimeDir, { recursive: true, force: true });
    }
    if (!ROOTFUL) {
      // Rootful podman's storage belongs to root.
      let error: unknown;
      try {
        podman.containers({ uid: 0 });
      } catch (e) {
        error = e;
      }
      if (fs.existsSync('/var/lib/containers/storage')) {
        expect(error).toBeInstanceOf(podman.PodmanError);
        expect((error as podman.PodmanError).code).toBe('EPODMANACCESS');
        expect((error as Error).message).toMatch(/belongs to uid 0/);
      }
      expect(await codeOf(podman.enterStorage({ uid: 0 }))).toBe('EPODMANACCESS');
    }
  });
});

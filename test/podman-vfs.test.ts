// podman's vfs storage driver, against podman itself: a store of its own
// (CONTAINERS_STORAGE_CONF with driver = "vfs"; podman's --root, --runroot
// and --tmpdir, so that libpod's database and state are its own too; all in
// a temp dir removed at the end), so the overlay store of the other podman
// tests and podman's shared state are never touched.  The test image
// is copied in with `podman save` / `podman load`, one container changed by
// `podman exec` (a 0700 directory of uid 1000 added, files deleted and
// changed, a chown, a chmod, a symlink replaced, a directory removed and
// made again; a user.* xattr and a file capability set by the library).  Checked: the store as podman info reports it, discovery,
// the container's dir walked through the storage session entry by entry
// against `podman unshare find`, diff against `podman diff` (running,
// stopped, the image), exportContainer against `podman export`, df
// against `podman system df -v`, the library's read-only mounts, and what
// vfs cannot do.  Rootless as an
// ordinary user, rootful as root.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { containers, podman, type BigIntStats, type Entry, type FileSystem, type LayerChange } from '../lib';
import { dfTable, humanSize, IMAGE, podmanEnv, podmanImage, ROOTFUL, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';
import { FIND_FORMAT, parseFind, removeTree, tempDir, walkRows, type Row } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const NAME = `unshare-fs-vfs-${process.pid}`;
const gate = requires(podmanImage);

const CHANGES = `
  mkdir -m 0700 /newdir && echo secret > /newdir/f && chown -R 1000:1000 /newdir
  rm /etc/motd
  echo 'x:x:5:5::/:/bin/sh' >> /etc/passwd
  chown 1000:1000 /etc/group
  chmod 0700 /tmp
  ln -sf /bin/true /bin/cmp
  rm -r /home && mkdir -p /home/other && echo hi > /home/other/f
`;

/** Rows without inode numbers, which an overlay mount shows its own way. */
const withoutInodes = (rows: Row[]): Omit<Row, 'ino'>[] => rows.map((row) => ({ ...row, ino: undefined }));

const KIND: Record<string, LayerChange['kind']> = { A: 'added', C: 'changed', D: 'deleted' };

gate.describe(`podman's vfs driver, a store of its own (${MODE}, uid ${UID})`, () => {
  let dir: string;
  let graphRoot: string;
  let runRoot: string;
  let storageConf: string;
  let env: NodeJS.ProcessEnv;

  /**
   * podman on the vfs store: --root and --runroot because rootless podman
   * 4.3 takes only driver and rootless_storage_path from
   * CONTAINERS_STORAGE_CONF (and --root puts libpod's database in it);
   * --tmpdir because libpod's default one is shared by every store.
   */
  function vfsPod(args: string[]): string {
    try {
      return execFileSync('podman', ['--root', graphRoot, '--runroot', runRoot, '--tmpdir', path.join(runRoot, 'libpod'), ...args], {
        encoding: 'utf8',
        cwd: '/',
        env,
        maxBuffer: 1 << 28,
        stdio: 'pipe',
      });
    } catch (error) {
      const e = error as Error & { stderr?: string };
      e.message = `podman ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`;
      throw e;
    }
  }

  /** find -printf over `root` as podman sees it: `podman unshare find` rootless, plain find rootful. */
  function findRows(root: string): Row[] {
    const args = [root, '-mindepth', '1', '-printf', FIND_FORMAT];
    return parseFind(ROOTFUL ? execFileSync('find', args, { encoding: 'utf8', maxBuffer: 1 << 28 }) : vfsPod(['unshare', 'find', ...args]));
  }

  async function rowsOf(fsApi: FileSystem): Promise<Row[]> {
    return walkRows(fsApi.walk('/', { stat: true, bigint: true }) as AsyncIterable<Entry<string, BigIntStats>>, '/', (p) =>
      fsApi.readlink(p),
    );
  }

  /** `podman diff`'s lines as the library's changes, sorted the same way. */
  function podmanDiff(ref: string): LayerChange[] {
    return vfsPod(['diff', ref])
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => ({ path: line.slice(2), kind: KIND[line[0]!]! }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async function podmanExport(name: string): Promise<Map<string, string>> {
    const file = path.join(dir, `${name}.tar`);
    vfsPod(['export', '-o', file, name]);
    return tarEntries(fs.createReadStream(file));
  }

  beforeAll(() => {
    dir = tempDir('unshare-fs-podman-vfs-');
    graphRoot = path.join(dir, 'graph');
    runRoot = path.join(dir, 'run');
    storageConf = path.join(dir, 'storage.conf');
    fs.writeFileSync(
      storageConf,
      `[storage]\ndriver = "vfs"\ngraphroot = "${graphRoot}"\nrunroot = "${runRoot}"\nrootless_storage_path = "${graphRoot}"\n`,
    );
    env = { ...podmanEnv(), CONTAINERS_STORAGE_CONF: storageConf };
    const image = path.join(dir, 'image.tar');
    execFileSync('podman', ['save', '-q', '-o', image, IMAGE], { cwd: '/', env: podmanEnv(), stdio: 'pipe' });
    vfsPod(['load', '-q', '-i', image]);
    fs.unlinkSync(image);
    vfsPod(['run', '-d', '--network', 'none', '--name', NAME, IMAGE, 'sleep', '600']);
    vfsPod(['exec', NAME, '/bin/sh', '-ec', CHANGES]);
  });

  /**
   * What stats alone do not show, made by the library where busybox has no
   * tool for it: a user.* xattr, and a file capability (CAP_CHOWN
   * permitted, not effective: busybox still runs as it did).
   */
  async function changeXattrs(): Promise<void> {
    const session = await podman.enterMerged(NAME, { env });
    try {
      await session.setXattr('/etc/os-release', 'user.unshare-fs', 'noted');
      const capability = Buffer.alloc(20);
      capability.writeUInt32LE(0x02000000, 0); // VFS_CAP_REVISION_2, no effective bit
      capability.writeUInt32LE(1, 4); // permitted: CAP_CHOWN
      await session.setXattr('/bin/busybox', 'security.capability', capability);
    } finally {
      await session.close();
    }
  }

  afterAll(() => {
    if (!dir) return;
    try {
      vfsPod(['rm', '-f', '-t', '0', NAME]);
    } finally {
      // The store's files belong to subordinate ids: removed where podman sees them as root.
      if (!ROOTFUL && fs.existsSync(graphRoot)) vfsPod(['unshare', 'rm', '-rf', graphRoot, runRoot]);
      removeTree(dir);
    }
  });

  test('the store podman uses is the one the library reads from CONTAINERS_STORAGE_CONF', () => {
    const [driver, graph, run] = vfsPod(['info', '--format', '{{.Store.GraphDriverName}} {{.Store.GraphRoot}} {{.Store.RunRoot}}'])
      .trim()
      .split(' ');
    expect([driver, graph, run]).toEqual(['vfs', graphRoot, runRoot]);
    const cfg = podman.storageConfig({ env });
    expect(cfg).toMatchObject({ driver: 'vfs', graphRoot, runRoot, configFile: storageConf, rootless: !ROOTFUL });
    expect(podman.storageConfig({ storageConf })).toEqual(cfg);
  });

  test('containers, images and layers listed with the vfs layout', () => {
    const id = vfsPod(['inspect', '--format', '{{.Id}}', NAME]).trim();
    const imageId = vfsPod(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).trim();
    const c = podman.container(NAME, { env });
    const layerDir = path.join(graphRoot, 'vfs', 'dir', c.layer);
    expect(c).toMatchObject({ id, image: imageId, mergedDir: layerDir, upperDir: layerDir, workDir: '', lowerDirs: [] });
    expect(c.pid).toBe(Number(vfsPod(['inspect', '--format', '{{.State.Pid}}', NAME])));
    expect(podman.containers({ storageConf }).map((x) => x.id)).toEqual([id]);
    const img = podman.image(IMAGE, { env });
    expect(img.id).toBe(imageId);
    expect(podman.layerChain(img.layer, { env })).toEqual([path.join(graphRoot, 'vfs', 'dir', img.layer)]);
    // The container's layer sits on the image's: its chain is both whole trees.
    expect(podman.layerChain(c.layer, { env })).toEqual([layerDir, path.join(graphRoot, 'vfs', 'dir', img.layer)]);
    const failures: Error[] = [];
    const row = containers({ env, onError: (error) => failures.push(error) }).find((x) => x.id === id);
    expect(failures.filter((error) => error instanceof podman.PodmanError)).toEqual([]);
    expect(row).toMatchObject({ engine: 'podman', running: true, mergedDir: layerDir, upperDir: layerDir, lowerDirs: [] });
  });

  test("enterMerged: the container's dir walked entry by entry as podman unshare find lists it, ids as the container sees them", async () => {
    const c = podman.container(NAME, { env });
    const session = await podman.enterMerged(NAME, { env });
    try {
      const ours = await rowsOf(session);
      const theirs = findRows(c.mergedDir);
      expect(ours.length).toBeGreaterThan(250);
      expect(ours).toEqual(theirs);
      expect(ours.find((r) => r.path === 'newdir')).toMatchObject({ type: 'd', mode: '700', uid: 1000, gid: 1000 });
      expect(ours.find((r) => r.path === 'etc/group')).toMatchObject({ uid: 1000, gid: 1000 });
      expect(await session.readFile('/newdir/f', 'utf8')).toBe('secret\n');
      expect(await session.readFile('/etc/passwd', 'utf8')).toBe(vfsPod(['exec', NAME, 'cat', '/etc/passwd']));
      // An absolute symlink resolves inside the container's dir.
      // (Buffer.equals: jest's toEqual goes byte by byte through 2 MB.)
      expect((await session.readFile('/bin/cmp')).equals(await session.readFile('/bin/busybox'))).toBe(true);
    } finally {
      await session.close();
    }
  });

  test('diff equals podman diff: the running container, and the image', async () => {
    await changeXattrs();
    const expected = podmanDiff(NAME);
    expect(expected).toEqual(
      expect.arrayContaining([
        { path: '/newdir', kind: 'added' },
        { path: '/newdir/f', kind: 'added' },
        { path: '/etc/motd', kind: 'deleted' },
        { path: '/etc/passwd', kind: 'changed' },
        { path: '/etc/group', kind: 'changed' },
        { path: '/tmp', kind: 'changed' },
        { path: '/bin/cmp', kind: 'changed' },
        { path: '/home/other/f', kind: 'added' },
        { path: '/home/user', kind: 'deleted' },
        // Stats equal, xattrs not: podman compares user.* and security.capability.
        { path: '/etc/os-release', kind: 'changed' },
        { path: '/bin/busybox', kind: 'changed' },
      ]),
    );
    expect(await podman.diff(NAME, { env })).toEqual(expected);
    const imageChanges = await podman.diff(IMAGE, { env });
    expect(imageChanges.length).toBeGreaterThan(250);
    expect(imageChanges).toEqual(podmanDiff(IMAGE));
  });

  test('exportContainer equals podman export, running and stopped (then through the library mount); diff of it stopped, by id prefix', async () => {
    const running = await tarEntries(podman.exportContainer(NAME, { env }));
    expect(running.get('newdir/f')).toMatch(/^file 1000 1000 644 7 /);
    expect(running.has('etc/motd')).toBe(false);
    expect(running).toEqual(await podmanExport(NAME));

    vfsPod(['stop', '-t', '0', NAME]);
    expect(podman.container(NAME, { env }).pid).toBeNull();
    const stopped = await tarEntries(podman.exportContainer(NAME, { env }));
    expect(stopped).toEqual(await podmanExport(NAME));
    const id = vfsPod(['inspect', '--format', '{{.Id}}', NAME]).trim();
    expect(await podman.diff(id.slice(0, 12), { env })).toEqual(podmanDiff(NAME));
  });

  test("mountContainer and mountImage: the one layer dir, read-only, in a namespace of the library's own; enterMerged stopped", async () => {
    const c = podman.container(NAME, { env });
    const mounted = await podman.mountContainer(NAME, { env });
    try {
      expect(mounted.layers).toEqual([c.mergedDir]);
      expect(withoutInodes(await rowsOf(mounted.session))).toEqual(withoutInodes(findRows(c.mergedDir)));
      await expect(mounted.session.writeFile('/newdir/g', 'x')).rejects.toMatchObject({ code: 'EROFS' });
    } finally {
      await mounted.close();
    }
    // Stopped, podman counts no mount of it; the dir is there all the same.
    expect(podman.container(NAME, { env }).mounted).toBe(false);
    const merged = await podman.enterMerged(NAME, { env });
    try {
      expect(await merged.readFile('/newdir/f', 'utf8')).toBe('secret\n');
    } finally {
      await merged.close();
    }
    const img = podman.image(IMAGE, { env });
    const image = await podman.mountImage(IMAGE, { env });
    try {
      const rows = await rowsOf(image.session);
      expect(rows.find((r) => r.path === 'etc/motd')).toMatchObject({ type: 'f' });
      expect(withoutInodes(rows)).toEqual(withoutInodes(findRows(path.join(graphRoot, 'vfs', 'dir', img.layer))));
    } finally {
      await image.close();
    }
  });

  test('exportLayer, which needs an overlay upper dir, is refused as EPODMANDRIVER', async () => {
    await expect(tarEntries(podman.exportLayer(NAME, { env }))).rejects.toMatchObject({ code: 'EPODMANDRIVER' });
  });

  test('df equals podman system df -v: the image, and the container measured by its naive diff', async () => {
    const usage = await podman.df({ env });
    const text = vfsPod(['system', 'df', '-v']);
    const c = podman.container(NAME, { env });
    const img = podman.image(IMAGE, { env });
    // CONTAINER-ID IMAGE COMMAND LOCAL-VOLUMES SIZE ...
    const theirContainer = dfTable(text, 'Containers space usage').find((r) => r[0] === c.id.slice(0, 12));
    const mine = usage.containers.find((x) => x.id === c.id)!;
    const ours = usage.images.find((i) => i.id === img.id)!;
    expect(humanSize(mine.size)).toBe(theirContainer?.[4]);
    // Its changes (busybox among them: the library set a capability on it), not its whole tree.
    expect(mine.size).toBeGreaterThan('secret\n'.length);
    expect(mine.size).toBeLessThan(ours.size);
    // REPOSITORY TAG IMAGE-ID CREATED SIZE SHARED UNIQUE CONTAINERS
    const theirImage = dfTable(text, 'Images space usage').find((r) => r[2] === img.id.slice(0, 12));
    expect([humanSize(ours.size), humanSize(ours.sharedSize), humanSize(ours.uniqueSize), String(ours.containers)]).toEqual(
      theirImage?.slice(4, 8),
    );
  });
});

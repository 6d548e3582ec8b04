// Podman whose overlay driver mounts with fuse-overlayfs (storage.conf's
// mount_program), in a store of its own (test/helpers/podman-fuse.ts):
// rootless as an ordinary user, rootful as root.  A container changed by
// `podman exec` (a 0700 directory of uid 1000 added, a file deleted, a
// directory removed and made again, so opaque) against podman's own
// tools: podman.diff against `podman diff`, a walk of its merged dir
// against `podman unshare find`, exportContainer against `podman export`,
// exportLayer against the upper dir as `podman unshare find` lists it.
// fuse-overlayfs keeps its own markers in the upper dir (an opaque
// directory holds `.wh..wh..opq` and a 0/0 `.wh..opq`): none may show.
// A program SIGKILLed while it holds mountImage's fuse-overlayfs mount
// leaves no process behind (its daemon would keep the namespace alive).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { podman, type BigIntStats, type Entry, type LayerChange } from '../lib';
import { readTar } from '../lib/layers/tar';
import { dfTable, humanSize, IMAGE, podmanImage, ROOTFUL, UID } from './helpers/podman';
import { createFuseStore, removeFuseStore, type FuseStore } from './helpers/podman-fuse';
import { processesInMountNamespace, waitMountNamespaceEmpty } from './helpers/procs';
import { fuseOverlayfs, requires } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';
import { FIND_FORMAT, parseFind, walkRows, type Row } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const NAME = `unshare-fs-fuse-${process.pid}`;
const COMMITTED = `localhost/unshare-fs-fuse-committed-${process.pid}`;
const gate = requires(podmanImage, fuseOverlayfs);

// /usr holds bin/ and sbin/ in the image: made again with bin/ only, it is
// opaque, /usr/sbin is gone and /usr/bin is there in both.
const CHANGES = `
  mkdir -m 0700 /newdir && chown 1000:1000 /newdir
  rm /etc/motd
  rm -rf /usr && mkdir -p /usr/bin && echo tool > /usr/bin/tool
`;

const KIND: Record<string, LayerChange['kind']> = { A: 'added', C: 'changed', D: 'deleted' };
const byPath = <T extends { path: string }>(a: T, b: T): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Each entry's name (as many times as it is there) and the xattrs it carries. */
async function tarNames(source: AsyncIterable<Buffer>): Promise<{ names: string[]; xattrs: string[] }> {
  const names: string[] = [];
  const xattrs: string[] = [];
  for await (const entry of readTar(source)) {
    const name = entry.header.name.toString('latin1').replace(/\/$/, '');
    names.push(name);
    for (const key of entry.header.xattrs?.keys() ?? []) xattrs.push(`${name} ${key}`);
    for await (const _chunk of entry.body()) {
      // drained
    }
  }
  return { names, xattrs };
}

gate.describe(`podman with fuse-overlayfs (${MODE}, uid ${UID})`, () => {
  let store: FuseStore;
  let upperDir: string;
  let mergedDir: string;

  beforeAll(() => {
    store = createFuseStore();
    store.pod(['run', '-d', '--network', 'none', '--name', NAME, IMAGE, 'sleep', '600']);
    store.pod(['exec', NAME, '/bin/sh', '-ec', CHANGES]);
    store.pod(['exec', '--user', '1000', NAME, '/bin/sh', '-ec', 'echo secret > /newdir/s && chmod 0600 /newdir/s']);
    const data = JSON.parse(store.pod(['inspect', '--format', '{{json .GraphDriver.Data}}', NAME])) as Record<string, string>;
    upperDir = data.UpperDir!;
    mergedDir = data.MergedDir!;
  });

  afterAll(() => {
    if (store) removeFuseStore(store);
  });

  /** `podman diff`'s lines as the library's changes, sorted the same way. */
  function podmanDiff(ref: string): LayerChange[] {
    return store
      .pod(['diff', ref])
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => ({ path: line.slice(2), kind: KIND[line[0]!]! }))
      .sort(byPath);
  }

  /** find -printf over `dir` as podman sees it: `podman unshare find` rootless, plain find rootful. */
  function findRows(dir: string, args: string[] = ['-mindepth', '1']): Row[] {
    const argv = [dir, ...args, '-printf', FIND_FORMAT];
    return parseFind(
      ROOTFUL ? execFileSync('find', argv, { encoding: 'utf8', maxBuffer: 1 << 28 }) : store.pod(['unshare', 'find', ...argv]),
    );
  }

  test('the store is what the library reads: fuse-overlayfs mounts it, and its markers are in the upper dir', () => {
    const cfg = podman.storageConfig(store.options);
    expect(cfg).toMatchObject({ driver: 'overlay', mountProgram: '/usr/bin/fuse-overlayfs', graphRoot: store.graphRoot });
    expect(podman.container(NAME, store.options).upperDir).toBe(upperDir);
    // containers-storage marks a store a mount program ran for (and then
    // keeps to it): the library reads that mark too (podmanLayerFormat).
    expect(fs.readFileSync(path.join(store.graphRoot, 'overlay', '.has-mount-program'), 'utf8')).toBe('true');
    const upper = findRows(upperDir);
    const marker = (p: string) => upper.find((r) => r.path === p);
    // What fuse-overlayfs wrote: the deletion as a 0/0 device, the opaque
    // directories' markers beside their xattr.
    expect(marker('etc/motd')).toMatchObject({ type: 'c' });
    for (const dir of ['usr', 'newdir']) {
      expect(marker(`${dir}/.wh..wh..opq`)).toMatchObject({ type: 'f' });
      expect(marker(`${dir}/.wh..opq`)).toMatchObject({ type: 'c' });
    }
  });

  test('podman.diff equals podman diff', async () => {
    const expected = podmanDiff(NAME);
    expect(expected).toEqual(
      expect.arrayContaining([
        { path: '/newdir', kind: 'added' },
        { path: '/newdir/s', kind: 'added' },
        { path: '/etc/motd', kind: 'deleted' },
        { path: '/usr/sbin', kind: 'deleted' },
        { path: '/usr/bin/tool', kind: 'added' },
      ]),
    );
    const ours = await podman.diff(NAME, store.options);
    expect(ours.filter((c) => c.path.includes('.wh.'))).toEqual([]);
    expect(ours).toEqual(expected);
  });

  test('podman.diff of the image equals podman diff of it', async () => {
    const expected = podmanDiff(IMAGE);
    expect(expected.length).toBeGreaterThan(250);
    expect(await podman.diff(IMAGE, store.options)).toEqual(expected);
  });

  test('a walk of the merged dir equals podman unshare find, entry by entry', async () => {
    const session = await podman.enterStorage(store.options);
    try {
      const ours = await walkRows(
        session.walk(mergedDir, { stat: true, bigint: true, encoding: 'utf8' }) as AsyncIterable<Entry<string, BigIntStats>>,
        mergedDir,
        (p) => session.readlink(p),
      );
      const theirs = findRows(mergedDir);
      expect(ours.length).toBeGreaterThan(250);
      expect(ours).toEqual(theirs);
      expect(ours.find((r) => r.path === 'newdir')).toMatchObject({ type: 'd', mode: '700', uid: 1000, gid: 1000 });
      expect(ours.filter((r) => r.path.includes('.wh.'))).toEqual([]);
    } finally {
      await session.close();
    }
  });

  test('exportContainer equals podman export', async () => {
    const file = path.join(store.base, 'podman-export.tar');
    store.pod(['export', '-o', file, NAME]);
    const theirs = await tarEntries(fs.createReadStream(file));
    fs.rmSync(file);
    const ours = await tarEntries(podman.exportContainer(NAME, store.options));
    expect(ours.get('newdir/s')).toMatch(/^file 1000 1000 600 7 /);
    expect(ours).toEqual(theirs);
  });

  test("exportLayer: OCI whiteouts and opaque markers only, for what the upper dir's markers mean", async () => {
    const { names, xattrs } = await tarNames(podman.exportLayer(NAME, store.options));
    const layer = await tarEntries(podman.exportLayer(NAME, store.options));
    // From the upper dir as podman unshare find lists it: every entry but
    // fuse-overlayfs's own; a deletion (0/0 device outside an opaque
    // directory) as `.wh.<name>`; an opaque directory (one with
    // `.wh..wh..opq`) marked by `<dir>/.wh..wh..opq`.
    const upper = findRows(upperDir);
    const opaque = new Set(upper.filter((r) => path.basename(r.path) === '.wh..wh..opq').map((r) => path.dirname(r.path)));
    const devices = upper.filter((r) => r.type === 'c').map((r) => path.join(upperDir, r.path));
    const statArgs = ['-c', '%t:%T %n', ...devices];
    const whiteouts = new Set(
      (ROOTFUL ? execFileSync('stat', statArgs, { encoding: 'utf8' }) : store.pod(['unshare', 'stat', ...statArgs]))
        .split('\n')
        .filter((line) => line.startsWith('0:0 '))
        .map((line) => path.relative(upperDir, line.slice(4))),
    );
    const expected = new Set<string>();
    for (const row of upper) {
      const name = path.basename(row.path);
      const dir = path.dirname(row.path);
      if (name.startsWith('.wh.')) continue;
      const deleted = whiteouts.has(row.path);
      if (deleted && opaque.has(dir)) continue;
      expected.add(deleted ? path.join(dir, `.wh.${name}`) : row.path);
    }
    for (const dir of opaque) expected.add(`${dir}/.wh..wh..opq`);
    expect(expected).toContain('etc/.wh.motd');
    expect(expected).toContain('usr/.wh..wh..opq');
    // Each once: fuse-overlayfs's `.wh..opq` device, read as overlay's
    // whiteout, would come out as a second `.wh..wh..opq`.
    expect([...names].sort()).toEqual([...expected].sort());
    expect(xattrs.filter((x) => x.includes('fuseoverlayfs') || x.includes('overlay.'))).toEqual([]);
    for (const [name, line] of layer) {
      if (path.basename(name).startsWith('.wh.')) expect(line).toMatch(/^file .* 0 /);
    }
  });

  test('mountImage: its layers through fuse-overlayfs in a namespace of our own equal podman unshare find of its layer', async () => {
    const img = podman.image(IMAGE, store.options);
    const [imageLayer] = podman.layerChain(img.layer, store.options);
    const mounted = await podman.mountImage(IMAGE, store.options);
    try {
      const ours = await walkRows(
        mounted.session.walk('/', { stat: true, bigint: true, encoding: 'utf8' }) as AsyncIterable<Entry<string, BigIntStats>>,
        '/',
        (p) => mounted.session.readlink(p),
      );
      const theirs = findRows(imageLayer!);
      const portable = (rows: Row[]) => rows.map(({ ino: _ino, ...rest }) => rest);
      expect(ours.length).toBeGreaterThan(250);
      expect(portable(ours)).toEqual(portable(theirs));
    } finally {
      await mounted.close();
    }
  });

  test('mountImage in a program SIGKILLed while it holds the mount: no fuse-overlayfs daemon, holder or worker is left', async () => {
    const script = `
      const { podman } = require(${JSON.stringify(path.resolve(__dirname, '../dist'))});
      podman.mountImage(${JSON.stringify(IMAGE)}, ${JSON.stringify(store.options)}).then((m) => {
        console.log(JSON.stringify({ holder: m.namespace.pid, target: m.target }));
        setInterval(() => {}, 1000);
      }, (e) => { console.error(e); process.exit(3); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    const line = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
      });
      child.on('close', () => reject(new Error(`the child ended before mounting: ${stdout}`)));
    });
    const { holder, target } = JSON.parse(line) as { holder: number; target: string };
    try {
      const mntNs = fs.readlinkSync(`/proc/${holder}/ns/mnt`);
      const before = processesInMountNamespace(mntNs);
      expect(before.filter((p) => p.endsWith(' fuse-overlayfs')).length).toBeGreaterThan(0);
      child.kill('SIGKILL');
      expect(await ended).toBe('SIGKILL');
      expect({ before, left: await waitMountNamespaceEmpty(mntNs) }).toEqual({ before, left: [] });
    } finally {
      child.kill('SIGKILL');
      // The mount went with the namespace; its empty dir stays on the host.
      try {
        fs.rmdirSync(target);
      } catch {
        // gone
      }
    }
  });

  test('an image committed from it (a layer unpacked with AUFS whiteouts, as for a mount program): diff, and a new container of it exported', async () => {
    store.pod(['commit', '-q', NAME, COMMITTED]);
    const [top] = podman.layerChain(podman.image(COMMITTED, store.options).layer, store.options);
    // containers-storage unpacked the deletion as a `.wh.` file, not a device.
    expect(findRows(top!).find((r) => r.path === 'etc/.wh.motd')).toMatchObject({ type: 'f' });
    expect(await podman.diff(COMMITTED, store.options)).toEqual(podmanDiff(COMMITTED));
    const created = `${NAME}-of-committed`;
    store.pod(['create', '-q', '--name', created, COMMITTED, 'true']);
    const file = path.join(store.base, 'podman-export-created.tar');
    store.pod(['export', '-o', file, created]);
    const theirs = await tarEntries(fs.createReadStream(file));
    fs.rmSync(file);
    const ours = await tarEntries(podman.exportContainer(created, store.options));
    expect(ours.has('etc/motd')).toBe(false);
    expect([...ours.keys()].filter((name) => name.includes('.wh.'))).toEqual([]);
    expect(ours).toEqual(theirs);
  });

  test('df equals podman system df -v: the container (its changes) and the image', async () => {
    const usage = await podman.df(store.options);
    const text = store.pod(['system', 'df', '-v']);
    const c = podman.container(NAME, store.options);
    const img = podman.image(IMAGE, store.options);
    // CONTAINER-ID IMAGE COMMAND LOCAL-VOLUMES SIZE ...
    const theirContainer = dfTable(text, 'Containers space usage').find((r) => r[0] === c.id.slice(0, 12));
    const mine = usage.containers.find((x) => x.id === c.id);
    expect(humanSize(mine?.size ?? -1)).toBe(theirContainer?.[4]);
    // REPOSITORY TAG IMAGE-ID CREATED SIZE SHARED UNIQUE CONTAINERS
    const theirImage = dfTable(text, 'Images space usage').find((r) => r[2] === img.id.slice(0, 12));
    const ours = usage.images.find((i) => i.id === img.id);
    expect(ours && [humanSize(ours.size), humanSize(ours.sharedSize), humanSize(ours.uniqueSize), String(ours.containers)]).toEqual(
      theirImage?.slice(4, 8),
    );
  });

  test('the container stopped: exportContainer (its layers mounted by the library with fuse-overlayfs) equals podman export, diff podman diff', async () => {
    store.pod(['stop', '-t', '0', NAME]);
    expect(podman.container(NAME, store.options).mounted).toBe(false);
    const file = path.join(store.base, 'podman-export-stopped.tar');
    store.pod(['export', '-o', file, NAME]);
    const theirs = await tarEntries(fs.createReadStream(file));
    fs.rmSync(file);
    const ours = await tarEntries(podman.exportContainer(NAME, store.options));
    expect(ours.has('usr/sbin')).toBe(false);
    // podman diff mounts the stopped container's layers itself; ours reads them.
    expect(await podman.diff(NAME, store.options)).toEqual(podmanDiff(NAME));
    expect([...ours.keys()].filter((name) => name.includes('.wh.'))).toEqual([]);
    expect(ours).toEqual(theirs);
  });
});

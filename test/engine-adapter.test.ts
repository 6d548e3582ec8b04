// The shared engine code (lib/engine/) over an adapter of the test's own:
// layer dirs made here with node:fs, records that name them, and errors of
// a class of the test's.  What podman's and Docker's adapters say
// differently (the process holding the mounts, what ECONTAINERSTOPPED says,
// whether diff takes images, what diff leaves out) is asked of this one, and
// what comes back is held to what node:fs wrote and GNU tar reads.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import { createNamespace, type Namespace } from '../lib';
import type { AdapterContainer, AdapterImage, EngineAdapter } from '../lib/engine/adapter';
import { EngineError, type EngineFailure } from '../lib/engine/errors';
import { diff, exportContainer, exportLayer } from '../lib/engine/layers';
import { mountContainer, mountImage } from '../lib/engine/mount';
import { enterContainer, enterMerged, enterStorage } from '../lib/engine/session';
import { enterVolume, exportVolume, volume, volumeDirs } from '../lib/engine/volumes';
import { requires, userNamespaces } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const asRoot = process.geteuid!() === 0;

class FakeError extends EngineError<string> {}

const CODES: Record<EngineFailure, string> = {
  none: 'ENOFAKE',
  stale: 'EFAKESTALE',
  access: 'EFAKEACCESS',
  storage: 'EFAKESTORAGE',
  noLayer: 'ENOLAYER',
  layers: 'EFAKELAYERS',
  stopped: 'ECONTAINERSTOPPED',
  noVolume: 'ENOVOLUME',
  driver: 'EFAKEDRIVER',
};

interface FakeOptions {
  tag?: string;
}

let base: string;
/** Layer dirs by name, top first in each chain. */
const CHAINS: Record<string, string[]> = {};
/** What each layer holds: file name -> content. */
const LAYERS: Record<string, Record<string, string>> = {
  upper: { 'added.txt': 'added\n', 'skipped.txt': 'skipped\n' },
  lower: { 'base.txt': 'base\n' },
  image: { 'image.txt': 'image\n' },
};

beforeAll(() => {
  base = tempDir('unshare-fs-engine-');
  fs.chmodSync(base, 0o755);
  for (const [name, files] of Object.entries(LAYERS)) {
    const dir = path.join(base, name, 'diff');
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.chmodSync(path.dirname(dir), 0o755);
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text, { mode: 0o644 });
  }
  CHAINS.upper = [path.join(base, 'upper', 'diff'), path.join(base, 'lower', 'diff')];
  CHAINS.image = [path.join(base, 'image', 'diff')];
});
afterAll(() => removeTree(base));

const stopped: AdapterContainer = {
  id: 'c'.repeat(64),
  names: ['fake1'],
  layer: 'upper',
  mergedDir: '/nonexistent/merged',
  mounted: false,
  mountPoint: null,
  pid: null,
};
const images: AdapterImage[] = [
  { id: 'a'.repeat(64), names: ['fake-image'], layer: 'image' },
  { id: 'b'.repeat(64), names: ['empty-image'], layer: '' },
];

/** An adapter over the layers above; `change` replaces what a test asks of it. */
function fake(change: Partial<EngineAdapter<FakeOptions>> = {}): EngineAdapter<FakeOptions> {
  return {
    name: 'fake engine',
    optionKeys: { options: ['tag'], paths: [] },
    fail: (failure, message, details) => new FakeError('FakeError', CODES[failure], message, details),
    storage: () => ({ rootless: false, dir: base, layout: 'overlay' }),
    storageProcess: () => null,
    enginePid: () => {
      throw new FakeError('FakeError', 'ENOFAKE', 'no engine process');
    },
    container: (nameOrId) => {
      if (nameOrId === stopped.names[0] || nameOrId === stopped.id) return stopped;
      throw new FakeError('FakeError', 'ENOCONTAINER', `no such container: ${nameOrId}`);
    },
    image: (ref) => {
      const found = images.find((i) => i.names.includes(ref) || i.id === ref);
      if (found) return found;
      throw new FakeError('FakeError', 'ENOIMAGE', `no such image: ${ref}`);
    },
    layerChain: (layer) => CHAINS[layer]!,
    volumesDir: () => path.join(base, 'volumes'),
    volumes: () =>
      volumeDirs(path.join(base, 'volumes'), fake().fail).map(({ name, mountPoint }) => ({
        name,
        mountPoint,
        driver: null,
        labels: null,
        createdAt: null,
        containers: null,
      })),
    layerFormat: () => 'overlay',
    notMounted: 'is not running (fake: its layer is not mounted)',
    diffImages: true,
    diffSkips: new Set(),
    ...change,
  };
}

async function failureOf(run: () => Promise<unknown>): Promise<Error & { code?: string; pid?: number }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('the call succeeded');
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The names under a layer stack, as node:fs lists the layers. */
function namesOf(layers: string[]): string[] {
  return [...new Set(layers.flatMap((dir) => fs.readdirSync(dir)))].sort();
}

describe("the adapter's errors and messages", () => {
  test("enterMerged of an unmounted container: the adapter's ECONTAINERSTOPPED, in its words", async () => {
    const error = await failureOf(() => enterMerged(fake(), 'fake1', {}));
    expect(error).toBeInstanceOf(FakeError);
    expect(error.code).toBe('ECONTAINERSTOPPED');
    expect(error.message).toBe(
      `ECONTAINERSTOPPED: container fake1 (${'c'.repeat(12)}) is not running (fake: its layer is not mounted): use mountContainer() to read its files`,
    );
  });

  test('enterContainer of a container with no pid: ECONTAINERSTOPPED', async () => {
    const error = await failureOf(() => enterContainer(fake(), 'fake1', {}));
    expect(error).toBeInstanceOf(FakeError);
    expect(error.code).toBe('ECONTAINERSTOPPED');
  });

  test("a container the adapter does not know: the adapter's own error, untouched", async () => {
    const error = await failureOf(() => enterMerged(fake(), 'nobody', {}));
    expect(error.code).toBe('ENOCONTAINER');
    expect(error.message).toBe('ENOCONTAINER: no such container: nobody');
  });

  test("mountImage of an image with no layer: the adapter's ENOLAYER", async () => {
    const error = await failureOf(() => mountImage(fake(), 'empty-image', {}));
    expect(error).toBeInstanceOf(FakeError);
    expect(error.code).toBe('ENOLAYER');
  });

  test('diff of an image where the engine diffs containers only: the ENOCONTAINER of the name', async () => {
    const error = await failureOf(() => diff(fake({ diffImages: false }), 'fake-image', {}));
    expect(error.code).toBe('ENOCONTAINER');
    expect(error.message).toBe('ENOCONTAINER: no such container: fake-image');
  });

  test('diff of a name that is neither: the ENOCONTAINER, not the ENOIMAGE', async () => {
    const error = await failureOf(() => diff(fake(), 'nothing', {}));
    expect(error.code).toBe('ENOCONTAINER');
  });

  // As root the same storage is entered: the next describe's last test.
  if (!asRoot) {
    test("rootful storage (no process holds it) as an ordinary user: the adapter's access error, naming its storage", async () => {
      const error = await failureOf(() => enterStorage(fake(), {}));
      expect(error).toBeInstanceOf(FakeError);
      expect(error.code).toBe('EFAKEACCESS');
      expect(error.message).toBe(`EFAKEACCESS: rootful fake engine's storage (${base}) belongs to root: run as root`);
    });
  }

  test("a process that holds the storage but is gone: enter's own error, the adapter's pid asked for", async () => {
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const pid = Number(gone.stdout.trim());
    let asked = 0;
    const error = await failureOf(() =>
      enterStorage(
        fake({
          storageProcess: () => {
            asked += 1;
            return { pid, what: 'a process that exited' };
          },
        }),
        {},
      ),
    );
    expect(asked).toBe(1);
    expect(error.code).toMatch(/^(ESRCH|ENOENT)$/);
  });
});

requires(userNamespaces).describe('diff in the namespaces of the process the adapter names', () => {
  let holder: Namespace;
  beforeAll(async () => {
    holder = await createNamespace();
  });
  afterAll(() => holder.close());
  const held = (change: Partial<EngineAdapter<FakeOptions>> = {}): EngineAdapter<FakeOptions> =>
    fake({ storageProcess: () => ({ pid: holder.pid, what: 'the test namespace' }), ...change });

  test("a container's rw layer against its lower: what node:fs wrote in it, less the adapter's skips", async () => {
    const all = await diff(held(), 'fake1', {});
    expect(all.filter((c) => c.kind === 'added').map((c) => c.path)).toEqual(
      Object.keys(LAYERS.upper!)
        .map((f) => `/${f}`)
        .sort(),
    );
    const skipped = await diff(held({ diffSkips: new Set(['/skipped.txt']) }), 'fake1', {});
    expect(skipped).toEqual(all.filter((c) => c.path !== '/skipped.txt'));
  });

  test("an image's top layer, where the engine diffs images", async () => {
    const changes = await diff(held(), 'fake-image', {});
    expect(changes.filter((c) => c.kind === 'added').map((c) => c.path)).toEqual(['/image.txt']);
  });

  // As an ordinary user the same storage is refused: the first describe's access error test.
  if (asRoot) {
    test("rootful storage (no process holds it) as root: the host's own namespaces", async () => {
      const changes = await diff(fake(), 'fake-image', {});
      expect(changes.filter((c) => c.kind === 'added').map((c) => c.path)).toEqual(['/image.txt']);
    });
  }
});

requires(userNamespaces).describe('layers mounted in a namespace of our own', () => {
  test('mountContainer stacks the chain the adapter gives: the names node:fs lists in the layers', async () => {
    const mounted = await mountContainer(fake(), 'fake1', {});
    try {
      expect(mounted.container).toBe(stopped);
      expect(mounted.layers).toEqual(CHAINS.upper);
      expect((await mounted.session.readdir('/')).sort()).toEqual(namesOf(CHAINS.upper!));
      expect(await mounted.session.readFile('/base.txt', 'utf8')).toBe(LAYERS.lower!['base.txt']);
    } finally {
      await mounted.close();
    }
    expect(fs.existsSync(mounted.target)).toBe(false);
  });

  test('exportContainer of an unmounted container: its layers as a tar GNU tar lists', async () => {
    const tar = await bytesOf(exportContainer(fake(), 'fake1', { xattrs: false }));
    const listed = spawnSync('tar', ['-t'], { input: tar, encoding: 'utf8' });
    expect(listed.status).toBe(0);
    const names = listed.stdout
      .split('\n')
      .map((n) => n.replace(/^\.?\/?/, '').replace(/\/$/, ''))
      .filter((n) => n !== '');
    expect(names.sort()).toEqual(namesOf(CHAINS.upper!));
  });
});

describe('volumes: the shared code over the adapter', () => {
  beforeAll(() => {
    const volumes = path.join(base, 'volumes');
    fs.mkdirSync(path.join(volumes, 'kept', '_data', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(volumes, 'kept', '_data', 'sub', 'f'), 'volume file\n');
    fs.writeFileSync(path.join(volumes, 'backingFsBlockDev'), '');
    fs.mkdirSync(path.join(volumes, 'linked'));
    fs.symlinkSync('/etc', path.join(volumes, 'linked', '_data'));
    fs.mkdirSync(path.join(volumes, 'no-data'));
    fs.symlinkSync(path.join(volumes, 'kept'), path.join(volumes, 'alias'));
  });

  test('only directories with a _data directory are volumes: no file, no planted symlink', () => {
    expect(volumeDirs(path.join(base, 'volumes'), fake().fail)).toEqual([
      { name: 'kept', mountPoint: path.join(base, 'volumes', 'kept', '_data') },
    ]);
  });

  test("volume(): the adapter's ENOVOLUME for a name it lacks, its storage error for a _data that is a symlink", async () => {
    expect(volume(fake(), 'kept', {}).mountPoint).toBe(path.join(base, 'volumes', 'kept', '_data'));
    for (const name of ['no-data', 'missing', '..', 'alias']) {
      const error = await failureOf(async () => volume(fake(), name, {}));
      expect({ name, code: error.code }).toEqual({ name, code: name === 'alias' ? 'EFAKESTORAGE' : 'ENOVOLUME' });
    }
    const linked = await failureOf(async () => volume(fake(), 'linked', {}));
    expect(linked).toBeInstanceOf(FakeError);
    expect(linked.code).toBe('EFAKESTORAGE');
    expect(linked.message).toContain('is a symlink');
  });

  // Defined as root only: an ordinary user's fake storage is refused (the access error test above).
  if (asRoot)
    test('enterVolume and exportVolume (rootful: the host is the storage): what node:fs and GNU tar see', async () => {
      const session = await enterVolume(fake(), 'kept', {});
      try {
        expect(await session.readdir('/')).toEqual(fs.readdirSync(path.join(base, 'volumes', 'kept', '_data')));
        expect(await session.readFile('/sub/f', 'utf8')).toBe('volume file\n');
      } finally {
        await session.close();
      }
      let told: number[] = [];
      const onProgress = (entries: number, bytes: number): number[] => (told = [entries, bytes]);
      const listed = spawnSync('tar', ['-t'], { input: await bytesOf(exportVolume(fake(), 'kept', { onProgress })), encoding: 'utf8' });
      expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(['sub/', 'sub/f']);
      // onProgress reaches the export: its last call, the two members and sub/f's bytes.
      expect(told).toEqual([2, fs.statSync(path.join(base, 'volumes', 'kept', '_data', 'sub/f')).size]);
    });
});

/**
 * A vfs layer and its parent, each a whole tree, made with node:fs so that
 * each of containers/storage's naive diff rules (pkg/archive changes.go,
 * changes_linux.go, changes_unix.go) decides one path; the expected list is
 * those rules applied by hand.
 */
requires(userNamespaces).describe("vfs layers: whole trees diffed with containers/storage's naive rules", () => {
  let holder: Namespace;
  let trees: string;
  const T = 1000; // every mtime the rules must find equal
  const vfsContainer: AdapterContainer = { ...stopped, id: 'd'.repeat(64), names: ['vfs1'], layer: 'new' };

  function file(root: string, name: string, text: string, mtime = T): void {
    fs.writeFileSync(path.join(root, name), text);
    fs.chmodSync(path.join(root, name), 0o644);
    fs.utimesSync(path.join(root, name), T, mtime);
  }
  function dir(root: string, name: string, mtime = T): void {
    fs.mkdirSync(path.join(root, name));
    fs.chmodSync(path.join(root, name), 0o755);
    fs.utimesSync(path.join(root, name), T, mtime);
  }
  function link(root: string, name: string, target: string): void {
    fs.symlinkSync(target, path.join(root, name));
    fs.lutimesSync(path.join(root, name), T, T);
  }

  beforeAll(async () => {
    holder = await createNamespace();
    trees = tempDir('unshare-fs-vfs-');
    fs.chmodSync(trees, 0o755);
    const old = path.join(trees, 'old');
    const now = path.join(trees, 'new');
    for (const root of [old, now]) {
      fs.mkdirSync(root, { mode: 0o755 });
      dir(root, 'dir');
      file(root, 'dir/a.txt', 'a\n');
      file(root, 'same.txt', 'same\n');
      dir(root, 'touched-dir', root === old ? T : T + 1000);
    }
    file(old, 'dir/b.txt', 'b\n');
    file(now, 'dir/b.txt', 'b changed\n');
    dir(old, 'gone-dir');
    file(old, 'gone-dir/x', 'x\n');
    file(now, 'gone-dir', 'a file now\n');
    file(old, 'file-to-dir', 'f\n');
    dir(now, 'file-to-dir');
    file(now, 'file-to-dir/c', 'c\n');
    // Same length, same mtime: only the targets differ.
    link(old, 'link', 'aaa');
    link(now, 'link', 'bbb');
    // A tar writer rounded the new one up to whole seconds: the same time.
    file(old, 'rounded.txt', 'r\n', T + 0.5);
    file(now, 'rounded.txt', 'r\n', T + 1);
    file(old, 'deleted.txt', 'd\n');
    file(now, 'added.txt', 'new\n');
    for (const root of [old, now]) fs.utimesSync(path.join(root, 'dir'), T, T);
  });
  afterAll(async () => {
    await holder?.close();
    if (trees) removeTree(trees);
  });

  const vfs = (): EngineAdapter<FakeOptions> =>
    fake({
      storage: () => ({ rootless: false, dir: trees, layout: 'vfs' }),
      storageProcess: () => ({ pid: holder.pid, what: 'the test namespace' }),
      container: (nameOrId) => {
        if (nameOrId === 'vfs1') return vfsContainer;
        throw new FakeError('FakeError', 'ENOCONTAINER', `no such container: ${nameOrId}`);
      },
      layerChain: (layer) => (layer === 'new' ? [path.join(trees, 'new'), path.join(trees, 'old')] : [path.join(trees, 'old')]),
    });

  test('each rule decides its path; directories above a change are changed', async () => {
    expect(await diff(vfs(), 'vfs1', {})).toEqual([
      { path: '/added.txt', kind: 'added' },
      { path: '/deleted.txt', kind: 'deleted' },
      { path: '/dir', kind: 'changed' },
      { path: '/dir/b.txt', kind: 'changed' },
      { path: '/file-to-dir', kind: 'changed' },
      { path: '/file-to-dir/c', kind: 'added' },
      { path: '/gone-dir', kind: 'changed' },
      { path: '/link', kind: 'changed' },
    ]);
  });

  test('a base layer (no parent): everything added', async () => {
    const base = fake({
      storage: () => ({ rootless: false, dir: trees, layout: 'vfs' }),
      storageProcess: () => ({ pid: holder.pid, what: 'the test namespace' }),
      layerChain: () => [path.join(trees, 'old')],
    });
    const changes = await diff(base, 'fake-image', {});
    expect(changes.every((c) => c.kind === 'added')).toBe(true);
    expect(changes.map((c) => c.path)).toEqual(
      [
        'dir',
        'dir/a.txt',
        'dir/b.txt',
        'same.txt',
        'touched-dir',
        'gone-dir',
        'gone-dir/x',
        'file-to-dir',
        'link',
        'rounded.txt',
        'deleted.txt',
      ]
        .map((p) => `/${p}`)
        .sort(),
    );
  });

  test('mountContainer mounts the one dir, read-only; exportLayer is the driver error', async () => {
    const mounted = await mountContainer(vfs(), 'vfs1', {});
    try {
      expect(mounted.layers).toEqual([path.join(trees, 'new')]);
      expect((await mounted.session.readdir('/')).sort()).toEqual(fs.readdirSync(path.join(trees, 'new')).sort());
      await expect(mounted.session.writeFile('/x', 'x')).rejects.toMatchObject({ code: 'EROFS' });
    } finally {
      await mounted.close();
    }
    await expect(bytesOf(exportLayer(vfs(), 'vfs1', {}))).rejects.toMatchObject({ code: 'EFAKEDRIVER' });
  });
});

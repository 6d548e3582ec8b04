// diffLayers and exportDiff with `format: 'fuse-overlayfs'`, on layers
// fuse-overlayfs itself wrote: two lower layers made on the host,
// fuse-overlayfs mounted over them in a namespace of our own, changed
// through its merged dir by a shell there, unmounted, then read.  The
// expected changes are containers/storage's for a mount_program (it
// compares the two mounted trees: an opaque directory is a directory like
// any other, each name it hides a deletion, the directories above every
// change changed; a whiteout it leaves over a name no lower layer has, as
// for a directory made and removed again, no change); test/podman-fuse and
// test/docker-drivers check them against `podman diff` and `docker diff`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, type LayerChange, type Namespace } from '../lib';
import { readTar } from '../lib/layers/tar';
import { ROOT_TEST_MAP } from './helpers/overlay';
import { FUSE_OVERLAYFS, fuseOverlayfs, requires, subuidRange } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const root = process.geteuid!() === 0;
const gate = root ? requires(fuseOverlayfs) : requires(fuseOverlayfs, subuidRange);

interface Stack {
  base: string;
  lowers: string[];
  upper: string;
  merged: string;
}

/** Two lower layers, top first. */
function makeLayers(): Stack {
  const base = tempDir('unshare-fs-diff-fuse-');
  fs.chmodSync(base, 0o755);
  const files: Record<string, string> = {
    'bottom/etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
    'bottom/data/keep': 'keep\n',
    'bottom/data/gone': 'gone\n',
    'bottom/opq/x': 'x\n',
    'bottom/opq/y': 'y\n',
    'bottom/home/user/.profile': 'PS1=$\n',
    'top/usr/bin/tool': '#!/bin/sh\n',
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(base, name)), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(base, name), text);
  }
  spawnSync('find', [base, '-type', 'd', '-exec', 'chmod', '755', '{}', '+']);
  spawnSync('find', [base, '-exec', 'touch', '-h', '-d', '2024-01-02 03:04:05', '{}', '+']);
  for (const dir of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(base, dir));
  const at = (name: string) => path.join(base, name);
  return { base, lowers: [at('top'), at('bottom')], upper: at('upper'), merged: at('merged') };
}

const CHANGES = `
  echo new > data/new.txt
  echo 'user:x:1000:1000::/home/user:/bin/sh' >> etc/passwd
  rm data/gone
  mkdir data/made && rm -r data/made
  rm -r opq && mkdir opq && echo z > opq/z
  chmod 0700 home/user
  echo new > usr/bin/new
`;
const EXPECTED: LayerChange[] = [
  { path: '/data', kind: 'changed' },
  { path: '/data/gone', kind: 'deleted' },
  { path: '/data/new.txt', kind: 'added' },
  { path: '/etc', kind: 'changed' },
  { path: '/etc/passwd', kind: 'changed' },
  { path: '/home', kind: 'changed' },
  { path: '/home/user', kind: 'changed' },
  { path: '/opq', kind: 'changed' },
  { path: '/opq/x', kind: 'deleted' },
  { path: '/opq/y', kind: 'deleted' },
  { path: '/opq/z', kind: 'added' },
  { path: '/usr', kind: 'changed' },
  { path: '/usr/bin', kind: 'changed' },
  { path: '/usr/bin/new', kind: 'added' },
];

async function changeThroughFuse(ns: Namespace, stack: Stack): Promise<void> {
  const options = `lowerdir=${stack.lowers.join(':')},upperdir=${stack.upper},workdir=${path.join(stack.base, 'work')}`;
  // fuse-overlayfs goes to the background once mounted; umount ends it.
  const script = `"$0" -o "$1" "$2" 2>/dev/null\ncd "$2"\n${CHANGES}\ncd /\numount "$2"`;
  expect(await ns.exec(['sh', '-ec', script, FUSE_OVERLAYFS, options, stack.merged])).toEqual({ code: 0, signal: null });
}

gate.describe("diffLayers and exportDiff with format 'fuse-overlayfs'", () => {
  let stack: Stack;
  let ns: Namespace;

  beforeAll(async () => {
    stack = makeLayers();
    ns = await createNamespace(root ? { uidMap: ROOT_TEST_MAP } : { subids: 'require' });
    await changeThroughFuse(ns, stack);
  });

  afterAll(async () => {
    await ns?.exec(['rm', '-rf', stack.upper, path.join(stack.base, 'work')]);
    await ns?.close();
    if (stack) removeTree(stack.base);
  });

  test("fuse-overlayfs's markers are in the upper dir, and diffLayers reads them as what they mean", async () => {
    const session = await ns.enter();
    try {
      const names = await session.readdir(path.join(stack.upper, 'opq'));
      expect(names.sort()).toEqual(['.wh..opq', '.wh..wh..opq', 'z']);
      expect(await session.diffLayers(stack.upper, stack.lowers, { format: 'fuse-overlayfs' })).toEqual(EXPECTED);
      // As the kernel's overlay layers, the markers would be changes.
      const asOverlay = await session.diffLayers(stack.upper, stack.lowers);
      expect(asOverlay.map((c) => c.path)).toContain('/opq/.wh..wh..opq');
    } finally {
      await session.close();
    }
  });

  test('exportDiff writes OCI whiteouts and opaque markers, each once, and none of its own', async () => {
    const session = await ns.enter();
    const names: string[] = [];
    const xattrs: string[] = [];
    try {
      for await (const entry of readTar(session.exportDiff(stack.upper, { format: 'fuse-overlayfs' }))) {
        const name = entry.header.name.toString('latin1').replace(/\/$/, '');
        names.push(name);
        for (const key of entry.header.xattrs?.keys() ?? []) xattrs.push(`${name} ${key}`);
        for await (const _chunk of entry.body()) {
          // drained
        }
      }
    } finally {
      await session.close();
    }
    expect(names.sort()).toEqual([
      'data',
      'data/.wh.gone',
      'data/.wh.made',
      'data/new.txt',
      'etc',
      'etc/passwd',
      'home',
      'home/user',
      'opq',
      'opq/.wh..wh..opq',
      'opq/z',
      'usr',
      'usr/bin',
      'usr/bin/new',
    ]);
    expect(xattrs.filter((x) => x.includes('overlay'))).toEqual([]);
  });

  test('a format that is not one of the two is refused before anything is read', async () => {
    const session = await ns.enter();
    try {
      await expect(session.diffLayers(stack.upper, [], { format: 'aufs' } as object)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
      });
      expect(() => session.exportDiff(stack.upper, { format: 1 } as object)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => session.exportTar(stack.upper, { format: 'fuse-overlayfs' } as object)).toThrow(/format/);
    } finally {
      await session.close();
    }
  });
});

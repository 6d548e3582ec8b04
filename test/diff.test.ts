// diffLayers on overlays the kernel wrote: layers made on the host, an
// overlay of them mounted in a namespace of our own, changed through the
// merged dir by a shell there, unmounted, then diffed.  The kernel writes
// whiteouts and opaque markers as it does for podman: user.* xattrs in a
// user namespace, trusted.* in the host's (as root).  test/podman-diff
// checks the same rules against `podman diff` itself.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, host, type LayerChange, type Namespace } from '../lib';
import { ROOT_TEST_MAP } from './helpers/overlay';
import { requires, subuidRange } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const root = process.geteuid!() === 0;

/** Makes argv[1]/d…/d… 1,100 deep (each name 255 bytes) through directory fds, with a FIFO at the bottom. */
const DEEP_TREE = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(1100):
    os.mkdir('d' * 255, dir_fd=fd)
    deeper = os.open('d' * 255, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = deeper
os.mkfifo('fifo', dir_fd=fd)
`;
const fullRange = root ? requires() : requires(subuidRange);

interface Stack {
  base: string;
  lowers: string[];
  upper: string;
}

/** Two lower layers, top first; each directory holds only what is listed, so sizes agree on every filesystem. */
function makeLayers(): Stack {
  const base = tempDir('unshare-fs-diff-');
  fs.chmodSync(base, 0o755);
  const bottom = path.join(base, 'bottom');
  const top = path.join(base, 'top');
  const files: Record<string, string> = {
    'bottom/etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
    'bottom/data/keep': 'keep\n',
    'bottom/data/gone': 'gone\n',
    'bottom/opq/x': 'x\n',
    'bottom/opq/y': 'y\n',
    'bottom/home/user/.profile': 'PS1=$\n',
    'top/usr/bin/tool': '#!/bin/sh\n',
    'top/data/from-top': 'top\n',
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(base, name)), { recursive: true });
    fs.writeFileSync(path.join(base, name), text);
  }
  fs.symlinkSync('passwd', path.join(bottom, 'etc/link'));
  // Old mtimes below: what the shell touches differs from them for sure.
  spawnSync('find', [bottom, top, '-exec', 'touch', '-h', '-d', '2024-01-02 03:04:05', '{}', '+']);
  for (const dir of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(base, dir));
  return { base, lowers: [top, bottom], upper: path.join(base, 'upper') };
}

/** What the shell below does, in `podman diff`'s terms (see the rules in lib/layers/diff.ts). */
const CHANGES = `
  echo new > data/new.txt
  echo 'user:x:1000:1000::/home/user:/bin/sh' >> etc/passwd
  rm data/gone
  rm -r opq && mkdir opq && echo z > opq/z
  rm etc/link && ln -s group etc/link
  chmod 0700 home/user
  echo new > usr/bin/new
`;
const EXPECTED: LayerChange[] = [
  { path: '/data', kind: 'changed' },
  { path: '/data/gone', kind: 'deleted' },
  { path: '/data/new.txt', kind: 'added' },
  { path: '/etc', kind: 'changed' },
  { path: '/etc/link', kind: 'changed' },
  { path: '/etc/passwd', kind: 'changed' },
  { path: '/home/user', kind: 'changed' },
  { path: '/opq', kind: 'deleted' },
  { path: '/opq/z', kind: 'added' },
  { path: '/usr', kind: 'changed' },
  { path: '/usr/bin', kind: 'changed' },
  { path: '/usr/bin/new', kind: 'added' },
];

async function changeThrough(ns: Namespace, stack: Stack): Promise<void> {
  const merged = path.join(stack.base, 'merged');
  await ns.mountOverlay({ lowerDirs: stack.lowers, upperDir: stack.upper, workDir: path.join(stack.base, 'work'), target: merged });
  try {
    expect(await ns.exec(['sh', '-ec', `cd "$0"; ${CHANGES}`, merged])).toEqual({ code: 0, signal: null });
  } finally {
    await ns.unmount(merged);
  }
}

async function diffIn(ns: Namespace, stack: Stack): Promise<LayerChange[]> {
  const session = await ns.enter();
  try {
    return await session.diffLayers(stack.upper, stack.lowers);
  } finally {
    await session.close();
  }
}

async function cleanUp(ns: Namespace, stack: Stack): Promise<void> {
  await ns.exec(['rm', '-rf', stack.upper, path.join(stack.base, 'work')]);
  await ns.close();
  removeTree(stack.base);
}

fullRange.describe('diffLayers', () => {
  test('in a user namespace (user.* markers): the changes podman diff lists', async () => {
    const stack = makeLayers();
    const ns = await createNamespace(root ? { uidMap: ROOT_TEST_MAP } : { subids: 'require' });
    try {
      await changeThrough(ns, stack);
      // The kernel marked the opaque directory as it does for rootless podman.
      const session = await ns.enter();
      const opq = await session.xattrs(path.join(stack.upper, 'opq'));
      const gone = await session.lstat(path.join(stack.upper, 'data/gone'));
      await session.close();
      expect(opq.get('user.overlay.opaque')?.toString()).toBe('y');
      expect([gone.isCharacterDevice(), gone.rdev]).toEqual([true, 0]);
      expect(await diffIn(ns, stack)).toEqual(EXPECTED);
    } finally {
      await cleanUp(ns, stack);
    }
  });

  test("in the host's user namespace (trusted.* markers, as rootful podman keeps them; root only)", async () => {
    if (!root) {
      // An ordinary user has no mount namespace without a user namespace.
      await expect(createNamespace({ userNamespace: false })).rejects.toThrow();
      return;
    }
    const stack = makeLayers();
    const ns = await createNamespace({ userNamespace: false });
    try {
      await changeThrough(ns, stack);
      expect((await host.xattrs(path.join(stack.upper, 'opq'))).get('trusted.overlay.opaque')?.toString()).toBe('y');
      expect(await host.diffLayers(stack.upper, stack.lowers)).toEqual(EXPECTED);
    } finally {
      await cleanUp(ns, stack);
    }
  });

  test('no lower layers: everything is added; a missing upper dir fails like a walk', async () => {
    const stack = makeLayers();
    try {
      const changes = await host.diffLayers(path.join(stack.base, 'bottom'), []);
      expect(changes.every((c) => c.kind === 'added')).toBe(true);
      expect(changes.map((c) => c.path)).toContain('/opq/y');
      await expect(host.diffLayers(path.join(stack.base, 'nope'), stack.lowers)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      removeTree(stack.base);
    }
  });

  test('hostile upper dirs: a path longer than a data frame, a FIFO, a non-UTF-8 name', async () => {
    const base = tempDir('unshare-fs-diff-deep-');
    try {
      // 1,100 directories of 255-byte names: a path of 282 KB, past
      // PATH_MAX and past a 256 KiB frame of change records.
      const made = spawnSync('python3', ['-c', DEEP_TREE, base], { encoding: 'utf8' });
      expect(made.stderr).toBe('');
      fs.writeFileSync(Buffer.from(`${base}/n\xff`, 'latin1'), '');
      const changes = await host.diffLayers(base, []);
      expect(changes).toHaveLength(1100 + 2);
      const deepest = changes.find((c) => c.path.endsWith('/fifo'))!;
      expect(deepest.path.length).toBe(1100 * 256 + 5);
      expect(changes.every((c) => c.kind === 'added')).toBe(true);
      expect(changes.map((c) => c.path)).toContain('/n\ufffd');
    } finally {
      removeTree(base);
    }
  });

  test('bad arguments fail before anything is read', async () => {
    await expect(host.diffLayers(5 as unknown as string, [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.diffLayers('/tmp', '/tmp' as unknown as string[])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.diffLayers('/tmp', [null as unknown as string])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.diffLayers('/tmp', [], { bogus: 1 } as object)).rejects.toThrow(/bogus/);
  });

  test('an aborted diff rejects with AbortError', async () => {
    const stack = makeLayers();
    try {
      const controller = new AbortController();
      controller.abort();
      await expect(host.diffLayers(stack.upper, stack.lowers, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      removeTree(stack.base);
    }
  });
});

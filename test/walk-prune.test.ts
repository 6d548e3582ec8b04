// walk's `prune`: a directory it answers true for is listed but never
// opened by the walker, which waits for the answers (GNU find's -prune
// gives the expected listing, the kernel's inotify says which directories
// were opened); and onError's answer, as @nodelib/fs.walk's errorFilter:
// false ends the walk with the error, anything else goes on.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, enter, host, type FileSystem, type FsError } from '../lib';
import { requires, userNamespaces } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const asRoot = process.geteuid!() === 0;

/** find(1)'s paths under `root`, a directory named `name` printed and not descended into. */
function findPruned(root: string, name: string): string[] {
  const out = execFileSync('find', [root, '-mindepth', '1', '-name', name, '-print', '-prune', '-o', '-print'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

async function walked(fs: FileSystem, root: string, options: Parameters<FileSystem['walk']>[1]): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of fs.walk(root, options)) out.push(entry.fullPath as string);
  return out.sort();
}

/**
 * Which of `dirs` the walk `run` opened, as inotify (IN_OPEN on the
 * directory itself) saw it: a python3 child watches them while it runs.
 */
async function openedDuring(dirs: string[], run: () => Promise<unknown>): Promise<string[]> {
  const watcher = `
import ctypes, json, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
IN_OPEN = 0x20
wds = {libc.inotify_add_watch(fd, p.encode(), IN_OPEN): p for p in sys.argv[1:]}
print('ready', flush=True)
sys.stdin.read()
opened = set()
while True:
    try:
        buf = os.read(fd, 65536)
    except BlockingIOError:
        break
    i = 0
    while i < len(buf):
        wd, mask, cookie, length = struct.unpack_from('iIII', buf, i)
        if buf[i + 16:i + 16 + length].rstrip(b'\\0') == b'':
            opened.add(wds[wd])
        i += 16 + length
print(json.dumps(sorted(opened)))
`;
  const child = spawn('python3', ['-c', watcher, ...dirs], { stdio: ['pipe', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', () => stdout.includes('ready\n') && resolve());
  });
  try {
    await run();
  } finally {
    child.stdin.end();
  }
  await new Promise((resolve) => child.on('close', resolve));
  return JSON.parse(stdout.slice(stdout.indexOf('\n') + 1)) as string[];
}

let tree: string;
beforeAll(() => {
  tree = tempDir('unshare-fs-prune-');
  for (const dir of ['a/node_modules/x/y', 'a/src/lib', 'b/node_modules', 'node_modules/deep/er', 'c']) {
    fs.mkdirSync(path.join(tree, dir), { recursive: true });
  }
  for (const file of ['a/node_modules/x/y/f', 'a/src/lib/g', 'node_modules/deep/h', 'c/i']) fs.writeFileSync(path.join(tree, file), file);
  fs.symlinkSync('a', path.join(tree, 'link-to-a'));
});
afterAll(() => removeTree(tree));

describe('walk prune', () => {
  test('lists what find -prune lists: a pruned directory, nothing under it', async () => {
    const prune = (entry: { name: string | Buffer }): boolean => entry.name === 'node_modules';
    expect(await walked(host, tree, { prune })).toEqual(findPruned(tree, 'node_modules'));
    // Without it, everything (the test can fail: the tree has entries under node_modules).
    expect((await walked(host, tree, {})).length).toBeGreaterThan(findPruned(tree, 'node_modules').length);
  });

  test('the walker never opens a pruned directory (inotify), and opens the others', async () => {
    const pruned = path.join(tree, 'a/node_modules');
    const kept = path.join(tree, 'a/src');
    const opened = await openedDuring([pruned, kept], () => walked(host, tree, { prune: (e) => e.name === 'node_modules' }));
    expect(opened).toEqual([kept]);
    // The same walk with filter (no pruning) opens both: inotify sees the walker's opens.
    const filtered = await openedDuring([pruned, kept], () => walked(host, tree, { filter: (e) => e.name !== 'node_modules' }));
    expect(filtered).toEqual([pruned, kept]);
  });

  test('asked about every directory the walker would descend into, within maxDepth, not excluded, before filter', async () => {
    const asked: string[] = [];
    const filtered: string[] = [];
    await walked(host, tree, {
      maxDepth: 2,
      exclude: ['c'],
      prune: (e) => (asked.push(e.fullPath as string), false),
      filter: (e) => (filtered.push(e.fullPath as string), true),
    });
    const dirs = execFileSync('find', [tree, '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '!', '-name', 'c'], { encoding: 'utf8' });
    expect(asked.sort()).toEqual(dirs.split('\n').filter(Boolean).sort());
    // Each asked before filter saw it.
    expect(filtered.filter((p) => asked.includes(p)).sort()).toEqual(asked.sort());
  });

  test('more subdirectories than one answer covers (PRUNE_ASK = 4096): every other one pruned, as find prunes them', async () => {
    // On tmpfs where there is one: 5,000 directories made in a moment, not half a minute on a busy disk.
    const wide = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/unshare-fs-prune-wide-') : tempDir('unshare-fs-prune-wide-');
    try {
      for (let i = 0; i < 5000; i++) {
        fs.mkdirSync(path.join(wide, `d${i}`));
        fs.writeFileSync(path.join(wide, `d${i}`, 'f'), '');
      }
      const prune = (e: { name: string | Buffer }): boolean => Number(String(e.name).slice(1)) % 2 === 0;
      const expected = execFileSync('find', [wide, '-mindepth', '1', '-regex', '.*/d[0-9]*[02468]', '-print', '-prune', '-o', '-print'], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      expect(await walked(host, wide, { prune })).toEqual(expected.split('\n').filter(Boolean).sort());
      // walkBatches prunes the same.
      const batched: string[] = [];
      for await (const batch of host.walkBatches(wide, { prune })) for (const e of batch) batched.push(e.fullPath);
      expect(batched.sort()).toEqual(expected.split('\n').filter(Boolean).sort());
    } finally {
      removeTree(wide);
    }
  });

  test('what prune throws ends the walk; a walk left early while the walker waits ends cleanly', async () => {
    const boom = new Error('boom');
    await expect(
      walked(host, tree, {
        prune: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    for await (const entry of host.walk(tree, { prune: () => false })) {
      void entry;
      break;
    }
    expect(() => host.walk(tree, { prune: 'node_modules' } as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

/**
 * A file system in which one directory of the tree cannot be read: as an
 * ordinary user, the host with the directory's mode 000; as root (who
 * reads anything on the host), a namespace of our own that maps only uid
 * 0, with the directory owned by an unmapped uid and mode 0700.
 */
async function withUnreadable(run: (fs: FileSystem, root: string) => Promise<void>): Promise<void> {
  const root = tempDir('unshare-fs-onerror-');
  fs.chmodSync(root, 0o755);
  for (const dir of ['ok/a', 'locked/inner', 'z']) fs.mkdirSync(path.join(root, dir), { recursive: true, mode: 0o755 });
  const locked = path.join(root, 'locked');
  try {
    if (!asRoot) {
      fs.chmodSync(locked, 0);
      await run(host, root);
      return;
    }
    fs.chownSync(locked, 12345, 12345);
    fs.chmodSync(locked, 0o700);
    const ns = await createNamespace({ subids: 'none', uidMap: [{ inside: 0, outside: 0, count: 1 }] });
    const session = await enter({ pid: ns.pid });
    try {
      await run(session, root);
    } finally {
      await session.close();
      await ns.close();
    }
  } finally {
    fs.chmodSync(locked, 0o755);
    removeTree(root);
  }
}

requires(userNamespaces).describe('walk onError decides (errorFilter)', () => {
  test('false ends the walk with the error; true or nothing goes on', async () => {
    await withUnreadable(async (fs, root) => {
      const seen: FsError[] = [];
      // Nothing returned: told, and the walk goes on to the end.
      const all = await walked(fs, root, { onError: (e) => void seen.push(e) });
      expect(seen.map((e) => [e.code, e.syscall, e.path])).toEqual([['EACCES', 'scandir', path.join(root, 'locked')]]);
      expect(all).toContain(path.join(root, 'z'));
      // true: the same.
      expect(await walked(fs, root, { onError: () => true })).toEqual(all);
      // false: the walk ends with the error, as 'throw' ends it.
      await expect(walked(fs, root, { onError: () => false })).rejects.toMatchObject({ code: 'EACCES', syscall: 'scandir' });
      await expect(walked(fs, root, {})).rejects.toMatchObject({ code: 'EACCES', syscall: 'scandir' });
    });
  });
});

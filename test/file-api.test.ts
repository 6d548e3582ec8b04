// The file API, run the same way for each way of reaching a file: host paths
// (in-process walker) and a session inside a namespace the library made.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, host, type BigIntStats, type Entry, type FileSystem, type Namespace, type Session } from '../lib';
import { requires, subuidRange, type Gate } from './helpers/requirements';
import { findRows, buildDeepTree, buildMixedTree, removeTree, tempDir, walkRows } from './helpers/tree';

interface Target {
  name: string;
  fs(): FileSystem;
  /** find behind the same door: nothing for the host, nsenter for a namespace. */
  findPrefix(): string[];
  /** What running find behind that door needs. */
  findGate: Gate;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

let ns: Namespace | undefined;
let session: Session | undefined;

const targets: Target[] = [
  { name: 'host', fs: () => host, findPrefix: () => [], findGate: requires() },
  {
    name: 'namespace session',
    fs: () => session!,
    findPrefix: () => ['nsenter', '-U', '-m', '-t', String(ns!.pid), '--'],
    // nsenter -U calls setgroups(), which a namespace mapping only our own
    // ids (no newuidmap or subordinate range) denies.
    findGate: process.geteuid!() === 0 ? requires() : requires(subuidRange),
    async setup() {
      ns = await createNamespace();
      session = await ns.enter();
    },
    async teardown() {
      await ns?.close();
    },
  },
];

let root: string;

beforeAll(() => {
  root = tempDir();
  // Others must traverse it: a namespace's root may be an unmapped host id.
  fs.chmodSync(root, 0o755);
  buildMixedTree(root);
});

afterAll(() => removeTree(root));

describe.each(targets)('$name', (target) => {
  beforeAll(async () => target.setup?.());
  afterAll(async () => target.teardown?.());

  target.findGate.test('walk with stat matches find -printf entry by entry', async () => {
    const api = target.fs();
    const ours = await walkRows(
      api.walk(root, { stat: true, bigint: true, encoding: 'utf8' }) as AsyncIterable<Entry<string, BigIntStats>>,
      root,
      (p) => api.readlink(p),
    );
    const theirs = findRows(root, target.findPrefix());
    // The name that is not UTF-8 decodes lossily in both; compare the rest exactly.
    expect(ours.length).toBe(theirs.length);
    expect(ours.filter((r) => !r.path.includes('\ufffd'))).toEqual(theirs.filter((r) => !r.path.includes('\ufffd')));
    expect(
      ours
        .map((r) => r.type)
        .sort()
        .join(''),
    ).toContain('p');
    expect(ours.some((r) => r.type === 's')).toBe(true);
  });

  test('every kind of entry is reported with its type', async () => {
    const types = new Map<string, string>();
    for await (const entry of target.fs().walk(root)) types.set(entry.fullPath.slice(root.length + 1), entry.type);
    expect(types.get('file.txt')).toBe('file');
    expect(types.get('dir')).toBe('directory');
    expect(types.get('link')).toBe('symlink');
    expect(types.get('dangling')).toBe('symlink');
    expect(types.get('loop-a')).toBe('symlink');
    expect(types.get('fifo')).toBe('fifo');
    expect(types.get('dir/socket')).toBe('socket');
    expect(types.get('x'.repeat(255))).toBe('file');
    expect(types.get('ünïcödé ✓')).toBe('file');
    // Symlinks are never followed: dir/sub/up -> .. is a leaf.
    expect([...types.keys()].some((p) => p.startsWith('dir/sub/up/'))).toBe(false);
  });

  test('names that are not UTF-8 survive with encoding: buffer', async () => {
    const names: Buffer[] = [];
    for await (const entry of target.fs().walk(root, { encoding: 'buffer', maxDepth: 1 })) {
      expect(Buffer.isBuffer(entry.fullPath)).toBe(true);
      names.push(entry.name);
    }
    const bad = Buffer.concat([Buffer.from('bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]);
    expect(names.some((n) => n.equals(bad))).toBe(true);
    const listed = await target.fs().readdir(root, { encoding: 'buffer' });
    expect(listed.some((n) => n.equals(bad))).toBe(true);
    const full = Buffer.concat([Buffer.from(`${root}/`), bad]);
    const st = await target.fs().lstat(full);
    expect(st.isFile()).toBe(true);
  });

  test('hard links share an inode', async () => {
    const a = await target.fs().lstat(path.join(root, 'file.txt'));
    const b = await target.fs().lstat(path.join(root, 'dir/hardlink'));
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
  });

  test('maxDepth limits the walk; depth counts from 1', async () => {
    const depths = new Set<number>();
    for await (const entry of target.fs().walk(root, { maxDepth: 2 })) depths.add(entry.depth);
    expect([...depths].sort()).toEqual([1, 2]);
    let none = 0;
    for await (const entry of target.fs().walk(root, { maxDepth: 0 })) none += entry ? 1 : 0;
    expect(none).toBe(0);
  });

  test('stat fields can be chosen', async () => {
    for await (const entry of target.fs().walk(root, { stat: ['size', 'mode'], maxDepth: 1 })) {
      expect(typeof entry.stats.size).toBe('number');
      expect(typeof entry.stats.mode).toBe('number');
      // Not in the type (PickedStats), and not filled at run time either.
      expect((entry.stats as Record<string, unknown>).uid).toBeUndefined();
      expect((entry.stats as Record<string, unknown>).mtimeMs).toBeUndefined();
    }
  });

  test('walkBatches delivers the same entries in batches', async () => {
    const single: string[] = [];
    for await (const entry of target.fs().walk(root)) single.push(entry.fullPath);
    const batched: string[] = [];
    for await (const batch of target.fs().walkBatches(root)) for (const entry of batch) batched.push(entry.fullPath);
    // Directories are listed by several threads: compare as sets.
    expect(batched.sort()).toEqual(single.sort());
  });

  test('stat, lstat, readlink, readFile and readdir agree with node:fs', async () => {
    const api = target.fs();
    const link = path.join(root, 'link');
    expect((await api.lstat(link)).isSymbolicLink()).toBe(true);
    expect((await api.stat(link)).isFile()).toBe(true);
    expect((await api.stat(link)).size).toBe(fs.statSync(link).size);
    const big = await api.lstat(path.join(root, 'dir/big.bin'), { bigint: true });
    expect(big.size).toBe(70000n);
    expect(big.mtimeNs).toBe(fs.lstatSync(path.join(root, 'dir/big.bin'), { bigint: true }).mtimeNs);
    expect(await api.readlink(link)).toBe('file.txt');
    expect(await api.readFile(link, 'utf8')).toBe('hello\n');
    expect((await api.readFile(path.join(root, 'dir/big.bin'))).equals(Buffer.alloc(70000, 7))).toBe(true);
    const names = (await api.readdir(path.join(root, 'dir'))).sort();
    expect(names).toEqual(fs.readdirSync(path.join(root, 'dir')).sort());
    const dirents = await api.readdir(path.join(root, 'dir'), { withFileTypes: true });
    expect(dirents.find((d) => d.name === 'sub')?.isDirectory()).toBe(true);
  });

  test('errors are node:fs errors with the caller in the stack', async () => {
    const api = target.fs();
    const missing = path.join(root, 'missing');
    const error = await api.lstat(missing).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'lstat', path: missing });
    expect((error as Error).message).toBe(`ENOENT: no such file or directory, lstat '${missing}'`);
    expect((error as Error).stack).toContain('file-api.test.ts');
    await expect(api.readlink(path.join(root, 'file.txt'))).rejects.toMatchObject({ code: 'EINVAL', syscall: 'readlink' });
    await expect(api.readFile(path.join(root, 'dir'))).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(api.stat(path.join(root, 'loop-a'))).rejects.toMatchObject({ code: 'ELOOP', syscall: 'stat' });
    await expect(api.stat(path.join(root, 'dangling'))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'stat' });
  });

  test('a walk of a file or of nothing fails clearly', async () => {
    const api = target.fs();
    const drain = async (it: AsyncIterable<unknown>): Promise<void> => {
      for await (const entry of it) void entry;
    };
    await expect(drain(api.walk(path.join(root, 'file.txt')))).rejects.toMatchObject({ code: 'ENOTDIR', syscall: 'scandir' });
    await expect(drain(api.walk(path.join(root, 'nope')))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'scandir' });
    await expect(api.readdir(path.join(root, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('bad arguments are rejected before they reach the native side', async () => {
    const api = target.fs();
    expect(() => api.walk(42 as unknown as string)).toThrow(/Expected a string, a Buffer or a file: URL for root but received number 42/);
    expect(() => api.walk(`${root}\0x`)).toThrow(/without null bytes/);
    expect(() => api.walk(root, { maxDepth: -1 })).toThrow(/non-negative integer for maxDepth but received number -1/);
    expect(() => api.walk(root, { maxDepth: 1.5 })).toThrow(RangeError);
    expect(() => api.walk(root, { stat: ['colour' as 'mode'] })).toThrow(/field names/);
    expect(() => api.walk(root, { onError: 'explode' as 'skip' })).toThrow(/onError/);
    expect(() => api.walk(root, { encoding: 'latin2' as 'utf8' })).toThrow(/encoding/);
    await expect(api.lstat(null as unknown as string)).rejects.toThrow(TypeError);
    await expect(api.lstat('')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(api.readFile(`${root}/a\0b`)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  test('paths longer than PATH_MAX are walked', async () => {
    const deep = path.join(root, 'deep');
    fs.mkdirSync(deep);
    try {
      const { levels, name } = buildDeepTree(deep);
      let leaf: Entry | undefined;
      for await (const entry of target.fs().walk(deep)) if (entry.name === 'leaf') leaf = entry;
      expect(leaf).toBeDefined();
      expect(leaf!.depth).toBe(levels + 1);
      expect(leaf!.fullPath.length).toBeGreaterThan(4096);
      expect(leaf!.fullPath).toBe(`${deep}/${Array(levels).fill(name).join('/')}/leaf`);
    } finally {
      execFileSync('rm', ['-rf', deep]);
    }
  });

  test('an AbortSignal stops a walk', async () => {
    const controller = new AbortController();
    let seen = 0;
    const walking = (async () => {
      for await (const entry of target.fs().walk('/usr', { signal: controller.signal })) {
        if (++seen === 10) controller.abort();
        void entry;
      }
    })();
    await expect(walking).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toBe(10);
    // The channel is still good for other requests.
    expect((await target.fs().lstat(root)).isDirectory()).toBe(true);
    const aborted = AbortSignal.abort();
    await expect(target.fs().walk(root, { signal: aborted }).next()).rejects.toMatchObject({ name: 'AbortError' });
    await expect(target.fs().readFile(path.join(root, 'file.txt'), { signal: aborted })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(await target.fs().readFile(path.join(root, 'file.txt'), 'utf8')).toBe('hello\n');
  });

  test('breaking out of a walk early cancels it and frees the channel', async () => {
    for (let i = 0; i < 50; i++) {
      for await (const entry of target.fs().walk('/usr')) {
        void entry;
        break;
      }
    }
    expect((await target.fs().readdir(root)).length).toBeGreaterThan(5);
  });

  test('many requests in flight at once', async () => {
    const api = target.fs();
    const paths = fs
      .readdirSync(root)
      .filter((n) => !n.startsWith('bad-'))
      .map((n) => path.join(root, n));
    const [first] = paths;
    if (first === undefined) throw new Error(`no files in ${root}`);
    const results = await Promise.all([...paths.map((p) => api.lstat(p)), ...Array.from({ length: 20 }, () => api.readdir(root))]);
    expect(results).toHaveLength(paths.length + 20);
    expect((results[0] as { mode: number }).mode).toBe(fs.lstatSync(first).mode);
  });

  test('a burst of requests larger than the socket buffers, and a file larger than a read chunk', async () => {
    const api = target.fs();
    // ~1 KiB per request: 20,000 of them overflow the socket and wait for it to drain.
    const padded = `${root}/${'./'.repeat(500)}file.txt`;
    const expected = fs.lstatSync(path.join(root, 'file.txt')).ino;
    const inodes = await Promise.all(Array.from({ length: 20000 }, () => api.lstat(padded).then((s) => s.ino)));
    expect(inodes.filter((ino) => ino !== expected)).toEqual([]);
    expect(inodes).toHaveLength(20000);
    const big = path.join(root, 'big-random.bin');
    const bytes = crypto.randomBytes(5 * 1024 * 1024 + 123);
    fs.writeFileSync(big, bytes);
    try {
      const [a, b] = await Promise.all([api.readFile(big), api.readFile(big)]);
      expect(a.equals(bytes)).toBe(true);
      expect(b.equals(bytes)).toBe(true);
    } finally {
      fs.rmSync(big);
    }
  });
});

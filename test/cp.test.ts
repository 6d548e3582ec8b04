// FileSystem#cp and #copyFile, on the host and in a namespace session,
// held to node's own fs.promises.cp and copyFile run on the same source:
// entry by entry (type, mode, size, content, link target, times with
// preserveTimestamps) for each option, and the same error code for each of
// node's refusals.  Then what node does not decide: a FIFO, a device or a
// symlink where a file is read or written (never opened, never written
// through), and onProgress's pacing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CpOptions } from '../lib';
import { buildCopySource, removeTree, tempDir } from './helpers/tree';
import { fileSystemTargets, NODE_CP_REFERENCE } from './helpers/targets';

const targets = fileSystemTargets();

/** Every entry at and under `top` as lstat and readlink see it: type, mode, size, content, link target, times when asked. */
function listing(top: string, times = false): string[] {
  const out: string[] = [];
  if (!fs.existsSync(top) && !isLink(top)) return ['absent'];
  const visit = (p: string, rel: string): void => {
    const st = fs.lstatSync(p);
    const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : '?';
    let line = `${rel} ${type} ${(st.mode & 0o7777).toString(8)}`;
    if (st.isFile()) line += ` ${st.size} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`;
    if (st.isSymbolicLink()) line += ` -> ${fs.readlinkSync(p)}`;
    // A file's mtime (node sets atime to what its stat of the source read, which the copy's own read may move).
    if (times && st.isFile()) line += ` m${Math.floor(st.mtimeMs)}`;
    out.push(line);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name), `${rel}/${name}`);
  };
  visit(top, '.');
  return out;
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The source tree's shape here (see buildCopySource): with an absolute link to a directory and a dangling link. */
const SOURCE = { absoluteLinkTo: 'dir', danglingLink: true };

/** The outcome of a copy: the tree made, or the error's code. */
async function outcome(copy: () => Promise<unknown>, dest: string, times: boolean): Promise<string[]> {
  try {
    await copy();
  } catch (error) {
    return [`error ${(error as { code?: string }).code}`, ...listing(dest, times)];
  }
  return listing(dest, times);
}

interface Case {
  name: string;
  /** The source path under the fixture's root; 'src' by default. */
  from?: string;
  /** The destination under the root; 'out' by default (one per copier). */
  to?: string;
  /** What is at the destination before the copy (made by a first cp of src with these options). */
  before?: CpOptions;
  options: CpOptions;
  times?: boolean;
  /** Which entry dereference should leave out because it is dangling. */
  prepare?(root: string): void;
}

const filterSync = (source: string): boolean => !source.endsWith('skip-me');
const cases: Case[] = [
  { name: 'a file', from: 'src/file.txt', options: {} },
  { name: 'a read-only file keeps its mode', from: 'src/ro', options: {} },
  { name: 'a directory without recursive', options: {} },
  { name: 'a directory, recursive', options: { recursive: true }, prepare: (root) => fs.unlinkSync(path.join(root, 'src/dir/dangling')) },
  { name: 'verbatimSymlinks', options: { recursive: true, verbatimSymlinks: true } },
  {
    name: 'dereference',
    options: { recursive: true, dereference: true },
    prepare: (root) => fs.unlinkSync(path.join(root, 'src/dir/dangling')),
  },
  { name: 'preserveTimestamps', options: { recursive: true, preserveTimestamps: true }, times: true },
  { name: 'a sync filter', options: { recursive: true, filter: filterSync } },
  { name: 'an async filter', options: { recursive: true, filter: async (source) => Promise.resolve(filterSync(source)) } },
  { name: 'a filter refusing the top', options: { recursive: true, filter: () => false } },
  { name: 'into itself', to: 'src/dir/inside', options: { recursive: true } },
  { name: 'onto itself', to: 'src', options: { recursive: true } },
  { name: 'a directory over a file', to: 'src/file.txt', options: { recursive: true } },
  { name: 'a file over a directory', from: 'src/file.txt', to: 'src/dir', options: {} },
  { name: 'a missing source', from: 'src/nope', options: {} },
  { name: 'a missing destination parent is made', to: 'a/b/c', options: { recursive: true } },
  { name: 'over a copy, force (default)', before: { recursive: true }, options: { recursive: true } },
  { name: 'over a copy, force false', before: { recursive: true, filter: filterSync }, options: { recursive: true, force: false } },
  {
    name: 'over a copy, errorOnExist',
    before: { recursive: true },
    options: { recursive: true, force: false, errorOnExist: true },
  },
  { name: 'over a copy, mode COPYFILE_EXCL', before: { recursive: true }, options: { recursive: true, mode: fs.constants.COPYFILE_EXCL } },
  {
    name: 'a FIFO in the tree',
    options: { recursive: true },
    prepare: (root) => execFileSync('mkfifo', [path.join(root, 'src/dir/fifo')]),
  },
];

describe.each(targets)('cp on $name, against node fs.promises.cp', (target) => {
  let root: string;
  beforeAll(async () => {
    await target.setup?.();
  });
  afterAll(async () => {
    await target.teardown?.();
  });
  beforeEach(() => {
    root = tempDir('unshare-fs-cp-');
  });
  afterEach(() => {
    removeTree(root);
  });

  // node 20's fs.cp is the reference (see NODE_CP_REFERENCE).
  if (NODE_CP_REFERENCE)
    test.each(cases)('$name', async (c) => {
      // Two identical fixtures: node copies in one, the library in the other.
      const copies = await Promise.all(
        ['node', 'ours'].map(async (who) => {
          const base = path.join(root, who);
          fs.mkdirSync(base);
          buildCopySource(base, SOURCE);
          c.prepare?.(base);
          return base;
        }),
      );
      const [nodeBase, ourBase] = copies as [string, string];
      const from = (base: string): string => path.join(base, c.from ?? 'src');
      const to = (base: string): string => path.join(base, c.to ?? 'out');
      if (c.before) {
        await fs.promises.cp(from(nodeBase), to(nodeBase), c.before);
        await fs.promises.cp(from(ourBase), to(ourBase), c.before);
        // What each copy may overwrite differs from its source, so overwriting shows.
        for (const base of copies) fs.writeFileSync(path.join(to(base), 'file.txt'), 'changed since');
      }
      const expected = await outcome(() => fs.promises.cp(from(nodeBase), to(nodeBase), c.options), to(nodeBase), c.times ?? false);
      const actual = await outcome(() => target.fs().cp(from(ourBase), to(ourBase), c.options), to(ourBase), c.times ?? false);
      // Absolute link targets name each fixture's own source.
      expect(actual.map((line) => line.split(ourBase).join('BASE'))).toEqual(expected.map((line) => line.split(nodeBase).join('BASE')));
    });

  test('copyToHost and copyFromHost copy into an existing directory, as cp -RP does', async () => {
    const src = buildCopySource(root, SOURCE);
    const gnu = path.join(root, 'gnu');
    fs.mkdirSync(gnu);
    execFileSync('cp', ['-RP', '--preserve=mode,timestamps', src, gnu]);
    execFileSync('cp', ['-P', '--preserve=mode,timestamps', path.join(src, 'file.txt'), gnu]);
    const expected = listing(gnu, true).map((line) => line.split(gnu).join('DEST'));
    for (const [name, copy] of [
      ['out', (from: string, dir: string) => target.fs().copyToHost(from, dir, { recursive: true })],
      ['in', (from: string, dir: string) => target.fs().copyFromHost(from, dir, { recursive: true })],
    ] as const) {
      const dir = path.join(root, name);
      fs.mkdirSync(dir);
      await copy(src, dir);
      await copy(path.join(src, 'file.txt'), dir);
      expect(listing(dir, true).map((line) => line.split(dir).join('DEST'))).toEqual(expected);
      // Onto an existing file: replaced, as cp does (test/copy-options.test.ts holds it to node's fs.cp).
      await copy(path.join(src, 'ro'), path.join(dir, 'file.txt'));
      expect(fs.readFileSync(path.join(dir, 'file.txt'), 'utf8')).toBe('read only');
    }
  });

  test('filter is called with the same paths in the same order as node calls it', async () => {
    const src = buildCopySource(root, SOURCE);
    const calls = { node: [] as string[], ours: [] as string[] };
    const record = (who: 'node' | 'ours') => (s: string, d: string) => {
      calls[who].push(`${path.relative(root, s)} ${path.relative(root, d)}`);
      return true;
    };
    await fs.promises.cp(src, path.join(root, 'n'), { recursive: true, filter: record('node') });
    await target.fs().cp(src, path.join(root, 'o'), { recursive: true, filter: record('ours') });
    expect(calls.ours.map((c) => c.replace(' o', ' n'))).toEqual(calls.node);
  });

  /** A tree of 1 + 8 directories and 160 files of 0..19 bytes; its entries and bytes as find(1) and wc(1) count them. */
  function manyFiles(): { src: string; entries: number; bytes: number } {
    const src = path.join(root, 'many');
    fs.mkdirSync(src);
    for (let i = 0; i < 8; i++) {
      fs.mkdirSync(path.join(src, `d${i}`));
      for (let j = 0; j < 20; j++) fs.writeFileSync(path.join(src, `d${i}/f${j}`), 'x'.repeat(j));
    }
    const entries = Number(execFileSync('sh', ['-c', `find '${src}' | wc -l`], { encoding: 'utf8' }).trim());
    const bytes = Number(execFileSync('sh', ['-c', `find '${src}' -type f -exec cat {} + | wc -c`], { encoding: 'utf8' }).trim());
    return { src, entries, bytes };
  }

  /** The calls onProgress got: rising, at least 100 ms apart but the last, no more than the time allows, the last the totals. */
  function expectPaced(
    seen: { entries: number; bytes: number; at: number }[],
    elapsed: number,
    totals: { entries: number; bytes: number },
  ): void {
    expect(seen.at(-1)).toMatchObject(totals);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.entries).toBeGreaterThanOrEqual(seen[i - 1]!.entries);
      expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
      if (i < seen.length - 1) expect(seen[i]!.at - seen[i - 1]!.at).toBeGreaterThanOrEqual(99);
    }
    expect(seen.length).toBeLessThanOrEqual(Math.floor(elapsed / 100) + 2);
  }

  test.each(['cp', 'copyToHost', 'copyFromHost'] as const)(
    '%s onProgress: entries and bytes, rising, at most every 100 ms, the last one the totals',
    async (method) => {
      const { src, entries, bytes } = manyFiles();
      const seen: { entries: number; bytes: number; at: number }[] = [];
      const onProgress = (entries: number, bytes: number): number => seen.push({ entries, bytes, at: performance.now() });
      const started = performance.now();
      const out = path.join(root, 'out');
      const f = target.fs();
      const result =
        method === 'cp'
          ? await f.cp(src, out, { recursive: true, onProgress })
          : await f[method](src, out, { recursive: true, onProgress });
      const elapsed = performance.now() - started;
      expect(result).toMatchObject({ entries, bytes });
      expectPaced(seen, elapsed, { entries, bytes });
    },
  );

  test('signal: an aborted copy rejects with AbortError', async () => {
    const src = buildCopySource(root, SOURCE);
    const controller = new AbortController();
    controller.abort();
    await expect(target.fs().cp(src, path.join(root, 'out'), { recursive: true, signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  test('options are checked as node checks them', async () => {
    const src = buildCopySource(root, SOURCE);
    const out = path.join(root, 'out');
    for (const options of [{ filter: 3 }, { mode: 99 }, { dereference: true, verbatimSymlinks: true }]) {
      const expected = await fs.promises.cp(src, out, options as CpOptions).catch((e: { code: string }) => e.code);
      await expect(target.fs().cp(src, out, options as CpOptions)).rejects.toMatchObject({ code: expected });
    }
    await expect(target.fs().cp(src, out, { bogus: 1 } as CpOptions)).rejects.toThrow(/bogus/);
  });

  test('copyFile: as node copyFile for a new file, an existing one and COPYFILE_EXCL', async () => {
    const src = buildCopySource(root, SOURCE);
    const file = path.join(src, 'dir/big.bin');
    const expected: string[] = [];
    const actual: string[] = [];
    for (const [mode, results, copy] of [
      [0, expected, fs.promises.copyFile],
      [0, actual, (a: string, b: string, m: number) => target.fs().copyFile(a, b, m)],
    ] as const) {
      const dest = path.join(root, `copy-${results === expected ? 'n' : 'o'}`);
      await copy(file, dest, mode);
      results.push(...listing(dest));
      fs.writeFileSync(dest, 'old');
      await copy(path.join(src, 'ro'), dest, mode);
      results.push(...listing(dest));
      results.push(
        await copy(file, dest, fs.constants.COPYFILE_EXCL).then(
          () => 'copied',
          (e: { code: string }) => e.code,
        ),
      );
      results.push(
        await copy(src, dest + '2', 0).then(
          () => 'copied',
          (e: { code: string }) => e.code,
        ),
      );
    }
    expect(actual).toEqual(expected);
  });

  test('copyFile: a FIFO or a device as source is EINVAL, never opened for reading (no hang)', async () => {
    const fifo = path.join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(target.fs().copyFile(fifo, path.join(root, 'out'))).rejects.toMatchObject({ code: 'EINVAL', syscall: 'copyfile' });
    await expect(target.fs().copyFile('/dev/zero', path.join(root, 'out'))).rejects.toMatchObject({ code: 'EINVAL' });
    expect(fs.existsSync(path.join(root, 'out'))).toBe(false);
  });

  test('copyFile: a symlink planted at the destination name is ELOOP, its target untouched', async () => {
    const victim = path.join(root, 'victim');
    fs.writeFileSync(victim, 'keep');
    fs.writeFileSync(path.join(root, 'src'), 'payload');
    fs.symlinkSync(victim, path.join(root, 'planted'));
    await expect(target.fs().copyFile(path.join(root, 'src'), path.join(root, 'planted'))).rejects.toMatchObject({ code: 'ELOOP' });
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep');
  });

  test('cp: a vanished source file is ENOENT, the copy of what was there kept, as node keeps it', async () => {
    const src = buildCopySource(root, SOURCE);
    const filter = (s: string): boolean => {
      // The file goes between the listing of its directory and its copy.
      if (s.endsWith('file.txt')) fs.rmSync(s);
      return true;
    };
    await expect(target.fs().cp(src, path.join(root, 'out'), { recursive: true, filter })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('cp: a huge name is ENAMETOOLONG as node gives it', async () => {
    const src = path.join(root, 'x'.repeat(300));
    const expected = await fs.promises.cp(src, path.join(root, 'out')).catch((e: { code: string }) => e.code);
    await expect(target.fs().cp(src, path.join(root, 'out'))).rejects.toMatchObject({ code: expected });
  });
});

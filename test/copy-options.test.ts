// copyToHost and copyFromHost with node's fs.cp options, on the host
// FileSystem and in a namespace session, held to node's own
// fs.promises.cp doing the same copy on the host: entry by entry (type,
// mode, size, content, link target, whether a file kept its source's
// mtime), the error code of each refusal, and the paths given to filter.
// node is run with what these copies document as their own defaults
// (verbatimSymlinks, preserveTimestamps) unless the case sets them.  Our
// copies name an existing directory (they copy into it, as cp does) and
// node the path inside it, so both meet what is there by the same rules.
// Then the hostile case: a symlink planted at the destination is removed
// or refused, never written through.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CopyOptions, FileSystem } from '../lib';
import { buildCopySource, COPY_SOURCE_TIME, removeTree, tempDir } from './helpers/tree';
import { fileSystemTargets, NODE_CP_REFERENCE } from './helpers/targets';

const targets = fileSystemTargets();

/** Every entry at and under `top`: type, mode, size, content, link target, and whether a file's mtime is the source's. */
function listing(top: string): string[] {
  const out: string[] = [];
  const visit = (p: string, rel: string): void => {
    const st = fs.lstatSync(p);
    const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : '?';
    let line = `${rel} ${type} ${(st.mode & 0o7777).toString(8)}`;
    if (st.isFile()) {
      line += ` ${st.size} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`;
      line += Math.floor(st.mtimeMs) === COPY_SOURCE_TIME.getTime() ? ' kept-time' : ' new-time';
    }
    if (st.isSymbolicLink()) line += ` -> ${fs.readlinkSync(p)}`;
    out.push(line);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name), `${rel}/${name}`);
  };
  try {
    fs.lstatSync(top);
  } catch {
    return ['absent'];
  }
  visit(top, '.');
  return out;
}

/** The source tree's shape here (see buildCopySource): with an absolute link two levels down and no dangling link. */
const SOURCE = { absoluteLinkTo: 'dir/sub', danglingLink: false };

/** What is at the destination before the copy, in `dir` (the destination's directory), as a case wants it. */
type Before = (dir: string, victim: string) => void;

/** The destination tree made over: a changed file, an extra file kept, a symlink planted where `ro` goes. */
const plantedTree: Before = (dir, victim) => {
  fs.mkdirSync(path.join(dir, 'src/dir'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src/file.txt'), 'changed since');
  fs.chmodSync(path.join(dir, 'src/file.txt'), 0o600);
  fs.writeFileSync(path.join(dir, 'src/extra'), 'kept');
  fs.symlinkSync(victim, path.join(dir, 'src/ro'));
  fs.symlinkSync(victim, path.join(dir, 'src/dir/big.bin'));
};

interface Case {
  name: string;
  /** The source under the fixture's root: 'src' by default. */
  from?: string;
  before?: Before;
  options: CopyOptions;
  /** Which copies the case is for (dereference differs for copyToHost past the top). */
  only?: 'in' | 'out';
}

const filterSync = (source: string): boolean => !source.endsWith('skip-me') && !source.endsWith('/sub');
const cases: Case[] = [
  { name: 'a file', from: 'src/file.txt', options: {} },
  { name: 'a directory, recursive', options: { recursive: true } },
  { name: 'a directory without recursive', options: {} },
  { name: 'verbatimSymlinks', options: { recursive: true, verbatimSymlinks: true } },
  { name: 'dereference, a symlink to a file at the top', from: 'src/rel-link', options: { dereference: true } },
  { name: 'dereference, a symlink to a directory at the top', from: 'src/abs-link', options: { recursive: true, dereference: true } },
  { name: 'dereference, links in the tree', options: { recursive: true, dereference: true }, only: 'in' },
  { name: 'preserveTimestamps true', options: { recursive: true, preserveTimestamps: true } },
  { name: 'preserveTimestamps false', options: { recursive: true, preserveTimestamps: false } },
  { name: 'a sync filter (a file and a directory left out)', options: { recursive: true, filter: filterSync } },
  { name: 'an async filter', options: { recursive: true, filter: async (s) => Promise.resolve(filterSync(s)) } },
  { name: 'a filter refusing the top', options: { recursive: true, filter: () => false } },
  { name: 'over a tree, force (default)', before: plantedTree, options: { recursive: true } },
  { name: 'over a tree, force false', before: plantedTree, options: { recursive: true, force: false } },
  { name: 'over a tree, mode COPYFILE_EXCL', before: plantedTree, options: { recursive: true, mode: fs.constants.COPYFILE_EXCL } },
  {
    name: 'a file over a file, force false, errorOnExist',
    from: 'src/file.txt',
    before: (dir) => fs.writeFileSync(path.join(dir, 'file.txt'), 'changed since'),
    options: { force: false, errorOnExist: true },
  },
  {
    name: 'a file over a planted symlink, force',
    from: 'src/file.txt',
    before: (dir, victim) => fs.symlinkSync(victim, path.join(dir, 'file.txt')),
    options: {},
  },
  {
    name: 'a symlink over a symlink',
    from: 'src/rel-link',
    before: (dir, victim) => fs.symlinkSync(victim, path.join(dir, 'rel-link')),
    options: { verbatimSymlinks: true },
  },
  {
    name: 'a directory over a file',
    before: (dir) => fs.writeFileSync(path.join(dir, 'src'), 'a file'),
    options: { recursive: true },
  },
  {
    name: 'a directory over a planted symlink to a directory',
    before: (dir, victim) => fs.symlinkSync(path.dirname(victim), path.join(dir, 'src')),
    options: { recursive: true },
  },
  {
    name: 'a file over a directory',
    from: 'src/file.txt',
    before: (dir) => fs.mkdirSync(path.join(dir, 'file.txt')),
    options: {},
  },
];

const copies = [
  { name: 'copyToHost', dir: 'out', copy: (f: FileSystem, from: string, to: string, o: CopyOptions) => f.copyToHost(from, to, o) },
  { name: 'copyFromHost', dir: 'in', copy: (f: FileSystem, from: string, to: string, o: CopyOptions) => f.copyFromHost(from, to, o) },
] as const;

describe.each(targets)('copyToHost and copyFromHost on $name, against node fs.promises.cp', (target) => {
  let root: string;
  beforeAll(async () => {
    await target.setup?.();
  });
  afterAll(async () => {
    await target.teardown?.();
  });
  beforeEach(() => {
    root = tempDir('unshare-fs-copyopts-');
  });
  afterEach(() => {
    removeTree(root);
  });

  const runs = cases.flatMap((c) => copies.filter((k) => c.only === undefined || c.only === k.dir).map((k) => ({ ...c, copier: k })));
  // node 20's fs.cp is the reference (see NODE_CP_REFERENCE).
  if (NODE_CP_REFERENCE)
    test.each(runs)('$copier.name: $name', async (c) => {
      const src = buildCopySource(root, SOURCE);
      const from = path.join(root, c.from ?? 'src');
      const victimDir = path.join(root, 'victim');
      fs.mkdirSync(victimDir);
      const victim = path.join(victimDir, 'precious');
      fs.writeFileSync(victim, 'precious\n');
      const [nodeDir, ourDir] = ['node', 'ours'].map((who) => {
        const dir = path.join(root, who);
        fs.mkdirSync(dir);
        c.before?.(dir, victim);
        return dir;
      }) as [string, string];
      const name = path.basename(from);
      const calls = { node: [] as string[], ours: [] as string[] };
      const withFilter = (who: 'node' | 'ours', base: string): CopyOptions => {
        const filter = c.options.filter;
        if (filter === undefined) return c.options;
        return {
          ...c.options,
          filter: (s: string, d: string) => {
            calls[who].push(`${path.relative(root, s)} ${path.relative(base, d)}`);
            return filter(s, d);
          },
        };
      };
      const outcome = async (copy: () => Promise<unknown>, dir: string): Promise<string[]> => {
        let error: string[] = [];
        try {
          await copy();
        } catch (e) {
          error = [`error ${(e as { code?: string }).code}`];
        }
        return [...error, ...listing(path.join(dir, name))];
      };
      const nodeOptions = {
        ...(c.options.dereference === true ? {} : { verbatimSymlinks: true }),
        preserveTimestamps: true,
        ...withFilter('node', nodeDir),
      };
      const expected = await outcome(() => fs.promises.cp(from, path.join(nodeDir, name), nodeOptions), nodeDir);
      const actual = await outcome(() => c.copier.copy(target.fs(), from, ourDir, withFilter('ours', ourDir)), ourDir);
      expect(actual).toEqual(expected);
      expect(calls.ours.sort()).toEqual(calls.node.sort());
      // A symlink planted at the destination is never written through.
      expect(fs.readdirSync(victimDir)).toEqual(['precious']);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(src).toBe(path.join(root, 'src'));
    });

  test.each(copies)('$name: force false and errorOnExist inside a tree: ERR_FS_CP_EEXIST, the file kept', async (k) => {
    const src = buildCopySource(root, SOURCE);
    const dir = path.join(root, 'dest');
    fs.mkdirSync(path.join(dir, 'src/dir'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src/dir/big.bin'), 'changed since');
    const nodeDir = path.join(root, 'node');
    fs.mkdirSync(path.join(nodeDir, 'src/dir'), { recursive: true });
    fs.writeFileSync(path.join(nodeDir, 'src/dir/big.bin'), 'changed since');
    const options = { recursive: true, force: false, errorOnExist: true };
    await expect(fs.promises.cp(src, path.join(nodeDir, 'src'), options)).rejects.toMatchObject({ code: 'ERR_FS_CP_EEXIST' });
    await expect(k.copy(target.fs(), src, dir, options)).rejects.toMatchObject({ code: 'ERR_FS_CP_EEXIST', syscall: 'cp' });
    expect(fs.readFileSync(path.join(dir, 'src/dir/big.bin'), 'utf8')).toBe('changed since');
  });

  test('copyToHost: a hard link to a file the filter left out is left out too, the rest copied', async () => {
    const src = buildCopySource(root, SOURCE);
    fs.linkSync(path.join(src, 'file.txt'), path.join(src, 'hard'));
    const dir = path.join(root, 'dest');
    fs.mkdirSync(dir);
    // The stream carries file.txt's content with its first name, whichever comes first.
    const first = (await target.fs().readdir(src)).find((n) => n === 'file.txt' || n === 'hard')!;
    await target.fs().copyToHost(src, dir, { recursive: true, filter: (s) => path.basename(s) !== first });
    expect(fs.readdirSync(path.join(dir, 'src')).sort()).toEqual(
      fs
        .readdirSync(src)
        .filter((n) => n !== 'file.txt' && n !== 'hard')
        .sort(),
    );
  });

  test.each(copies)("$name: node's option checks, unknown options refused", async (k) => {
    const src = buildCopySource(root, SOURCE);
    const to = path.join(root, 'dest');
    await expect(k.copy(target.fs(), src, to, { bogus: 1 } as CopyOptions)).rejects.toThrow(/Unknown option 'bogus'/);
    await expect(k.copy(target.fs(), src, to, { recursive: true, dereference: true, verbatimSymlinks: true })).rejects.toMatchObject({
      code: 'ERR_INCOMPATIBLE_OPTION_PAIR',
    });
    await expect(k.copy(target.fs(), src, to, { recursive: true, force: 1 } as unknown as CopyOptions)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    await expect(k.copy(target.fs(), src, to, { recursive: true, mode: 8 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(fs.existsSync(to)).toBe(false);
  });
});

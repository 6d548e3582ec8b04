// Entries and readdir as node:fs has them, and walks that prune in the
// walker (exclude) or filter in JavaScript (filter); for host paths and for
// a session inside a namespace the library made, as file-api.test.ts does.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, host, type Entry, type FileSystem, type FsError, type Stats, type WalkOptions } from '../lib';
import { buildMixedTree, removeTree, tempDir } from './helpers/tree';
import { fileSystemTargets } from './helpers/targets';

const targets = fileSystemTargets();

const DIRENT_TESTS = ['isFile', 'isDirectory', 'isSymbolicLink', 'isFIFO', 'isSocket', 'isCharacterDevice', 'isBlockDevice'] as const;

/** What node's Dirent and ours must agree on: name, parentPath, path and every is…() answer. */
/** Whether this node's Dirents still have the deprecated `path` (removed in Node 24). */
const NODE_HAS_DIRENT_PATH = (() => {
  const d = fs.readdirSync(__dirname, { withFileTypes: true })[0] as unknown as { path?: string };
  return d.path !== undefined;
})();

function direntView(d: fs.Dirent | Entry<string | Buffer>): string {
  const tests = DIRENT_TESTS.map((t) => (d[t]() ? '1' : '0')).join('');
  const show = (v: string | Buffer): string => (Buffer.isBuffer(v) ? `<${v.toString('hex')}>` : v);
  const parentPath = (d as { parentPath: string | Buffer }).parentPath;
  // Dirent.path, parentPath's deprecated alias, is gone from Node 24's
  // Dirents: ours keeps it (as node 20-22 had it), and where node has it too
  // the two must agree.
  const alias = (d as { path?: string | Buffer }).path;
  const aliasView = alias === undefined || (d instanceof fs.Dirent ? false : !NODE_HAS_DIRENT_PATH) ? '' : ` (path ${show(alias)})`;
  return `${show(d.name)} in ${show(parentPath)}${aliasView} ${tests}`;
}

/**
 * node's recursive readdir as names: the relative paths of its Dirents.  Its
 * string form is not used as the reference: on node 20 it follows symlinks
 * to directories (dir/sub/up -> .. again and again until ELOOP), which its
 * Dirent form, node 22 and later, and this library do not.
 */
async function nodeRecursiveNames(dir: string): Promise<string[]> {
  const dirents = await fs.promises.readdir(dir, { recursive: true, withFileTypes: true });
  return dirents.map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}

const sorted = <T extends string | Buffer>(values: T[]): T[] => [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function names(walk: AsyncIterable<Pick<Entry<string | Buffer>, 'fullPath'>>, root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of walk) out.push(entry.fullPath.toString().slice(root.length + 1));
  return out.sort();
}

let root: string;
let mixed: string;
let pruned: string;

beforeAll(() => {
  root = tempDir();
  // Others must traverse it: a namespace's root may be an unmapped host id.
  fs.chmodSync(root, 0o755);
  mixed = path.join(root, 'mixed');
  fs.mkdirSync(mixed);
  buildMixedTree(mixed);
  // A tree to prune: node_modules twice, caches at two depths, logs.
  pruned = path.join(root, 'pruned');
  for (const dir of ['node_modules/dep/lib', 'src/node_modules/inner', 'src/lib', 'a/cache/tmp', 'b/cache', 'c/d/cache']) {
    fs.mkdirSync(path.join(pruned, dir), { recursive: true });
  }
  for (const file of [
    'README',
    'node_modules/dep/lib/index.js',
    'src/node_modules/inner/x.js',
    'src/lib/main.ts',
    'src/debug.log',
    'a/cache/tmp/f',
    'b/cache/f',
    'c/d/cache/f',
    'c/keep.txt',
  ]) {
    fs.writeFileSync(path.join(pruned, file), '');
  }
  execFileSync('mkfifo', [path.join(pruned, 'node_modules/dep/fifo')]);
});

afterAll(() => removeTree(root));

describe.each(targets)('$name', (target) => {
  beforeAll(async () => target.setup?.());
  afterAll(async () => target.teardown?.());

  describe('entries are fs.Dirent', () => {
    test('readdir withFileTypes: name, parentPath, path and the is…() methods as node gives them', async () => {
      for (const dir of [mixed, `${mixed}/`, path.join(mixed, 'dir')]) {
        const ours = (await target.fs().readdir(dir, { withFileTypes: true })).map(direntView);
        const theirs = (await fs.promises.readdir(dir, { withFileTypes: true })).map(direntView);
        expect(ours.sort()).toEqual(theirs.sort());
      }
    });

    test('a walk entry: join(parentPath, name) is fullPath, and path is parentPath', async () => {
      let checked = 0;
      for await (const entry of target.fs().walk(mixed)) {
        expect(path.join(entry.parentPath, entry.name)).toBe(entry.fullPath);
        expect(entry.path).toBe(entry.parentPath);
        checked++;
      }
      expect(checked).toBeGreaterThan(10);
      for await (const entry of target.fs().walk(mixed, { encoding: 'buffer' })) {
        expect(Buffer.concat([entry.parentPath, Buffer.from('/'), entry.name])).toEqual(entry.fullPath);
      }
    });

    test("encoding 'latin1': the bytes 'buffer' gives, one char a byte, the root's too", async () => {
      // A root that is not ASCII: its bytes too are latin1 chars in the paths.
      const wide = path.join(mixed, 'dir', 'wälk ✓');
      fs.mkdirSync(path.join(wide, 'ñ'), { recursive: true });
      fs.writeFileSync(Buffer.concat([Buffer.from(`${wide}/ñ/`), Buffer.from([0xe9, 0xff])]), '');
      try {
        for (const root of [mixed, wide, `${wide}/`]) {
          // Paths as bytes, and the inode and mode (times move as the walks read the directories).
          const view = (e: {
            parentPath: string | Buffer;
            name: string | Buffer;
            fullPath: string | Buffer;
            depth: number;
            stats?: Stats;
          }): string =>
            [e.parentPath, e.name, e.fullPath].map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'latin1')).toString('hex')).join(' ') +
            ` ${e.depth} ${e.stats!.ino} ${e.stats!.mode}`;
          const bytes: string[] = [];
          for await (const e of target.fs().walk(root, { encoding: 'buffer', stat: true })) bytes.push(view(e));
          const latin1: string[] = [];
          for await (const e of target.fs().walk(root, { encoding: 'latin1', stat: true })) {
            expect(typeof e.name === 'string' && typeof e.fullPath === 'string' && typeof e.parentPath === 'string').toBe(true);
            latin1.push(view(e));
          }
          expect(latin1.sort()).toEqual(bytes.sort());
          expect(latin1.length).toBeGreaterThanOrEqual(2);
        }
        // The root's own names as node:fs gives them in latin1.
        const first: string[] = [];
        for await (const e of target.fs().walk(mixed, { encoding: 'binary' as 'latin1', maxDepth: 1 })) first.push(e.name);
        expect(first.sort()).toEqual((await fs.promises.readdir(mixed, { encoding: 'latin1' })).sort());
        expect(first).toContain(Buffer.from([...Buffer.from('bad-'), 0xff, 0xfe, ...Buffer.from('.bin')]).toString('latin1'));
      } finally {
        fs.rmSync(wide, { recursive: true, force: true });
      }
    });

    test('an encoding a walk does not take throws', () => {
      expect(() => target.fs().walk(mixed, { encoding: 'hex' } as never)).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARG_VALUE',
          message: "Expected 'utf8', 'latin1' or 'buffer' for encoding but received 'hex'",
        }),
      );
    });
  });

  describe('readdir recursive', () => {
    test('names relative to the path, as node:fs gives them', async () => {
      for (const dir of [mixed, `${mixed}/`, path.join(mixed, 'dir')]) {
        const ours = await target.fs().readdir(dir, { recursive: true });
        expect(sorted(ours)).toEqual(sorted(await nodeRecursiveNames(dir)));
      }
    });

    test('withFileTypes: the Dirents node:fs gives, with each one parentPath', async () => {
      for (const dir of [mixed, `${mixed}/`]) {
        const ours = (await target.fs().readdir(dir, { recursive: true, withFileTypes: true })).map(direntView);
        const theirs = (await fs.promises.readdir(dir, { recursive: true, withFileTypes: true })).map(direntView);
        expect(ours.sort()).toEqual(theirs.sort());
      }
    });

    test("encoding 'buffer': names as node gives them, and recursive paths as bytes", async () => {
      const ours = await target.fs().readdir(mixed, { encoding: 'buffer' });
      expect(sorted(ours)).toEqual(sorted(await fs.promises.readdir(mixed, { encoding: 'buffer' })));
      // Node 20 throws for recursive with 'buffer' (node 22 and later give
      // Buffers): the paths node gives as strings, here as their bytes,
      // with the name that is not UTF-8 intact.
      const deep = sorted(await target.fs().readdir(mixed, { recursive: true, encoding: 'buffer' }));
      const strings = deep.map((p) => p.toString('utf8'));
      expect(strings.sort()).toEqual((await nodeRecursiveNames(mixed)).sort());
      expect(deep.some((p) => p.includes(Buffer.from([0xff, 0xfe])))).toBe(true);
      const dirents = await target.fs().readdir(mixed, { recursive: true, withFileTypes: true, encoding: 'buffer' });
      for (const d of dirents) expect(Buffer.isBuffer(d.name) && Buffer.isBuffer(d.parentPath)).toBe(true);
      expect(dirents.length).toBe(deep.length);
    });

    test('unknown options throw, as every call of the library does', async () => {
      await expect(target.fs().readdir(mixed, { recursive: true, maxDepth: 2 } as never)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
      });
    });
  });

  describe('exclude and filter', () => {
    const walkNames = (options: WalkOptions): Promise<string[]> => names(target.fs().walk(pruned, options), pruned);

    test('a name excludes the entry and all under it, at every depth', async () => {
      const seen = await walkNames({ exclude: ['node_modules'] });
      expect(seen.filter((p) => p.includes('node_modules'))).toEqual([]);
      expect(seen).toContain('src/lib/main.ts');
      expect(seen).toContain('c/keep.txt');
    });

    test('a glob without a slash matches names; one with a slash matches paths below the root', async () => {
      expect(await walkNames({ exclude: ['*.log', 'node_*'] })).toEqual([
        'README',
        'a',
        'a/cache',
        'a/cache/tmp',
        'a/cache/tmp/f',
        'b',
        'b/cache',
        'b/cache/f',
        'c',
        'c/d',
        'c/d/cache',
        'c/d/cache/f',
        'c/keep.txt',
        'src',
        'src/lib',
        'src/lib/main.ts',
      ]);
      // '*/cache': a cache one level down, not c/d/cache ('*' does not cross a slash).
      const seen = await walkNames({ exclude: ['*/cache', 'node_modules', 'src'] });
      expect(seen).toEqual(['README', 'a', 'b', 'c', 'c/d', 'c/d/cache', 'c/d/cache/f', 'c/keep.txt']);
      expect(await walkNames({ exclude: ['[ab]', 'c/?', 'src/*', 'node_modules/dep'] })).toEqual([
        'README',
        'c',
        'c/keep.txt',
        'node_modules',
        'src',
      ]);
      // A leading slash anchors at the root: the root's node_modules only.
      const anchored = await walkNames({ exclude: ['/node_modules', '/a', '/b', '/c/d'] });
      expect(anchored).toEqual([
        'README',
        'c',
        'c/keep.txt',
        'src',
        'src/debug.log',
        'src/lib',
        'src/lib/main.ts',
        'src/node_modules',
        'src/node_modules/inner',
        'src/node_modules/inner/x.js',
      ]);
    });

    test('with maxDepth: what maxDepth lists, less what is excluded', async () => {
      expect(await walkNames({ exclude: ['node_modules'], maxDepth: 1 })).toEqual(['README', 'a', 'b', 'c', 'src']);
      expect(await walkNames({ exclude: ['node_modules', 'cache'], maxDepth: 2 })).toEqual([
        'README',
        'a',
        'b',
        'c',
        'c/d',
        'c/keep.txt',
        'src',
        'src/debug.log',
        'src/lib',
      ]);
    });

    test('filter keeps what it accepts and does not prune; what it throws ends the walk', async () => {
      const files = await walkNames({ filter: (e) => e.isFile(), exclude: ['node_modules'] });
      expect(files).toEqual(['README', 'a/cache/tmp/f', 'b/cache/f', 'c/d/cache/f', 'c/keep.txt', 'src/debug.log', 'src/lib/main.ts']);
      const boom = new Error('boom');
      const walk = target.fs().walk(pruned, {
        filter: () => {
          throw boom;
        },
      });
      await expect(walk.next()).rejects.toBe(boom);
      // The session goes on.
      expect((await target.fs().readdir(pruned)).length).toBe(6);
    });

    test('walkBatches prunes and filters the same way', async () => {
      const seen: string[] = [];
      for await (const batch of target
        .fs()
        .walkBatches(pruned, { exclude: ['node_modules', '*/cache'], filter: (e) => !e.isDirectory() })) {
        for (const entry of batch) seen.push(entry.fullPath.slice(pruned.length + 1));
      }
      expect(seen.sort()).toEqual(['README', 'c/d/cache/f', 'c/keep.txt', 'src/debug.log', 'src/lib/main.ts']);
    });
  });
});

describe('an excluded directory is never opened', () => {
  // A directory the walker cannot open (0000, owned by an id it is not):
  // walked, it is an EACCES; excluded, the walk never meets it.
  let tree: string;
  beforeAll(() => {
    tree = path.join(root, 'closed-tree');
    fs.mkdirSync(path.join(tree, 'closed/inner'), { recursive: true });
    fs.mkdirSync(path.join(tree, 'open/closed'), { recursive: true });
    execFileSync('mkfifo', [path.join(tree, 'closed/inner/fifo')]);
    fs.writeFileSync(path.join(tree, 'open.txt'), '');
    fs.chmodSync(path.join(tree, 'closed'), 0o000);
    fs.chmodSync(path.join(tree, 'open/closed'), 0o000);
  });
  afterAll(() => {
    fs.chmodSync(path.join(tree, 'closed'), 0o755);
    fs.chmodSync(path.join(tree, 'open/closed'), 0o755);
  });

  /** Runs `body` as someone the 0000 directories shut out: the user itself, or (as root) a namespace mapping root to nobody. */
  async function asOutsider<T>(body: (fs: FileSystem) => Promise<T>): Promise<T> {
    if (process.geteuid!() !== 0) return body(host);
    const outsider = await createNamespace({ uidMap: [{ inside: 0, outside: 65534, count: 1 }] });
    try {
      return await body(await outsider.enter());
    } finally {
      await outsider.close();
    }
  }

  async function walkAll(fsApi: FileSystem, options: WalkOptions): Promise<string[]> {
    return names(fsApi.walk(tree, options), tree);
  }

  test('walked, the closed directories are errors; excluded by name or path, the walk is clean', async () => {
    await asOutsider(async (fsApi) => {
      const errors: FsError[] = [];
      await walkAll(fsApi, { onError: (e) => errors.push(e) });
      expect(errors.map((e) => e.path).sort()).toEqual([path.join(tree, 'closed'), path.join(tree, 'open/closed')]);
      // onError 'throw' (the default): any open of them would end the walk.
      expect(await walkAll(fsApi, { exclude: ['closed'] })).toEqual(['open', 'open.txt']);
      expect(await walkAll(fsApi, { exclude: ['clo*', 'open/clo?ed'], stat: true })).toEqual(['open', 'open.txt']);
      await expect(walkAll(fsApi, { exclude: ['closed'], maxDepth: 1 })).resolves.toEqual(['open', 'open.txt']);
      // A path glob prunes only where it matches.
      await expect(walkAll(fsApi, { exclude: ['open/*'] })).rejects.toMatchObject({ code: 'EACCES', path: path.join(tree, 'closed') });
      await expect(walkAll(fsApi, { exclude: ['/closed'] })).rejects.toMatchObject({
        code: 'EACCES',
        path: path.join(tree, 'open/closed'),
      });
      expect(await walkAll(fsApi, { exclude: ['/closed', '/open/closed'] })).toEqual(['open', 'open.txt']);
    });
  });
});

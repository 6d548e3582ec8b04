// unshare-fs cp against podman cp on two containers of the seed scenario's
// files, made here (privateScenarioContainer: the scenario's own are held
// to podman diff and export by other suites at the same time; rootless as
// an ordinary user, rootful as root): each case run by podman cp and by unshare-fs cp into destinations
// of their own, the trees held to each other entry by entry (type, mode,
// size, content, link target, file mtime, and the owners the container
// sees, read by find in podman's namespaces), and the exit status.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { cli, builtCli, tool } from './helpers/cli';
import { graphDriverData, podmanEnv, podmanImage, privateScenarioContainer, removeContainer, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const NAME = `unshare-fs-cli-cp-1-${process.pid}`;
const OTHER = `unshare-fs-cli-cp-2-${process.pid}`;
const MODE = ROOTFUL ? 'rootful' : 'rootless';

/** Every entry at and under `top` on the host: type, mode, size, content hash, link target; and each file's mtime. */
function hostEntries(top: string): [string, number][] {
  if (!fs.existsSync(top)) return [['absent', 0]];
  const out: [string, number][] = [];
  const visit = (p: string, rel: string): void => {
    const st = fs.lstatSync(p);
    const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : '?';
    let line = `${rel} ${type} ${(st.mode & 0o7777).toString(8)}`;
    if (st.isFile()) line += ` ${st.size} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`;
    if (st.isSymbolicLink()) line += ` -> ${fs.readlinkSync(p)}`;
    out.push([line, st.isFile() ? st.mtimeMs / 1000 : 0]);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name), `${rel}/${name}`);
  };
  visit(top, '.');
  return out;
}

/** Every entry at and under `inside` in the container, as find in podman's namespaces prints it (owners as the container sees them), and each file's mtime. */
function containerEntries(merged: string, inside: string): [string, number][] {
  const dir = path.join(merged, inside);
  const argv = ['find', dir, '-printf', '%P|%y|%m|%U|%G|%s|%l|%T@\\n'];
  const text = ROOTFUL ? tool(argv).toString() : tool(['podman', 'unshare', ...argv], podmanEnv()).toString();
  return text
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((line) => {
      const fields = line.split('|');
      const mtime = Number(fields.pop());
      return [fields.join('|'), fields[1] === 'f' ? mtime : 0];
    });
}

/** The two trees' entries equal, their files' mtimes within a second (podman cp's tar keeps whole seconds). */
function expectSameEntries(actual: [string, number][], expected: [string, number][]): void {
  expect(actual.map(([line]) => line)).toEqual(expected.map(([line]) => line));
  actual.forEach(([, mtime], i) => expect(Math.abs(mtime - expected[i]![1])).toBeLessThanOrEqual(1));
}

/** A file that was there before the copy, with a fixed mtime: both sides' copies are made a moment apart. */
function made(file: string, data: string): void {
  fs.writeFileSync(file, data);
  fs.utimesSync(file, 1_000_000, 1_000_000);
}

const gate = requires(builtCli, podmanImage);

gate.describe(`unshare-fs cp against podman cp (${MODE}, uid ${UID})`, () => {
  const env = podmanEnv();
  const run = (args: string[]): ReturnType<typeof cli> => cli(args, env);
  let merged: string;
  let root: string;

  beforeAll(() => {
    privateScenarioContainer(NAME, 1);
    privateScenarioContainer(OTHER, 2);
    merged = graphDriverData(NAME).MergedDir!;
  });
  beforeEach(() => {
    root = tempDir('unshare-fs-cli-cp-');
  });
  afterEach(() => {
    removeTree(root);
  });
  afterAll(() => {
    removeContainer(NAME);
    removeContainer(OTHER);
  });

  /** Runs podman cp and unshare-fs cp, each with `dest(who)` as DST; their exit statuses. */
  function both(src: string, dest: (who: 'podman' | 'ours') => string, prepare?: (who: 'podman' | 'ours') => void): [number, number] {
    prepare?.('podman');
    const podman = tryPod(['cp', src, dest('podman')]).ok ? 0 : 1;
    prepare?.('ours');
    const ours = run(['cp', src, dest('ours')]);
    if (podman === 0) expect(ours.stderr).toBe('');
    return [podman, ours.status ?? -1];
  }

  const outCases: [string, string, string, ((dir: string) => void) | undefined][] = [
    ['a file to a new name', `${NAME}:/data/hello.txt`, 'new.txt', undefined],
    ['a file into an existing directory', `${NAME}:/data/hello.txt`, 'dir/', (d) => fs.mkdirSync(path.join(d, 'dir'))],
    ['a file over an existing file', `${NAME}:/data/hello.txt`, 'old.txt', (d) => made(path.join(d, 'old.txt'), 'old contents')],
    ['a symlink, followed as podman cp follows it', `${NAME}:/data/link-to-hello`, 'link', undefined],
    ['a symlink into an existing directory', `${NAME}:/data/link-to-hello`, 'dir', (d) => fs.mkdirSync(path.join(d, 'dir'))],
    ['a directory to a new name', `${NAME}:/data/tree`, 'tree-copy', undefined],
    ['a directory into an existing directory', `${NAME}:/data/tree`, 'dir', (d) => fs.mkdirSync(path.join(d, 'dir'))],
    [
      "a directory's contents (/.) into an existing directory, merged",
      `${NAME}:/data/tree/.`,
      'dir',
      (d) => {
        fs.mkdirSync(path.join(d, 'dir/d1'), { recursive: true });
        made(path.join(d, 'dir/d1/mine'), 'kept');
      },
    ],
    ["a directory's contents (/.) to a new name", `${NAME}:/data/user-dir/.`, 'made', undefined],
    ['a directory over a file', `${NAME}:/data/tree`, 'file', (d) => made(path.join(d, 'file'), 'x')],
    ['a missing source', `${NAME}:/data/nope`, 'x', undefined],
    ['a file to a missing directory/', `${NAME}:/data/hello.txt`, 'nodir/', undefined],
  ];

  test.each(outCases.map(([name, src, dst, prepare]) => ({ name, src, dst, prepare })))(
    'container to host: $name',
    ({ src, dst, prepare }) => {
      const base = (who: string): string => path.join(root, who);
      const statuses = both(
        src,
        (who) => path.join(base(who), dst),
        (who) => {
          fs.mkdirSync(base(who));
          prepare?.(base(who));
        },
      );
      expect(statuses[1]).toBe(statuses[0]);
      expectSameEntries(hostEntries(base('ours')), hostEntries(base('podman')));
    },
  );

  test('a missing source: exit 1 and the node:fs error naming the TARGET as written', () => {
    const r = run(['cp', `${NAME}:/data/nope`, path.join(root, 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`unshare-fs: ENOENT: no such file or directory, lstat '${NAME}:/data/nope'\n`);
  });

  test('usage errors: exit 2', () => {
    expect(run(['cp', `${NAME}:/data/hello.txt`]).status).toBe(2);
    expect(run(['cp', '-a', 'maybe', `${NAME}:/data/hello.txt`, root]).status).toBe(2);
  });

  test('host to container: a tree, a file into a directory, a file over a file; owners as podman cp gives them', () => {
    const src = path.join(root, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'f'), 'file\n');
    fs.writeFileSync(path.join(src, 'sub/g'), Buffer.alloc(100_000, 3));
    fs.chmodSync(path.join(src, 'sub/g'), 0o640);
    fs.symlinkSync('f', path.join(src, 'link'));
    fs.utimesSync(path.join(src, 'f'), 1_000_000, 1_000_000);
    const dirs = { podman: `/tmp/cp-podman-${process.pid}`, ours: `/tmp/cp-ours-${process.pid}` };

    for (const who of ['podman', 'ours'] as const) tryPod(['exec', NAME, 'mkdir', '-p', `${dirs[who]}/into`]);
    for (const [from, to] of [
      [src, 'tree'],
      [path.join(src, 'f'), 'into'],
      [path.join(src, 'sub/g'), 'into/f'],
    ] as const) {
      const statuses = both(from, (who) => `${NAME}:${dirs[who]}/${to}`);
      expect(statuses).toEqual([0, 0]);
    }
    expectSameEntries(containerEntries(merged, dirs.ours), containerEntries(merged, dirs.podman));
  });

  test('container to container', () => {
    const dirs = { podman: `/tmp/cc-podman-${process.pid}`, ours: `/tmp/cc-ours-${process.pid}` };
    const other = graphDriverData(OTHER).MergedDir!;
    for (const who of ['podman', 'ours'] as const) tryPod(['exec', OTHER, 'mkdir', '-p', dirs[who]]);
    try {
      const statuses = both(`${NAME}:/data/tree`, (who) => `${OTHER}:${dirs[who]}`);
      // podman 4.3 copies between containers; where it cannot, ours must still work.
      expect(statuses[1]).toBe(0);
      if (statuses[0] === 0) expectSameEntries(containerEntries(other, dirs.ours), containerEntries(other, dirs.podman));
      expectSameEntries(containerEntries(other, `${dirs.ours}/tree`), containerEntries(merged, '/data/tree'));
    } finally {
      for (const who of ['podman', 'ours'] as const) tryPod(['exec', OTHER, 'rm', '-rf', dirs[who]]);
    }
  });
});

// Hostile content against the write side (issue 26, items 1, 2, 3 and 9),
// for each way of reaching a file: a directory swapped for a symlink in the
// middle of a copy, names that are not UTF-8, a failed copy's partial
// output, whiteout names that strip to '.' or '..', and '.' or '..' as the
// last component of a change's path, relative or absolute.  What a test
// expects comes from node:fs and find(1), never from the library.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import type { TarHeader } from '../lib/layers/tar';
import { END_OF_ARCHIVE, encodeHeader, padding } from './helpers/tar-writer';
import { fileSystemTargets, type FileSystemTarget } from './helpers/targets';
import { removeTree, tempDir } from './helpers/tree';

interface Target extends FileSystemTarget {
  /** `absolute` written relative to where this target resolves relative paths. */
  relative(absolute: string): string;
}

const [hostTarget, namespaceTarget] = fileSystemTargets();
const targets: Target[] = [
  { ...hostTarget!, relative: (p) => path.relative(process.cwd(), p) },
  // A session resolves relative paths against its root, '/'.
  { ...namespaceTarget!, relative: (p) => path.relative('/', p) },
];

/** Every entry under `dir` as find(1) sees it: name bytes, type, mode, size, mtime, link target. */
function listing(dir: string): string[] {
  const out = execFileSync('find', [dir, '-mindepth', '1', '-printf', '%P %y %m %s %T@ %l\\n'], { encoding: 'latin1' });
  return out.split('\n').filter(Boolean).sort();
}

/** Names under `dir` as bytes (latin1 strings), with the content of each regular file. */
function contents(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const names = execFileSync('find', [dir, '-mindepth', '1', '-type', 'f', '-printf', '%P\\0'], { encoding: 'buffer' });
  for (const name of names.toString('latin1').split('\0').filter(Boolean)) {
    out.set(name, fs.readFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name, 'latin1')])).toString('latin1'));
  }
  return out;
}

function tarEntry(name: string, more: Partial<TarHeader> = {}): Buffer {
  const h: TarHeader = {
    name: Buffer.from(name),
    type: 'file',
    mode: 0o644,
    uid: process.getuid!(),
    gid: process.getgid!(),
    size: 0,
    mtime: { seconds: 1600000000, nanoseconds: 0 },
    ...more,
  };
  return Buffer.concat([encodeHeader(h), padding(0)]);
}

const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
};

describe.each(targets)('hostile writes: $name', (target) => {
  let dir: string;
  beforeAll(async () => {
    await target.setup?.();
  });
  afterAll(async () => {
    await target.teardown?.();
  });
  beforeEach(() => {
    dir = tempDir('unshare-fs-hostile-');
  });
  afterEach(() => removeTree(dir));

  test('copyToHost never reads through a directory swapped for a symlink after the copy began', async () => {
    const tree = path.join(dir, 'tree');
    const outside = path.join(dir, 'outside');
    const out = path.join(dir, 'out');
    fs.mkdirSync(path.join(tree, 'd'), { recursive: true });
    fs.mkdirSync(outside);
    // The first file copied: long enough that the swap comes while it is.
    fs.writeFileSync(path.join(tree, 'big'), Buffer.alloc(64 << 20, 0x61));
    fs.writeFileSync(path.join(tree, 'd/shadow'), 'inside the tree\n');
    fs.writeFileSync(path.join(outside, 'shadow'), 'OUTSIDE THE TREE\n');
    let settled = false;
    const copying = target
      .fs()
      .copyToHost(tree, out, { recursive: true })
      .finally(() => {
        settled = true;
      });
    await until(() => fs.existsSync(path.join(out, 'big')));
    expect(settled).toBe(false); // the swap comes during the copy
    fs.renameSync(path.join(tree, 'd'), path.join(tree, 'd.moved'));
    fs.symlinkSync(outside, path.join(tree, 'd'));
    await copying;
    const copied = contents(out);
    for (const [name, text] of copied) expect([name, text.includes('OUTSIDE')]).toEqual([name, false]);
    expect(copied.get('big')?.length).toBe(64 << 20);
    // d was read before the swap (its own file), or left out, or copied as the link it became.
    const d = fs.lstatSync(path.join(out, 'd'), { throwIfNoEntry: false });
    if (d?.isDirectory()) expect(copied.get('d/shadow')).toBe('inside the tree\n');
    if (d?.isSymbolicLink()) expect(fs.readlinkSync(path.join(out, 'd'))).toBe(outside);
  });

  test('copies keep names that are not UTF-8, byte for byte, both ways', async () => {
    const tree = path.join(dir, 'tree');
    const bytes = (name: string): Buffer => Buffer.from(name, 'latin1');
    const under = (base: string, name: string): Buffer => Buffer.concat([Buffer.from(`${base}/`), bytes(name)]);
    fs.mkdirSync(tree);
    fs.writeFileSync(under(tree, 'bad\xffname'), 'latin-1 name\n');
    fs.mkdirSync(under(tree, 'caf\xe9'));
    fs.writeFileSync(under(tree, 'caf\xe9/men\xfc'), 'deeper\n');
    fs.chmodSync(under(tree, 'caf\xe9/men\xfc'), 0o600);
    // A time before the epoch, with a fraction: 1.5 s before it.
    fs.utimesSync(under(tree, 'caf\xe9/men\xfc'), new Date(-1500), new Date(-1500));
    fs.symlinkSync(bytes('bad\xffname'), under(tree, 'link\xfe'));
    const expected = listing(tree);
    expect(expected).toHaveLength(4);

    const out = path.join(dir, 'out');
    expect(await target.fs().copyToHost(tree, out, { recursive: true })).toEqual({ entries: 5, bytes: 13 + 7, skipped: 0 });
    // Times aside (a symlink's and a directory's are not kept).
    const timeless = (rows: string[]): string[] => rows.map((row) => row.replace(/ [0-9]+\.[0-9]+ /, ' '));
    expect(timeless(listing(out))).toEqual(timeless(expected));
    expect(contents(out)).toEqual(contents(tree));
    // File times to the microsecond: the nanoseconds travel, but node's utimes
    // takes seconds as a double (±120 ns this side of 2106) and libuv truncates
    // them to whole microseconds.
    const mtimeNs = (base: string, name: string): bigint => fs.statSync(under(base, name), { bigint: true }).mtimeNs;
    const truncated = (original: bigint, copy: bigint): boolean => original - copy > -250n && original - copy < 1250n;
    for (const name of ['bad\xffname', 'caf\xe9/men\xfc'])
      expect([name, truncated(mtimeNs(tree, name), mtimeNs(out, name))]).toEqual([name, true]);
    expect(fs.statSync(under(out, 'caf\xe9/men\xfc')).mtimeMs).toBe(-1500);

    const back = path.join(dir, 'back');
    expect(await target.fs().copyFromHost(out, back, { recursive: true })).toEqual({ entries: 5, bytes: 13 + 7, skipped: 0 });
    expect(contents(back)).toEqual(contents(tree));
    expect(fs.readlinkSync(under(back, 'link\xfe'), { encoding: 'buffer' })).toEqual(bytes('bad\xffname'));
    // Back in, the server sets nanoseconds (utimensat) from node's lstat:
    // milliseconds as a double (±122 ns), then seconds (±119 ns).
    for (const name of ['bad\xffname', 'caf\xe9/men\xfc']) {
      const [copy, original] = [mtimeNs(back, name), mtimeNs(out, name)];
      expect([name, copy - original > -500n && copy - original < 500n]).toEqual([name, true]);
    }
  });

  test('a copy that fails or is aborted removes what it made', async () => {
    // The copy's destination is so deep that the tree's deepest paths pass
    // PATH_MAX there (ENAMETOOLONG), after much of it was made.
    const tree = path.join(dir, 'tree');
    const level = 'd'.repeat(200);
    let deepest = tree;
    for (let i = 0; i < 10; i++) {
      deepest = path.join(deepest, level);
      fs.mkdirSync(deepest, { recursive: true });
      fs.writeFileSync(path.join(deepest, 'f'), `level ${i}\n`);
    }
    let far = dir;
    for (let i = 0; i < 12; i++) far = path.join(far, 'x'.repeat(200));
    fs.mkdirSync(far, { recursive: true });
    const out = path.join(far, 'out');
    await expect(target.fs().copyToHost(tree, out, { recursive: true })).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    expect(fs.readdirSync(far)).toEqual([]);
    await expect(target.fs().copyFromHost(tree, out, { recursive: true })).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    expect(fs.readdirSync(far)).toEqual([]);
    // Aborted once it has begun: the same.
    fs.writeFileSync(path.join(tree, 'big'), Buffer.alloc(64 << 20, 1));
    const near = path.join(dir, 'near');
    const controller = new AbortController();
    const copying = target.fs().copyToHost(tree, near, { recursive: true, signal: controller.signal });
    await until(() => fs.existsSync(path.join(near, 'big')));
    controller.abort();
    await expect(copying).rejects.toMatchObject({ name: 'AbortError' });
    expect(fs.existsSync(near)).toBe(false);
  });

  test('extractTar with overlay: a whiteout of ., .. or nothing is ETARPATH and removes nothing', async () => {
    const work = path.join(dir, 'work');
    const dest = path.join(work, 'dest');
    fs.mkdirSync(dest, { recursive: true });
    fs.writeFileSync(path.join(work, 'keep'), 'kept\n');
    fs.writeFileSync(path.join(dest, 'keep'), 'kept\n');
    const before = listing(dir);
    for (const name of ['.wh...', '.wh..', '.wh.', './.wh...', 'sub/.wh...']) {
      for (const into of [target.relative(dest), dest]) {
        const archive = Readable.from([Buffer.concat([tarEntry(name), END_OF_ARCHIVE])]);
        const outcome = await target
          .fs()
          .extractTar(archive, into, { overlay: 'user' })
          .then(
            () => 'extracted',
            (error: NodeJS.ErrnoException) => error.code,
          );
        expect([name, into, outcome]).toEqual([name, into, 'ETARPATH']);
        expect(listing(dir)).toEqual(before);
      }
    }
  });

  test('extractTar(undefined) is ERR_INVALID_ARG_TYPE', async () => {
    await expect(target.fs().extractTar(undefined as unknown as Readable, dir)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  test("'.' or '..' as the last component of a change's path is EINVAL, relative or absolute", async () => {
    const a = path.join(dir, 'a');
    const victim = path.join(a, 'victim');
    fs.mkdirSync(victim, { recursive: true });
    fs.writeFileSync(path.join(victim, 'file'), 'victim\n');
    fs.writeFileSync(path.join(a, 'keep'), 'keep\n');
    const source = tempDir('unshare-fs-hostile-src-');
    fs.writeFileSync(path.join(source, 'f'), 'f\n');
    const before = listing(dir);
    const f = target.fs();
    const me = [process.getuid!(), process.getgid!()] as const;
    const changes: [string, (p: string | Buffer) => Promise<unknown>][] = [
      ['rm', (p) => f.rm(p, { recursive: true })],
      ['rm', (p) => f.rm(p, { recursive: true, force: true })],
      ['rmdir', (p) => f.rmdir(p)],
      ['unlink', (p) => f.unlink(p)],
      ['rename', (p) => f.rename(p, path.join(dir, 'moved'))],
      ['rename', (p) => f.rename(path.join(a, 'keep'), p)],
      ['link', (p) => f.link(path.join(a, 'keep'), p)],
      ['symlink', (p) => f.symlink('target', p)],
      ['mkdir', (p) => f.mkdir(p)],
      ['mkdir', (p) => f.mkdir(p, { recursive: true })],
      ['mknod', (p) => f.mknod(p)],
      ['chmod', (p) => f.chmod(p, 0o700)],
      ['chown', (p) => f.chown(p, ...me)],
      ['chown', (p) => f.chown(p, ...me, { recursive: true })],
      ['lchown', (p) => f.lchown(p, ...me)],
      ['utime', (p) => f.utimes(p, 5, 5)],
      ['lutime', (p) => f.lutimes(p, 5, 5)],
      ['open', (p) => f.truncate(p)],
      ['open', (p) => f.writeFile(p, 'x')],
      ['open', (p) => f.appendFile(p, 'x')],
      ['setxattr', (p) => f.setXattr(p, 'user.test', 'x')],
      ['mkdir', (p) => f.copyFromHost(source, p as string, { recursive: true })],
    ];
    const relative = target.relative(victim);
    const forms = [
      `${relative}/..`,
      `${relative}/../`,
      `${relative}/.`,
      `${relative}/.//`,
      `${victim}/..`,
      `${victim}/.`,
      Buffer.from(`${relative}/..`),
      Buffer.from(`${victim}/..`),
    ];
    try {
      for (const [syscall, change] of changes) {
        for (const form of forms) {
          const outcome = await change(form).then(
            () => 'done',
            (error: NodeJS.ErrnoException) => `${error.code} ${error.syscall}`,
          );
          expect([String(form), outcome]).toEqual([String(form), `EINVAL ${syscall}`]);
        }
      }
      expect(() => f.createWriteStream(`${relative}/..`)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(listing(dir)).toEqual(before);
    } finally {
      removeTree(source);
    }
  });
});

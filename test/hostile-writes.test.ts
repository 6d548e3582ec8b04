// Hostile content against the write side (issue 26, items 2 and 3), for
// each way of reaching a file: whiteout names that strip to '.' or '..',
// and '.' or '..' as the last component of a change's path, relative or
// absolute.  What a test expects comes from node:fs and find(1), never from
// the library.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import { createNamespace, host, type FileSystem, type Namespace, type Session } from '../lib';
import type { TarHeader } from '../lib/tar';
import { END_OF_ARCHIVE, encodeHeader, padding } from './helpers/tar-writer';
import { removeTree, tempDir } from './helpers/tree';

interface Target {
  name: string;
  fs(): FileSystem;
  /** `absolute` written relative to where this target resolves relative paths. */
  relative(absolute: string): string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

let ns: Namespace | undefined;
let session: Session | undefined;

const targets: Target[] = [
  { name: 'host', fs: () => host, relative: (p) => path.relative(process.cwd(), p) },
  {
    name: 'namespace session',
    fs: () => session!,
    // A session resolves relative paths against its root, '/'.
    relative: (p) => path.relative('/', p),
    async setup() {
      ns = await createNamespace();
      session = await ns.enter();
    },
    async teardown() {
      await session?.close();
      await ns?.close();
    },
  },
];

/** Every entry under `dir` as find(1) sees it: name bytes, type, mode, size, mtime, link target. */
function listing(dir: string): string[] {
  const out = execFileSync('find', [dir, '-mindepth', '1', '-printf', '%P %y %m %s %T@ %l\\n'], { encoding: 'latin1' });
  return out.split('\n').filter(Boolean).sort();
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
    const forms = [`${relative}/..`, `${relative}/../`, `${relative}/.`, `${relative}/.//`, `${victim}/..`, `${victim}/.`, Buffer.from(`${relative}/..`), Buffer.from(`${victim}/..`)];
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

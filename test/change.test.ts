// The write side: changes through the host server and through sessions in
// a namespace of our own, checked against node:fs and against what the host
// sees of the ids; hostile cases (FIFOs, symlinks planted or swapped in, a
// mount point inside a tree, a tree that changes, a cancel half-way).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import { enter, host, type Session } from '../lib';
import { waitFor } from './helpers/counters';
import { overlayFixture, type OverlayFixture } from './helpers/overlay';
import { requires, subuidRange } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const asRoot = process.geteuid!() === 0;
const fullRange = asRoot ? requires() : requires(subuidRange);

/** A tree of `dirs` directories of `files` files each under `root`, made with node:fs. */
function makeTree(root: string, dirs: number, files: number): number {
  fs.mkdirSync(root, { recursive: true });
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, `d${d}`);
    fs.mkdirSync(dir);
    for (let f = 0; f < files; f++) fs.writeFileSync(path.join(dir, `f${f}`), `${d}.${f}`);
  }
  return dirs * (files + 1);
}

/** True once `fifo` has a reader: opening it to write without blocking is ENXIO until then. */
function hasReader(fifo: string): boolean {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw error;
  }
}

/**
 * True once nothing more fits in `fifo`'s pipe: a write of one byte without
 * blocking is EAGAIN (until then the byte goes in, to a reader that never reads).
 */
function pipeFull(fifo: string): boolean {
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  try {
    fs.writeSync(fd, 'x');
    return false;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return true;
    throw error;
  } finally {
    fs.closeSync(fd);
  }
}

describe('changes through the host server', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('unshare-fs-change-');
  });
  afterEach(() => removeTree(dir));

  test('each change of a missing path fails with the code, errno and syscall node:fs gives', async () => {
    const missing = path.join(dir, 'no/such');
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, '');
    // [what, ours, node's own], each on the same missing path.
    const cases: [string, () => Promise<unknown>, () => unknown][] = [
      ['chmod', () => host.chmod(missing, 0o600), () => fs.chmodSync(missing, 0o600)],
      ['chown', () => host.chown(missing, 0, 0), () => fs.chownSync(missing, 0, 0)],
      ['lchown', () => host.lchown(missing, 0, 0), () => fs.lchownSync(missing, 0, 0)],
      ['utimes', () => host.utimes(missing, 1, 2), () => fs.utimesSync(missing, 1, 2)],
      ['lutimes', () => host.lutimes(missing, 1, 2), () => fs.lutimesSync(missing, 1, 2)],
      ['truncate', () => host.truncate(missing, 1), () => fs.truncateSync(missing, 1)],
      ['mkdir', () => host.mkdir(missing), () => fs.mkdirSync(missing)],
      ['rmdir', () => host.rmdir(missing), () => fs.rmdirSync(missing)],
      ['unlink', () => host.unlink(missing), () => fs.unlinkSync(missing)],
      ['rename', () => host.rename(missing, file), () => fs.renameSync(missing, file)],
      ['link', () => host.link(missing, path.join(dir, 'l')), () => fs.linkSync(missing, path.join(dir, 'l'))],
      ['symlink', () => host.symlink('x', missing), () => fs.symlinkSync('x', missing)],
      ['writeFile', () => host.writeFile(missing, 'x'), () => fs.writeFileSync(missing, 'x')],
    ];
    for (const [what, ours, theirs] of cases) {
      let expected: NodeJS.ErrnoException | undefined;
      try {
        theirs();
      } catch (error) {
        expected = error as NodeJS.ErrnoException;
      }
      expect([what, expected?.code]).toEqual([what, 'ENOENT']);
      const error = await ours().then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect([what, error?.code, error?.errno, error?.syscall]).toEqual([what, expected?.code, expected?.errno, expected?.syscall]);
    }
  });

  test('mkdir, writeFile, appendFile, rename, link, symlink, chmod, utimes, truncate, unlink, rmdir agree with node:fs', async () => {
    expect(await host.mkdir(path.join(dir, 'a/b/c'), { recursive: true })).toBe(path.join(dir, 'a'));
    expect(await host.mkdir(path.join(dir, 'a/b/c'), { recursive: true })).toBeUndefined();
    await expect(host.mkdir(path.join(dir, 'a'))).rejects.toMatchObject({ code: 'EEXIST', syscall: 'mkdir' });
    await host.mkdir(path.join(dir, 'm'), { mode: 0o700 });
    expect(fs.statSync(path.join(dir, 'm')).mode & 0o777).toBe(0o700);

    const file = path.join(dir, 'a/file');
    await host.writeFile(file, 'hello', { mode: 0o640 });
    await host.appendFile(file, Buffer.from(' world'));
    expect(fs.readFileSync(file, 'utf8')).toBe('hello world');
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    await expect(host.writeFile(file, 'again', { flag: 'wx' })).rejects.toMatchObject({ code: 'EEXIST', syscall: 'open' });
    await expect(host.mkdir(path.join(file, 'sub'), { recursive: true })).rejects.toMatchObject({ code: 'ENOTDIR' });

    await host.rename(file, path.join(dir, 'a/moved'));
    await host.link(path.join(dir, 'a/moved'), path.join(dir, 'a/hard'));
    expect(fs.statSync(path.join(dir, 'a/moved')).nlink).toBe(2);
    await host.symlink('moved', path.join(dir, 'a/link'));
    expect(fs.readlinkSync(path.join(dir, 'a/link'))).toBe('moved');

    await host.chmod(path.join(dir, 'a/link'), '600'); // follows the link
    expect(fs.statSync(path.join(dir, 'a/moved')).mode & 0o777).toBe(0o600);
    await host.utimes(path.join(dir, 'a/moved'), 1_000_000, new Date(2_000_000_500));
    expect(fs.statSync(path.join(dir, 'a/moved')).mtimeMs).toBe(2_000_000_500);
    await host.lutimes(path.join(dir, 'a/link'), 5, 7.25);
    expect(fs.lstatSync(path.join(dir, 'a/link')).mtimeMs).toBe(7250);
    expect(fs.statSync(path.join(dir, 'a/moved')).mtimeMs).toBe(2_000_000_500);
    await host.truncate(path.join(dir, 'a/moved'), 3);
    expect(fs.readFileSync(path.join(dir, 'a/moved'), 'utf8')).toBe('hel');

    await host.unlink(path.join(dir, 'a/link'));
    await expect(host.rmdir(path.join(dir, 'a'))).rejects.toMatchObject({ code: 'ENOTEMPTY', syscall: 'rmdir' });
    await expect(host.unlink(path.join(dir, 'a'))).rejects.toMatchObject({ code: 'EISDIR', syscall: 'unlink' });
    await host.rmdir(path.join(dir, 'm'));
    expect(fs.readdirSync(path.join(dir, 'a')).sort()).toEqual(['b', 'hard', 'moved']);
  });

  test('bad arguments throw before anything is sent', async () => {
    await expect(host.mkdir(dir, { mode: 0o10000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(host.writeFile(path.join(dir, 'x'), 'x', { flag: 'rw' as 'w' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(host.writeFile(path.join(dir, 'x'), 42 as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.chown(dir, -2, 0)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(host.rm(dir, { recursive: true, bogus: 1 } as object)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(host.utimes(dir, 'soon', 0)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.unlink(`/${'x'.repeat(5000)}`)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('writeFile streams an async iterable with at most a window of it in flight', async () => {
    const file = path.join(dir, 'streamed');
    const chunk = 32 * 1024; // one data frame each
    const count = 400;
    let lowest = Infinity; // the least the file held, less what may be in flight, when a chunk was asked for
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < count; i++) {
        if (i >= 17) lowest = Math.min(lowest, fs.statSync(file).size - (i - 17) * chunk);
        yield Buffer.alloc(chunk, i & 0xff);
      }
    }
    await host.writeFile(file, chunks());
    const data = fs.readFileSync(file);
    expect(data.length).toBe(count * chunk);
    expect(data[chunk * 399]).toBe(399 & 0xff);
    // The server had written all but the last 16 frames whenever the next chunk was made.
    expect(lowest).toBeGreaterThanOrEqual(0);
    await host.writeFile(path.join(dir, 'copy'), fs.createReadStream(file));
    expect(fs.readFileSync(path.join(dir, 'copy')).equals(data)).toBe(true);
  });

  test('createWriteStream writes in order, reports open errors as error events, and is cut short by a signal', async () => {
    const file = path.join(dir, 'ws');
    const stream = host.createWriteStream(file, { mode: 0o600 });
    const parts: Buffer[] = [];
    for (let i = 0; i < 64; i++) parts.push(Buffer.alloc(100_003, i));
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      Readable.from(parts).pipe(stream).on('finish', resolve);
    });
    expect(fs.readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    const bad = host.createWriteStream(path.join(dir, 'missing/file'));
    await expect(new Promise((_, reject) => bad.on('error', reject))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open' });

    const controller = new AbortController();
    const aborted = host.createWriteStream(path.join(dir, 'aborted'), { signal: controller.signal });
    aborted.write('some');
    controller.abort();
    await expect(new Promise((_, reject) => aborted.on('error', reject))).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('a FIFO without a reader is ENXIO at once; one whose reader never reads is waited on until aborted', async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(host.writeFile(fifo, 'x')).rejects.toMatchObject({ code: 'ENXIO', syscall: 'open' });
    // A reader that holds the FIFO open and never reads: the pipe fills.
    const reader = spawn('sh', ['-c', 'exec 3<"$0"; sleep 60', fifo], { stdio: 'ignore' });
    try {
      // Until the reader has the FIFO open, opening it to write is ENXIO.
      while (!hasReader(fifo)) await new Promise((resolve) => setTimeout(resolve, 2));
      const controller = new AbortController();
      const write = host.writeFile(fifo, Buffer.alloc(4 << 20), { signal: controller.signal });
      const settled = write.then(
        () => 'resolved',
        () => 'rejected',
      );
      // Waited on: the server's write job is there, the pipe it writes to is
      // full, and the write has not settled.
      const writing = await waitFor(host, (now) => now.jobs === 1 && pipeFull(fifo));
      expect(writing.jobs).toBe(1);
      expect(await Promise.race([settled, Promise.resolve('pending')])).toBe('pending');
      controller.abort();
      await expect(write).rejects.toMatchObject({ name: 'AbortError' });
      // The cancel reached the blocked write: the job is gone, nothing waits.
      const after = await waitFor(host, (now) => now.jobs === 0);
      expect(after).toMatchObject({ jobs: 0, queued: 0, creditWaits: 0 });
      // The server is free for the next request.
      await host.writeFile(path.join(dir, 'after'), 'ok');
      expect(fs.readFileSync(path.join(dir, 'after'), 'utf8')).toBe('ok');
    } finally {
      reader.kill('SIGKILL');
    }
    if (fs.existsSync('/dev/full')) {
      await expect(host.writeFile('/dev/full', 'x')).rejects.toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    }
  });

  test('rm: files, trees with progress, force, and never through a symlink', async () => {
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'keep'), 'keep');
    const tree = path.join(dir, 'tree');
    const entries = makeTree(tree, 30, 100);
    fs.symlinkSync(outside, path.join(tree, 'd0/to-outside'));
    fs.symlinkSync(path.join(outside, 'keep'), path.join(tree, 'd1/to-keep'));
    const seen: number[] = [];
    // As node's rm: its SystemError for a directory, ENOENT of its lstat for nothing there.
    await expect(host.rm(tree)).rejects.toMatchObject({ code: 'ERR_FS_EISDIR', syscall: 'rm', errno: 21, info: { code: 'EISDIR' } });
    const result = await host.rm(tree, { recursive: true, onProgress: (n) => seen.push(n) });
    expect(result).toEqual({ entries: entries + 2 + 1, errors: 0 });
    // Every 1,024 entries, the count then (several threads remove at once).
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(seen.every((n, i) => n >= 1024 * (i + 1) && n <= result.entries && n > (seen[i - 1] ?? 0))).toBe(true);
    expect(fs.existsSync(tree)).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'keep'), 'utf8')).toBe('keep');
    // A symlink to a directory is removed itself.
    fs.symlinkSync(outside, path.join(dir, 'link'));
    expect(await host.rm(path.join(dir, 'link'), { recursive: true })).toEqual({ entries: 1, errors: 0 });
    expect(fs.existsSync(path.join(outside, 'keep'))).toBe(true);
    await expect(host.rm(path.join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'lstat' });
    expect(await host.rm(path.join(dir, 'gone'), { force: true })).toEqual({ entries: 0, errors: 0 });
    await expect(host.rm('/', { recursive: true })).rejects.toMatchObject({ code: 'EPERM', syscall: 'rm' });
    await expect(host.rm(`${dir}/..`, { recursive: true })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  test('rm: aborted half-way, it says what it removed and leaves a tree that is whole', async () => {
    const tree = path.join(dir, 'tree');
    const total = makeTree(tree, 100, 300);
    const controller = new AbortController();
    const error = await host.rm(tree, { recursive: true, signal: controller.signal, onProgress: () => controller.abort() }).then(
      () => undefined,
      (e: Error & { entries: number }) => e,
    );
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(error!.entries).toBeGreaterThanOrEqual(1024);
    expect(error!.entries).toBeLessThan(total);
    // What is left is a tree node:fs can walk, with the entries not removed.
    const left = fs.readdirSync(tree, { recursive: true }).length;
    expect(left).toBe(total - error!.entries);
    expect(await host.rm(tree, { recursive: true })).toEqual({ entries: left + 1, errors: 0 });
  });

  test('rm and chown -R never act through a directory swapped for a symlink while they run', async () => {
    const outside = path.join(dir, 'outside');
    makeTree(outside, 5, 20);
    const owners = (): string[] =>
      (fs.readdirSync(outside, { recursive: true }) as string[])
        .sort()
        .map((name) => `${name} ${fs.lstatSync(path.join(outside, name)).uid}`);
    const before = owners();
    // Root can give the tree away (a chown through the link would show); a user only keeps it.
    const uid = asRoot ? 4242 : -1;
    const tree = path.join(dir, 'tree');
    // A child that swaps each directory under tree/victim in turn for a symlink
    // to `outside`, holding the link a while, as fast as it can.
    const swapper = `const fs = require('fs'); const [v, out] = process.argv.slice(1);
      for (let i = 0, n = 0; ; i = (i + 1) % 10) {
        if (n++ === 10) process.stdout.write('swapping');
        const d = v + '/d' + i;
        try { fs.renameSync(d, d + '.x'); fs.symlinkSync(require('path').relative(v, out), d); } catch { continue; }
        const until = process.hrtime.bigint() + 300000n; while (process.hrtime.bigint() < until);
        try { fs.unlinkSync(d); } catch {}
        try { fs.renameSync(d + '.x', d); } catch {}
      }`;
    for (let round = 0; round < 10; round++) {
      makeTree(path.join(tree, 'victim'), 10, 200);
      const child = spawn(process.execPath, ['-e', swapper, path.join(tree, 'victim'), outside], { stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise((resolve) => child.stdout.once('data', resolve));
      await (round % 2
        ? host.chown(tree, uid, -1, { recursive: true, onError: 'skip' })
        : host.rm(tree, { recursive: true, onError: 'skip' }));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('close', resolve));
      fs.rmSync(tree, { recursive: true, force: true });
      expect(owners()).toEqual(before);
    }
  });

  test('copyToHost of a file swapped for a FIFO during the copy: skipped, never waited on', async () => {
    const src = path.join(dir, 'src');
    const out = path.join(dir, 'out');
    fs.mkdirSync(path.join(src, 'z/y'), { recursive: true });
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(64 << 20, 1));
    fs.writeFileSync(path.join(src, 'z/y/f'), 'a file\n');
    const copying = host.copyToHost(src, out, { recursive: true });
    // The copy's server job lists z/y once the 64 MiB of big are read:
    // once that copy has begun, z/y/f becomes a FIFO (the file moved to f.x).
    while (!fs.existsSync(path.join(out, 'big'))) await new Promise((resolve) => setTimeout(resolve, 1));
    fs.renameSync(path.join(src, 'z/y/f'), path.join(src, 'z/y/f.x'));
    execFileSync('mkfifo', [path.join(src, 'z/y/f')]);
    const result = await copying;
    expect(result).toMatchObject({ skipped: 1, bytes: (64 << 20) + 7 });
    expect(fs.existsSync(path.join(out, 'z/y/f'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'z/y/f.x'), 'utf8')).toBe('a file\n');
    expect(fs.statSync(path.join(out, 'big')).size).toBe(64 << 20);
  });

  test('rm: a tree that grows while it is removed ends removed or with an error, never a hang', async () => {
    const tree = path.join(dir, 'tree');
    makeTree(tree, 20, 200);
    const writer = spawn(
      'sh',
      ['-c', 'i=0; while [ $i -lt 1000 ]; do mkdir -p "$0/d0" 2>/dev/null && : > "$0/d0/new$i" 2>/dev/null; i=$((i+1)); done', tree],
      {
        stdio: 'ignore',
      },
    );
    // Listened for at once: the writer may end before rm does.
    const writerClosed = new Promise((resolve) => writer.on('close', resolve));
    const outcome = await host.rm(tree, { recursive: true }).then(
      () => 'removed',
      (e: { code: string }) => e.code,
    );
    await writerClosed;
    expect(['removed', 'ENOTEMPTY', 'ENOENT']).toContain(outcome);
    await host.rm(tree, { recursive: true, force: true });
    expect(fs.existsSync(tree)).toBe(false);
  });
});

fullRange.describe('changes in a namespace of our own', () => {
  let fixture: OverlayFixture;
  let session: Session;
  let rooted: Session;

  beforeAll(async () => {
    fixture = await overlayFixture();
    session = await fixture.ns.enter();
    rooted = await enter({ pid: fixture.ns.pid, root: fixture.mergedDir });
  });

  afterAll(async () => {
    await rooted?.close();
    await session?.close();
    await fixture?.dispose();
  });

  test('writeFile with uid 1000 and mode 0600: the session sees 1000, the host its mapped id', async () => {
    const file = path.join(fixture.mergedDir, 'home/user/written');
    await session.writeFile(file, 'by the library\n', { uid: 1000, gid: 1000, mode: 0o600 });
    const st = await session.lstat(file);
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: 1000, gid: 1000, mode: 0o600 });
    expect(fs.lstatSync(path.join(fixture.upperDir, 'home/user/written')).uid).toBe(session.toHostUid(1000));
    expect(session.fromHostUid(session.toHostUid(1000))).toBe(1000);
    expect(await session.readFile(file, 'utf8')).toBe('by the library\n');
    await session.mkdir(path.join(fixture.mergedDir, 'home/user/made/deep'), { recursive: true, uid: 1000, gid: 1000, mode: 0o750 });
    const made = await session.lstat(path.join(fixture.mergedDir, 'home/user/made/deep'));
    expect({ uid: made.uid, mode: made.mode & 0o777 }).toEqual({ uid: 1000, mode: 0o750 });
  });

  test('chown -R to 1000 changes every entry, symlinks themselves, never their targets', async () => {
    const base = path.join(fixture.mergedDir, 'srv-chown');
    await session.mkdir(base);
    for (let i = 0; i < 50; i++) await session.writeFile(path.join(base, `f${i}`), String(i));
    await session.mkdir(path.join(base, 'sub'));
    await session.symlink(path.join(fixture.mergedDir, 'shadowed.txt'), path.join(base, 'sub/shadowed-link'));
    const targetBefore = await session.stat(path.join(fixture.mergedDir, 'shadowed.txt'));
    const result = await session.chown(base, 1000, 1000, { recursive: true });
    expect(result).toEqual({ entries: 53, errors: 0 });
    for await (const entry of session.walk(base, { stat: true }))
      expect([entry.name, entry.stats.uid, entry.stats.gid]).toEqual([entry.name, 1000, 1000]);
    expect((await session.lstat(base)).uid).toBe(1000);
    expect((await session.stat(path.join(fixture.mergedDir, 'shadowed.txt'))).uid).toBe(targetBefore.uid);
    // And back, with the single-entry calls.
    await session.lchown(path.join(base, 'sub/shadowed-link'), 0, 0);
    expect((await session.lstat(path.join(base, 'sub/shadowed-link'))).uid).toBe(0);
    expect(await session.rm(base, { recursive: true })).toEqual({ entries: 53, errors: 0 });
  });

  test('a mount point inside a tree is an EBUSY error, not descended into, unless crossMounts', async () => {
    const base = path.join(fixture.mergedDir, 'srv-mount');
    await session.mkdir(path.join(base, 'mnt'), { recursive: true });
    await session.writeFile(path.join(base, 'plain'), 'x');
    await fixture.ns.mountTmpfs(path.join(base, 'mnt'));
    try {
      await session.writeFile(path.join(base, 'mnt/inside'), 'on the tmpfs');
      await expect(session.rm(base, { recursive: true })).rejects.toMatchObject({ code: 'EBUSY', path: path.join(base, 'mnt') });
      const errors: string[] = [];
      const result = await session.rm(base, { recursive: true, force: true, onError: (e) => errors.push(`${e.code} ${e.path}`) });
      expect(errors).toEqual([`EBUSY ${path.join(base, 'mnt')}`, `ENOTEMPTY ${base}`]);
      expect(result.errors).toBe(2);
      expect(await session.readFile(path.join(base, 'mnt/inside'), 'utf8')).toBe('on the tmpfs');
      const crossed = await session.chown(base, 1000, 1000, { recursive: true, crossMounts: true });
      expect(crossed.entries).toBe(3);
      expect((await session.lstat(path.join(base, 'mnt/inside'))).uid).toBe(1000);
    } finally {
      await fixture.ns.unmount(path.join(base, 'mnt'));
    }
    await session.rm(base, { recursive: true });
  });

  test('a rooted session writes through a planted absolute symlink inside its root, never to the host', async () => {
    const hostFile = path.join(tempDir('unshare-fs-host-target-'), 'target');
    fs.writeFileSync(hostFile, 'host\n');
    fs.chmodSync(path.dirname(hostFile), 0o777);
    fs.chmodSync(hostFile, 0o666);
    try {
      await rooted.mkdir(path.dirname(hostFile), { recursive: true });
      await rooted.symlink(hostFile, '/planted');
      await rooted.writeFile('/planted', 'through the link\n');
      await rooted.writeFile('/etc/../../../../planted2', 'dots\n');
      expect(fs.readFileSync(hostFile, 'utf8')).toBe('host\n');
      expect(await rooted.readFile(hostFile, 'utf8')).toBe('through the link\n');
      expect(await session.readFile(path.join(fixture.mergedDir, hostFile), 'utf8')).toBe('through the link\n');
      expect(await session.readFile(path.join(fixture.mergedDir, 'planted2'), 'utf8')).toBe('dots\n');
      // The link itself goes, not what it points at; '..' as a last component is refused.
      await rooted.rm('/planted');
      await expect(rooted.rm('/etc/..', { recursive: true })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(rooted.rmdir('/..')).rejects.toMatchObject({ code: 'EINVAL' });
      expect(await rooted.readFile(hostFile, 'utf8')).toBe('through the link\n');
    } finally {
      removeTree(path.dirname(hostFile));
    }
  });

  test('a tree copied in and back out keeps contents, modes, times, symlinks and (mapped) owners; a FIFO is skipped', async () => {
    const source = tempDir('unshare-fs-copy-src-');
    const back = path.join(tempDir('unshare-fs-copy-back-'), 'tree');
    try {
      fs.mkdirSync(path.join(source, 'sub/deeper'), { recursive: true });
      fs.writeFileSync(path.join(source, 'plain'), 'plain\n');
      fs.writeFileSync(path.join(source, 'sub/big'), Buffer.alloc(3 << 20, 7));
      fs.writeFileSync(path.join(source, 'sub/deeper/secret'), 'secret\n');
      fs.chmodSync(path.join(source, 'sub/deeper/secret'), 0o600);
      fs.chmodSync(path.join(source, 'sub/deeper'), 0o500);
      fs.symlinkSync('../plain', path.join(source, 'sub/link'));
      fs.symlinkSync('/etc/passwd', path.join(source, 'abs-link'));
      fs.utimesSync(path.join(source, 'plain'), 1000, 2000);
      execFileSync('mkfifo', [path.join(source, 'fifo')]);
      if (asRoot) fs.lchownSync(path.join(source, 'plain'), session.toHostUid(1000), session.toHostGid(1000));
      const dest = path.join(fixture.mergedDir, 'copied');
      await expect(session.copyFromHost(source, dest)).rejects.toMatchObject({ code: 'ERR_FS_EISDIR', errno: 21 });
      const copied = await session.copyFromHost(source, dest, { recursive: true, preserveOwnership: true });
      expect(copied).toEqual({ entries: 8, bytes: (3 << 20) + 13, skipped: 1 });
      // A directory onto an existing file: node's cp error, never overwritten.
      await expect(session.copyFromHost(source, path.join(dest, 'plain'), { recursive: true })).rejects.toMatchObject({
        code: 'ERR_FS_CP_DIR_TO_NON_DIR',
      });
      // The owners as the kernel shows them inside (find run in the
      // namespace, not the library's id mapping): the source's owners seen
      // from inside are what the copies must have.
      const kernelOwners = async (dir: string): Promise<Map<string, string>> => {
        const out = path.join(tempDir('unshare-fs-copy-owners-'), 'owners');
        const status = await fixture.ns.exec(['sh', '-c', 'find "$1" -mindepth 1 ! -type p -printf "%P %U %G\\n" > "$2"', 'sh', dir, out]);
        expect(status).toMatchObject({ code: 0 });
        const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
        removeTree(path.dirname(out));
        return new Map(rows.map((row) => [row.slice(0, row.indexOf(' ')), row.slice(row.indexOf(' ') + 1)]));
      };
      const sourceOwners = await kernelOwners(source);
      expect(sourceOwners.size).toBe(7); // the 8 entries copied, less the root
      expect(await kernelOwners(dest)).toEqual(sourceOwners);
      const inside = new Map<string, string>();
      for await (const entry of session.walk(dest, { stat: true })) {
        const st = entry.stats;
        const name = path.relative(dest, entry.fullPath);
        inside.set(name, `${entry.type} ${(st.mode & 0o7777).toString(8)}`);
        expect([name, `${st.uid} ${st.gid}`]).toEqual([name, sourceOwners.get(name)]);
      }
      expect(inside.get('sub/deeper')).toBe('directory 500');
      expect(inside.get('sub/deeper/secret')?.split(' ').slice(0, 2)).toEqual(['file', '600']);
      expect((await session.lstat(path.join(dest, 'plain'))).mtimeMs).toBe(2_000_000);
      expect(await session.readlink(path.join(dest, 'sub/link'))).toBe('../plain');

      const out = await session.copyToHost(dest, back, { recursive: true });
      expect(out).toEqual({ entries: 8, bytes: (3 << 20) + 13, skipped: 0 });
      const rows = (root: string): string[] =>
        (fs.readdirSync(root, { recursive: true }) as string[])
          .filter((name) => name !== 'fifo')
          .sort()
          .map((name) => {
            const file = path.join(root, name);
            const st = fs.lstatSync(file);
            const what = st.isSymbolicLink()
              ? fs.readlinkSync(file)
              : st.isFile()
                ? fs.readFileSync(file).toString('base64').slice(0, 40) + st.size
                : '';
            return `${name} ${(st.mode & 0o7777).toString(8)} ${what}`;
          });
      fs.chmodSync(path.join(source, 'sub/deeper'), 0o700);
      fs.chmodSync(path.join(back, 'sub/deeper'), 0o700);
      expect(rows(back)).toEqual(rows(source));
      // Times travel as Dates: to the millisecond.
      for (const name of ['plain', 'sub/big', 'sub/deeper/secret']) {
        expect(Math.abs(fs.statSync(path.join(back, name)).mtimeMs - fs.statSync(path.join(source, name)).mtimeMs)).toBeLessThan(1.001);
      }
      // Copied out, everything is the caller's.
      for (const name of fs.readdirSync(back, { recursive: true }) as string[])
        expect(fs.lstatSync(path.join(back, name)).uid).toBe(process.getuid!());
      await session.rm(dest, { recursive: true });
    } finally {
      removeTree(source);
      removeTree(path.dirname(back));
    }
  });

  test('exec runs a command in the namespace as its root, with cwd, env and stdio; failures to start are errors', async () => {
    const out = path.join(fixture.mergedDir, 'exec-out');
    const status = await session.exec(['sh', '-c', 'id -u > "$0"; pwd >> "$0"; echo "$GREETING" >> "$0"; stat -c %u "$0" >> "$0"', out], {
      cwd: path.join(fixture.mergedDir, 'etc'),
      env: { GREETING: 'hello from exec', PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect(status).toEqual({ code: 0, signal: null });
    expect(await session.readFile(out, 'utf8')).toBe(`0\n${path.join(fixture.mergedDir, 'etc')}\nhello from exec\n0\n`);
    expect(fs.lstatSync(path.join(fixture.upperDir, 'exec-out')).uid).toBe(session.toHostUid(0));
    expect(await session.exec(['sh', '-c', 'echo not shown; exit 3'], { stdio: 'ignore' })).toEqual({ code: 3, signal: null });
    await expect(session.exec(['true'], { cwd: '/no/such/dir' })).rejects.toMatchObject({ code: 'ENOENT', syscall: 'chdir' });
    await expect(session.exec(['no-such-command-anywhere'])).rejects.toMatchObject({ code: 'ENOENT', syscall: 'spawn' });
    await expect(session.exec([])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(session.exec(['true'], { env: { A: 1 as unknown as string } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await session.rm(out);
  });

  test("the session's root is emptied only when asked, and stays", async () => {
    const ns = fixture.ns;
    const scratch = tempDir('unshare-fs-root-rm-');
    fs.chmodSync(scratch, 0o777);
    const inside = await enter({ pid: ns.pid, root: scratch });
    try {
      await inside.mkdir('/a/b', { recursive: true });
      await inside.writeFile('/a/b/c', 'x');
      await expect(inside.rm('/', { recursive: true })).rejects.toMatchObject({ code: 'EPERM' });
      await expect(inside.rm('//', { recursive: true })).rejects.toMatchObject({ code: 'EPERM' });
      expect(await inside.rm('/', { recursive: true, allowRoot: true })).toEqual({ entries: 3, errors: 0 });
      expect(fs.readdirSync(scratch)).toEqual([]);
    } finally {
      await inside.close();
      removeTree(scratch);
    }
  });
});

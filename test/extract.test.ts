// extractTar: hostile archives never write outside the destination and
// fail with a clear error; what exportTar wrote comes back as it was; in a
// namespace of our own, the archive's ids become the files' owners there.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import { createNamespace, host } from '../lib';
import { ROOT_TEST_MAP } from './helpers/overlay';
import { requires, subuidRange } from './helpers/requirements';
import type { TarHeader } from '../lib/layers/tar';
import { END_OF_ARCHIVE, encodeHeader, extendedHeader, padding, paxRecord } from './helpers/tar-writer';
import { removeTree, tempDir } from './helpers/tree';

const root = process.geteuid!() === 0;
const fullRange = root ? requires() : requires(subuidRange);
const me = { uid: process.getuid!(), gid: process.getgid!() };

function entry(name: string | Buffer, more: Partial<TarHeader> = {}, body = Buffer.alloc(0)): Buffer {
  const h: TarHeader = {
    name: Buffer.isBuffer(name) ? name : Buffer.from(name),
    type: 'file',
    mode: 0o644,
    ...me,
    size: body.length,
    mtime: { seconds: 1600000000, nanoseconds: 0 },
    ...more,
  };
  return Buffer.concat([encodeHeader(h), body, padding(body.length)]);
}

const tar = (...entries: Buffer[]): Readable => Readable.from([Buffer.concat([...entries, END_OF_ARCHIVE])]);

/** Every path under `dir`, sorted. */
function listing(dir: string): string[] {
  return execFileSync('find', [dir, '-mindepth', '1', '-printf', '%P %y\n'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean)
    .sort();
}

describe('extractTar of hostile archives', () => {
  let base: string;
  let dest: string;
  let outside: string;

  beforeEach(() => {
    base = tempDir('unshare-fs-extract-');
    dest = path.join(base, 'dest');
    outside = path.join(base, 'outside');
    fs.mkdirSync(dest);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'keep me\n');
  });
  afterEach(() => removeTree(base));

  const outsideUntouched = (): void => {
    expect(listing(outside)).toEqual(['secret f']);
    expect(fs.readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('keep me\n');
    expect(fs.readdirSync(base).sort()).toEqual(['dest', 'outside']);
  };

  test('../ in a name: ETARPATH, nothing written outside', async () => {
    await expect(
      host.extractTar(tar(entry('ok', {}, Buffer.from('1')), entry('../outside/secret', {}, Buffer.from('pwned'))), dest),
    ).rejects.toMatchObject({
      code: 'ETARPATH',
      message: expect.stringContaining('../outside/secret'),
    });
    outsideUntouched();
    expect(listing(dest)).toEqual(['ok f']);
  });

  test('absolute names land inside the destination', async () => {
    const absolute = path.join(outside, 'secret');
    await host.extractTar(tar(entry(absolute, {}, Buffer.from('inside'))), dest);
    outsideUntouched();
    expect(fs.readFileSync(path.join(dest, absolute), 'utf8')).toBe('inside');
  });

  test('a symlink to outside, then a file through it: ETARPATH; the symlink alone is made last and left as a link', async () => {
    await expect(
      host.extractTar(
        tar(entry('a', { type: 'symlink', linkName: Buffer.from(outside) }), entry('a/secret', {}, Buffer.from('pwned'))),
        dest,
      ),
    ).rejects.toMatchObject({
      code: 'ETARPATH',
    });
    outsideUntouched();
    await host.extractTar(tar(entry('a', { type: 'symlink', linkName: Buffer.from(outside) }), entry('b', {}, Buffer.from('b'))), dest);
    expect(fs.readlinkSync(path.join(dest, 'a'))).toBe(outside);
    outsideUntouched();
  });

  test('a symlink already in the destination is not written through', async () => {
    fs.symlinkSync(outside, path.join(dest, 'planted'));
    fs.symlinkSync(path.join(outside, 'secret'), path.join(dest, 'planted-file'));
    await expect(host.extractTar(tar(entry('planted/secret', {}, Buffer.from('pwned'))), dest)).rejects.toMatchObject({ code: 'ETARPATH' });
    // A file entry replaces a symlink at its own name; the target stays.
    await host.extractTar(tar(entry('planted-file', {}, Buffer.from('replaced'))), dest);
    expect(fs.lstatSync(path.join(dest, 'planted-file')).isFile()).toBe(true);
    outsideUntouched();
  });

  test('hard links: to outside is ETARPATH, to a symlink of the archive too; inside, a link', async () => {
    await expect(
      host.extractTar(tar(entry('h', { type: 'link', linkName: Buffer.from('../outside/secret') })), dest),
    ).rejects.toMatchObject({ code: 'ETARPATH' });
    await expect(
      host.extractTar(
        tar(
          entry('s', { type: 'symlink', linkName: Buffer.from(path.join(outside, 'secret')) }),
          entry('h', { type: 'link', linkName: Buffer.from('s') }),
        ),
        dest,
      ),
    ).rejects.toMatchObject({ code: 'ETARPATH' });
    // Through a symlink already in the destination: refused, not linked out.
    fs.symlinkSync(outside, path.join(dest, 'planted'));
    await expect(host.extractTar(tar(entry('h2', { type: 'link', linkName: Buffer.from('planted/secret') })), dest)).rejects.toMatchObject({
      code: 'ETARPATH',
    });
    expect(fs.existsSync(path.join(dest, 'h2'))).toBe(false);
    outsideUntouched();
    await host.extractTar(tar(entry('f', {}, Buffer.from('x')), entry('g', { type: 'link', linkName: Buffer.from('f') })), dest);
    expect(fs.statSync(path.join(dest, 'g')).ino).toBe(fs.statSync(path.join(dest, 'f')).ino);
  });

  test('a huge name is the kernel’s ENAMETOOLONG; a truncated archive is ETARFORMAT, what came before stays', async () => {
    await expect(host.extractTar(tar(entry('n'.repeat(5000), {}, Buffer.from('x'))), dest)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    const whole = Buffer.concat([entry('first', {}, Buffer.from('1')), entry('second', {}, Buffer.alloc(10000, 2)), END_OF_ARCHIVE]);
    await expect(host.extractTar(Readable.from([whole.subarray(0, 2048)]), dest)).rejects.toMatchObject({ code: 'ETARFORMAT' });
    expect(fs.readFileSync(path.join(dest, 'first'), 'utf8')).toBe('1');
    // The member the archive broke in is not left short.
    expect(listing(dest)).toEqual(['first f']);
    outsideUntouched();
  });

  test('a member cut in its body, whatever the chunking, leaves no partial file; an abort mid-file neither', async () => {
    const whole = Buffer.concat([entry('first', {}, Buffer.from('1')), entry('big', {}, Buffer.alloc(300000, 7)), END_OF_ARCHIVE]);
    for (const cut of [1024 + 512 + 1, 1024 + 512 + 70000, 1024 + 512 + 299999]) {
      const chunks = [whole.subarray(0, 1536 + 10), whole.subarray(1536 + 10, cut)];
      await expect(host.extractTar(Readable.from(chunks), dest)).rejects.toMatchObject({ code: 'ETARFORMAT' });
      expect([cut, listing(dest)]).toEqual([cut, ['first f']]);
    }
    const controller = new AbortController();
    const aborting = (async function* () {
      yield whole.subarray(0, 1536 + 1000);
      controller.abort();
      yield whole.subarray(1536 + 1000, 1536 + 2000);
      await new Promise((resolve) => setImmediate(resolve));
      yield whole.subarray(1536 + 2000);
    })();
    await expect(host.extractTar(aborting, dest, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(listing(dest)).toEqual(['first f']);
  });

  test('a negative uid or size in a pax header is ETARFORMAT, nothing made for the entry', async () => {
    const pax = (key: string, value: string): Buffer => extendedHeader('x', paxRecord(key, Buffer.from(value)));
    await expect(host.extractTar(tar(pax('uid', '-5'), entry('u', {}, Buffer.from('x'))), dest)).rejects.toMatchObject({
      code: 'ETARFORMAT',
    });
    await expect(host.extractTar(tar(pax('size', '-1'), entry('s', {}, Buffer.from('x'))), dest)).rejects.toMatchObject({
      code: 'ETARFORMAT',
    });
    expect(listing(dest)).toEqual([]);
  });

  test('a directory replaced by a file: a later entry under its old name is ETARPATH, not written', async () => {
    await expect(
      host.extractTar(
        tar(
          entry('a', { type: 'directory', mode: 0o755 }),
          entry('a/x', {}, Buffer.from('x')),
          entry('a', {}, Buffer.from('file')),
          entry('a/y', {}, Buffer.from('y')),
        ),
        dest,
      ),
    ).rejects.toMatchObject({ code: 'ETARPATH', message: expect.stringContaining("under 'a', which is not a directory") });
    expect(fs.readFileSync(path.join(dest, 'a'), 'utf8')).toBe('file');
    outsideUntouched();
  });

  test('bad arguments and abort', async () => {
    await expect(host.extractTar('not a stream' as unknown as Readable, dest)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.extractTar(tar(), dest, { overlay: 'other' } as object)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const controller = new AbortController();
    controller.abort();
    await expect(host.extractTar(tar(entry('f')), dest, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(listing(dest)).toEqual([]);
  });
});

fullRange.describe('extractTar in a namespace of our own', () => {
  test("the archive's ids and modes become the entries' (as seen inside); an exportTar round trip is exact", async () => {
    const base = tempDir('unshare-fs-extract-ns-');
    fs.chmodSync(base, 0o755);
    const ns = await createNamespace(root ? { uidMap: ROOT_TEST_MAP } : { subids: 'require' });
    const session = await ns.enter();
    try {
      const a = path.join(base, 'a');
      const b = path.join(base, 'b');
      fs.mkdirSync(a);
      fs.mkdirSync(b);
      const owned = { uid: 1000, gid: 1000 };
      await session.extractTar(
        tar(
          entry('home', { type: 'directory', mode: 0o755, uid: 0, gid: 0 }),
          entry('home/user', { type: 'directory', mode: 0o700, ...owned }),
          entry('home/user/key', { mode: 0o600, ...owned }, Buffer.from('secret')),
          entry('home/user/link', { type: 'symlink', linkName: Buffer.from('key'), ...owned }),
          entry('bin/tool', { mode: 0o4755, uid: 0, gid: 0 }, Buffer.from('#!/bin/sh\n')),
          entry('run/pipe', { type: 'fifo', mode: 0o620, ...owned }),
          entry('opt/.wh..wh..opq', { mode: 0 }),
          entry('etc/.wh.gone', { mode: 0 }),
        ),
        a,
        { overlay: 'user' },
      );
      const st = await session.lstat(path.join(a, 'home/user/key'));
      expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ ...owned, mode: 0o600 });
      if (root) expect(fs.lstatSync(path.join(a, 'home/user/key')).uid).toBe(session.toHostUid(1000));
      // A user's own process cannot even look: home/user belongs to a subordinate id, mode 0700.
      else expect(() => fs.lstatSync(path.join(a, 'home/user/key'))).toThrow(expect.objectContaining({ code: 'EACCES' }));
      expect(fs.lstatSync(path.join(a, 'home/user')).uid).toBe(session.toHostUid(1000));
      expect((await session.lstat(path.join(a, 'bin/tool'))).mode & 0o7777).toBe(0o4755);
      expect((await session.lstat(path.join(a, 'home/user/link'))).uid).toBe(1000);
      expect((await session.lstat(path.join(a, 'home/user'))).mtimeMs).toBe(1600000000000);
      expect((await session.xattrs(path.join(a, 'opt'))).get('user.overlay.opaque')?.toString()).toBe('y');
      const gone = await session.lstat(path.join(a, 'etc/gone'));
      expect([gone.isCharacterDevice(), gone.rdev]).toEqual([true, 0]);

      // Out and in again: the same tree, down to owners, modes and times.
      await session.extractTar(session.exportTar(a), b);
      const describe = async (dir: string): Promise<string[]> => {
        const out: string[] = [];
        for await (const e of session.walk(dir, { stat: true })) {
          const s = e.stats;
          out.push(
            [
              e.fullPath.slice(dir.length),
              e.type,
              s.uid,
              s.gid,
              (s.mode & 0o7777).toString(8),
              s.size,
              s.rdev,
              Math.floor(s.mtimeMs / 1000),
            ].join(' '),
          );
        }
        return out.sort();
      };
      expect(await describe(b)).toEqual(await describe(a));
    } finally {
      await session.close();
      await ns.exec(['rm', '-rf', path.join(base, 'a'), path.join(base, 'b')]);
      await ns.close();
      removeTree(base);
    }
  });
});

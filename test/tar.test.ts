// The tar writer and reader (lib/layers/tar.ts) and exportTar: what the library
// writes, GNU tar extracts into the same tree (long and non-UTF-8 names,
// hard links once, symlinks, devices, FIFOs, xattrs); what it reads, it
// reads as written, and a broken or hostile archive is a clear error.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';

import { host } from '../lib';
import { BLOCK, readTar, type TarHeader } from '../lib/layers/tar';
import { END_OF_ARCHIVE, base256, encodeHeader, extendedHeader, padding, paxRecord, setChecksum } from './helpers/tar-writer';
import { seededRandom } from './helpers/random';
import { removeTree, tempDir } from './helpers/tree';

const root = process.geteuid!() === 0;

/** Names the swapper swaps. */
const NAMES = 40;
/** Swaps root/z/N between a file and a FIFO until killed (argv: the directory, how many names; it starts once `ready` is there). */
const SWAPPER = `
import os, sys, time
d, names = sys.argv[1], int(sys.argv[2])
while not os.path.exists(os.path.join(d, 'ready')):
    time.sleep(0.01)
sources = [os.path.join(d, 'file'), os.path.join(d, 'fifo')]
tmp = os.path.join(d, 'tmp')
i = 0
while True:
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.link(sources[(i // names) % 2], tmp)
    os.rename(tmp, os.path.join(d, 'root', 'z', str(i % names)))
    i += 1
`;

/** `n` random bytes, none of them in `not`. */
function randomBytes(random: () => number, n: number, not: number[] = []): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    let b: number;
    do b = Math.floor(random() * 256);
    while (not.includes(b));
    out[i] = b;
  }
  return out;
}

/** An archive of `entries` (header, body) as the writer makes it. */
function archive(entries: [TarHeader, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [header, body] of entries) parts.push(encodeHeader(header), body, padding(body.length));
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

async function readAll(source: AsyncIterable<Buffer>): Promise<[TarHeader, Buffer][]> {
  const out: [TarHeader, Buffer][] = [];
  for await (const entry of readTar(source)) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.body()) chunks.push(chunk);
    out.push([entry.header, Buffer.concat(chunks)]);
  }
  return out;
}

/** The source in chunks of random sizes, as a pipe would bring it. */
function chunked(bytes: Buffer, seed: number): AsyncIterable<Buffer> {
  const random = seededRandom(seed);
  return (async function* () {
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + Math.floor(random() * 3000);
      yield bytes.subarray(at, at + n);
      at += n;
    }
  })();
}

function header(name: string | Buffer, more: Partial<TarHeader> = {}): TarHeader {
  return {
    name: Buffer.isBuffer(name) ? name : Buffer.from(name),
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: { seconds: 1700000000, nanoseconds: 0 },
    xattrs: new Map(),
    devMajor: 0,
    devMinor: 0,
    ...more,
  };
}

describe('tar writer and reader', () => {
  test('random entries read back as written, whatever the chunking', async () => {
    const random = seededRandom(7);
    for (let round = 0; round < 20; round++) {
      const entries: [TarHeader, Buffer][] = [];
      for (let i = 0; i < 30; i++) {
        // Names of any bytes but NUL and '/', some far past ustar's 100 + 155.
        const parts = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
          randomBytes(random, 1 + Math.floor(random() * (random() < 0.2 ? 250 : 20)), [0, 0x2f]),
        );
        const name = Buffer.concat(parts.flatMap((p, j) => (j === 0 ? [p] : [Buffer.from('/'), p])));
        const kind = Math.floor(random() * 4);
        const body = kind === 0 ? randomBytes(random, Math.floor(random() * 5000)) : Buffer.alloc(0);
        const big = random() < 0.2;
        const h = header(name, {
          type: (['file', 'directory', 'symlink', 'fifo'] as const)[kind]!,
          mode: Math.floor(random() * 0o7777),
          uid: big ? 100000 + Math.floor(random() * 4e9) : Math.floor(random() * 70000),
          gid: big ? 3e9 : 1000,
          size: body.length,
          mtime: { seconds: Math.floor(random() * 2e9), nanoseconds: 0 },
          linkName: kind === 2 ? randomBytes(random, 1 + Math.floor(random() * 300), [0]) : undefined,
          xattrs: random() < 0.3 ? new Map([['user.k' + i, randomBytes(random, 40)]]) : new Map(),
        });
        entries.push([h, body]);
      }
      const back = await readAll(chunked(archive(entries), round));
      expect(back).toEqual(entries);
    }
  });

  test('GNU tar reads what the writer wrote', () => {
    const dir = tempDir('unshare-fs-tar-');
    try {
      const long = 'd'.repeat(150) + '/' + 'e'.repeat(150) + '/file';
      const file = path.join(dir, 'a.tar');
      fs.writeFileSync(
        file,
        archive([
          [header(long, { size: 3 }), Buffer.from('abc')],
          [header('x', { type: 'symlink', linkName: Buffer.from('l'.repeat(200)) }), Buffer.alloc(0)],
          [header('big-ids', { uid: 3000000000, gid: 4000000000 }), Buffer.alloc(0)],
        ]),
      );
      const listing = execFileSync('tar', ['-tv', '--numeric-owner', '-f', file], { encoding: 'utf8' });
      expect(listing).toContain(long);
      expect(listing).toContain('l'.repeat(200));
      expect(listing).toContain('3000000000/4000000000');
    } finally {
      removeTree(dir);
    }
  });

  test('a broken or hostile archive is an ETARFORMAT error, never a hang or a partial success', async () => {
    const good = archive([[header('f', { size: 5 }), Buffer.from('hello')]]);
    const fails = async (bytes: Buffer): Promise<unknown> =>
      readAll(chunked(bytes, 1)).then(
        () => 'read',
        (e: { code: string; message: string }) => e.code,
      );
    // Bad checksum.
    const corrupt = Buffer.from(good);
    corrupt[10] = corrupt.readUInt8(10) ^ 1;
    expect(await fails(corrupt)).toBe('ETARFORMAT');
    // Cut in the body, in the header, before the end blocks.
    expect(await fails(good.subarray(0, BLOCK + 3))).toBe('ETARFORMAT');
    expect(await fails(good.subarray(0, 100))).toBe('ETARFORMAT');
    expect(await fails(good.subarray(0, 2 * BLOCK))).toBe('ETARFORMAT');
    // A pax header that claims 1 GiB.
    const pax = Buffer.from(encodeHeader(header('p', { xattrs: new Map([['user.a', Buffer.from('b')]]) })));
    pax.write('7777777777\0', 124, 'ascii');
    let sum = 0;
    pax.fill(0x20, 148, 156);
    for (let i = 0; i < BLOCK; i++) sum += pax[i]!;
    pax.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
    expect(await fails(Buffer.concat([pax, END_OF_ARCHIVE]))).toBe('ETARFORMAT');
    // A malformed pax record; an unknown entry type.
    const badRecord = Buffer.from(good);
    expect(await fails(Buffer.concat([encodeHeaderWithPayload('x', Buffer.from('99 path=x\n')), badRecord]))).toBe('ETARFORMAT');
    expect(await fails(Buffer.concat([encodeHeaderWithPayload('Z', Buffer.alloc(0)), END_OF_ARCHIVE]))).toBe('ETARFORMAT');
    expect(await fails(good)).toBe('read');
  });

  // The bounds the README promises: 4 MiB of extended headers, 64 of them, before one entry.
  const TOTAL = 4 << 20;
  const COUNT = 64;

  /** Chunks of the source: what the reader pulls beyond what it asked for is at most one. */
  const CHUNK = 64 << 10;

  /** An archive made by `parts` as it is pulled, in chunks of CHUNK, counting the bytes pulled (what the reader may have buffered). */
  function counted(parts: () => Iterable<Buffer>): { source: AsyncIterable<Buffer>; pulled: () => number } {
    let pulled = 0;
    return {
      source: (async function* () {
        for (const part of parts()) {
          for (let at = 0; at < part.length; at += CHUNK) {
            const chunk = part.subarray(at, at + CHUNK);
            pulled += chunk.length;
            yield chunk;
          }
        }
      })(),
      pulled: () => pulled,
    };
  }

  const outcome = async (source: AsyncIterable<Buffer>): Promise<string> =>
    readAll(source).then(
      () => 'read',
      (e: { code: string; message: string }) => `${e.code}: ${e.message}`,
    );

  test('pax headers of 1 MiB with distinct keys: ETARFORMAT naming the bound, before more than the bound is pulled', async () => {
    const value = Buffer.alloc((1 << 20) - 100, 0x61);
    const archive = counted(function* () {
      for (let i = 0; i < 40; i++) yield extendedHeader('x', paxRecord(`SCHILY.xattr.user.k${i}`, value));
      yield encodeHeader(header('f'));
      yield END_OF_ARCHIVE;
    });
    const result = await outcome(archive.source);
    expect(result).toMatch(/^ETARFORMAT: .*4194304/);
    // The refused header's own block is read, not its payload.
    expect(archive.pulled()).toBeLessThanOrEqual(TOTAL + 5 * BLOCK + CHUNK);
  });

  test('global pax headers pile up too: bounded; GNU long names count; the bound is per entry', async () => {
    const value = Buffer.alloc(600 << 10, 0x62);
    const globals = counted(function* () {
      for (let i = 0; i < 20; i++) {
        yield extendedHeader('g', paxRecord(`SCHILY.xattr.user.g${i}`, value));
        yield encodeHeader(header(`f${i}`));
      }
      yield END_OF_ARCHIVE;
    });
    expect(await outcome(globals.source)).toMatch(/^ETARFORMAT: .*4194304/);
    expect(globals.pulled()).toBeLessThanOrEqual(TOTAL + 40 * BLOCK + CHUNK);
    // Long names of 900 KiB: five before one entry is too many bytes.
    const longName = Buffer.alloc(900 << 10, 0x6e);
    const longNames = function* (n: number): Iterable<Buffer> {
      for (let i = 0; i < n; i++) yield extendedHeader(i % 2 ? 'K' : 'L', longName);
      yield encodeHeader(header('f'));
    };
    expect(await outcome(counted(() => [...longNames(5), END_OF_ARCHIVE]).source)).toMatch(/^ETARFORMAT/);
    // Four each before many entries: the sum starts again at each entry.
    expect(
      await outcome(
        counted(function* () {
          for (let i = 0; i < 8; i++) yield* longNames(4);
          yield END_OF_ARCHIVE;
        }).source,
      ),
    ).toBe('read');
  });

  test('more than 64 small extended headers before one entry: ETARFORMAT naming the count; 64 are read', async () => {
    const headers = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => extendedHeader('x', paxRecord(`k${i}`, Buffer.from('v'))));
    expect(await outcome(counted(() => [...headers(COUNT + 1), encodeHeader(header('f')), END_OF_ARCHIVE]).source)).toMatch(
      /^ETARFORMAT: .*64/,
    );
    expect(await outcome(counted(() => [...headers(COUNT), encodeHeader(header('f')), END_OF_ARCHIVE]).source)).toBe('read');
  });

  test('numbers out of their field: negative or oversized ids and sizes, malformed pax lengths are ETARFORMAT', async () => {
    const withPax = (records: Buffer[]): Buffer =>
      Buffer.concat([extendedHeader('x', Buffer.concat(records)), encodeHeader(header('f')), END_OF_ARCHIVE]);
    const code = async (bytes: Buffer): Promise<string> => (await outcome(chunked(bytes, 3))).replace(/:.*/s, '');
    for (const [key, value] of [
      ['uid', '-5'],
      ['gid', '-1'],
      ['uid', '4294967295'],
      ['gid', '99999999999999999999'],
      ['size', '-1'],
      ['size', '1e3'],
      ['uid', '0x10'],
      ['mtime', '1e400'],
    ]) {
      expect([key, value, await code(withPax([paxRecord(key!, Buffer.from(value!))]))]).toEqual([key, value, 'ETARFORMAT']);
    }
    // The largest id there is, and a time before the epoch, are fine.
    expect(await code(withPax([paxRecord('uid', Buffer.from('4294967294')), paxRecord('mtime', Buffer.from('-5'))]))).toBe('read');
    // A pax length written as something else than decimal digits.
    expect(await code(withPax([Buffer.from(' 12 uid=00\n')]))).toBe('ETARFORMAT');
    expect(await code(withPax([Buffer.from('0xc uid=0\n')]))).toBe('ETARFORMAT');
    // Base-256 ids past 2^32 - 2, and a negative base-256 size.
    const big = encodeHeader(header('b'));
    base256(big, 108, 8, 1n << 40n);
    expect(await code(Buffer.concat([setChecksum(big), END_OF_ARCHIVE]))).toBe('ETARFORMAT');
    const negative = encodeHeader(header('n'));
    negative.fill(0xff, 124, 136);
    expect(await code(Buffer.concat([setChecksum(negative), END_OF_ARCHIVE]))).toBe('ETARFORMAT');
    const inRange = encodeHeader(header('r'));
    base256(inRange, 108, 8, 4294967294n);
    const back = await readAll(chunked(Buffer.concat([setChecksum(inRange), END_OF_ARCHIVE]), 4));
    expect(back[0]![0].uid).toBe(4294967294);
  });
});

/** A raw header of type `flag` with `payload` after it. */
function encodeHeaderWithPayload(flag: string, payload: Buffer): Buffer {
  const block = encodeHeader(header('raw', { size: payload.length }));
  block.write(flag, 156, 'ascii');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return Buffer.concat([block, payload, padding(payload.length)]);
}

/**
 * Every entry's user.* xattrs under `dir`, read by python3 (a listed
 * prerequisite; attr's getfattr is not): relative name (latin1) ->
 * `key=hex` pairs, sorted.
 */
const READ_XATTRS = `
import json, os, sys
top = os.fsencode(sys.argv[1])
out = {}
for d, dirs, files in os.walk(top):
    for n in dirs + files:
        p = os.path.join(d, n)
        keys = sorted(k for k in os.listxattr(p, follow_symlinks=False) if k.startswith('user.'))
        out[os.path.relpath(p, top).decode('latin1')] = ' '.join(k + '=' + os.getxattr(p, k, follow_symlinks=False).hex() for k in keys)
print(json.dumps(out))
`;

function userXattrs(dir: string): Record<string, string> {
  return JSON.parse(execFileSync('python3', ['-c', READ_XATTRS, dir], { encoding: 'utf8' })) as Record<string, string>;
}

/** name -> type, mode, owner, size, link target, content hash, xattrs: what both trees must agree on. */
function describeTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const xattrs = userXattrs(dir);
  const visit = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel), { encoding: 'buffer' })) {
      const relative = rel === '' ? name.toString('latin1') : `${rel}/${name.toString('latin1')}`;
      const full = Buffer.concat([Buffer.from(dir + '/'), Buffer.from(relative, 'latin1')]);
      const st = fs.lstatSync(full);
      const link = st.isSymbolicLink() ? fs.readlinkSync(full, { encoding: 'buffer' }).toString('latin1') : '';
      const hash = st.isFile() ? createHash('sha256').update(fs.readFileSync(full)).digest('hex') : '';
      out.set(
        relative,
        [st.mode.toString(8), st.uid, st.gid, st.isFile() ? st.size : 0, st.rdev, link, hash, st.nlink, xattrs[relative]].join(' '),
      );
      if (st.isDirectory()) visit(relative);
    }
  };
  visit('');
  return out;
}

describe('exportTar', () => {
  test('GNU tar extracts the very tree: long and non-UTF-8 names, hard links, symlinks, FIFOs, devices, xattrs, a sparse file', async () => {
    const dir = tempDir('unshare-fs-export-');
    try {
      const src = path.join(dir, 'src');
      const deep = path.join(src, 'd'.repeat(120), 'e'.repeat(120));
      fs.mkdirSync(deep, { recursive: true });
      fs.writeFileSync(path.join(deep, 'f'.repeat(200)), 'long');
      fs.writeFileSync(Buffer.from(`${src}/n\xff\xfe`, 'latin1'), 'not utf-8');
      fs.mkdirSync(path.join(src, 'a/b'), { recursive: true });
      fs.writeFileSync(path.join(src, 'a/f'), 'hi\n');
      fs.linkSync(path.join(src, 'a/f'), path.join(src, 'a/b/hard'));
      fs.symlinkSync('../f', path.join(src, 'a/b/sym'));
      fs.symlinkSync('/etc/passwd', path.join(src, 'abs'));
      execFileSync('mkfifo', [path.join(src, 'a/fifo')]);
      fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(3 << 20, 7));
      const sparse = fs.openSync(path.join(src, 'sparse'), 'w');
      fs.ftruncateSync(sparse, 5 << 20);
      fs.closeSync(sparse);
      fs.chmodSync(path.join(src, 'a/b'), 0o2750);
      execFileSync('python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], "user.origin", b"test")', path.join(src, 'a/f')]);
      if (root) execFileSync('mknod', [path.join(src, 'null'), 'c', '1', '3']);
      execFileSync('touch', ['-h', '-d', '2020-02-03 04:05:06', path.join(src, 'a/b/sym')]);

      const file = path.join(dir, 'out.tar');
      await pipeline(host.exportTar(src), fs.createWriteStream(file));
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '--numeric-owner', '-xpf', file, '-C', out], { stdio: 'pipe' });
      // The xattr is there to be lost: the source really holds it.
      expect(userXattrs(src)['a/f']).toBe(`user.origin=${Buffer.from('test').toString('hex')}`);
      expect(describeTree(out)).toEqual(describeTree(src));
      // The hard-linked file is in the archive once.
      const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
      expect(listing).toMatch(/a\/b\/hard link to a\/f/);
    } finally {
      removeTree(dir);
    }
  });

  test('files swapped again and again for FIFOs while they are exported: every export ends, each a file with its bytes or a FIFO, never waited on', async () => {
    const dir = tempDir('unshare-fs-export-swap-');
    // Another process renames hard links of a file and of a FIFO over
    // root/z/0..NAMES-1 in turn, as fast as it can: most names the walk
    // lists as files are FIFOs by the time it opens them.
    const swapper = spawn('python3', ['-c', SWAPPER, dir, String(NAMES)], { stdio: 'ignore' });
    try {
      fs.mkdirSync(path.join(dir, 'root/z'), { recursive: true });
      const content = Buffer.alloc(64 * 1024, 3);
      fs.writeFileSync(path.join(dir, 'file'), content);
      execFileSync('mkfifo', [path.join(dir, 'fifo')]);
      fs.writeFileSync(path.join(dir, 'ready'), '');
      const seen = { file: 0, fifo: 0 };
      for (let i = 0; i < 100 || seen.file === 0 || seen.fifo === 0; i++) {
        const entries = await readAll(host.exportTar(path.join(dir, 'root')) as AsyncIterable<Buffer>);
        for (const [h, body] of entries.filter(([h]) => h.name.toString().startsWith('z/'))) {
          if (h.type === 'fifo') {
            seen.fifo++;
          } else if (h.type === 'file' || h.type === 'link') {
            // A hard link to an earlier name of the same file, or the file.
            if (h.type === 'file') expect(body.equals(content)).toBe(true);
            seen.file++;
          } else {
            throw new Error(`unexpected ${h.type} ${h.name.toString()}`);
          }
        }
      }
    } finally {
      swapper.kill();
      await once(swapper, 'close');
      removeTree(dir);
    }
  });

  test('abort, a missing root and bad arguments end the stream clearly; a plain export reads back', async () => {
    const dir = tempDir('unshare-fs-export-');
    try {
      fs.writeFileSync(path.join(dir, 'f'), 'x'.repeat(1000));
      const controller = new AbortController();
      const stream = host.exportTar(dir, { signal: controller.signal });
      controller.abort();
      await expect(pipeline(stream, fs.createWriteStream('/dev/null'))).rejects.toMatchObject({ name: 'AbortError' });
      await expect(pipeline(host.exportTar(path.join(dir, 'nope')), fs.createWriteStream('/dev/null'))).rejects.toMatchObject({
        code: 'ENOENT',
      });
      expect(() => host.exportTar(5 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      const entries = await readAll(host.exportTar(dir) as AsyncIterable<Buffer>);
      expect(entries.map(([h, body]) => [h.name.toString(), body.length])).toEqual([['f', 1000]]);
    } finally {
      removeTree(dir);
    }
  });
});

// The tar reader (lib/layers/tar.ts) and extraction (lib/layers/extract.ts) against
// archives made of what hostile writers send — pax headers ('x', 'g') with
// any records, GNU long names ('L', 'K'), base-256 numbers, whiteout names
// — then mutated: bytes changed (in a header, its checksum made right
// again or not), the archive cut short.  Whatever comes, the reader
// either reads it or fails with ETARFORMAT (extraction: ETARFORMAT or
// ETARPATH), never another error; and what it reads has numbers in their
// fields' ranges.  The reader is TypeScript, so this is its fuzzer
// (native/fuzz covers the C++ request and batch parsers).
import * as fc from 'fast-check';

import { extractTar, type ExtractTarget } from '../lib/layers/extract';
import { BLOCK, readTar, type TarHeader } from '../lib/layers/tar';
import { END_OF_ARCHIVE, base256, encodeHeader, extendedHeader, padding, paxRecord, setChecksum } from './helpers/tar-writer';

/** One piece of an archive: a header block (whose checksum a mutation may set again) or bytes after one. */
interface Piece {
  header: boolean;
  bytes: Buffer;
}

const NAMES = ['f', 'd/e', '.wh.gone', 'd/.wh..wh..opq', '.wh...', '.wh..', '../x', '/abs/y', 'a//b/./c', 'n'.repeat(120)];

const name = fc.oneof(
  fc.constantFrom(...NAMES).map((n) => Buffer.from(n)),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)),
);

/** Values of numeric pax records: fine ones, negative, huge, not numbers at all. */
const paxNumber = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom('-5', '-1', '0', '4294967294', '4294967295', '99999999999999999999', '1e3', '0x10', ' 1', '1.5', '-1.5', '', '1\n'),
  fc.string({ maxLength: 12 }),
);

const paxRecords = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom('uid', 'gid', 'size', 'mtime'), paxNumber).map(([k, v]) => paxRecord(k, Buffer.from(v))),
    fc.tuple(fc.constantFrom('path', 'linkpath'), name).map(([k, v]) => paxRecord(k, v)),
    fc
      .tuple(fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 30 }))
      .map(([k, v]) => paxRecord(`SCHILY.xattr.user.${k}`, Buffer.from(v))),
    // A record whose length lies.
    fc.tuple(fc.nat({ max: 200 }), fc.string({ maxLength: 20 })).map(([n, text]) => Buffer.from(`${n} ${text}\n`)),
  ),
  { maxLength: 4 },
);

const TYPES: TarHeader['type'][] = ['file', 'directory', 'symlink', 'link', 'fifo', 'char-device'];

/** An entry with what may come before it. */
const entryPieces: fc.Arbitrary<Piece[]> = fc
  .record({
    name,
    type: fc.constantFrom(...TYPES),
    body: fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a)),
    linkName: name,
    extended: fc.array(fc.tuple(fc.constantFrom('x', 'g', 'L', 'K'), paxRecords, name), { maxLength: 3 }),
    // Base-256 in uid, gid, size or mtime: any value of the field's width.
    big: fc.option(fc.tuple(fc.constantFrom([108, 8], [116, 8], [124, 12], [136, 12]), fc.bigInt({ min: 0n, max: (1n << 88n) - 1n })), {
      nil: undefined,
    }),
  })
  .map(({ name: entryName, type, body, linkName, extended, big }) => {
    const pieces: Piece[] = [];
    for (const [flag, records, longName] of extended) {
      const raw = extendedHeader(flag, flag === 'L' || flag === 'K' ? longName : Buffer.concat(records));
      pieces.push({ header: true, bytes: raw.subarray(0, BLOCK) }, { header: false, bytes: raw.subarray(BLOCK) });
    }
    const size = type === 'file' ? body.length : 0;
    const h: TarHeader = { name: entryName, type, mode: 0o644, uid: 0, gid: 0, size, mtime: { seconds: 1, nanoseconds: 0 }, linkName };
    const blocks = encodeHeader(h);
    const main = Buffer.from(blocks.subarray(blocks.length - BLOCK));
    if (blocks.length > BLOCK)
      pieces.push(
        { header: true, bytes: blocks.subarray(0, BLOCK) },
        { header: false, bytes: blocks.subarray(BLOCK, blocks.length - BLOCK) },
      );
    if (big !== undefined) {
      const [[offset, width], value] = big;
      base256(main, offset, width, value & ((1n << BigInt(8 * (width - 1))) - 1n));
      setChecksum(main);
    }
    pieces.push({ header: true, bytes: main }, { header: false, bytes: Buffer.concat([body.subarray(0, size), padding(size)]) });
    return pieces;
  });

/** A change to the archive: a byte set at a place in one piece (then, for a header, its checksum set right or not). */
const mutation = fc.record({ piece: fc.nat(), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), fixChecksum: fc.boolean() });

const archive = fc
  .record({
    entries: fc.array(entryPieces, { minLength: 1, maxLength: 4 }),
    mutations: fc.array(mutation, { maxLength: 4 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ entries, mutations, cut }) => {
    const pieces = entries.flat().map((p) => ({ ...p, bytes: Buffer.from(p.bytes) }));
    for (const m of mutations) {
      const piece = pieces[m.piece % pieces.length]!;
      if (piece.bytes.length === 0) continue;
      piece.bytes[m.at % piece.bytes.length] = m.byte;
      if (piece.header && m.fixChecksum) setChecksum(piece.bytes);
    }
    const bytes = Buffer.concat([...pieces.map((p) => p.bytes), END_OF_ARCHIVE]);
    return cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
  });

async function* chunks(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += 333) yield bytes.subarray(at, at + 333);
}

/** The error's code, or 'uncoded' with the error for one that has none (what must never happen). */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : `uncoded ${String(error)}`;
}

/** Numbers a header may hold: in their fields' ranges. */
function checkHeader(h: TarHeader): void {
  for (const [what, value, max] of [
    ['size', h.size, Number.MAX_SAFE_INTEGER],
    ['uid', h.uid, 0xfffffffe],
    ['gid', h.gid, 0xfffffffe],
    ['devMajor', h.devMajor ?? 0, 0xffffffff],
    ['devMinor', h.devMinor ?? 0, 0xffffffff],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new Error(`${what} ${value} out of range`);
  }
  if (!Number.isSafeInteger(h.mtime.seconds)) throw new Error(`mtime ${h.mtime.seconds}`);
}

/** An ExtractTarget that makes nothing: every name is missing, every change succeeds; bodies are read. */
const nowhere: ExtractTarget = {
  lstat: () => Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })),
  mkdir: () => Promise.resolve(undefined),
  writeFile: async (_path, data) => {
    for await (const chunk of data as AsyncIterable<Buffer>) void chunk;
  },
  chmod: () => Promise.resolve(),
  lchown: () => Promise.resolve(),
  lutimes: () => Promise.resolve(),
  link: () => Promise.resolve(),
  symlink: () => Promise.resolve(),
  mknod: () => Promise.resolve(),
  setXattr: () => Promise.resolve(),
  unlink: () => Promise.resolve(),
  rm: () => Promise.resolve(),
};

describe('tar reader against mutated hostile archives', () => {
  test('reads, or fails with ETARFORMAT; what it reads has numbers in range', async () => {
    await fc.assert(
      fc.asyncProperty(archive, async (bytes) => {
        try {
          for await (const entry of readTar(chunks(bytes))) {
            checkHeader(entry.header);
            let got = 0;
            for await (const chunk of entry.body()) got += chunk.length;
            if (got !== entry.header.size) throw new Error(`body of ${got} bytes, header says ${entry.header.size}`);
          }
        } catch (error) {
          expect(codeOf(error)).toBe('ETARFORMAT');
        }
      }),
      { numRuns: 1500 },
    );
  });

  test('extraction (whiteouts as overlayfs makes them) fails only with ETARFORMAT or ETARPATH', async () => {
    for (const overlay of [undefined, 'user'] as const) {
      await fc.assert(
        fc.asyncProperty(archive, async (bytes) => {
          try {
            await extractTar(nowhere, chunks(bytes), '/dest', { overlay });
          } catch (error) {
            expect(['ETARFORMAT', 'ETARPATH']).toContain(codeOf(error));
          }
        }),
        { numRuns: 500 },
      );
    }
  });
});

// The batch decoder against batches the test makes from the wire format
// alone (helpers/batch-encoder.ts): what it decodes is what was encoded, for
// any names (bytes that are not UTF-8 too), types and stat fields; and
// whatever bytes it is given, it decodes the records that make sense and
// throws a plain Error at the first that does not, never looping and never
// returning an entry with bytes from past the batch's end.
import * as fc from 'fast-check';

import { BatchDecoder } from '../lib/wire/decode';
import { ALL_STAT } from '../lib/wire/protocol';
import {
  encodeBatch,
  expectedDecoding,
  maskStat,
  parseBatch,
  type DecodeModel,
  type Decoded,
  type StatValues,
  type TimeSpec,
  type WalkRecord,
} from './helpers/batch-encoder';

// Some cases keep the fields small, the rest use the whole range.
const u32 = fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: 0xffffffff }));
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const time: fc.Arbitrary<TimeSpec> = fc.record({
  seconds: fc.oneof(fc.bigInt({ min: -(1n << 34n), max: 1n << 34n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })),
  nanoseconds: fc.oneof(fc.integer({ min: 0, max: 999999999 }), fc.integer({ min: 0, max: 0xffffffff })),
});
const stat: fc.Arbitrary<StatValues> = fc.record({
  mode: u32,
  uid: u32,
  gid: u32,
  nlink: u32,
  size: u64,
  ino: u64,
  dev: u64,
  rdev: u64,
  blocks: u64,
  blksize: u32,
  atime: time,
  mtime: time,
  ctime: time,
});

/** Names and paths: ASCII, any Unicode, or bytes that are not UTF-8 at all; some past 255 bytes (the u16's high byte). */
const bytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength }).map((text) => Buffer.from(text)),
    fc.string({ unit: 'grapheme', maxLength: maxLength / 4 }).map((text) => Buffer.from(text)),
    fc.uint8Array({ maxLength }).map((array) => Buffer.from(array)),
    fc.uint8Array({ minLength: 256, maxLength: 700 }).map((array) => Buffer.from(array)),
  );

const record: fc.Arbitrary<WalkRecord> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ tag: fc.constant('dir' as const), depth: fc.integer({ min: 0, max: 0xffff }), path: bytes(120) }) },
  {
    weight: 6,
    arbitrary: fc.record({ tag: fc.constant('entry' as const), dtype: fc.integer({ min: 0, max: 255 }), name: bytes(60), stat }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      tag: fc.constant('error' as const),
      errno: fc.oneof(fc.constantFrom(2, 13, 20, 40), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
      syscall: fc.oneof(
        fc.constantFrom('scandir', 'lstat', 'openat'),
        fc.string({ unit: 'binary', maxLength: 20 }).map((text) => Buffer.from(text).toString('latin1')),
      ),
      path: bytes(80),
    }),
  },
  { weight: 1, arbitrary: fc.record({ tag: fc.constant('summary' as const), sums: fc.array(u64, { minLength: 9, maxLength: 9 }) }) },
);

/** A batch as the server makes it: a directory record first, then anything. */
const records = fc
  .tuple(
    fc.record({ tag: fc.constant('dir' as const), depth: fc.integer({ min: 0, max: 0xffff }), path: bytes(120) }),
    fc.array(record, { maxLength: 25 }),
  )
  .map(([first, rest]): WalkRecord[] => [first, ...rest]);

const statMask = fc.oneof(fc.constant(0), fc.constant(ALL_STAT), fc.integer({ min: 0, max: ALL_STAT }));

const model: fc.Arbitrary<DecodeModel> = fc.record({
  root: fc.constantFrom('/', '/srv/root', '/trailing/', '/näme/ünïcode'),
  statMask,
  bigint: fc.boolean(),
  encoding: fc.constantFrom('utf8' as const, 'latin1' as const, 'buffer' as const),
  // Maps that change ids, so hostUid and hostGid show they went through them.
  mapUid: fc.constant((id: number) => (id + 100000) % 2 ** 32),
  mapGid: fc.constant((id: number) => id ^ 1),
});

interface Outcome {
  items: Decoded[];
  thrown?: unknown;
  loops?: boolean;
}

/** Everything the decoder makes of `batch`, entries and errors in order, and what it throws. */
function decodeAll(decoder: BatchDecoder, batch: Buffer): Outcome {
  const items: Decoded[] = [];
  summaries = items;
  try {
    decoder.reset(batch);
    // Each record takes at least 4 bytes: more calls than that is a loop.
    for (let calls = 0; calls <= batch.length / 4 + 2; calls++) {
      const entry = decoder.next();
      if (entry !== undefined) {
        items.push({
          parentPath: entry.parentPath,
          fullPath: entry.fullPath,
          name: entry.name,
          type: entry.type,
          depth: entry.depth,
          stats: entry.stats && { ...entry.stats },
        });
        continue;
      }
      const error = decoder.takeError();
      if (error === undefined) return { items };
      items.push({ error: { errno: error.errno, code: error.code, syscall: error.syscall, path: error.path } });
    }
    return { items, loops: true };
  } catch (thrown) {
    return { items, thrown };
  }
}

/** Where the decoders' SUMMARY records go, in order with the rest: the items decodeAll is collecting. */
let summaries: Decoded[] = [];
const decoderFor = (options: DecodeModel): BatchDecoder =>
  new BatchDecoder({ ...options, onSummary: (sums) => summaries.push({ summary: sums }) });

describe('the batch decoder', () => {
  test('decodes what was encoded: paths, names of any bytes, types, depths, stats and errors', () => {
    fc.assert(
      fc.property(records, model, fc.option(fc.boolean(), { nil: undefined }), (walk, options, ascii) => {
        const batch = encodeBatch(walk, options.statMask, ascii);
        const flag = (batch.readUInt32LE(4) & 1) !== 0;
        // The test's own parser reads back what its encoder wrote.
        const stored = walk.map((r) => (r.tag === 'entry' ? { ...r, stat: maskStat(r.stat, options.statMask) } : r));
        expect(parseBatch(batch, options.statMask)).toEqual({ records: stored, ascii: flag, corrupt: undefined });
        const outcome = decodeAll(decoderFor(options), batch);
        expect(outcome.thrown).toBeUndefined();
        expect(outcome.loops).toBeUndefined();
        expect(outcome.items).toEqual(expectedDecoding(walk, flag, options));
      }),
      { numRuns: 400 },
    );
  });

  test('one decoder reads batch after batch, each on its own (no directory or depth carried over)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(record, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), model, (walks, options) => {
        const decoder = decoderFor(options);
        for (const walk of walks) {
          const batch = encodeBatch(walk, options.statMask);
          const outcome = decodeAll(decoder, batch);
          expect(outcome.thrown).toBeUndefined();
          expect(outcome.items).toEqual(expectedDecoding(walk, (batch.readUInt32LE(4) & 1) !== 0, options));
        }
      }),
      { numRuns: 200 },
    );
  });

  test('stat fields at the edges of their ranges', () => {
    const edge: StatValues = {
      mode: 0xffffffff,
      uid: 0xffffffff,
      gid: 0,
      nlink: 0x80000000,
      size: (1n << 64n) - 1n,
      ino: 1n << 53n,
      dev: (1n << 53n) + 1n,
      rdev: 1n << 32n,
      blocks: (1n << 32n) - 1n,
      blksize: 4096,
      atime: { seconds: -1n, nanoseconds: 999999999 },
      mtime: { seconds: -(1n << 63n), nanoseconds: 0 },
      ctime: { seconds: (1n << 63n) - 1n, nanoseconds: 0xffffffff },
    };
    const walk: WalkRecord[] = [{ tag: 'entry', dtype: 8, name: Buffer.from('edge'), stat: edge }];
    for (const bigint of [false, true]) {
      for (const mask of [ALL_STAT, ALL_STAT & ~1, 1 << 9, (1 << 8) | (1 << 4)]) {
        const options: DecodeModel = { root: '/', statMask: mask, bigint, encoding: 'utf8', mapUid: (id) => id, mapGid: (id) => id };
        const outcome = decodeAll(decoderFor(options), encodeBatch(walk, mask));
        expect(outcome.items).toEqual(expectedDecoding(walk, true, options));
      }
    }
  });
});

describe('the batch decoder on bytes that are not a good batch', () => {
  // Good batches broken the ways a bug would break them, and plain noise.
  const mangled = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array)),
    fc
      .tuple(records, statMask, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.option(fc.nat()))
      .map(([walk, mask, edits, cut]) => {
        const batch = encodeBatch(walk, mask);
        for (const [at, byte] of edits) batch[at % batch.length] = byte;
        return cut === null ? batch : batch.subarray(0, cut % (batch.length + 1));
      }),
    // A names offset anywhere, records and names left as they were.
    fc.tuple(records, statMask, fc.integer({ min: 0, max: 0xffffffff })).map(([walk, mask, offset]) => {
      const batch = encodeBatch(walk, mask);
      batch.writeUInt32LE(offset < 2 ** 31 ? offset % (batch.length + 16) : offset, 0);
      return batch;
    }),
  );

  test('decodes the records that fit and throws a protocol error (EPROTO) at the first that does not', () => {
    fc.assert(
      fc.property(mangled, model, (batch, options) => {
        const outcome = decodeAll(decoderFor(options), batch);
        expect(outcome.loops).toBeUndefined();
        const parsed = parseBatch(batch, options.statMask);
        // Nothing past the batch's end: exactly the records that lie inside it.
        expect(outcome.items).toEqual(expectedDecoding(parsed.records, parsed.ascii, options));
        if (parsed.corrupt === undefined) {
          expect(outcome.thrown).toBeUndefined();
        } else {
          expect(outcome.thrown).toBeInstanceOf(Error);
          expect((outcome.thrown as Error).message).toMatch(/^unshare-fs: corrupt walk batch/);
          expect(outcome.thrown).toMatchObject({ code: 'EPROTO' });
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('after a corrupt batch the same decoder reads the next good one', () => {
    fc.assert(
      fc.property(mangled, records, model, (bad, walk, options) => {
        const decoder = decoderFor(options);
        decodeAll(decoder, bad);
        const batch = encodeBatch(walk, options.statMask);
        const outcome = decodeAll(decoder, batch);
        expect(outcome.thrown).toBeUndefined();
        expect(outcome.items).toEqual(expectedDecoding(walk, (batch.readUInt32LE(4) & 1) !== 0, options));
      }),
      { numRuns: 300 },
    );
  });
});

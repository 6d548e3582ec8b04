// The BoltDB reader against files laid out by hand as bbolt's format
// documents them (page header, meta with FNV-1a checksum, branch and leaf
// elements, inline buckets), and against forged ones: each bad file is a
// BoltError, never another exception or a hang.  Real engines' files are
// read in test/volumes.test.ts.
import { BoltDb, BoltError } from '../lib/engine/bolt';

const PAGE = 4096;

function fnv64a(bytes: Buffer): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash;
}

/** A page header at `page`: id, flags, count, overflow. */
function header(file: Buffer, page: number, flags: number, count: number): number {
  const at = page * PAGE;
  file.writeBigUInt64LE(BigInt(page), at);
  file.writeUInt16LE(flags, at + 8);
  file.writeUInt16LE(count, at + 10);
  file.writeUInt32LE(0, at + 12);
  return at;
}

function meta(file: Buffer, page: number, root: number, txid: number, goodChecksum = true): void {
  const at = header(file, page, 0x04, 0) + 16;
  file.writeUInt32LE(0xed0cdaed, at);
  file.writeUInt32LE(2, at + 4);
  file.writeUInt32LE(PAGE, at + 8);
  file.writeBigUInt64LE(BigInt(root), at + 16);
  file.writeBigUInt64LE(BigInt(txid), at + 48);
  const sum = fnv64a(file.subarray(at, at + 56));
  file.writeBigUInt64LE(goodChecksum ? sum : sum ^ 1n, at + 56);
}

/** A leaf page's bytes (header at 0): [key, value, isBucket] elements. */
function leaf(entries: [string, Buffer, boolean][], id = 0): Buffer {
  const body: Buffer[] = [];
  const elements = Buffer.alloc(16 * entries.length);
  let offset = 16 * entries.length;
  entries.forEach(([key, value, bucket], i) => {
    elements.writeUInt32LE(bucket ? 1 : 0, i * 16);
    elements.writeUInt32LE(offset - i * 16, i * 16 + 4);
    elements.writeUInt32LE(Buffer.byteLength(key), i * 16 + 8);
    elements.writeUInt32LE(value.length, i * 16 + 12);
    body.push(Buffer.from(key), value);
    offset += Buffer.byteLength(key) + value.length;
  });
  const head = Buffer.alloc(16);
  head.writeBigUInt64LE(BigInt(id), 0);
  head.writeUInt16LE(0x02, 8);
  head.writeUInt16LE(entries.length, 10);
  return Buffer.concat([head, elements, ...body]);
}

/** A bucket value: its root page, or 0 and an inline leaf. */
function bucketValue(root: number, inline?: Buffer): Buffer {
  const value = Buffer.alloc(16);
  value.writeBigUInt64LE(BigInt(root), 0);
  return inline ? Buffer.concat([value, inline]) : value;
}

/** A file: meta pages 0 (older) and 1, root bucket at page 2 holding `vol` (inline) and `ctr` (page 3). */
function sample(): Buffer {
  const file = Buffer.alloc(4 * PAGE);
  meta(file, 0, 3, 1); // older: names page 3 as the root
  meta(file, 1, 2, 2);
  leaf(
    [
      ['ctr', bucketValue(3), true],
      ['vol', bucketValue(0, leaf([['data', Buffer.from('{"name":"data"}'), false]])), true],
    ],
    2,
  ).copy(file, 2 * PAGE);
  leaf([['c1', Buffer.from('config'), false]], 3).copy(file, 3 * PAGE);
  return file;
}

test('a file laid out as bbolt documents it: the newest good meta, nested and inline buckets', () => {
  const root = new BoltDb(sample()).root;
  expect(root.entries().map((e) => [e.key.toString(), e.bucket !== undefined])).toEqual([
    ['ctr', true],
    ['vol', true],
  ]);
  expect(root.bucket('vol')!.get('data')!.toString()).toBe('{"name":"data"}');
  expect(root.bucket('ctr')!.get('c1')!.toString()).toBe('config');
  expect(root.get('vol')).toBeNull();
  expect(root.bucket('none')).toBeNull();
});

test('a meta page with a bad checksum is passed over for the other', () => {
  const file = sample();
  meta(file, 1, 2, 2, false);
  // Page 0's root (page 3) is a leaf of values: the older tree is what is read.
  expect(new BoltDb(file).root.get('c1')!.toString()).toBe('config');
});

describe('forged files: a BoltError each', () => {
  const cases: [string, () => Buffer][] = [
    ['too short', () => Buffer.alloc(40)],
    ['no good meta page', () => Buffer.alloc(4 * PAGE)],
    [
      'a root outside the file',
      () => {
        const file = sample();
        meta(file, 1, 99, 3);
        return file;
      },
    ],
    [
      'a branch page that is its own child',
      () => {
        const file = sample();
        const at = header(file, 3, 0x01, 1);
        file.writeUInt32LE(16, at + 16);
        file.writeBigUInt64LE(3n, at + 24);
        return file;
      },
    ],
    [
      'a key that runs past its page',
      () => {
        const file = sample();
        file.writeUInt32LE(1 << 20, 3 * PAGE + 16 + 8);
        return file;
      },
    ],
    [
      'a page of another kind',
      () => {
        const file = sample();
        header(file, 3, 0x10, 0);
        return file;
      },
    ],
  ];
  test.each(cases)('%s', (_what, make) => {
    expect(() => {
      const root = new BoltDb(make()).root;
      for (const entry of root.entries()) entry.bucket?.entries();
    }).toThrow(BoltError);
  });
});

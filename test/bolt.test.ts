// The BoltDB reader against files laid out by hand as bbolt's format
// documents them (page header, meta with FNV-1a checksum, branch and leaf
// elements, inline buckets), and against forged ones: each bad file is a
// BoltError, never another exception or a hang.  Real engines' files are
// read in test/volumes.test.ts.
import { BoltDb, BoltError } from '../lib/engine/bolt';
import { boltFile, bucketValue, header, leaf, meta, PAGE } from './helpers/bolt-writer';

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

test('a root leaf spanning overflow pages, buckets nested inline', () => {
  const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key-${String(i).padStart(3, '0')}`, 'x'.repeat(20)]));
  const root = new BoltDb(boltFile({ ...many, nested: { inner: { deep: 'value' } } })).root;
  expect(root.entries()).toHaveLength(301);
  expect(root.get('key-299')!.toString()).toBe('x'.repeat(20));
  expect(root.bucket('nested')!.bucket('inner')!.get('deep')!.toString()).toBe('value');
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

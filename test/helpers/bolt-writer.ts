// BoltDB files made by hand as bbolt's format documents them (page header,
// meta pages with an FNV-1a checksum, leaf elements, inline buckets), for
// the reader's tests and for engine files made without the engine.
// Written independently of lib/engine/bolt.ts.

export const PAGE = 4096;

export function fnv64a(bytes: Buffer): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash;
}

/** A page header at `page`: id, flags, count, overflow. */
export function header(file: Buffer, page: number, flags: number, count: number, overflow = 0): number {
  const at = page * PAGE;
  file.writeBigUInt64LE(BigInt(page), at);
  file.writeUInt16LE(flags, at + 8);
  file.writeUInt16LE(count, at + 10);
  file.writeUInt32LE(overflow, at + 12);
  return at;
}

/** Meta page `page` naming `root` as the root bucket's page, at `txid`. */
export function meta(file: Buffer, page: number, root: number, txid: number, goodChecksum = true): void {
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
export function leaf(entries: [string, Buffer, boolean][], id = 0): Buffer {
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
export function bucketValue(root: number, inline?: Buffer): Buffer {
  const value = Buffer.alloc(16);
  value.writeBigUInt64LE(BigInt(root), 0);
  return inline ? Buffer.concat([value, inline]) : value;
}

/** A tree of buckets: a key's value is bytes (a value) or a tree (a nested bucket). */
export interface BoltTree {
  [key: string]: string | Buffer | BoltTree;
}

function elements(tree: BoltTree): [string, Buffer, boolean][] {
  return Object.keys(tree)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((key) => {
      const value = tree[key]!;
      if (typeof value === 'string' || Buffer.isBuffer(value)) return [key, Buffer.from(value), false];
      return [key, bucketValue(0, leaf(elements(value))), true];
    });
}

/** A whole file: the root bucket on page 2 (with overflow pages as it needs), every nested bucket inline. */
export function boltFile(tree: BoltTree): Buffer {
  const root = leaf(elements(tree), 2);
  const pages = Math.ceil(root.length / PAGE);
  const file = Buffer.alloc((2 + pages) * PAGE);
  root.copy(file, 2 * PAGE);
  file.writeUInt32LE(pages - 1, 2 * PAGE + 12);
  meta(file, 0, 2, 1);
  meta(file, 1, 2, 0);
  return file;
}

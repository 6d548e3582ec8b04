/**
 * A read-only reader of BoltDB files (go.etcd.io/bbolt), where podman 4
 * keeps its state (`libpod/bolt_state.db`: volumes, and which containers
 * use them) and Docker its volumes' driver and labels
 * (`volumes/metadata.db`).  Neither engine has another file that says so,
 * and asking them would mean running them.
 *
 * The layout, as bbolt writes it: pages of `pageSize` bytes; pages 0 and 1
 * are meta pages (the one with the larger txid and a good FNV-1a checksum
 * is current) naming the root bucket's page; a bucket is a B+tree of
 * branch pages (keys and child page ids) and leaf pages (keys and values,
 * or a nested bucket: its root page id, or 0 and the bucket's one leaf page
 * inline in the value).  All numbers little-endian.
 *
 * The file is read whole, once, without the engine's flock: bbolt writes
 * new pages before the meta page that names them, so a reader sees the
 * last committed tree unless a later commit reuses its freed pages while
 * it reads — then what it finds is garbage, and garbage is what every read
 * here is checked against anyway.  A rootless engine's file is its user's
 * to forge: every offset, count and page id is checked to stay in the
 * file, a tree deeper than MAX_DEPTH or a page met twice on one path is
 * refused, and all of it is a BoltError, never a crash or a hang.
 */

/** What a BoltDB file that is not one, or is damaged, throws. */
export class BoltError extends Error {}

const PAGE_HEADER = 16;
const ELEMENT = 16;
const BUCKET_HEADER = 16;
const META_MAGIC = 0xed0cdaed;
const BRANCH_PAGE = 0x01;
const LEAF_PAGE = 0x02;
const META_PAGE = 0x04;
const BUCKET_LEAF = 0x01;
/** No B+tree of a state file is this deep (bbolt splits pages at 4 KiB: a depth of 10 holds more than any disk). */
const MAX_DEPTH = 32;

/** One key of a bucket: a value, or a nested bucket. */
export type BoltEntry = { key: Buffer; value: Buffer; bucket?: undefined } | { key: Buffer; bucket: BoltBucket; value?: undefined };

/** FNV-1a, 64 bits: bbolt's meta page checksum. */
function fnv64a(bytes: Buffer): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

/** A u64 that must fit a JS number (a page id, a txid). */
function u64(buffer: Buffer, offset: number): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new BoltError(`a page number out of range at byte ${offset}`);
  return Number(value);
}

/** A page's bytes: `data` from `start` for `length` bytes, each read checked to stay in it. */
class Page {
  constructor(
    readonly data: Buffer,
    readonly start: number,
    readonly length: number,
  ) {}

  get flags(): number {
    return this.data.readUInt16LE(this.start + 8);
  }

  get count(): number {
    return this.data.readUInt16LE(this.start + 10);
  }

  /** `length` bytes at `offset` in the page (counted from its start). */
  slice(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.length) throw new BoltError('an element leads out of its page');
    return this.data.subarray(this.start + offset, this.start + offset + length);
  }

  /** The elements of the page: each its 16 bytes after the header. */
  element(i: number): Buffer {
    return this.slice(PAGE_HEADER + i * ELEMENT, ELEMENT);
  }
}

/** A BoltDB file, parsed lazily. */
export class BoltDb {
  readonly #data: Buffer;
  readonly #pageSize: number;
  readonly #root: number;

  /** The file's bytes; a BoltError when it is no BoltDB file or no meta page is good. */
  constructor(data: Buffer) {
    this.#data = data;
    if (data.length < PAGE_HEADER + 64) throw new BoltError('too short for a BoltDB file');
    const pageSize = data.readUInt32LE(PAGE_HEADER + 8);
    if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) !== 0)
      throw new BoltError(`a page size of ${pageSize} bytes, not a BoltDB file's`);
    this.#pageSize = pageSize;
    let best: { txid: number; root: number } | null = null;
    for (const id of [0, 1]) {
      const start = id * pageSize;
      if (start + PAGE_HEADER + 64 > data.length) continue;
      const meta = data.subarray(start + PAGE_HEADER, start + PAGE_HEADER + 64);
      if (data.readUInt16LE(start + 8) !== META_PAGE || meta.readUInt32LE(0) !== META_MAGIC || meta.readUInt32LE(4) !== 2) continue;
      if (fnv64a(meta.subarray(0, 56)) !== meta.readBigUInt64LE(56)) continue;
      const txid = u64(meta, 48);
      if (best === null || txid > best.txid) best = { txid, root: u64(meta, 16) };
    }
    if (best === null) throw new BoltError('no valid meta page (not a BoltDB file, or a damaged one)');
    this.#root = best.root;
  }

  /** The root bucket: the top-level buckets are its entries. */
  get root(): BoltBucket {
    return new BoltBucket(this, this.#root, null);
  }

  /** Page `id`, with its overflow pages. */
  page(id: number): Page {
    const start = id * this.#pageSize;
    if (id < 2 || start + PAGE_HEADER > this.#data.length) throw new BoltError(`page ${id} is outside the file`);
    const overflow = this.#data.readUInt32LE(start + 12);
    const length = (overflow + 1) * this.#pageSize;
    if (start + length > this.#data.length) throw new BoltError(`page ${id} runs past the end of the file`);
    return new Page(this.#data, start, length);
  }
}

/** A bucket: its keys in order, each a value or a nested bucket. */
export class BoltBucket {
  readonly #db: BoltDb;
  readonly #root: number;
  readonly #inline: Page | null;

  constructor(db: BoltDb, root: number, inline: Page | null) {
    this.#db = db;
    this.#root = root;
    this.#inline = inline;
  }

  /** Every key of the bucket, in the file's order (sorted by bytes). */
  entries(): BoltEntry[] {
    const out: BoltEntry[] = [];
    if (this.#inline !== null) this.#leaf(this.#inline, out);
    else this.#walk(this.#root, new Set(), out);
    return out;
  }

  /** The entry of `key`, or undefined. */
  #find(key: string): BoltEntry | undefined {
    const wanted = Buffer.from(key);
    return this.entries().find((entry) => entry.key.equals(wanted));
  }

  /** The value of `key`; null when there is none or it is a bucket. */
  get(key: string): Buffer | null {
    return this.#find(key)?.value ?? null;
  }

  /** The nested bucket `key`; null when there is none or it is a value. */
  bucket(key: string): BoltBucket | null {
    return this.#find(key)?.bucket ?? null;
  }

  /**
   * The leaves under page `id`, in order.  A page of a B+tree has one
   * parent: a page met twice (`seen`) is a forged or torn tree, and is
   * refused rather than walked again (branches sharing children would
   * cost 2^depth visits).
   */
  #walk(id: number, seen: Set<number>, out: BoltEntry[], depth = 0): void {
    if (seen.has(id)) throw new BoltError(`page ${id} is reached twice in one bucket`);
    if (depth >= MAX_DEPTH) throw new BoltError(`a tree deeper than ${MAX_DEPTH} pages`);
    seen.add(id);
    const page = this.#db.page(id);
    if (page.flags === LEAF_PAGE) {
      this.#leaf(page, out);
      return;
    }
    if (page.flags !== BRANCH_PAGE) throw new BoltError(`page ${id} is neither a branch nor a leaf page`);
    for (let i = 0; i < page.count; i++) this.#walk(u64(page.element(i), 8), seen, out, depth + 1);
  }

  #leaf(page: Page, out: BoltEntry[]): void {
    if (page.flags !== LEAF_PAGE) throw new BoltError('an inline bucket that is not a leaf page');
    for (let i = 0; i < page.count; i++) {
      const element = page.element(i);
      const elementOffset = PAGE_HEADER + i * ELEMENT;
      const flags = element.readUInt32LE(0);
      const keySize = element.readUInt32LE(8);
      const valueSize = element.readUInt32LE(12);
      const keyOffset = elementOffset + element.readUInt32LE(4);
      const key = page.slice(keyOffset, keySize);
      const value = page.slice(keyOffset + keySize, valueSize);
      if ((flags & BUCKET_LEAF) === 0) {
        out.push({ key, value });
        continue;
      }
      if (value.length < BUCKET_HEADER) throw new BoltError('a bucket value shorter than its header');
      const root = u64(value, 0);
      const inline = root === 0 ? new Page(value, BUCKET_HEADER, value.length - BUCKET_HEADER) : null;
      if (inline !== null && inline.length < PAGE_HEADER) throw new BoltError('an inline bucket shorter than a page header');
      out.push({ key, bucket: new BoltBucket(this.#db, root, inline) });
    }
  }
}

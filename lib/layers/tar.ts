// POSIX tar, read here rather than through a tar library: names are bytes
// (a container's names need not be UTF-8, and the libraries take strings),
// and reading is the hostile side, kept small and strict.  Archives are
// written by the server (native/core/tar.cc).
//
// Read: ustar and pax ('x' per entry, 'g' global), GNU long names ('L',
// 'K'), octal and base-256 numbers; a bad checksum, a truncated archive,
// an oversized extended header, extended headers past their sum or count
// before one entry, or a number out of its field's range (a negative size
// or id, an id past 2^32 - 2) is an ETARFORMAT error.
import { UnshareFsError } from '../core/errors';

export const BLOCK = 512;
/** Largest pax or GNU long-name payload read (names are at most PATH_MAX; xattrs 64 KiB each). */
export const MAX_EXTENDED = 1 << 20;
/**
 * Most bytes of extended headers held for one entry: its own pax and
 * long-name headers and the global ones in force.  Each is bounded by
 * MAX_EXTENDED, but an archive may send any number of them before an
 * entry, with distinct keys that all stay: this bounds their sum, checked
 * before a header's payload is read.
 */
export const MAX_EXTENDED_TOTAL = 4 << 20;
/** Most extended headers ('x', 'g', 'L', 'K') before one entry (writers send one or two). */
export const MAX_EXTENDED_HEADERS = 64;
/** Largest uid or gid (2^32 - 1 is chown's "leave as it is"). */
const MAX_ID = 0xfffffffe;
/** Largest device major or minor number (dev_t's halves). */
const MAX_DEVICE_NUMBER = 0xffffffff;

export type TarType = 'file' | 'link' | 'symlink' | 'char-device' | 'block-device' | 'directory' | 'fifo';

const TYPE_OF_FLAG: Record<string, TarType> = {
  '\0': 'file',
  '0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

export interface TarHeader {
  /** The path in the archive, without a leading '/' (a directory's without its trailing '/'). */
  name: Buffer;
  type: TarType;
  /** Permission bits and set-id, sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes that follow (files only). */
  size: number;
  /** Seconds and nanoseconds since the epoch. */
  mtime: { seconds: number; nanoseconds: number };
  /** The pax atime, where the archive has one (the server writes one for copies). */
  atime?: { seconds: number; nanoseconds: number };
  /** A hard link's target (a name in the archive) or a symlink's. */
  linkName?: Buffer;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Map<string, Buffer>;
}

/** `size` bytes and the zeros that fill their last block. */
const paddedSize = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

export function tarError(message: string): UnshareFsError {
  return new UnshareFsError('ETARFORMAT', `unshare-fs: ${message}`);
}

// ------------------------------------------------------------------ reading

/** Bytes from an async iterable of chunks, taken as the reader asks. */
class ByteSource {
  #iterator: AsyncIterator<Buffer | Uint8Array | string, unknown>;
  #chunk: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /** At most `max` bytes that are there, or more from the source; empty at the end. */
  async some(max: number): Promise<Buffer> {
    while (this.#chunk.length === 0 && !this.#done) {
      const { value, done } = await this.#iterator.next();
      if (done) this.#done = true;
      else this.#chunk = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
    const out = this.#chunk.subarray(0, max);
    this.#chunk = this.#chunk.subarray(out.length);
    return out;
  }

  /** Exactly `n` bytes, or fewer at the end of the source. */
  async exactly(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const part = await this.some(n - have);
      if (part.length === 0) break;
      parts.push(part);
      have += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const part = await this.some(Math.min(left, 1 << 20));
      if (part.length === 0) break;
      left -= part.length;
    }
    return n - left;
  }

  async return(): Promise<void> {
    await this.#iterator.return?.();
  }
}

function cString(field: Buffer): Buffer {
  const end = field.indexOf(0);
  return end < 0 ? field : field.subarray(0, end);
}

/** An octal number (spaces and NULs around it), or GNU's base-256 with the top bit set. */
function number(field: Buffer, what: string): number {
  if (field[0]! & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    if (field[0] !== 0x80 || !Number.isSafeInteger(value)) throw tarError(`tar header: ${what} out of range`);
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw tarError(`tar header: ${what} is not an octal number`);
  return parseInt(text, 8);
}

/** A pax record's non-negative decimal value, at most `max`. */
function decimal(value: Buffer, key: string, max = Number.MAX_SAFE_INTEGER): number {
  const text = value.toString('latin1');
  if (!/^[0-9]+$/.test(text)) throw tarError(`tar pax header: ${key} is not a non-negative decimal number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) throw tarError(`tar pax header: ${key} out of range (at most ${max})`);
  return n;
}

/** A header field's number, at most `max`. */
function bounded(field: Buffer, what: string, max: number): number {
  const n = number(field, what);
  if (n > max) throw tarError(`tar header: ${what} out of range (at most ${max})`);
  return n;
}

/** The bytes a map of pax records holds (keys and values). */
function recordBytes(records: Map<string, Buffer>): number {
  let n = 0;
  for (const [key, value] of records) n += Buffer.byteLength(key) + value.length;
  return n;
}

/**
 * A pax time: seconds with up to 9 digits of fraction, one decimal number
 * (-1.5 is 1.5 s before the epoch: seconds -2, nanoseconds 500000000).
 */
function paxTime(value: Buffer, key: string): { seconds: number; nanoseconds: number } {
  const match = /^(-?)([0-9]+)(?:\.([0-9]{1,9})[0-9]*)?$/.exec(value.toString('latin1'));
  if (match === null || !Number.isSafeInteger(Number(match[2]))) throw tarError(`tar pax header: ${key} is not a number`);
  const whole = Number(match[2]);
  const fraction = Number((match[3] ?? '').padEnd(9, '0'));
  if (match[1] === '') return { seconds: whole, nanoseconds: fraction };
  return fraction === 0 ? { seconds: -whole, nanoseconds: 0 } : { seconds: -whole - 1, nanoseconds: 1e9 - fraction };
}

function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, at);
    const digits = space < 0 ? '' : data.toString('latin1', at, space);
    const length = /^[0-9]{1,16}$/.test(digits) ? Number(digits) : NaN;
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw tarError('tar pax header: a malformed record');
    }
    const record = data.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw tarError('tar pax header: a record without a key');
    out.set(record.toString('utf8', 0, equals), Buffer.from(record.subarray(equals + 1)));
    at += length;
  }
  return out;
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's bytes, read from the archive as they are iterated (once; what is not read is skipped). */
  body: () => AsyncIterable<Buffer>;
}

/**
 * The entries of a tar archive, read from `source` as they are asked for.
 * Sockets and unknown types are ETARFORMAT errors; so is an archive that
 * ends in the middle of an entry, or without its end blocks.
 */
export async function* readTar(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<TarEntry> {
  const bytes = new ByteSource(source);
  let global = new Map<string, Buffer>();
  let pending = new Map<string, Buffer>();
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let globalBytes = 0; // recordBytes(global)
  let extendedBytes = 0; // payloads of this entry's 'x', 'L', 'K' headers so far
  let extendedHeaders = 0; // extended headers since the last entry
  let unread = 0; // bytes (with padding) of the last entry not read yet
  try {
    for (;;) {
      if (unread > 0 && (await bytes.skip(unread)) < unread) throw tarError('tar archive truncated in an entry');
      unread = 0;
      const block = await bytes.exactly(BLOCK);
      if (block.length === 0) throw tarError('tar archive ends without its end blocks');
      if (block.length < BLOCK) throw tarError('tar archive truncated in a header');
      if (block.every((b) => b === 0)) {
        const second = await bytes.exactly(BLOCK);
        if (second.length === BLOCK && second.every((b) => b === 0)) return;
        throw tarError('tar archive: a zero block in the middle');
      }
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
      if (number(block.subarray(148, 156), 'checksum') !== sum) throw tarError('tar header: bad checksum');
      const flag = String.fromCharCode(block[156]!);
      const size = number(block.subarray(124, 136), 'size');
      const padded = paddedSize(size);
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > MAX_EXTENDED) throw tarError(`tar extended header of ${size} bytes (at most ${MAX_EXTENDED})`);
        if (++extendedHeaders > MAX_EXTENDED_HEADERS)
          throw tarError(`tar archive: more than ${MAX_EXTENDED_HEADERS} extended headers before one entry`);
        if (globalBytes + extendedBytes + size > MAX_EXTENDED_TOTAL) {
          throw tarError(`tar archive: extended headers of more than ${MAX_EXTENDED_TOTAL} bytes (MAX_EXTENDED_TOTAL) before one entry`);
        }
        if (flag !== 'g') extendedBytes += size;
        const data = await bytes.exactly(padded);
        if (data.length < padded) throw tarError('tar archive truncated in an extended header');
        const payload = data.subarray(0, size);
        if (flag === 'x') pending = new Map([...pending, ...parsePax(payload)]);
        else if (flag === 'g') {
          global = new Map([...global, ...parsePax(payload)]);
          globalBytes = recordBytes(global);
        } else if (flag === 'L') longName = Buffer.from(cString(payload));
        else longLink = Buffer.from(cString(payload));
        continue;
      }
      const type = TYPE_OF_FLAG[flag];
      if (type === undefined) throw tarError(`tar entry of an unknown type '${flag.replace(/[^\x20-\x7e]/g, '?')}'`);
      const pax = new Map([...global, ...pending]);
      pending = new Map();
      extendedBytes = extendedHeaders = 0;
      const ustarMagic = block.toString('latin1', 257, 262) === 'ustar';
      let name = cString(block.subarray(0, 100));
      const prefix = ustarMagic ? cString(block.subarray(345, 500)) : Buffer.alloc(0);
      if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
      name = pax.get('path') ?? longName ?? name;
      const linkName = pax.get('linkpath') ?? longLink ?? cString(block.subarray(157, 257));
      longName = longLink = undefined;
      const mtime = pax.has('mtime')
        ? paxTime(pax.get('mtime')!, 'mtime')
        : { seconds: bounded(block.subarray(136, 148), 'mtime', Number.MAX_SAFE_INTEGER), nanoseconds: 0 };
      const atime = pax.has('atime') ? paxTime(pax.get('atime')!, 'atime') : undefined;
      const entrySize = pax.has('size') ? decimal(pax.get('size')!, 'size') : size;
      const xattrs = new Map<string, Buffer>();
      for (const [key, value] of pax) if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
      // A trailing '/' marks a directory; old archives mark them only so.
      let entryType = type;
      if (name.length > 1 && name[name.length - 1] === 0x2f) {
        if (type === 'file' && entrySize === 0) entryType = 'directory';
        name = name.subarray(0, name.length - 1);
      }
      const header: TarHeader = {
        name,
        type: entryType,
        mode: number(block.subarray(100, 108), 'mode') & 0o7777,
        uid: pax.has('uid') ? decimal(pax.get('uid')!, 'uid', MAX_ID) : bounded(block.subarray(108, 116), 'uid', MAX_ID),
        gid: pax.has('gid') ? decimal(pax.get('gid')!, 'gid', MAX_ID) : bounded(block.subarray(116, 124), 'gid', MAX_ID),
        size: entryType === 'file' ? entrySize : 0,
        mtime,
        ...(atime === undefined ? {} : { atime }),
        linkName: linkName.length > 0 ? linkName : undefined,
        devMajor: ustarMagic ? bounded(block.subarray(329, 337), 'devmajor', MAX_DEVICE_NUMBER) : 0,
        devMinor: ustarMagic ? bounded(block.subarray(337, 345), 'devminor', MAX_DEVICE_NUMBER) : 0,
        xattrs,
      };
      // Hard links and the rest carry no bytes, whatever the size field says (some writers set it).
      const bodySize = entryType === 'file' ? entrySize : size;
      unread = paddedSize(bodySize);
      const bodyBytes = entryType === 'file' ? entrySize : 0;
      let taken = false;
      yield {
        header,
        body: () => {
          if (taken) throw new Error('tar entry body read twice');
          taken = true;
          return (async function* () {
            let left = bodyBytes;
            while (left > 0) {
              const part = await bytes.some(Math.min(left, 1 << 20));
              if (part.length === 0) throw tarError('tar archive truncated in an entry');
              left -= part.length;
              unread -= part.length;
              yield part;
            }
          })();
        },
      };
    }
  } finally {
    await bytes.return();
  }
}

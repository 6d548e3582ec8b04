// Walk batches made and read by the test, from the format in
// native/core/protocol.h alone (not from lib/wire/decode.ts): an encoder, a strict
// parser that says where a batch stops making sense, and what the decoder
// should make of the records.
//
//   batch:  u32 names offset, u32 flags (1: every name is 7-bit ASCII),
//           records, then the ENTRY records' names back to back
//   DIR:    u8 1, u8 0, u16 depth, u32 length, relative path
//   ENTRY:  u8 2, u8 d_type, u16 name length, stat fields selected by the mask
//   ERROR:  u8 3, u8 0, u16 syscall length, i32 errno, u32 path length, syscall, path
//   SUMMARY: u8 4, u8 0, u16 0, u32 0, 9 u64 sums (a summing walk's)
//   stat fields, in mask bit order: mode uid gid nlink (u32); size ino dev
//           rdev (u64); blocks (u64) + blksize (u32); atime mtime ctime
//           (i64 seconds + u32 nanoseconds)
import * as util from 'node:util';

export interface TimeSpec {
  seconds: bigint;
  nanoseconds: number;
}

export interface StatValues {
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: bigint;
  ino: bigint;
  dev: bigint;
  rdev: bigint;
  blocks: bigint;
  blksize: number;
  atime: TimeSpec;
  mtime: TimeSpec;
  ctime: TimeSpec;
}

export type WalkRecord =
  | { tag: 'dir'; depth: number; path: Buffer }
  | { tag: 'entry'; dtype: number; name: Buffer; stat: StatValues }
  | { tag: 'error'; errno: number; syscall: string; path: Buffer }
  | { tag: 'summary'; sums: bigint[] };

const FIELD_BYTES = [4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12];

/** Bytes of the stat fields `mask` selects. */
export function statBytes(mask: number): number {
  let bytes = 0;
  for (const [bit, fieldBytes] of FIELD_BYTES.entries()) if (mask & (1 << bit)) bytes += fieldBytes;
  return bytes;
}

function encodeStat(stat: StatValues, mask: number): Buffer {
  const out = Buffer.alloc(statBytes(mask));
  let o = 0;
  const u32 = (value: number): void => {
    out.writeUInt32LE(value, o);
    o += 4;
  };
  const u64 = (value: bigint): void => {
    out.writeBigUInt64LE(value, o);
    o += 8;
  };
  const time = (value: TimeSpec): void => {
    out.writeBigInt64LE(value.seconds, o);
    out.writeUInt32LE(value.nanoseconds, o + 8);
    o += 12;
  };
  if (mask & 1) u32(stat.mode);
  if (mask & 2) u32(stat.uid);
  if (mask & 4) u32(stat.gid);
  if (mask & 8) u32(stat.nlink);
  if (mask & 16) u64(stat.size);
  if (mask & 32) u64(stat.ino);
  if (mask & 64) u64(stat.dev);
  if (mask & 128) u64(stat.rdev);
  if (mask & 256) {
    u64(stat.blocks);
    u32(stat.blksize);
  }
  if (mask & 512) time(stat.atime);
  if (mask & 1024) time(stat.mtime);
  if (mask & 2048) time(stat.ctime);
  return out;
}

const ZERO_TIME: TimeSpec = { seconds: 0n, nanoseconds: 0 };
const ZERO_STAT: StatValues = {
  mode: 0,
  uid: 0,
  gid: 0,
  nlink: 0,
  size: 0n,
  ino: 0n,
  dev: 0n,
  rdev: 0n,
  blocks: 0n,
  blksize: 0,
  atime: ZERO_TIME,
  mtime: ZERO_TIME,
  ctime: ZERO_TIME,
};

/** Reads back what encodeStat wrote (the fields the mask leaves out are 0). */
function decodeStat(bytes: Buffer, o: number, mask: number): StatValues {
  const stat = { ...ZERO_STAT };
  const u32 = (): number => {
    o += 4;
    return bytes.readUInt32LE(o - 4);
  };
  const u64 = (): bigint => {
    o += 8;
    return bytes.readBigUInt64LE(o - 8);
  };
  const time = (): TimeSpec => {
    o += 12;
    return { seconds: bytes.readBigInt64LE(o - 12), nanoseconds: bytes.readUInt32LE(o - 4) };
  };
  if (mask & 1) stat.mode = u32();
  if (mask & 2) stat.uid = u32();
  if (mask & 4) stat.gid = u32();
  if (mask & 8) stat.nlink = u32();
  if (mask & 16) stat.size = u64();
  if (mask & 32) stat.ino = u64();
  if (mask & 64) stat.dev = u64();
  if (mask & 128) stat.rdev = u64();
  if (mask & 256) {
    stat.blocks = u64();
    stat.blksize = u32();
  }
  if (mask & 512) stat.atime = time();
  if (mask & 1024) stat.mtime = time();
  if (mask & 2048) stat.ctime = time();
  return stat;
}

/** The stat with the fields `mask` leaves out zeroed, as the parser reads it back. */
export function maskStat(stat: StatValues, mask: number): StatValues {
  return decodeStat(encodeStat(stat, mask), 0, mask);
}

const isAscii = (bytes: Buffer): boolean => bytes.every((byte) => byte < 0x80);

/**
 * One batch of `records`.  The ASCII flag is set, as the server sets it, when
 * every name is ASCII; `ascii` forces it either way.
 */
export function encodeBatch(records: readonly WalkRecord[], statMask: number, ascii?: boolean): Buffer {
  const parts: Buffer[] = [];
  const names: Buffer[] = [];
  for (const record of records) {
    if (record.tag === 'dir') {
      const head = Buffer.alloc(8);
      head[0] = 1;
      head.writeUInt16LE(record.depth, 2);
      head.writeUInt32LE(record.path.length, 4);
      parts.push(head, record.path);
    } else if (record.tag === 'entry') {
      const head = Buffer.alloc(4);
      head[0] = 2;
      head[1] = record.dtype;
      head.writeUInt16LE(record.name.length, 2);
      parts.push(head, encodeStat(record.stat, statMask));
      names.push(record.name);
    } else if (record.tag === 'summary') {
      const bytes = Buffer.alloc(8 + 8 * record.sums.length);
      bytes[0] = 4;
      record.sums.forEach((sum, i) => bytes.writeBigUInt64LE(sum, 8 + 8 * i));
      parts.push(bytes);
    } else {
      const syscall = Buffer.from(record.syscall, 'latin1');
      const head = Buffer.alloc(12);
      head[0] = 3;
      head.writeUInt16LE(syscall.length, 2);
      head.writeInt32LE(record.errno, 4);
      head.writeUInt32LE(record.path.length, 8);
      parts.push(head, syscall, record.path);
    }
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.writeUInt32LE(8 + body.length, 0);
  header.writeUInt32LE((ascii ?? names.every(isAscii)) ? 1 : 0, 4);
  return Buffer.concat([header, body, ...names]);
}

export interface ParsedBatch {
  records: WalkRecord[];
  ascii: boolean;
  /** Where the batch stops making sense; undefined when it is whole. */
  corrupt: string | undefined;
}

/**
 * Reads a batch strictly: every record lies between the header and the
 * names, every name inside the batch.  Records before the first that does
 * not are returned, with what is wrong.
 */
export function parseBatch(batch: Buffer, statMask: number): ParsedBatch {
  const records: WalkRecord[] = [];
  if (batch.length === 0) return { records, ascii: false, corrupt: undefined };
  if (batch.length < 8) return { records, ascii: false, corrupt: 'shorter than its header' };
  const namesStart = batch.readUInt32LE(0);
  const ascii = (batch.readUInt32LE(4) & 1) !== 0;
  if (namesStart < 8 || namesStart > batch.length) return { records, ascii, corrupt: 'names offset out of the batch' };
  let o = 8;
  let name = namesStart;
  const entryBytes = 4 + statBytes(statMask);
  while (o < namesStart) {
    const tag = batch[o];
    if (tag === 1) {
      if (o + 8 > namesStart) return { records, ascii, corrupt: 'truncated dir record' };
      const length = batch.readUInt32LE(o + 4);
      if (o + 8 + length > namesStart) return { records, ascii, corrupt: 'dir path past the records' };
      records.push({ tag: 'dir', depth: batch.readUInt16LE(o + 2), path: batch.subarray(o + 8, o + 8 + length) });
      o += 8 + length;
    } else if (tag === 2) {
      if (o + entryBytes > namesStart) return { records, ascii, corrupt: 'truncated entry record' };
      const length = batch.readUInt16LE(o + 2);
      if (name + length > batch.length) return { records, ascii, corrupt: 'name past the batch' };
      records.push({
        tag: 'entry',
        dtype: batch.readUInt8(o + 1),
        name: batch.subarray(name, name + length),
        stat: decodeStat(batch, o + 4, statMask),
      });
      name += length;
      o += entryBytes;
    } else if (tag === 3) {
      if (o + 12 > namesStart) return { records, ascii, corrupt: 'truncated error record' };
      const syscallLength = batch.readUInt16LE(o + 2);
      const pathLength = batch.readUInt32LE(o + 8);
      const end = o + 12 + syscallLength + pathLength;
      if (end > namesStart) return { records, ascii, corrupt: 'error path past the records' };
      records.push({
        tag: 'error',
        errno: batch.readInt32LE(o + 4),
        syscall: batch.toString('latin1', o + 12, o + 12 + syscallLength),
        path: batch.subarray(o + 12 + syscallLength, end),
      });
      o = end;
    } else if (tag === 4) {
      if (o + 80 > namesStart) return { records, ascii, corrupt: 'truncated summary record' };
      const sums: bigint[] = [];
      for (let i = 0; i < 9; i++) sums.push(batch.readBigUInt64LE(o + 8 + 8 * i));
      records.push({ tag: 'summary', sums });
      o += 80;
    } else {
      return { records, ascii, corrupt: `unknown record tag ${tag}` };
    }
  }
  return { records, ascii, corrupt: undefined };
}

export interface DecodeModel {
  root: string;
  statMask: number;
  bigint: boolean;
  encoding: 'utf8' | 'latin1' | 'buffer';
  mapUid: (id: number) => number;
  mapGid: (id: number) => number;
}

/** What the decoder gives, as plain data: an entry, or an error record's error. */
export type Decoded =
  | {
      parentPath: string | Buffer;
      fullPath: string | Buffer;
      name: string | Buffer;
      type: string;
      depth: number;
      stats: Record<string, unknown> | undefined;
    }
  | { error: { errno: number; code: string; syscall: string; path: string | undefined } }
  | { summary: bigint[] };

const TYPES: Record<number, string> = {
  1: 'fifo',
  2: 'char-device',
  4: 'directory',
  6: 'block-device',
  8: 'file',
  10: 'symlink',
  12: 'socket',
};
const systemErrors = util.getSystemErrorMap();

function expectedStats(stat: StatValues, model: DecodeModel): Record<string, unknown> {
  const m = model.statMask;
  const has = (bit: number): boolean => (m & (1 << bit)) !== 0;
  if (model.bigint) {
    const ns = (t: TimeSpec): bigint => t.seconds * 1000000000n + BigInt(t.nanoseconds);
    return {
      dev: has(6) ? stat.dev : undefined,
      ino: has(5) ? stat.ino : undefined,
      mode: has(0) ? BigInt(stat.mode) : undefined,
      nlink: has(3) ? BigInt(stat.nlink) : undefined,
      uid: has(1) ? BigInt(stat.uid) : undefined,
      gid: has(2) ? BigInt(stat.gid) : undefined,
      rdev: has(7) ? stat.rdev : undefined,
      size: has(4) ? stat.size : undefined,
      blksize: has(8) ? BigInt(stat.blksize) : undefined,
      blocks: has(8) ? stat.blocks : undefined,
      atimeNs: has(9) ? ns(stat.atime) : undefined,
      mtimeNs: has(10) ? ns(stat.mtime) : undefined,
      ctimeNs: has(11) ? ns(stat.ctime) : undefined,
      hostUid: has(1) ? BigInt(model.mapUid(stat.uid)) : undefined,
      hostGid: has(2) ? BigInt(model.mapGid(stat.gid)) : undefined,
    };
  }
  // Number(bigint) rounds once, to the nearest double, as the exact sum of
  // two 32-bit halves rounds.
  const ms = (t: TimeSpec): number => Number(t.seconds) * 1000 + t.nanoseconds / 1e6;
  return {
    dev: has(6) ? Number(stat.dev) : undefined,
    ino: has(5) ? Number(stat.ino) : undefined,
    mode: has(0) ? stat.mode : undefined,
    nlink: has(3) ? stat.nlink : undefined,
    uid: has(1) ? stat.uid : undefined,
    gid: has(2) ? stat.gid : undefined,
    rdev: has(7) ? Number(stat.rdev) : undefined,
    size: has(4) ? Number(stat.size) : undefined,
    blksize: has(8) ? stat.blksize : undefined,
    blocks: has(8) ? Number(stat.blocks) : undefined,
    atimeMs: has(9) ? ms(stat.atime) : undefined,
    mtimeMs: has(10) ? ms(stat.mtime) : undefined,
    ctimeMs: has(11) ? ms(stat.ctime) : undefined,
    hostUid: has(1) ? model.mapUid(stat.uid) : undefined,
    hostGid: has(2) ? model.mapGid(stat.gid) : undefined,
  };
}

/** The entries and errors the records stand for, as the decoder should make them. */
export function expectedDecoding(records: readonly WalkRecord[], ascii: boolean, model: DecodeModel): Decoded[] {
  // Errors' paths start with the root as written; entries' paths, with latin1, with its bytes as latin1 chars.
  const errorPrefix = model.root.endsWith('/') ? model.root : `${model.root}/`;
  const latin1 = model.encoding === 'latin1';
  const root = latin1 ? Buffer.from(model.root).toString('latin1') : model.root;
  const rootPrefix = root.endsWith('/') ? root : `${root}/`;
  const dirText = (bytes: Buffer): string => bytes.toString(latin1 ? 'latin1' : 'utf8');
  let dirPrefix = rootPrefix;
  let dirPrefixBytes = Buffer.from(errorPrefix);
  let parentPath = root;
  let parentBytes = Buffer.from(model.root);
  let depth = 1;
  const out: Decoded[] = [];
  for (const record of records) {
    if (record.tag === 'dir') {
      depth = record.depth + 1;
      const below = record.path.length === 0;
      dirPrefix = below ? rootPrefix : `${rootPrefix}${dirText(record.path)}/`;
      dirPrefixBytes = below ? Buffer.from(errorPrefix) : Buffer.concat([Buffer.from(errorPrefix), record.path, Buffer.from('/')]);
      parentPath = below ? root : `${rootPrefix}${dirText(record.path)}`;
      parentBytes = below ? Buffer.from(model.root) : Buffer.concat([Buffer.from(errorPrefix), record.path]);
    } else if (record.tag === 'entry') {
      const type = TYPES[record.dtype & 15] ?? 'unknown';
      const stats = model.statMask === 0 ? undefined : expectedStats(record.stat, model);
      if (model.encoding === 'buffer') {
        const fullPath = Buffer.concat([dirPrefixBytes, record.name]);
        out.push({ parentPath: parentBytes, fullPath, name: Buffer.from(record.name), type, depth, stats });
      } else {
        // Names are latin1 under the ASCII flag (the same as UTF-8 when the
        // flag is true) or when asked for; directories' paths are UTF-8 unless latin1 was asked for.
        const name = ascii || latin1 ? record.name.toString('latin1') : record.name.toString('utf8');
        out.push({ parentPath, fullPath: dirPrefix + name, name, type, depth, stats });
      }
    } else if (record.tag === 'summary') {
      out.push({ summary: record.sums });
    } else {
      const known = systemErrors.get(-record.errno);
      out.push({
        error: {
          errno: -record.errno,
          code: known ? known[0] : `Unknown system error ${record.errno}`,
          syscall: record.syscall,
          path: errorPrefix + record.path.toString('utf8'),
        },
      });
    }
  }
  return out;
}

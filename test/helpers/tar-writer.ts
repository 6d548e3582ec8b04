// A tar writer for tests: archives to read (lib/layers/tar.ts) and to extract
// (lib/layers/extract.ts), hostile ones included.  The same format as the
// server's writer (native/core/tar.cc): ustar, with a pax header ('x')
// before an entry whose name or link target does not fit ustar, whose ids,
// size or times do not fit, or that has xattrs (SCHILY.xattr.*); names
// written as the bytes they are.
import { BLOCK, type TarHeader, type TarType } from '../../lib/layers/tar';

const TYPE_FLAG: Record<TarType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, '0'), offset, width - 1, 'ascii');
}

/** One pax record, `<length> <key>=<value>\n`. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  // The length counts its own digits.
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function ustar(name: Buffer, prefix: Buffer, type: string, h: TarHeader, size: number, linkName: Buffer): Buffer {
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0, 0, 100);
  octal(block, 100, 8, h.mode & 0o7777);
  octal(block, 108, 8, Math.min(h.uid, 0o7777777));
  octal(block, 116, 8, Math.min(h.gid, 0o7777777));
  octal(block, 124, 12, Math.min(size, 0o77777777777));
  octal(block, 136, 12, Math.max(0, Math.min(h.mtime.seconds, 0o77777777777)));
  block.fill(0x20, 148, 156); // the checksum counts as spaces
  block.write(type, 156, 1, 'ascii');
  linkName.copy(block, 157, 0, 100);
  block.write('ustar\x0000', 257, 8, 'ascii');
  octal(block, 329, 8, h.devMajor ?? 0);
  octal(block, 337, 8, h.devMinor ?? 0);
  prefix.copy(block, 345, 0, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** ustar's name and prefix for `name`, or null where they cannot hold it. */
function splitName(name: Buffer): [Buffer, Buffer] | null {
  if (name.length <= 100) return [name, Buffer.alloc(0)];
  for (let cut = name.lastIndexOf(0x2f, 155); cut > 0; cut = name.lastIndexOf(0x2f, cut - 1)) {
    if (name.length - cut - 1 <= 100) return [name.subarray(cut + 1), name.subarray(0, cut)];
  }
  return null;
}

/** The header blocks of one entry (a pax header first where ustar cannot say it all); the body and its padding are the caller's. */
export function encodeHeader(h: TarHeader): Buffer {
  const name = h.type === 'directory' ? Buffer.concat([h.name, Buffer.from('/')]) : h.name;
  const linkName = h.linkName ?? Buffer.alloc(0);
  const size = h.type === 'file' ? h.size : 0;
  const records: Buffer[] = [];
  let split = splitName(name);
  if (split === null) {
    records.push(paxRecord('path', name));
    split = [name.subarray(0, 100), Buffer.alloc(0)];
  }
  if (linkName.length > 100) records.push(paxRecord('linkpath', linkName));
  if (h.uid > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (h.gid > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (size > 0o77777777777) records.push(paxRecord('size', Buffer.from(String(size))));
  if (h.mtime.seconds < 0 || h.mtime.seconds > 0o77777777777) {
    records.push(paxRecord('mtime', Buffer.from(String(h.mtime.seconds))));
  }
  for (const [key, value] of h.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${key}`, value));
  const main = ustar(split[0], split[1], TYPE_FLAG[h.type], h, size, linkName.subarray(0, 100));
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxName = Buffer.from('PaxHeader/', 'ascii');
  const paxHeader = ustar(paxName, Buffer.alloc(0), 'x', { ...h, mode: 0o644 }, pax.length, Buffer.alloc(0));
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

/** Zeros that pad `size` bytes to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end of an archive: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** Sets a header block's checksum (the sum of its bytes, the checksum field counted as spaces). */
export function setChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** `value` in GNU's base-256 form (0x80, then big-endian bytes) in the field at `offset`. */
export function base256(block: Buffer, offset: number, width: number, value: bigint): void {
  block[offset] = 0x80;
  let v = value;
  for (let i = offset + width - 1; i > offset; i--) {
    block[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** An extended header of type `flag` ('x', 'g', 'L', 'K') with `payload` after it, padded. */
export function extendedHeader(flag: string, payload: Buffer): Buffer {
  const block = ustar(
    Buffer.from(flag === 'L' || flag === 'K' ? '././@LongLink' : 'PaxHeader/x'),
    Buffer.alloc(0),
    flag,
    { name: Buffer.alloc(0), type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: { seconds: 0, nanoseconds: 0 } },
    payload.length,
    Buffer.alloc(0),
  );
  return Buffer.concat([block, payload, padding(payload.length)]);
}

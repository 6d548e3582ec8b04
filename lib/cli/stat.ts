// unshare-fs stat: a file's lstat as GNU `stat` shows it (its default
// layout, owners named from the target's own /etc/passwd and /etc/group).
import type { BigIntStats } from '../index';
import { findType, modeString } from './format';
import { jsonName, shellEscape } from './names';
import { jsonLine, type Output } from './output';
import type { Target } from './target';
import { readIdNames } from './users';

const KIND: Record<string, string> = {
  f: 'regular file',
  d: 'directory',
  l: 'symbolic link',
  b: 'block special file',
  c: 'character special file',
  p: 'fifo',
  s: 'socket',
};

/** GNU stat's time: `2026-12-07 13:05:01.123456789 +0000`, in the local time zone. */
function statTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  const frac = String(((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).padStart(9, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${frac} ${zone}`;
}

/** Writes the stat of `target`. */
export async function stat(target: Target, options: { json?: boolean }, out: Output): Promise<void> {
  const s: BigIntStats = await target.fs.lstat(target.path, { bigint: true });
  const names = await readIdNames(target.fs);
  const mode = Number(s.mode);
  const type = findType(mode);
  const uid = Number(s.uid);
  const gid = Number(s.gid);
  const hostIds = target.session
    ? { hostUid: target.session.toHostUid(uid), hostGid: target.session.toHostGid(gid) }
    : { hostUid: uid, hostGid: gid };
  if (options.json) {
    const user = names.user(uid);
    const group = names.group(gid);
    // The 64-bit fields exact (bigints): an xino overlay's inodes pass 2^53.
    out.write(
      jsonLine({
        ...jsonName('path', Buffer.from(target.path)),
        type: KIND[type] ?? 'unknown',
        mode,
        nlink: Number(s.nlink),
        uid,
        gid,
        ...(user !== undefined && { user }),
        ...(group !== undefined && { group }),
        ...hostIds,
        size: s.size,
        blocks: s.blocks,
        ino: s.ino,
        dev: s.dev,
        rdev: s.rdev,
        atimeNs: String(s.atimeNs),
        mtimeNs: String(s.mtimeNs),
        ctimeNs: String(s.ctimeNs),
      }),
    );
    return;
  }
  // glibc's major() and minor(), on the exact 64-bit dev_t.
  const major = ((s.dev >> 8n) & 0xfffn) | ((s.dev >> 32n) & ~0xfffn);
  const minor = (s.dev & 0xffn) | ((s.dev >> 12n) & 0xffffff00n);
  const kind = type === 'f' && s.size === 0n ? 'regular empty file' : (KIND[type] ?? 'weird file');
  const pad = (v: string, n: number): string => v.padEnd(n);
  out.write(
    `  File: ${shellEscape(Buffer.from(target.prefix + target.path))}\n` +
      `  Size: ${pad(String(s.size), 10)}\tBlocks: ${pad(String(s.blocks), 10)} IO Block: ${pad(String(s.blksize), 6)} ${kind}\n` +
      // GNU's `Inode: %-10i  Links: %h`: two spaces after an inode of 10 digits or more (xino's 2^63 + ino).
      `Device: ${major},${minor}\tInode: ${pad(String(s.ino), 10)}  Links: ${s.nlink}\n` +
      `Access: (${(mode & 0o7777).toString(8).padStart(4, '0')}/${modeString(mode)})  ` +
      `Uid: (${String(uid).padStart(5)}/${(names.user(uid) ?? 'UNKNOWN').padStart(8)})   ` +
      `Gid: (${String(gid).padStart(5)}/${(names.group(gid) ?? 'UNKNOWN').padStart(8)})\n` +
      `  Host: Uid: ${hostIds.hostUid}   Gid: ${hostIds.hostGid}\n` +
      `Access: ${statTime(s.atimeNs)}\nModify: ${statTime(s.mtimeNs)}\nChange: ${statTime(s.ctimeNs)}\n`,
  );
}

// unshare-fs ls: a directory's entries as GNU `ls -1` / `ls -l` (`-n`)
// show them, in the C locale's byte order, with owners as the target sees
// them and names quoted as ls quotes them on a terminal.
import type { PathLike, Stats } from '../index';
import { entryType, isDevice, kibibytes, lsTime, modeString } from './format';
import { isQuoted, jsonName, shellEscape } from './names';
import { jsonLine, type Output } from './output';
import type { Target } from './target';
import { NUMERIC, readIdNames, type IdNames } from './users';

export interface LsOptions {
  long?: boolean;
  all?: boolean;
  numeric?: boolean;
  hostIds?: boolean;
  json?: boolean;
}

interface Row {
  name: Buffer;
  /** The path to read a symlink's target from (bytes: a name need not be UTF-8). */
  path: PathLike;
  stats: Stats;
  /** The exact size, when stats.size is past 2^53 (a rounded double). */
  size?: bigint;
}

/** glibc's major() and minor() of a dev_t. */
const major = (dev: number): number => ((Math.floor(dev / 256) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff)) >>> 0;
const minor = (dev: number): number => ((dev & 0xff) | (Math.floor(dev / 4096) & ~0xff)) >>> 0;

/** Lists `target` (a directory's entries, or the file itself) on `out`. */
export async function ls(target: Target, options: LsOptions, out: Output): Promise<void> {
  const { fs, path } = target;
  const long = options.long || options.numeric || options.hostIds;
  const top = long ? await fs.lstat(path) : await fs.stat(path);
  const rows: Row[] = [];
  const isDir = entryType(top.mode) === 'directory';
  if (!isDir) {
    rows.push({ name: Buffer.from(path), path, stats: top });
  } else {
    if (options.all) {
      rows.push({ name: Buffer.from('.'), path, stats: top });
      rows.push({ name: Buffer.from('..'), path: `${path}/..`, stats: await fs.lstat(`${path}/..`) });
    }
    // A listing is sorted before it is shown, so it is held: one directory's entries.
    for await (const entry of fs.walk(path, {
      maxDepth: 1,
      stat: true,
      encoding: 'buffer',
      signal: out.closed.signal,
      onError: (error) => out.fail(error, target.prefix),
    })) {
      if (!options.all && entry.name[0] === 0x2e) continue;
      rows.push({ name: entry.name, path: entry.fullPath, stats: entry.stats });
    }
    rows.sort((a, b) => Buffer.compare(a.name, b.name));
  }
  if (long || options.json) {
    // A size past 2^53 (a sparse file, on tmpfs, xfs or btrfs) is a rounded
    // double in number stats: that file alone is stat'ed again, bigint.
    for (const row of rows) {
      if (row.stats.size <= Number.MAX_SAFE_INTEGER) continue;
      try {
        row.size = (await fs.lstat(row.path, { bigint: true })).size;
      } catch (error) {
        out.fail(error, target.prefix);
      }
    }
  }
  const names = options.numeric || (!long && !options.json) ? NUMERIC : await readIdNames(fs);
  const session = target.session;
  const hostUid = (uid: number): number => (session ? session.toHostUid(uid) : uid);
  const hostGid = (gid: number): number => (session ? session.toHostGid(gid) : gid);
  const linkOf = async (row: Row): Promise<Buffer | undefined> => {
    if (entryType(row.stats.mode) !== 'symlink') return undefined;
    try {
      return await fs.readlink(row.path, { encoding: 'buffer' });
    } catch (error) {
      out.fail(error, target.prefix);
      return undefined;
    }
  };

  if (options.json) {
    for (const row of rows) {
      const s = row.stats;
      const link = await linkOf(row);
      const user = names.user(s.uid);
      const group = names.group(s.gid);
      out.write(
        jsonLine({
          ...jsonName('name', row.name),
          type: entryType(s.mode),
          mode: s.mode,
          nlink: s.nlink,
          uid: s.uid,
          gid: s.gid,
          ...(user !== undefined && { user }),
          ...(group !== undefined && { group }),
          ...(options.hostIds && { hostUid: hostUid(s.uid), hostGid: hostGid(s.gid) }),
          size: row.size ?? s.size,
          blocks: s.blocks,
          mtimeMs: s.mtimeMs,
          ...(isDevice(s.mode) && { rdev: s.rdev }),
          ...(link && jsonName('target', link)),
        }),
      );
      await out.flush();
    }
    return;
  }
  if (!long) {
    for (const row of rows) {
      out.write(`${shellEscape(row.name)}\n`);
      await out.flush();
    }
    return;
  }
  await longListing(rows, isDir, names, { hostUid, hostGid, hostIds: !!options.hostIds, linkOf }, out);
}

interface LongContext {
  hostUid(uid: number): number;
  hostGid(gid: number): number;
  hostIds: boolean;
  linkOf(row: Row): Promise<Buffer | undefined>;
}

/** `ls -l`: columns as wide as their widest cell, numbers and ids right-aligned, names left-aligned. */
async function longListing(rows: Row[], isDir: boolean, names: IdNames, ctx: LongContext, out: Output): Promise<void> {
  const now = Date.now();
  const cells = rows.map((row) => {
    const s = row.stats;
    const user = names.user(s.uid);
    const group = names.group(s.gid);
    return {
      row,
      mode: modeString(s.mode),
      nlink: String(s.nlink),
      user: user ?? String(s.uid),
      userNumeric: user === undefined,
      group: group ?? String(s.gid),
      groupNumeric: group === undefined,
      hostUid: String(ctx.hostUid(s.uid)),
      hostGid: String(ctx.hostGid(s.gid)),
      major: isDevice(s.mode) ? String(major(s.rdev)) : '',
      minor: isDevice(s.mode) ? String(minor(s.rdev)) : '',
      size: String(row.size ?? s.size),
      time: lsTime(s.mtimeMs, now),
      name: shellEscape(row.name),
    };
  });
  const width = (pick: (c: (typeof cells)[number]) => string): number => Math.max(0, ...cells.map((c) => pick(c).length));
  const nlinkW = width((c) => c.nlink);
  const userW = width((c) => c.user);
  const groupW = width((c) => c.group);
  const hostUidW = width((c) => c.hostUid);
  const hostGidW = width((c) => c.hostGid);
  const devices = cells.filter((c) => c.major !== '');
  const majorW = width((c) => c.major);
  const minorW = width((c) => c.minor);
  const sizeW = Math.max(
    width((c) => (c.major === '' ? c.size : '')),
    devices.length > 0 ? majorW + 2 + minorW : 0,
  );
  const someQuoted = cells.some((c) => isQuoted(c.name));
  if (isDir) out.write(`total ${kibibytes(rows.reduce((sum, r) => sum + r.stats.blocks, 0))}\n`);
  for (const c of cells) {
    const id = (text: string, numeric: boolean, w: number): string => (numeric ? text.padStart(w) : text.padEnd(w));
    const size = c.major === '' ? c.size.padStart(sizeW) : `${c.major.padStart(majorW)}, ${c.minor.padStart(minorW)}`.padStart(sizeW);
    const hostCols = ctx.hostIds ? ` ${c.hostUid.padStart(hostUidW)} ${c.hostGid.padStart(hostGidW)}` : '';
    const name = someQuoted && !isQuoted(c.name) ? ` ${c.name}` : c.name;
    const link = await ctx.linkOf(c.row);
    const arrow = link ? ` -> ${shellEscape(link)}` : '';
    out.write(
      `${c.mode} ${c.nlink.padStart(nlinkW)} ${id(c.user, c.userNumeric, userW)} ${id(c.group, c.groupNumeric, groupW)}${hostCols} ${size} ${c.time} ${name}${arrow}\n`,
    );
    await out.flush();
  }
}

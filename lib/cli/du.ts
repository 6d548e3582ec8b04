// unshare-fs du: disk usage as GNU du counts it (st_blocks, a hard-linked
// file once, directories' own blocks included), in KiB or -h units.
// Without -s each directory gets its line, children before their parent;
// only directories are held (their totals), never the files.
import type { BigIntStats } from '../index';
import { humanSize, kibibytes } from './format';
import { jsonName, relativeStart } from './names';
import type { Output } from './output';
import type { Target } from './target';

export interface DuOptions {
  summarize?: boolean;
  human?: boolean;
  oneFileSystem?: boolean;
  json?: boolean;
}

interface Dir {
  path: Buffer;
  blocks: number;
  children: string[];
}

/** Writes du's lines for `target`. */
export async function du(target: Target, options: DuOptions, out: Output): Promise<void> {
  const { fs } = target;
  const root = Buffer.from(target.path);
  const line = (dir: Dir): void => {
    const bytes = dir.blocks * 512;
    if (options.json) out.write(JSON.stringify({ ...jsonName('path', dir.path), bytes, kib: kibibytes(dir.blocks) }) + '\n');
    else
      out.write(Buffer.concat([Buffer.from(`${options.human ? humanSize(bytes) : kibibytes(dir.blocks)}\t`), dir.path, Buffer.from('\n')]));
  };
  if (options.summarize) {
    // -s: one total, summed in the server (FileSystem#du): no entry crosses
    // to node.  Its progress counts apparent bytes.
    let told = { entries: 0, bytes: 0 };
    const usage = await fs.du(target.path, {
      oneFileSystem: !!options.oneFileSystem,
      signal: out.closed.signal,
      onError: (error) => out.fail(error, target.prefix),
      onProgress: (entries, bytes) => {
        out.progress.add({ entries: entries - told.entries, bytes: bytes - told.bytes });
        told = { entries, bytes };
      },
    });
    line({ path: root, blocks: usage.allocatedBytes / 512, children: [] });
    await out.flush(true);
    return;
  }
  const top = await fs.lstat(target.path, { bigint: true });
  const seen = new Set<string>();
  // Hard links count once, as du counts them: by device and inode.
  const blocksOf = (s: BigIntStats): number => {
    if (s.nlink > 1n && (s.mode & 0o170000n) !== 0o040000n) {
      const key = `${s.dev}:${s.ino}`;
      if (seen.has(key)) return 0;
      seen.add(key);
    }
    return Number(s.blocks);
  };
  const isDir = (top.mode & 0o170000n) === 0o040000n;
  // Directories by their path below the root ('' for the root), as latin1
  // keys; made when first met, by their own entry or by one inside them (a
  // walk on several threads may send a directory's contents first).
  const dirs = new Map<string, Dir>();
  const slash = root[root.length - 1] === 0x2f ? '' : '/';
  const dirOf = (key: string): Dir => {
    let dir = dirs.get(key);
    if (!dir) {
      dir = { path: Buffer.concat([root, Buffer.from(slash), Buffer.from(key, 'latin1')]), blocks: 0, children: [] };
      dirs.set(key, dir);
      dirOf(key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : '').children.push(key);
    }
    return dir;
  };
  dirs.set('', { path: root, blocks: blocksOf(top), children: [] });
  if (isDir) {
    // A batch at a time: one await per batch, not per entry; paths as
    // latin1 strings (one char a byte), no Buffer made for each.  Every
    // entry's fullPath starts with the walk's root and a slash: its length
    // is read from the first entry.
    let rootLength = -1;
    for await (const batch of fs.walkBatches(target.path, {
      stat: ['mode', 'nlink', 'ino', 'dev', 'blocks'],
      bigint: true,
      encoding: 'latin1',
      oneFileSystem: !!options.oneFileSystem,
      signal: out.closed.signal,
      onError: (error) => out.fail(error, target.prefix),
    })) {
      let bytes = 0;
      for (const entry of batch) {
        const stats = entry.stats as BigIntStats;
        // du -x leaves a mount point out, its own line and blocks too.
        if (options.oneFileSystem && stats.dev !== top.dev) continue;
        if (rootLength < 0) rootLength = relativeStart(entry.fullPath, entry.depth);
        const key = entry.fullPath.slice(rootLength);
        const blocks = blocksOf(stats);
        bytes += blocks * 512;
        if (entry.type === 'directory') dirOf(key).blocks += blocks;
        else dirOf(key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : '').blocks += blocks;
      }
      out.progress.add({ entries: batch.length, bytes });
    }
  }
  // Totals, children first (post-order, each directory's children in byte order).
  const total = (key: string): number => {
    const dir = dirs.get(key)!;
    dir.children.sort();
    for (const child of dir.children) {
      dir.blocks += total(child);
      line(dirs.get(child)!);
    }
    return dir.blocks;
  };
  total('');
  line(dirs.get('')!);
  await out.flush(true);
}

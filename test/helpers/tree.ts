// Fixture trees for the walk and copy tests, and a tree as find(1) reports it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { BigIntStats, Entry } from '../../lib';

export function tempDir(prefix = 'unshare-fs-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes `dir` and everything under it; throws, saying what rm said, when anything is left. */
export function removeTree(dir: string): void {
  spawnSync('chmod', ['-R', 'u+rwx', dir]);
  // rm(1), not fs.rmSync: node's recursion overflows its stack on a tree
  // thousands of levels deep (and python's shutil.rmtree its recursion limit).
  const rm = spawnSync('rm', ['-rf', '--one-file-system', dir], { encoding: 'utf8' });
  if (fs.existsSync(dir)) {
    throw new Error(
      `removeTree: ${dir} is still there after rm -rf (exit ${rm.status}): ${(rm.stderr ?? '').trim().split('\n').slice(0, 3).join('; ')}`,
    );
  }
}

/** A tree with one of every kind of entry the walker must report. */
export function buildMixedTree(root: string): void {
  fs.mkdirSync(path.join(root, 'dir/sub/deeper'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'file.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'dir/big.bin'), Buffer.alloc(70000, 7));
  fs.writeFileSync(path.join(root, 'dir/sub/deeper/leaf'), '');
  fs.linkSync(path.join(root, 'file.txt'), path.join(root, 'dir/hardlink'));
  fs.symlinkSync('file.txt', path.join(root, 'link'));
  fs.symlinkSync('does/not/exist', path.join(root, 'dangling'));
  fs.symlinkSync('loop-b', path.join(root, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(root, 'loop-b'));
  fs.symlinkSync('..', path.join(root, 'dir/sub/up'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  fs.writeFileSync(path.join(root, 'x'.repeat(255)), 'long name');
  fs.writeFileSync(path.join(root, 'ünïcödé ✓'), '');
  fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]), '');
  // A socket file with nobody listening: bind and exit.
  execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(root, 'dir/socket')]);
}

/** The times every file and directory of a copy source has: a copy that keeps them is told from one that does not. */
export const COPY_SOURCE_TIME = new Date('2001-02-03T04:05:06.789Z');

/**
 * The source tree of the copy tests, made as `root`/src and returned: files
 * of several modes (a read-only one, a 300,000-byte one), nested dirs (one
 * 0750), a relative link, an absolute one to `absoluteLinkTo` below src,
 * and with `danglingLink` a link that points nowhere; every file and
 * directory below src has COPY_SOURCE_TIME.
 */
export function buildCopySource(root: string, shape: { absoluteLinkTo: string; danglingLink: boolean }): string {
  const src = path.join(root, 'src');
  fs.mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'file.txt'), 'hello\n');
  fs.writeFileSync(path.join(src, 'dir/big.bin'), Buffer.alloc(300_000, 7));
  fs.writeFileSync(path.join(src, 'dir/sub/empty'), '');
  fs.writeFileSync(path.join(src, 'ro'), 'read only');
  fs.chmodSync(path.join(src, 'ro'), 0o444);
  fs.chmodSync(path.join(src, 'dir/sub'), 0o750);
  fs.writeFileSync(path.join(src, 'skip-me'), 'filtered');
  fs.symlinkSync('file.txt', path.join(src, 'rel-link'));
  fs.symlinkSync(path.join(src, shape.absoluteLinkTo), path.join(src, 'abs-link'));
  if (shape.danglingLink) fs.symlinkSync('does/not/exist', path.join(src, 'dir/dangling'));
  for (const p of ['file.txt', 'dir/big.bin', 'dir/sub/empty', 'ro', 'skip-me', 'dir/sub', 'dir'])
    fs.utimesSync(path.join(src, p), COPY_SOURCE_TIME, COPY_SOURCE_TIME);
  return src;
}

/** A path longer than PATH_MAX (4096): 30 levels of 200-byte names, a file at the bottom. */
export function buildDeepTree(root: string): { levels: number; name: string } {
  const name = 'd'.repeat(200);
  // One cd at a time: no single path given to the kernel is too long.
  execFileSync('bash', ['-c', 'cd "$1" && for i in $(seq 30); do mkdir "$2" && cd "$2"; done && echo bottom > leaf', '-', root, name]);
  return { levels: 30, name };
}

/** One line per entry: what both find -printf and our walk can say. */
export const FIND_FORMAT = '%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0%T@\\0%i\\0%n\\0%l\\0%d\\0\\n';

export interface Row {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  mtime: string;
  ino: number;
  nlink: number;
  target: string;
  depth: number;
}

// find prints %T@ as seconds with ten fractional digits; keep nanoseconds.
function findTime(text: string): string {
  const [seconds, fraction = ''] = text.split('.');
  return `${seconds}.${fraction.padEnd(9, '0').slice(0, 9)}`;
}

export function parseFind(output: string): Row[] {
  const rows: Row[] = [];
  for (const line of output.split('\0\n')) {
    if (line.length === 0) continue;
    const [entryPath, type, mode, uid, gid, size, mtime, ino, nlink, target, depth] = line.split('\0');
    if (
      entryPath === undefined ||
      type === undefined ||
      mode === undefined ||
      mtime === undefined ||
      target === undefined ||
      depth === undefined
    ) {
      throw new Error(`parseFind: fewer fields than FIND_FORMAT prints: ${JSON.stringify(line)}`);
    }
    rows.push({
      path: entryPath,
      type,
      mode,
      uid: Number(uid),
      gid: Number(gid),
      size: Number(size),
      mtime: findTime(mtime),
      ino: Number(ino),
      nlink: Number(nlink),
      target,
      depth: Number(depth),
    });
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Runs find with FIND_FORMAT, optionally behind a command such as nsenter. */
export function findRows(root: string, prefix: string[] = []): Row[] {
  const [command, ...args] = [...prefix, 'find', root, '-mindepth', '1', '-printf', FIND_FORMAT];
  const out = execFileSync(command, args, { maxBuffer: 1 << 28, encoding: 'latin1' });
  return parseFind(Buffer.from(out, 'latin1').toString('utf8'));
}

/** An entry type as find -printf %y writes it. */
export const FIND_TYPE: Record<string, string> = {
  file: 'f',
  directory: 'd',
  symlink: 'l',
  fifo: 'p',
  socket: 's',
  'char-device': 'c',
  'block-device': 'b',
};

/** Our entries in find's terms; symlink targets come from readlink. */
export async function walkRows(
  entries: AsyncIterable<Entry<string, BigIntStats>>,
  root: string,
  readlink: (p: string) => Promise<string>,
): Promise<Row[]> {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const rows: Row[] = [];
  for await (const entry of entries) {
    const s = entry.stats;
    rows.push({
      path: entry.fullPath.slice(prefix.length),
      type: FIND_TYPE[entry.type] ?? '?',
      mode: (Number(s.mode) & 0o7777).toString(8),
      uid: Number(s.uid),
      gid: Number(s.gid),
      size: Number(s.size),
      mtime: `${s.mtimeNs / 1000000000n}.${(s.mtimeNs % 1000000000n).toString().padStart(9, '0')}`,
      ino: Number(s.ino),
      nlink: Number(s.nlink),
      target: entry.type === 'symlink' ? await readlink(entry.fullPath) : '',
      depth: entry.depth,
    });
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The lines of a shell script, run as `sh -c SCRIPT BASE` inside a
 * namespace of our own, that mount BASE/m: an overlay with xino=on over two
 * tmpfs, whose lower layer's inodes are 2^63 + ino (past 2^53, where doubles
 * are 2048 apart).  Lower l: hard-linked pairs f, g (100 bytes) and p, q
 * (50,000 bytes), and d/e; upper u/u: h.  The mounts go with the namespace.
 */
export const XINO_OVERLAY_SCRIPT: readonly string[] = [
  'set -e',
  'cd "$0"',
  'mkdir l u m',
  'mount -t tmpfs lower l',
  'mount -t tmpfs upper u',
  'mkdir u/u u/w l/d',
  'head -c 100 /dev/zero > l/f && ln l/f l/g',
  'head -c 50000 /dev/zero > l/p && ln l/p l/q',
  'echo lower > l/d/e',
  'echo upper > u/u/h',
  'mount -t overlay xino -o lowerdir=l,upperdir=u/u,workdir=u/w,xino=on m',
];

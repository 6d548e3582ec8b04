// Tree jobs on trees deeper than RLIMIT_NOFILE: rm -r, chown -R and
// diffLayers keep a bounded number of directory fds open, whatever the
// depth, through the host server and through a session in a namespace of
// our own (whose workers inherit the limit).  Each job runs in a child
// process under prlimit; find(1), run without the limit, says what the
// tree holds before and after.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace } from '../lib';
import { requires, subuidRange } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const asRoot = process.geteuid!() === 0;
const LIMIT = 256;
const LEVELS = 1100;
const FIXTURE = path.join(__dirname, 'fixtures/deep-tree.js');

/**
 * argv[1]/d/d/… argv[2] levels deep through directory fds; at each level a
 * file f and a directory e holding a file g (so that directories wait for
 * their siblings at every level); a FIFO at the bottom.
 */
const DEEP_TREE = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(int(sys.argv[2])):
    os.close(os.open('f', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
    os.mkdir('e', dir_fd=fd)
    os.close(os.open('e/g', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
    os.mkdir('d', dir_fd=fd)
    deeper = os.open('d', os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = deeper
os.mkfifo('fifo', dir_fd=fd)
`;

function makeTree(dir: string, levels: number): void {
  fs.mkdirSync(dir);
  const made = spawnSync('python3', ['-c', DEEP_TREE, dir, String(levels)], { encoding: 'utf8' });
  expect(made.stderr).toBe('');
}

/** find's lines for `dir` and everything under it, printed with `format`. */
function find(dir: string, format: string, ...extra: string[]): string[] {
  const out = spawnSync('find', [dir, ...extra, '-printf', format], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(out.stderr).toBe('');
  return out.stdout.split('\n').filter((line) => line !== '');
}

interface Outcome {
  ok?: unknown;
  error?: { code: string; syscall?: string; message: string };
  limits: number[];
  self: number;
  uidMap?: string;
  gidMap?: string;
}

/** One job of the fixture, in a process whose open-files limit is LIMIT. */
function underLimit(where: string, op: string, ...args: string[]): Outcome {
  const run = spawnSync('prlimit', [`--nofile=${LIMIT}:${LIMIT}`, '--', process.execPath, FIXTURE, where, op, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  const outcome = JSON.parse(run.stdout.trim()) as Outcome;
  expect(outcome.self).toBe(LIMIT);
  // The workers (a namespace's) have the limit too: it is theirs to keep.
  expect(outcome.limits.every((limit) => limit === LIMIT)).toBe(true);
  if (where === 'namespace') expect(outcome.limits.length).toBeGreaterThan(0);
  return outcome;
}

/** What `id` inside is outside, per a /proc uid_map or gid_map. */
function mapped(map: string, id: number): number {
  for (const line of map.trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined) throw new Error(`not a map line: ${line}`);
    if (id >= inside && id < inside + count) return outside + id - inside;
  }
  throw new Error(`${id} is not mapped: ${map}`);
}

const targets = [
  { where: 'host', gate: requires() },
  { where: 'namespace', gate: asRoot ? requires() : requires(subuidRange) },
];

describe.each(targets)('a tree $where deeper than RLIMIT_NOFILE', ({ where, gate }) => {
  let base: string;
  beforeEach(() => {
    base = tempDir('unshare-fs-deep-');
    fs.chmodSync(base, 0o755);
  });
  afterEach(async () => {
    if (!asRoot && where === 'namespace' && fs.existsSync(path.join(base, 'tree'))) {
      // Owned by subordinate ids: removed from inside.
      const ns = await createNamespace({ subids: 'require' });
      await ns.exec(['rm', '-rf', path.join(base, 'tree')]);
      await ns.close();
    }
    removeTree(base);
  });

  gate.it('chown -R changes every entry, then rm -r removes it all', () => {
    const tree = path.join(base, 'tree');
    makeTree(tree, LEVELS);
    const count = find(tree, '.\n').length;
    expect(count).toBe(4 * LEVELS + 2);
    // As root, ids of its own; else ids an ordinary user may give (on the
    // host its own, which still sets every ctime).
    const [uid, gid] = asRoot || where === 'namespace' ? [1000, 1001] : [process.getuid!(), process.getgid!()];
    const chowned = underLimit(where, 'chown', tree, String(uid), String(gid));
    expect(chowned.error).toBeUndefined();
    expect(chowned.ok).toEqual({ entries: count, errors: 0 });
    const [hostUid, hostGid] = where === 'namespace' ? [mapped(chowned.uidMap!, uid), mapped(chowned.gidMap!, gid)] : [uid, gid];
    const owners = find(tree, '%U %G\n');
    expect(owners).toHaveLength(count);
    expect(owners.filter((line) => line !== `${hostUid} ${hostGid}`)).toEqual([]);

    const removed = underLimit(where, 'rm', tree);
    expect(removed.error).toBeUndefined();
    expect(removed.ok).toEqual({ entries: count, errors: 0 });
    expect(fs.existsSync(tree)).toBe(false);
  });

  gate.it('diffLayers lists every entry, with a lower layer as deep as half of it', () => {
    const upper = path.join(base, 'upper');
    const lower = path.join(base, 'lower');
    makeTree(upper, LEVELS);
    makeTree(lower, LEVELS / 2);
    const expected = find(upper, '/%P\n', '-mindepth', '1').sort();
    const inLower = new Set(find(lower, '/%P\n', '-mindepth', '1'));
    for (const lowers of [[], [lower]]) {
      const diffed = underLimit(where, 'diff', upper, ...lowers);
      expect(diffed.error).toBeUndefined();
      const lines = diffed.ok as string[];
      expect(lines.map((line) => line.slice(line.indexOf(' ') + 1)).sort()).toEqual(expected);
      // Below what the lower layer has, everything is added.
      const added = lines.filter((line) => !inLower.has(line.slice(line.indexOf(' ') + 1)) || lowers.length === 0);
      expect(added.every((line) => line.startsWith('added '))).toBe(true);
    }
  });

  gate.it('diffLayers over eight lower layers as deep as it: the fds kept are shared out among the layers', () => {
    const upper = path.join(base, 'upper');
    makeTree(upper, LEVELS);
    const lowers = Array.from({ length: 8 }, (_, i) => path.join(base, `lower${i}`));
    for (const lower of lowers) makeTree(lower, LEVELS);
    const expected = find(upper, '/%P\n', '-mindepth', '1').sort();
    const diffed = underLimit(where, 'diff', upper, ...lowers);
    expect(diffed.error).toBeUndefined();
    const lines = diffed.ok as string[];
    expect(lines.map((line) => line.slice(line.indexOf(' ') + 1)).sort()).toEqual(expected);
  });
});

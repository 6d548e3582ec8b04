// What the command line loads before it does anything.  The bin is one file
// (scripts/bundle-cli.js): node resolves and reads no other file of dist/
// for any verb, which was most of a short command's start-up.  --help or a
// usage error loads no addon, and the npm dependencies a run does not need
// stay unloaded: smol-toml only for podman's storage.conf, cli-progress only
// for a progress line on a terminal.  Held to node's own account of the
// files it loaded (NODE_DEBUG=module writes `load "FILE"` for each), not to
// anything the command line says.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BIN, builtCli } from './helpers/cli';
import { requires } from './helpers/requirements';

const gate = requires(builtCli);
const DIST = path.dirname(path.dirname(BIN));

/**
 * The dist/ files (relative, as cli/ls.js) node loaded to run `unshare-fs
 * ...args`, its status, and every file it loaded (absolute).
 */
function loaded(args: string[]): { status: number | null; files: string[]; all: string[] } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, NODE_DEBUG: 'module' }, encoding: 'utf8' });
  if (r.error) throw r.error;
  const all = [...new Set([...r.stderr.matchAll(/load "([^"]+)"/g)].map((m) => m[1]!))];
  const files = all.filter((file) => file.startsWith(`${DIST}/`)).map((file) => path.relative(DIST, file));
  return { status: r.status, files, all };
}

/** The files of node_modules/NAME/ among `all`. */
const fromPackage = (all: string[], name: string): string[] => all.filter((file) => file.includes(`/node_modules/${name}/`));

/** Whether `node -e "require('NAME')"` in the package shows in the same account (the counter-check of an absence). */
function seenLoading(name: string): boolean {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(name)})`], {
    cwd: path.dirname(DIST),
    env: { ...process.env, NODE_DEBUG: 'module' },
    encoding: 'utf8',
  });
  return new RegExp(`load "[^"]*/node_modules/${name}/`).test(r.stderr);
}

gate.describe('unshare-fs start-up', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-startup-'));
    fs.writeFileSync(path.join(dir, 'a'), 'a\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('--help and a usage error load one file of dist/ and no addon', () => {
    for (const args of [['--help'], ['ls', '--help'], ['frobnicate']]) {
      const { status, files, all } = loaded(args);
      expect(status).toBe(args[0] === 'frobnicate' ? 2 : 0);
      expect(files).toEqual(['cli/main.js']);
      expect(all.filter((file) => file.endsWith('.node'))).toEqual([]);
      expect(fromPackage(all, 'node-gyp-build')).toEqual([]);
    }
  });

  test('every verb runs from that one file: no other file of dist/ is loaded', () => {
    for (const args of [
      ['ls', '-l', dir],
      ['du', '-s', dir],
      ['find', dir],
      ['stat', path.join(dir, 'a')],
      ['cat', path.join(dir, 'a')],
    ]) {
      const { status, files, all } = loaded(args);
      expect(status).toBe(0);
      expect(files).toEqual(['cli/main.js']);
      // Counter-check: the addon is loaded, through the same account.
      expect(all.filter((file) => file.endsWith('.node'))).toHaveLength(1);
    }
  });

  test('a host path loads no TOML parser: only podman storage.conf needs one', () => {
    const { status, all } = loaded(['ls', '-l', dir]);
    expect(status).toBe(0);
    expect(fromPackage(all, 'smol-toml')).toEqual([]);
    expect(seenLoading('smol-toml')).toBe(true);
  });

  test('no progress library when stderr is not a terminal', () => {
    for (const args of [
      ['find', dir],
      ['du', dir],
    ]) {
      const { status, all } = loaded(args);
      expect(status).toBe(0);
      expect(fromPackage(all, 'cli-progress')).toEqual([]);
    }
    expect(seenLoading('cli-progress')).toBe(true);
  });
});

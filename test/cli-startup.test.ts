// What the command line loads before it does anything.  The bin
// (dist/cli/bin.js) runs the command line, one file (dist/cli/main.js,
// scripts/bundle-cli.js), from V8's code cache: node resolves and loads no
// other file of dist/ for any verb, which was most of a short command's
// start-up.  --help or a usage error loads no addon, and what a run does not
// need stays unloaded: cli-progress but for a progress line on a terminal,
// node:child_process, node:crypto, node:fs/promises and node:perf_hooks on
// a host path.  Held to node's own
// account of the files it loaded (NODE_DEBUG=module writes `load "FILE"`
// for each) and of its built-in modules (process.moduleLoadList), not to
// anything the command line says; the code cache, to V8's verdict on it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BIN, builtCli } from './helpers/cli';
import { requires } from './helpers/requirements';

const gate = requires(builtCli);
const DIST = path.dirname(path.dirname(BIN));
// Built-in modules a command on a host path has no use for: each loads on first use.
const LAZY_MODULES = ['child_process', 'crypto', 'fs/promises', 'perf_hooks'];
const LAZY = new RegExp(`^NativeModule (${LAZY_MODULES.join('|')})$`);

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
      expect(files).toEqual(['cli/bin.js']);
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
      expect(files).toEqual(['cli/bin.js']);
      // Counter-check: the addon is loaded, through the same account.
      expect(all.filter((file) => file.endsWith('.node'))).toHaveLength(1);
    }
  });

  test('a host path loads no child_process, crypto, fs/promises or perf_hooks', () => {
    // A preload that writes, at exit, the built-in modules node loaded.
    const preload = path.join(dir, 'builtins.js');
    fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write('BUILTINS ' + process.moduleLoadList.join(',') + '\\n'));\n");
    const builtins = (args: string[]): string[] => {
      const r = spawnSync(process.execPath, ['--require', preload, BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(r.status).toBe(0);
      return /^BUILTINS (.*)$/m.exec(r.stderr)![1]!.split(',');
    };
    for (const args of [['ls', '-l', dir], ['find', dir], ['--help']]) {
      const loadedHere = builtins(args);
      expect(loadedHere.filter((m) => LAZY.test(m))).toEqual([]);
      // Counter-check: the same account names modules the run did load.
      expect(loadedHere).toContain('NativeModule fs');
    }
    const r = spawnSync(process.execPath, ['--require', preload, '-e', LAZY_MODULES.map((m) => `require('node:${m}');`).join(' ')], {
      encoding: 'utf8',
    });
    const loaded = /^BUILTINS (.*)$/m.exec(r.stderr)![1]!.split(',');
    expect(LAZY_MODULES.filter((m) => !loaded.includes(`NativeModule ${m}`))).toEqual([]);
  });

  test('the bin runs main.js from the code cache build:ts made', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { env: { ...process.env, NODE_DEBUG: 'unshare-fs' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/cli code cache used/);
  });

  test('a cache that does not fit is not used, and the command line runs as without one', () => {
    // A copy of dist/cli/ with a package.json of its own (--version reads it).
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-cache-'));
    try {
      const cliCopy = path.join(copy, 'dist', 'cli');
      fs.mkdirSync(cliCopy, { recursive: true });
      fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ version: '9.8.7-copy' }));
      for (const name of ['bin.js', 'main.js', 'main.cache']) fs.copyFileSync(path.join(path.dirname(BIN), name), path.join(cliCopy, name));
      const run = (): { said: string; stdout: string } => {
        const r = spawnSync(process.execPath, [path.join(cliCopy, 'bin.js'), '--version'], {
          env: { ...process.env, NODE_DEBUG: 'unshare-fs' },
          encoding: 'utf8',
        });
        expect(r.status).toBe(0);
        return { said: /cli code cache (.*)$/m.exec(r.stderr)?.[1] ?? r.stderr, stdout: r.stdout };
      };
      // A copy is a new main.js (its modification time is the copy's): the cache is not read.
      expect(run()).toEqual({ said: 'not used: made for another main.js', stdout: '9.8.7-copy\n' });
      // The copy's own header before V8 data that is not V8's: V8 turns it down.
      const main = fs.statSync(path.join(cliCopy, 'main.js'), { bigint: true });
      const header = `unshare-fs cli cache 1 ${main.size} ${main.mtimeNs}\n`;
      const v8Data = fs
        .readFileSync(path.join(path.dirname(BIN), 'main.cache'))
        .subarray(fs.readFileSync(path.join(path.dirname(BIN), 'main.cache'), 'latin1').indexOf('\n') + 1);
      fs.writeFileSync(path.join(cliCopy, 'main.cache'), Buffer.concat([Buffer.from(header), Buffer.alloc(v8Data.length, 7)]));
      expect(run()).toEqual({ said: 'rejected by V8', stdout: '9.8.7-copy\n' });
      // Counter-check: the same header before the build's own V8 data is used.
      fs.writeFileSync(path.join(cliCopy, 'main.cache'), Buffer.concat([Buffer.from(header), v8Data]));
      expect(run()).toEqual({ said: 'used', stdout: '9.8.7-copy\n' });
      fs.rmSync(path.join(cliCopy, 'main.cache'));
      expect(run()).toEqual({ said: 'not used: ENOENT', stdout: '9.8.7-copy\n' });
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
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

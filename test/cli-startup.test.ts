// What the command line loads before it does anything: a process runs one
// verb, so it loads that verb's module and no other, and --help or a usage
// error loads no library at all (start-up was most of a short command's
// time). Held to node's own account of the files it loaded (NODE_DEBUG=module
// writes `load "FILE"` for each), not to anything the command line says.
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

/**
 * The verbs with a module of their own, dist/cli/VERB.js: every verb --help
 * lists (those added later included) that has one.
 */
function verbModules(): string[] {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout;
  const commands = /\nCommands:\n([^]*?)\n\n/.exec(help)?.[1] ?? '';
  const verbs = [...commands.matchAll(/^ {2}([a-z]+)/gm)].map((m) => m[1]!);
  return verbs.filter((verb) => fs.existsSync(path.join(DIST, 'cli', `${verb}.js`)));
}
const VERBS = builtCli.check() === true ? verbModules() : [];
const verbsIn = (files: string[]): string[] => files.filter((f) => VERBS.some((verb) => f === `cli/${verb}.js`));

gate.describe('unshare-fs start-up', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-startup-'));
    fs.writeFileSync(path.join(dir, 'a'), 'a\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('--help and a usage error load no verb and not the library', () => {
    for (const args of [['--help'], ['ls', '--help'], ['frobnicate']]) {
      const { status, files } = loaded(args);
      expect(status).toBe(args[0] === 'frobnicate' ? 2 : 0);
      expect(files).toContain('cli/main.js');
      expect(files).not.toContain('index.js');
      expect(verbsIn(files)).toEqual([]);
    }
  });

  test('a verb loads its own module and no other verb', () => {
    // The verbs found in --help's list, the ones run below among them.
    expect(VERBS).toEqual(expect.arrayContaining(['cat', 'diff', 'du', 'export', 'find', 'ls', 'ps', 'stat']));
    for (const [verb, args] of [
      ['ls', ['ls', '-l', dir]],
      ['du', ['du', '-s', dir]],
      ['find', ['find', dir]],
      ['stat', ['stat', path.join(dir, 'a')]],
      ['cat', ['cat', path.join(dir, 'a')]],
    ] as const) {
      const { status, files } = loaded([...args]);
      expect(status).toBe(0);
      expect(files).toContain('index.js');
      expect(verbsIn(files)).toEqual([`cli/${verb}.js`]);
    }
  });

  test('a host path loads no TOML parser: only podman storage.conf needs one', () => {
    const { status, all } = loaded(['ls', '-l', dir]);
    expect(status).toBe(0);
    expect(all.filter((file) => file.includes('/node_modules/smol-toml/'))).toEqual([]);
    // Counter-check: the parser is found by the same account when loaded.
    const r = spawnSync(process.execPath, ['-e', "require('smol-toml')"], {
      cwd: path.dirname(DIST),
      env: { ...process.env, NODE_DEBUG: 'module' },
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(/load "[^"]*\/node_modules\/smol-toml\//);
  });

  test('no progress library when stderr is not a terminal', () => {
    for (const args of [
      ['find', dir],
      ['du', dir],
    ]) {
      const { status, all } = loaded(args);
      expect(status).toBe(0);
      expect(all.filter((file) => file.includes('/node_modules/cli-progress/'))).toEqual([]);
    }
    // Counter-check: the library is found by the same account when loaded.
    const r = spawnSync(process.execPath, ['-e', "require('cli-progress')"], {
      cwd: path.dirname(DIST),
      env: { ...process.env, NODE_DEBUG: 'module' },
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(/load "[^"]*\/node_modules\/cli-progress\//);
  });
});

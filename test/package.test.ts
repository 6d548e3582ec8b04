// The packed tarball as a consumer gets it: `npm pack` once, then installed
// into a fresh project and loaded (require and import, and one real walk)
//   - plainly, as whoever runs the suite (root, and the ordinary user in CI),
//   - with no compiler on PATH (only node, npm, sh and a few coreutils),
//   - with `npm install --ignore-scripts`.
// Each case must load the prebuild for this machine, never a source build.
// The prebuilds come from `npm run prebuild` (.ci/run runs it before the
// tests); the tarball is packed with --ignore-scripts so that this file does
// not rebuild them.  Dependencies come from the npm cache or the registry.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { requirement, requires } from './helpers/requirements';

const repo = path.join(__dirname, '..');
const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const prebuild = path.join('prebuilds', `${process.platform}-${process.arch}`, `node.napi.${libc}.node`);

const prebuilds = requirement('prebuilds', () =>
  fs.existsSync(path.join(repo, prebuild)) || `no ${prebuild}: run \`npm run prebuild\` first (.ci/run does)`,
);
const builtDist = requirement('dist', () => fs.existsSync(path.join(repo, 'dist', 'index.mjs')) || 'no dist/index.mjs: run `npm run build:ts`');

const LOAD_CJS = `
const u = require('unshare-fs');
const names = [];
(async () => {
  for await (const e of u.walk(process.argv[1])) names.push(e.name);
  console.log('require: walk ->', names.sort().join(','), '| addon:', require('node-gyp-build').path(require.resolve('unshare-fs/package.json').replace(/package\\.json$/, '')));
})().catch((e) => { console.error(e); process.exit(1); });
`;
const LOAD_ESM = `
import { walk } from 'unshare-fs';
import * as cjs from 'unshare-fs';
const names = [];
for await (const e of walk(process.argv[1])) names.push(e.name);
console.log('import: walk ->', names.sort().join(','), '| names:', Object.keys(cjs).length);
`;

const gate = requires(prebuilds, builtDist);

/** How long one npm install may hang before it is tried again. */
const NPM_HANG_MS = 90_000;

gate.describe('the packed tarball', () => {
  let work: string;
  let tarball: string;
  let tree: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-package-'));
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [info] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
    tarball = path.join(work, info.filename);
    const files = info.files.map((f) => f.path);
    console.log(`packed ${info.filename}: ${files.length} files`);
    expect(files).toContain(prebuild);
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/index.mjs');
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('dist/demo/') || f.startsWith('test/'))).toEqual([]);
    tree = path.join(work, 'tree');
    fs.mkdirSync(path.join(tree, 'b'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'a'), 'a');
  }, 120_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A fresh project with the tarball installed by `npm install ...args`; returns its directory. */
  function install(name: string, args: string[], env: NodeJS.ProcessEnv): string {
    const argv = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...args, tarball];
    const user = os.userInfo().username;
    // The dependencies may come from the registry (a user's empty npm
    // cache), and a registry fetch can hang: such an attempt is ended and
    // made again in a fresh project, once.
    for (let attempt = 1; ; attempt++) {
      const project = path.join(work, attempt === 1 ? name : `${name}-${attempt}`);
      fs.mkdirSync(project);
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true }));
      const run = spawnSync('npm', argv, { cwd: project, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: NPM_HANG_MS, killSignal: 'SIGKILL' });
      const hung = (run.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
      console.log(`[${name}] as ${user}: npm ${argv.join(' ').replace(tarball, path.basename(tarball))}${hung ? ` (attempt ${attempt}: npm hung)` : ''}\n${run.stdout}${run.stderr}`.trim());
      if (hung && attempt < 2) continue;
      expect(run.status).toBe(0);
      return project;
    }
  }

  function load(name: string, project: string, env: NodeJS.ProcessEnv): void {
    const pkg = path.join(project, 'node_modules', 'unshare-fs');
    // The prebuild was kept: nothing was compiled.
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    const lines: string[] = [];
    for (const [flag, code] of [['-e', LOAD_CJS], ['--input-type=module', LOAD_ESM]] as const) {
      const argv = flag === '-e' ? ['-e', code, tree] : [flag, '-e', code, tree];
      const run = spawnSync(process.execPath, argv, { cwd: project, env, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      lines.push(run.stdout.trim());
    }
    console.log(`[${name}] load:\n  ${lines.join('\n  ')}`);
    expect(lines[0]).toContain('require: walk -> a,b');
    expect(lines[0]).toContain(path.join(pkg, prebuild));
    expect(lines[1]).toContain('import: walk -> a,b');
  }

  it('installs and loads as the user running the suite', () => {
    const project = install('plain', [], process.env);
    load('plain', project, process.env);
  }, 2 * NPM_HANG_MS + 60_000);

  it('installs and loads with no compiler on PATH', () => {
    // Only what npm needs to run: node, npm and a shell with coreutils.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync(npmCli, path.join(bin, 'npm'));
    for (const tool of ['sh', 'env', 'cat', 'ls', 'mkdir', 'rm', 'uname']) {
      const where = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      fs.symlinkSync(where, path.join(bin, tool));
    }
    const env = { ...process.env, PATH: bin };
    const probe = spawnSync('/bin/sh', ['-c', 'for t in cc gcc g++ c++ make python3 python; do command -v $t; done'], { env, encoding: 'utf8' });
    expect(probe.stdout).toBe('');
    const project = install('no-compiler', [], env);
    load('no-compiler', project, env);
  }, 2 * NPM_HANG_MS + 60_000);

  it('installs with --ignore-scripts and loads', () => {
    const project = install('ignore-scripts', ['--ignore-scripts'], process.env);
    load('ignore-scripts', project, process.env);

    // With no addon at all (node-gyp-build's UNSHARE_FS_PREBUILD points it
    // at an empty directory), the error says what a consumer can run.
    const empty = path.join(work, 'no-addon');
    fs.mkdirSync(empty);
    const code = `
      (async () => { for await (const e of require('unshare-fs').walk(process.argv[1])) void e; })()
        .then(() => process.exit(0), (e) => { console.log(e.message); process.exit(3); });`;
    const run = spawnSync(process.execPath, ['-e', code, tree], { cwd: project, env: { ...process.env, UNSHARE_FS_PREBUILD: empty }, encoding: 'utf8' });
    console.log(`[no addon] ${run.stdout.trim()}`);
    expect(run.status).toBe(3);
    expect(run.stdout).toContain('`npm rebuild unshare-fs`');
    expect(run.stdout).not.toMatch(/npm run (build:native|prebuild)/);
  }, 2 * NPM_HANG_MS + 60_000);
});

// The packed tarball as a consumer gets it: `npm pack` once, then installed
// into a fresh project and loaded (require and import, and one real walk)
//   - plainly, as whoever runs the suite (root, and the ordinary user in CI),
//   - with no compiler on PATH (only node, npm, sh and a few coreutils),
//   - with `npm install --ignore-scripts`.
// Each case must load the prebuild for this machine, never a source build:
// the process's own memory map names the .node it loaded.  Through the plain
// install, what the prebuild answers is held to node:fs and podman: errors
// on missing, too-long and unreadable paths, rm with force, a walk with stats
// (scripts/prebuild-smoke.js), podman.diff of a changed container, and
// docker.diff of the Docker scenario's.
// The prebuilds come from `npm run prebuild` (.ci/run runs it before the
// tests); the tarball is packed with --ignore-scripts so that this file does
// not rebuild them.  Dependencies come from the npm cache or the registry.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { dk, dockerEnv, dockerImage, ensureScenario as ensureDockerScenario } from './helpers/docker';
import { IMAGE, pod, podmanEnv, podmanImage, tryPod } from './helpers/podman';
import { requirement, requires } from './helpers/requirements';

const repo = path.join(__dirname, '..');
const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const prebuild = path.join('prebuilds', `${process.platform}-${process.arch}`, `node.napi.${libc}.node`);

const prebuilds = requirement(
  'prebuilds',
  () => fs.existsSync(path.join(repo, prebuild)) || `no ${prebuild}: run \`npm run prebuild\` first (.ci/run does)`,
);
const builtDist = requirement(
  'dist',
  () => fs.existsSync(path.join(repo, 'dist', 'index.mjs')) || 'no dist/index.mjs: run `npm run build:ts`',
);

/** The .node files a node process has mapped: what it really loaded. */
const MAPPED_ADDONS = `
  [...new Set(require('node:fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')
    .map((line) => line.split(/\\s+/).slice(5).join(' ')).filter((file) => file.endsWith('.node')))]`;

const LOAD_CJS = `
const u = require('unshare-fs');
const names = [];
(async () => {
  for await (const e of u.walk(process.argv[1])) names.push(e.name);
  console.log('require: walk ->', names.sort().join(','), '| addon:', require('node-gyp-build').path(require.resolve('unshare-fs/package.json').replace(/package\\.json$/, '')), '| loaded:', JSON.stringify(${MAPPED_ADDONS}));
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
const podmanGate = requires(prebuilds, builtDist, podmanImage);
const dockerGate = requires(prebuilds, builtDist, dockerImage);

/** The consumer's environment: never the addon a test run may point UNSHARE_FS_ADDON at. */
function consumerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  delete clean.UNSHARE_FS_ADDON;
  return clean;
}

/** Changes podman-diff.test.ts makes too: an add, a change, a delete, an opaque directory, a symlink, a mode. */
const CHANGES = `
  echo new > /new.txt
  echo 'x:x:5:5::/:/bin/sh' >> /etc/passwd
  rm /etc/motd
  rm -r /home && mkdir -p /home/other && echo hi > /home/other/f
  ln -sf /bin/true /bin/cmp
  chmod 0700 /tmp
`;

/** How long one npm install may hang before it is tried again. */
const NPM_HANG_MS = 90_000;

gate.describe('the packed tarball', () => {
  let work: string;
  let tarball: string;
  let tree: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-package-'));
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [info] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
    tarball = path.join(work, info.filename);
    const files = info.files.map((f) => f.path);
    console.log(`packed ${info.filename}: ${files.length} files`);
    expect(files).toContain(prebuild);
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/index.mjs');
    // package.json's bin and the one file it runs (scripts/bundle-cli.js); no
    // code cache: the install makes one for its own node (scripts/cli-cache.js).
    expect(files.filter((f) => f.startsWith('dist/cli/')).sort()).toEqual(['dist/cli/bin.js', 'dist/cli/main.js']);
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
      const run = spawnSync('npm', argv, {
        cwd: project,
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: NPM_HANG_MS,
        killSignal: 'SIGKILL',
      });
      const hung = (run.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
      console.log(
        `[${name}] as ${user}: npm ${argv.join(' ').replace(tarball, path.basename(tarball))}${hung ? ` (attempt ${attempt}: npm hung)` : ''}\n${run.stdout}${run.stderr}`.trim(),
      );
      if (hung && attempt < 2) continue;
      expect(run.status).toBe(0);
      return project;
    }
  }

  function load(name: string, project: string, givenEnv: NodeJS.ProcessEnv): void {
    const env = consumerEnv(givenEnv);
    const pkg = path.join(project, 'node_modules', 'unshare-fs');
    // The prebuild was kept: nothing was compiled.
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    const lines: string[] = [];
    for (const [flag, code] of [
      ['-e', LOAD_CJS],
      ['--input-type=module', LOAD_ESM],
    ] as const) {
      const argv = flag === '-e' ? ['-e', code, tree] : [flag, '-e', code, tree];
      const run = spawnSync(process.execPath, argv, { cwd: project, env, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      lines.push(run.stdout.trim());
    }
    console.log(`[${name}] load:\n  ${lines.join('\n  ')}`);
    expect(lines[0]).toContain('require: walk -> a,b');
    expect(lines[0]).toContain(path.join(pkg, prebuild));
    expect(lines[0]).toContain(`| loaded: ${JSON.stringify([fs.realpathSync(path.join(pkg, prebuild))])}`);
    expect(lines[1]).toContain('import: walk -> a,b');
  }

  let plain: string | undefined;
  /** The plain install, made once and shared by the tests that use it. */
  function plainProject(): string {
    plain ??= install('plain', [], process.env);
    return plain;
  }

  it(
    'installs and loads as the user running the suite',
    () => {
      load('plain', plainProject(), process.env);
    },
    2 * NPM_HANG_MS + 60_000,
  );

  it(
    'runs the unshare-fs bin with npx, as find does on the same tree',
    () => {
      const project = plainProject();
      const npx = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
        spawnSync('npx', ['--no-install', 'unshare-fs', ...args], { cwd: project, env: consumerEnv(process.env), encoding: 'utf8' });
      const found = npx(['find', tree, '--printf', '%y %P\\n']);
      expect(found.stderr).toBe('');
      expect(found.status).toBe(0);
      const gnu = execFileSync('find', [tree, '-printf', '%y %P\\n'], { encoding: 'utf8' });
      expect(found.stdout.split('\n').sort()).toEqual(gnu.split('\n').sort());
      const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
      expect(npx(['--version']).stdout.trim()).toBe(pkg.version);
      const usage = npx(['ls']);
      expect(usage.status).toBe(2);
      expect(usage.stderr).toContain("unshare-fs: missing required argument 'target'");
      // The install made the command line's code cache, and the bin uses it.
      const said = spawnSync('npx', ['--no-install', 'unshare-fs', '--version'], {
        cwd: project,
        env: { ...consumerEnv(process.env), NODE_DEBUG: 'unshare-fs' },
        encoding: 'utf8',
      });
      expect(said.stderr).toMatch(/cli code cache used/);
    },
    2 * NPM_HANG_MS + 60_000,
  );

  it(
    'gives node:fs errors and stats through the installed prebuild',
    () => {
      const pkg = path.join(plainProject(), 'node_modules', 'unshare-fs');
      const run = spawnSync(process.execPath, [path.join(repo, 'scripts', 'prebuild-smoke.js'), pkg], {
        cwd: plainProject(),
        env: consumerEnv(process.env),
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      const report = JSON.parse(run.stdout) as { addons: string[]; checks: { what: string; got: unknown; want: unknown }[] };
      expect(report.addons).toEqual([fs.realpathSync(path.join(pkg, prebuild))]);
      const want = Object.fromEntries(report.checks.map((c) => [c.what, c.want]));
      // What node:fs answered is what this test means to check.
      expect(want['lstat missing #0']).toMatchObject({ code: 'ENOENT', syscall: 'lstat' });
      expect(want['stat missing #4']).toMatchObject({ code: 'ENOENT', syscall: 'stat' });
      expect(want['lstat too long #0']).toMatchObject({ code: 'ENAMETOOLONG' });
      // Root searches any directory; anyone else meets EACCES there.
      expect(want['lstat unreadable']).toMatchObject({ code: process.geteuid?.() === 0 ? 'ENOENT' : 'EACCES' });
      expect(want['rm missing']).toBe('ENOENT');
      expect(want['rm missing, force']).toBe('resolved');
      const walked = report.checks.filter((c) => c.what.startsWith('walk with stats: ')).map((c) => c.what.slice(17));
      expect(walked.sort()).toEqual(['dir', 'dir/dangling', 'dir/sub', 'dir/sub/deep', 'file', 'link']);
      expect(Object.fromEntries(report.checks.map((c) => [c.what, c.got]))).toEqual(want);
      expect(run.status).toBe(0);
    },
    2 * NPM_HANG_MS + 60_000,
  );

  podmanGate.it(
    'podman.diff through the installed prebuild equals podman diff',
    () => {
      const project = plainProject();
      const name = `unshare-fs-package-${process.pid}`;
      pod(['run', '-d', '--network', 'none', '--name', name, IMAGE, 'sleep', '600']);
      try {
        pod(['exec', name, '/bin/sh', '-ec', CHANGES]);
        const code = `
        require('unshare-fs').podman.diff(process.argv[1]).then(
          (changes) => console.log(JSON.stringify({ addons: ${MAPPED_ADDONS}, changes })),
          (error) => { console.error(error); process.exit(1); });`;
        const run = spawnSync(process.execPath, ['-e', code, name], { cwd: project, env: consumerEnv(podmanEnv()), encoding: 'utf8' });
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        const got = JSON.parse(run.stdout) as { addons: string[]; changes: { path: string; kind: string }[] };
        expect(got.addons).toEqual([fs.realpathSync(path.join(project, 'node_modules', 'unshare-fs', prebuild))]);
        const KIND: Record<string, string> = { A: 'added', C: 'changed', D: 'deleted' };
        const expected = pod(['diff', name])
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => ({ path: line.slice(2), kind: KIND[line[0]!]! }))
          .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        expect(expected).toEqual(
          expect.arrayContaining([
            { path: '/etc/motd', kind: 'deleted' },
            { path: '/home/other/f', kind: 'added' },
          ]),
        );
        expect(got.changes).toEqual(expected);
      } finally {
        tryPod(['rm', '-f', '-t', '0', name]);
      }
    },
    2 * NPM_HANG_MS + 60_000,
  );

  dockerGate.it(
    'docker.diff through the installed prebuild equals docker diff',
    () => {
      const project = plainProject();
      // The scenario's dcontenedor1: files added, a 0700 directory of uid 1000 (scripts/docker-scenario.sh).
      const [name] = ensureDockerScenario();
      const code = `
      require('unshare-fs').docker.diff(process.argv[1]).then(
        (changes) => console.log(JSON.stringify({ addons: ${MAPPED_ADDONS}, changes })),
        (error) => { console.error(error); process.exit(1); });`;
      const run = spawnSync(process.execPath, ['-e', code, name!], { cwd: project, env: consumerEnv(dockerEnv()), encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const got = JSON.parse(run.stdout) as { addons: string[]; changes: { path: string; kind: string }[] };
      expect(got.addons).toEqual([fs.realpathSync(path.join(project, 'node_modules', 'unshare-fs', prebuild))]);
      const KIND: Record<string, string> = { A: 'added', C: 'changed', D: 'deleted' };
      const expected = dk(['diff', name!])
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ path: line.slice(2), kind: KIND[line[0]!]! }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      expect(expected).toEqual(expect.arrayContaining([{ path: '/home/user/private/secret.txt', kind: 'added' }]));
      expect(got.changes).toEqual(expected);
    },
    2 * NPM_HANG_MS + 60_000,
  );

  it(
    'installs and loads with no compiler on PATH',
    () => {
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
      const probe = spawnSync('/bin/sh', ['-c', 'for t in cc gcc g++ c++ make python3 python; do command -v $t; done'], {
        env,
        encoding: 'utf8',
      });
      expect(probe.stdout).toBe('');
      const project = install('no-compiler', [], env);
      load('no-compiler', project, env);
    },
    2 * NPM_HANG_MS + 60_000,
  );

  it(
    'installs with --ignore-scripts and loads',
    () => {
      const project = install('ignore-scripts', ['--ignore-scripts'], process.env);
      load('ignore-scripts', project, process.env);
      // No install script, no code cache: the bin compiles main.js itself.
      const bin = spawnSync('npx', ['--no-install', 'unshare-fs', 'ls', tree], {
        cwd: project,
        env: { ...consumerEnv(process.env), NODE_DEBUG: 'unshare-fs' },
        encoding: 'utf8',
      });
      expect(bin.stderr).toMatch(/cli code cache not used: ENOENT/);
      expect(bin.stdout).toBe('a\nb\n');

      // With no addon at all (node-gyp-build's UNSHARE_FS_PREBUILD points it
      // at an empty directory), the error says what a consumer can run.
      const empty = path.join(work, 'no-addon');
      fs.mkdirSync(empty);
      const code = `
      (async () => { for await (const e of require('unshare-fs').walk(process.argv[1])) void e; })()
        .then(() => process.exit(0), (e) => { console.log(e.message); process.exit(3); });`;
      const run = spawnSync(process.execPath, ['-e', code, tree], {
        cwd: project,
        env: consumerEnv({ ...process.env, UNSHARE_FS_PREBUILD: empty }),
        encoding: 'utf8',
      });
      console.log(`[no addon] ${run.stdout.trim()}`);
      expect(run.status).toBe(3);
      expect(run.stdout).toContain('`npm rebuild unshare-fs`');
      expect(run.stdout).not.toMatch(/npm run (build:native|prebuild)/);
    },
    2 * NPM_HANG_MS + 60_000,
  );
});

// Every example of the README is a file of examples/, shown there as it is,
// and runs as written on this Node (the oldest the package supports in CI):
// each is run here by package name, as a program that installed the package
// would run it, against what it needs (podman's and Docker's scenarios, a
// namespace of our own).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as ts from 'typescript';

import { createNamespace, docker, podman, type Namespace } from '../lib';
import { DOCKER, dockerEnv, dockerImage, ensureScenario as ensureDockerScenario, STOPPED } from './helpers/docker';
import { ensureScenario as ensurePodmanScenario, pod, podmanImage, IMAGE, ROOTFUL } from './helpers/podman';
import { requires, userNamespaces } from './helpers/requirements';

const REPO = path.join(__dirname, '..');
const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const EXAMPLES = fs
  .readdirSync(path.join(REPO, 'examples'))
  .filter((f) => f.endsWith('.js'))
  .sort();

function run(example: string, args: string[] = [], cwd = os.tmpdir()): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO, 'examples', example), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectRan(r: { status: number | null; stdout: string; stderr: string }): void {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

describe('README examples', () => {
  test('each examples/*.js is in README.md exactly as it is, and every js block of README.md is one of them', () => {
    const blocks = [...README.matchAll(/```js\n([\s\S]*?)```\n/g)].map((m) => m[1]);
    const files = EXAMPLES.map((f) => fs.readFileSync(path.join(REPO, 'examples', f), 'utf8'));
    expect(EXAMPLES).toEqual(['cleanup.js', 'docker.js', 'enter.js', 'layers.js', 'namespace.js', 'seed.js', 'volumes.js', 'walk.js']);
    expect(blocks.sort()).toEqual([...files].sort());
  });

  test("each example compiles under strict TypeScript (checkJs) against the package's declarations", () => {
    // What a user's editor says of the README's code: `require('unshare-fs')`
    // is dist/index.d.ts (built by `npm run build:ts`), `strict` as a new
    // project has it, so an `entry.stats` that may be undefined is an error.
    const program = ts.createProgram(
      EXAMPLES.map((f) => path.join(REPO, 'examples', f)),
      {
        allowJs: true,
        checkJs: true,
        noEmit: true,
        strict: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
        types: ['node'],
        typeRoots: [path.join(REPO, 'node_modules', '@types')],
        baseUrl: REPO,
        paths: { 'unshare-fs': ['dist/index.d.ts'] },
        skipLibCheck: true,
      },
    );
    expect(program.getSourceFile(path.join(REPO, 'dist', 'index.d.ts'))).toBeDefined();
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      return `${d.file ? path.relative(REPO, d.file.fileName) : ''}:${line} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    expect(errors).toEqual([]);
  });

  requires(userNamespaces).test('namespace.js: two layers stacked in a namespace of our own, walked', () => {
    const r = run('namespace.js');
    expectRan(r);
    expect(
      r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
    ).toEqual(['directory 0 app', 'directory 0 etc', 'file 0 main.js', 'file 0 os-release']);
  });

  test('walk.js: excluded subtrees are never opened, the filter keeps files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-walk-example-'));
    try {
      for (const f of ['src/a.js', 'src/app.log', 'node_modules/x/index.js', '.git/config', 'build/out.js', 'src/build/kept.js']) {
        fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), 'abc');
      }
      // Shut: walking into it would fail (but root reads it anyway), and a FIFO in it is never opened.
      fs.mkdirSync(path.join(dir, 'node_modules', 'shut'));
      spawnSync('mkfifo', [path.join(dir, 'node_modules', 'shut', 'fifo')]);
      fs.chmodSync(path.join(dir, 'node_modules', 'shut'), 0);
      const r = run('walk.js', [dir]);
      expectRan(r);
      expect(
        r.stdout
          .split('\n')
          .filter((l) => l !== '')
          .sort(),
      ).toEqual(['2 files, 6 bytes', ...['src/a.js', 'src/build/kept.js'].map((f) => path.join(dir, f))].sort());
    } finally {
      fs.chmodSync(path.join(dir, 'node_modules', 'shut'), 0o755);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  requires(userNamespaces).test("enter.js: a path's owner inside and on the host, through another process's namespaces", async () => {
    const ns: Namespace = await createNamespace();
    try {
      const r = run('enter.js', [String(ns.pid), '/']);
      expectRan(r);
      // What the library says of the same path, asked directly.
      const session = await ns.enter();
      const st = await session.lstat('/');
      const mounts = (await session.mounts()).length;
      await session.close();
      expect(r.stdout).toBe(`/: uid ${st.uid} in the namespace, ${st.hostUid} on the host\n${mounts} mounts in its mount namespace\n`);
    } finally {
      await ns.close();
    }
  });

  describe('with podman', () => {
    const gate = requires(podmanImage);
    gate.test('seed.js lists the top of both containers as the container and the host see them', () => {
      ensurePodmanScenario();
      const r = run('seed.js');
      expectRan(r);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      const storage = podman.storageConfig();
      expect(lines).toContain(`contenedor1 0 ${ROOTFUL ? 0 : process.getuid!()} data`);
      expect(lines.filter((l) => l.startsWith('contenedor2 ')).length).toBeGreaterThan(5);
      expect(storage.rootless).toBe(!ROOTFUL);
    });

    gate.test('cleanup.js removes a volume a container filled, chowns, writes and copies into a container', () => {
      ensurePodmanScenario();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cleanup-'));
      try {
        const volume = path.join(dir, 'vol');
        const shared = path.join(dir, 'shared');
        const site = path.join(dir, 'site');
        for (const d of [volume, shared, site]) fs.mkdirSync(d);
        fs.writeFileSync(path.join(shared, 'f'), 'x');
        fs.writeFileSync(path.join(site, 'index.html'), '<h1>hi</h1>\n');
        // The container fills the volume as its uid 1000: subordinate ids on the host, rootless.
        pod([
          'run',
          '--rm',
          '--network',
          'none',
          '-v',
          `${volume}:/data`,
          IMAGE,
          'sh',
          '-c',
          'mkdir -m 700 /data/private && echo s > /data/private/s && chown -R 1000:1000 /data/private',
        ]);
        if (!ROOTFUL) expect(() => fs.rmSync(volume, { recursive: true })).toThrow(expect.objectContaining({ code: 'EACCES' }));
        const r = run('cleanup.js', [volume, shared, site]);
        expectRan(r);
        expect(fs.existsSync(volume)).toBe(false);
        expect(r.stdout).toContain(`removed ${volume}: 3 entries\n`);
        expect(r.stdout).toContain(`${shared} now belongs to 1000 in the container\n`);
        expect(r.stdout).toContain('copied 2 entries to /tmp/site\n');
        expect(pod(['exec', 'contenedor1', 'cat', '/tmp/site/index.html'])).toBe('<h1>hi</h1>\n');
        expect(pod(['exec', 'contenedor1', 'stat', '-c', '%u %g %a', '/home/user/.config/app.conf'])).toBe('1000 1000 600\n');
      } finally {
        pod(['exec', 'contenedor1', 'rm', '-rf', '/tmp/site', '/home/user/.config']);
        // `shared` now belongs to the container's 1000: removed where that id is mapped.
        pod(
          ROOTFUL
            ? ['run', '--rm', '--network', 'none', '-v', `${dir}:/d`, IMAGE, 'rm', '-rf', '/d/shared']
            : ['unshare', 'rm', '-rf', path.join(dir, 'shared')],
        );
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    gate.test('volumes.js: a filled volume backed up, chowned, emptied and restored as the container saw it', () => {
      const name = `unshare-fs-example-vol-${process.pid}`;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-volumes-'));
      const list = 'find /data | sort | while read f; do stat -c "%n %u %g %a" "$f"; done';
      const view = (): string => pod(['run', '--rm', '--network', 'none', '-v', `${name}:/data`, IMAGE, 'sh', '-c', list]);
      try {
        pod(['volume', 'create', name]);
        pod([
          'run',
          '--rm',
          '--network',
          'none',
          '-v',
          `${name}:/data`,
          IMAGE,
          'sh',
          '-ec',
          'mkdir -m 700 /data/p && echo s > /data/p/s && chown -R 1000:1000 /data/p && ln -s p/s /data/l',
        ]);
        const before = view();
        const r = run('volumes.js', [name, path.join(dir, 'backup.tar')]);
        expectRan(r);
        expect(r.stdout).toBe(
          `${name}: ${podman.volume(name).mountPoint}, used by 0 container(s)\n` +
            `chowned 4 entries to 1000:1000\nemptied: 0 entries left\nrestored 3 entries from ${path.join(dir, 'backup.tar')}\n`,
        );
        // The tar holds what is in the volume, not its root (as podman's does): the root keeps the chown.
        expect(view()).toBe(before.replace(/^\/data 0 0 /, '/data 1000 1000 '));
      } finally {
        pod(['volume', 'rm', '-f', name]);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    gate.test('layers.js: diff, export, the image unpacked with its owners, du and df', () => {
      ensurePodmanScenario();
      const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('layers-'));
      const r = run('layers.js', ['contenedor1', IMAGE, '/home/user']);
      expectRan(r);
      expect(r.stdout).toMatch(/^A \/data\/hello\.txt$/m);
      expect(r.stdout).toMatch(/^c1\.tar: \d+ bytes$/m);
      expect(r.stdout).toMatch(/^the image's \/home\/user: uid 1000 in the namespace, \d+ on the host$/m);
      expect(r.stdout).toMatch(/entries: \d+, apparentBytes: \d+/);
      // What it unpacked (owned by subordinate ids) is gone.
      expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('layers-'))).toEqual(before);
    });

    gate.test('layers.js on defaults, and on a path the image lacks: it fails saying so, and leaves nothing, mounts included', () => {
      ensurePodmanScenario();
      const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('layers-'));
      const byDefault = run('layers.js');
      expectRan(byDefault);
      expect(byDefault.stdout).toMatch(/^the image's \/: uid 0 in the namespace, \d+ on the host$/m);
      const missing = run('layers.js', ['contenedor1', IMAGE, '/no/such/path']);
      expect({ status: missing.status, stderr: missing.stderr }).toEqual({
        status: 1,
        stderr: expect.stringMatching(/^ENOENT: .*no\/such\/path/),
      });
      expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('layers-'))).toEqual(before);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toMatch(/\/layers-/);
    });
  });

  requires(dockerImage).test('docker.js lists every engine, reads a 0700 dir, diffs, and mounts a stopped container', async () => {
    ensureDockerScenario();
    const r = run('docker.js', [], REPO);
    const other = run('docker.js', ['dcontenedor2', STOPPED, '/data'], REPO);
    expectRan(r);
    const c = docker.container('dcontenedor1');
    expect(r.stdout).toContain(`docker dcontenedor1 pid ${c.pid} ${c.upperDir}\n`);
    expect(r.stdout).toContain(`docker ${STOPPED} stopped ${docker.container(STOPPED).upperDir}\n`);
    const storage = await docker.enterStorage();
    try {
      expect(r.stdout).toContain(`1000:1000 700 (host ${storage.toHostUid(1000)}) /home/user/private\n`);
    } finally {
      await storage.close();
    }
    expect(r.stdout).toContain('user secret of dcontenedor1\n');
    expect(r.stdout).toContain('added /home/user/private/secret.txt\n');
    // The stopped container's /, from its mounted layers, as docker export has it.
    const exported = spawnSync('sh', ['-c', `"$0" export "$1" | tar -t`, DOCKER, STOPPED], {
      encoding: 'utf8',
      env: dockerEnv(),
      maxBuffer: 1 << 28,
    });
    expect(exported.status).toBe(0);
    const top = [
      ...new Set(
        exported.stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.replace(/^\.?\//, '').split('/')[0]!),
      ),
    ].filter((n) => n !== '');
    expect(r.stdout.trimEnd().split('\n').pop()!.split(' ').sort()).toEqual(top.sort());
    // Other arguments: another container, another directory walked and read.
    expectRan(other);
    expect(other.stdout).toContain(`docker dcontenedor2 pid ${docker.container('dcontenedor2').pid}`);
    expect(other.stdout).toMatch(/ \/data\/hello\.txt\n/);
  });
});

// What the library creates for mounts is removed even when the program
// never closes it: a child process mounts layers (lib/engine/mount.ts),
// prints its mount point, and then exits, is killed by SIGTERM or SIGINT, or
// handles SIGINT itself; the directory must be gone afterwards, and the
// child must end as it would have without the library's hooks.  A child
// SIGKILLed while holding a fuse-overlayfs mount (the way mountContainer
// and mountImage read fuse-overlayfs stores) must leave no process behind:
// fuse-overlayfs's daemon leaves its parent, and alone would keep the
// namespace and the mount alive.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { processesInMountNamespace, waitMountNamespaceEmpty } from './helpers/procs';
import { fuseOverlayfs, requires, userNamespaces } from './helpers/requirements';

const MOUNT = path.resolve(__dirname, '../dist/engine/mount.js');
const ERRORS = path.resolve(__dirname, '../dist/podman/errors.js');

let layers: string;
beforeAll(() => {
  layers = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-exit-'));
  fs.chmodSync(layers, 0o755);
  for (const name of ['top', 'bottom']) {
    fs.mkdirSync(path.join(layers, name), { mode: 0o755 });
    fs.writeFileSync(path.join(layers, name, `${name}.txt`), name);
  }
});
afterAll(() => fs.rmSync(layers, { recursive: true, force: true }));

/** Runs a child that mounts the layers, prints the target, then does `then`; resolves with its target and how it ended. */
function child(
  then: string,
  signal?: NodeJS.Signals,
): Promise<{ target: string; code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  const script = `
    const { mountLayers } = require(${JSON.stringify(MOUNT)});
    const { podmanErrors } = require(${JSON.stringify(ERRORS)});
    const dirs = ${JSON.stringify(['top', 'bottom'].map((n) => path.join(layers, n)))};
    mountLayers(dirs, 'test layers', {}, {}, podmanErrors).then(async (m) => {
      const seen = (await m.session.readdir('/')).sort().join(',');
      console.log(m.target + ' ' + seen);
      ${then}
    }, (e) => { console.error(e); process.exit(3); });`;
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (signal && stdout.includes('\n')) {
        const s = signal;
        signal = undefined;
        setTimeout(() => proc.kill(s), 200);
      }
    });
    proc.on('error', reject);
    // The first word the child printed (split gives one string at least).
    proc.on('close', (code, sig) => resolve({ target: stdout.split(' ')[0]!, code, signal: sig, stdout }));
  });
}

requires(userNamespaces).describe('mount points removed without close()', () => {
  test('the program exits without closing: exit code kept, dir gone', async () => {
    const r = await child('process.exit(7);');
    expect(r.stdout).toMatch(/ bottom\.txt,top\.txt\n$/);
    expect(r.code).toBe(7);
    expect(r.target).toMatch(/unshare-fs-mount-/);
    expect(fs.existsSync(r.target)).toBe(false);
  });

  test.each(['SIGTERM', 'SIGINT'] as const)('killed by %s: dies of that signal, dir gone', async (sig) => {
    const r = await child('setInterval(() => {}, 1000);', sig);
    expect(r.signal).toBe(sig);
    expect(r.target).toMatch(/unshare-fs-mount-/);
    expect(fs.existsSync(r.target)).toBe(false);
  });

  test('a program that handles SIGINT itself keeps running; its later exit removes the dir', async () => {
    const r = await child(
      `process.on('SIGINT', () => { console.log('handled ' + require('fs').existsSync(m.target)); setTimeout(() => process.exit(0), 100); });
       setInterval(() => {}, 1000);`,
      'SIGINT',
    );
    expect(r.stdout).toContain('handled true');
    expect(r.code).toBe(0);
    expect(fs.existsSync(r.target)).toBe(false);
  });

  test('an idle program with a mount open and closed ends on its own (no handler keeps it alive)', async () => {
    const r = await child('await m.close();');
    expect(r.code).toBe(0);
    expect(fs.existsSync(r.target)).toBe(false);
  });
});

requires(userNamespaces, fuseOverlayfs).describe('a fuse-overlayfs mount when its program is SIGKILLed', () => {
  test('no fuse-overlayfs daemon, holder or worker of it is left', async () => {
    const script = `
      const { mountLayers } = require(${JSON.stringify(MOUNT)});
      const { podmanErrors } = require(${JSON.stringify(ERRORS)});
      const dirs = ${JSON.stringify(['top', 'bottom'].map((n) => path.join(layers, n)))};
      mountLayers(dirs, 'test layers', {}, {}, podmanErrors, 'fuse-overlayfs').then(async (m) => {
        const seen = (await m.session.readdir('/')).sort().join(',');
        console.log(JSON.stringify({ target: m.target, holder: m.namespace.pid, seen }));
        setInterval(() => {}, 1000);
      }, (e) => { console.error(e); process.exit(3); });`;
    const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => proc.on('close', (_code, sig) => resolve(sig)));
    let stdout = '';
    const line = await new Promise<string>((resolve, reject) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
      });
      proc.on('error', reject);
      proc.on('close', () => reject(new Error(`the child ended before mounting: ${stdout}`)));
    });
    const { target, holder, seen } = JSON.parse(line) as { target: string; holder: number; seen: string };
    try {
      expect(seen).toBe('bottom.txt,top.txt');
      const mntNs = fs.readlinkSync(`/proc/${holder}/ns/mnt`);
      // The daemon is there to be left behind: the test can see it.
      const before = processesInMountNamespace(mntNs);
      expect(before.filter((p) => p.endsWith(' fuse-overlayfs')).length).toBeGreaterThan(0);
      proc.kill('SIGKILL');
      expect(await ended).toBe('SIGKILL');
      // The kernel ends them one after the other: wait generously.
      expect({ before, left: await waitMountNamespaceEmpty(mntNs) }).toEqual({ before, left: [] });
    } finally {
      proc.kill('SIGKILL');
      // The mount went with the namespace; its empty dir stays on the host.
      try {
        fs.rmdirSync(target);
      } catch {
        // gone
      }
    }
  });
});

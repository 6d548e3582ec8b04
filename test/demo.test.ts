// The README's first command: the demo on its embedded default.
import { execFile, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const demo = path.join(__dirname, '../dist/demo/main.js');

test('the demo lists the generated overlay from inside, with both owners, and the host sees it empty', async () => {
  const { stdout } = await run(process.execPath, [demo, '--no-podman']);
  const lines = stdout.split('\n');
  const row = (suffix: string): string | undefined => lines.find((l) => l.endsWith(`  ${suffix}`));
  expect(row('shadowed.txt')).toMatch(/^-rw-r--r--/);
  expect(row('opt/old/new')).toBeDefined();
  expect(row('gone.txt')).toBeUndefined();
  expect(row('opt/old/stale')).toBeUndefined();
  expect(row('etc-link -> /etc/os-release')).toMatch(/^lrwxrwxrwx/);
  const key = row('home/user/private/key');
  expect(key).toMatch(/^-rw-------/);
  if (process.geteuid!() !== 0) expect(stdout).not.toContain('(you are root)');
  if (stdout.includes('nothing can be owned by uid 1000')) {
    expect(key).toMatch(/^\S+\s+0:0\s/);
  } else {
    // Container view 1000:1000 and a host view that is the mapped id.
    const [, inside, outside] = /^\S+\s+(\S+)\s+(\S+)/.exec(key!)!;
    expect(inside).toBe('1000:1000');
    expect(outside).toMatch(/^\d+:\d+$/);
  }
  expect(stdout).toContain('the same directory from the host: [] (mounted only inside the namespace)');
  expect(stdout).toMatch(/\n14 entries, \d+ bytes, listed from inside the namespace; [\d.]+ ms in all\n/);
});

describe('the demo leaves nothing behind', () => {
  let tmp: string;
  beforeEach(() => {
    // A TMPDIR of its own: other demo runs on the machine do not count.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-demo-test-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('piped into head -1 (EPIPE): it exits 0 and its directory is gone', () => {
    const r = spawnSync('sh', ['-c', `"$0" "$1" --no-podman | head -1; exit 0`, process.execPath, demo], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: tmp },
      timeout: 30000,
    });
    expect(r.stdout).toMatch(/^namespace: holder pid \d+/);
    expect(r.stdout.split('\n')).toHaveLength(2);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test.each(['SIGINT', 'SIGTERM'] as const)('interrupted by %s: it dies of the signal and its directory is gone', async (signal) => {
    const child = spawn(process.execPath, [demo, '--no-podman'], { env: { ...process.env, TMPDIR: tmp, UNSHARE_FS_DEMO_HOLD: '1' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // The listing is printed: everything is made, the demo holds.
      if (!sent && stdout.includes('the same directory from the host')) sent = child.kill(signal);
    });
    expect(await ended).toBe(signal);
    expect(stderr).toBe('');
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

test("Ctrl-C (SIGINT to the whole process group) still lets the demo clean up: the namespace's holder outlives it", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-demo-test-'));
  try {
    // detached: a process group of its own, as a terminal's foreground job is.
    const child = spawn(process.execPath, [demo, '--no-podman'], {
      detached: true,
      env: { ...process.env, TMPDIR: tmp, UNSHARE_FS_DEMO_HOLD: '1' },
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Twice, as an impatient user does: the second must not cut the cleanup short.
      if (!sent && stdout.includes('the same directory from the host')) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
        setImmediate(() => {
          try {
            process.kill(-child.pid!, 'SIGINT');
          } catch {
            // the whole group is gone already
          }
        });
      }
    });
    expect(await ended).toBe('SIGINT');
    expect(stderr).toBe('');
    expect(fs.readdirSync(tmp)).toEqual([]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// The README's first command: the demo on its embedded default.
import { execFile } from 'node:child_process';
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

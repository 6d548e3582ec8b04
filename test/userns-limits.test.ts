// When the kernel refuses a user namespace, createNamespace()'s error names
// the sysctl that explains it and its value (lib/ns/userns.ts). ENOSPC is made
// for real: the child runs in a user namespace of its own whose
// user.max_user_namespaces (a per-namespace limit its root may lower) is 0.
// The host's sysctl is never changed.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { UnshareFsError } from '../lib/core/errors';
import { explainUserNamespaceError } from '../lib/ns/userns';
import { requires, userNamespaces } from './helpers/requirements';

const LIB = path.resolve(__dirname, '../dist/index.js');

requires(userNamespaces).describe('user namespaces exhausted', () => {
  test('ENOSPC names user.max_user_namespaces and its value', () => {
    const script = `require(${JSON.stringify(LIB)}).createNamespace().then(
      (ns) => { console.log(JSON.stringify({ ok: true })); return ns.close(); },
      (e) => console.log(JSON.stringify({ code: e.code, message: e.message, sysctl: e.sysctl })))`;
    const run = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        'sh',
        '-c',
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" -e "$1"',
        process.execPath,
        script,
      ],
      { encoding: 'utf8', timeout: 20000 },
    );
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { code: string; message: string; sysctl: unknown };
    expect(result.code).toBe('ENOSPC');
    expect(result.sysctl).toEqual({ name: 'user.max_user_namespaces', value: '0' });
    expect(result.message).toMatch(/user\.max_user_namespaces is 0/);
  });
});

describe('explainUserNamespaceError', () => {
  test('EPERM gets a hint and keeps its code; the library own refusals and other codes are left alone', () => {
    const eperm = Object.assign(new Error('EPERM: operation not permitted, unshare'), { code: 'EPERM' });
    const explained = explainUserNamespaceError(eperm) as Error & { code: string };
    expect(explained.code).toBe('EPERM');
    expect(explained.message).toMatch(
      /^EPERM: operation not permitted, unshare \(.*(apparmor_restrict_unprivileged_userns|unprivileged_userns_clone|max_user_namespaces|seccomp).*\)$/,
    );
    const own = new UnshareFsError('EPERM', 'unshare-fs: only root can choose the id maps of a namespace');
    expect((explainUserNamespaceError(own) as Error).message).toBe('unshare-fs: only root can choose the id maps of a namespace');
    const other = Object.assign(new Error('ENOENT: x'), { code: 'ENOENT' });
    expect((explainUserNamespaceError(other) as Error).message).toBe('ENOENT: x');
  });
});

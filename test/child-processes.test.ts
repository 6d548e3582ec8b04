// The processes the library forks (workers, holders, commands run with
// exec()): what they inherit from node, how they die with it, and how they
// are waited for and ended.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, type Namespace } from '../lib';
import { native } from '../lib/wire/native';
import { childPids, isGone, processesInMountNamespace, waitGone, waitMountNamespaceEmpty } from './helpers/procs';
import { requires, subuidRange } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const fixture = path.join(__dirname, 'fixtures/namespace-children.js');
// Inside uid 0 is an ordinary host uid: a map of the kind another user's
// rootless namespace has, seen from root.
const UNPRIVILEGED_MAP = [{ inside: 0, outside: 165536, count: 65536 }];
const asRoot = process.geteuid!() === 0;
/** A suite that exists only for root: not registered at all for an ordinary user. */
const describeNotForUsers = (_name: string, _body: () => void): void => undefined;

let ns: Namespace;
let dir: string;

beforeAll(async () => {
  ns = await createNamespace();
  dir = tempDir();
  fs.chmodSync(dir, 0o755);
});

afterAll(async () => {
  await ns?.close();
  if (dir) removeTree(dir);
});

/** The supplementary groups of a process, from /proc/PID/status. */
function groupsOf(pid: number | 'self'): number[] {
  const [, line] = /^Groups:(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8')) ?? [];
  if (line === undefined) throw new Error(`no Groups: line in /proc/${pid}/status`);
  return line.trim() === '' ? [] : line.trim().split(/\s+/).map(Number);
}

describe('dying with node after a credential change', () => {
  // Root's children change credentials on the join (uid 0 inside is an
  // ordinary host uid); an ordinary user's keep theirs.  Both must die.
  const title = asRoot ? 'whose namespace maps uid 0 elsewhere' : 'in a namespace of its own';
  test(`the worker, the holder and an exec()ed command die with a killed parent ${title}`, async () => {
    const map = asRoot ? JSON.stringify(UNPRIVILEGED_MAP) : 'null';
    const parent = spawn(process.execPath, [fixture, 'orphans', map], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
      });
      parent.once('exit', (code) => reject(new Error(`fixture exited with ${code} before reporting`)));
    });
    const children = JSON.parse(line) as { holder: number; worker: number; command: number };
    try {
      parent.kill('SIGKILL');
      await exited;
      expect({
        holder: await waitGone(children.holder),
        worker: await waitGone(children.worker),
        command: await waitGone(children.command),
      }).toEqual({ holder: true, worker: true, command: true });
    } finally {
      for (const pid of Object.values(children)) if (!isGone(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

// Root's own groups, lent to a worker that is not root on the host: only
// root has groups to lend that way (an ordinary user's are checked below).
(asRoot ? describe : describeNotForUsers)('no supplementary groups', () => {
  let groups: number[];
  let mapped: Namespace;

  // Root's groups as a login shell gives them: a process of ours that has
  // group 0 must not lend it to a worker that is not root on the host.
  beforeAll(async () => {
    groups = groupsOf('self'); // process.getgroups() adds the egid
    process.setgroups!([0]);
    mapped = await createNamespace({ uidMap: UNPRIVILEGED_MAP });
  });

  afterAll(async () => {
    await mapped?.close();
    if (groups) process.setgroups!(groups);
  });

  test("a worker that is uid 0 only inside cannot read a root:root 0640 host file through node's group 0", async () => {
    const secret = path.join(dir, 'secret');
    fs.writeFileSync(secret, 'secret\n', { mode: 0o640 });
    fs.chmodSync(secret, 0o640);
    const session = await mapped.enter();
    try {
      expect(groupsOf(session.workerPid)).toEqual([]);
      await expect(session.readFile(secret)).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      await session.close();
    }
  });

  test('an exec()ed command has no supplementary groups', async () => {
    const outDir = fs.mkdtempSync(path.join(dir, 'out-'));
    fs.chmodSync(outDir, 0o777);
    const out = path.join(outDir, 'groups');
    const status = await mapped.exec(['sh', '-c', 'grep "^Groups:" /proc/self/status > "$0"', out]);
    expect(status).toEqual({ code: 0, signal: null });
    expect(fs.readFileSync(out, 'utf8').trim()).toBe('Groups:');
  });
});

// An ordinary user may drop its groups only inside a namespace whose
// gid_map newgidmap wrote (setgroups allowed there).
requires(...(asRoot ? [] : [subuidRange])).test(
  'in a namespace of our own, the worker and an exec()ed command have no supplementary groups either',
  async () => {
    const own = await createNamespace(asRoot ? {} : { subids: 'require' });
    try {
      const session = await own.enter();
      expect(groupsOf(session.workerPid)).toEqual([]);
      await session.close();
      const outDir = fs.mkdtempSync(path.join(dir, 'own-'));
      const out = path.join(outDir, 'groups');
      expect(await own.exec(['sh', '-c', 'grep "^Groups:" /proc/self/status > "$0"', out])).toEqual({ code: 0, signal: null });
      expect(fs.readFileSync(out, 'utf8').trim()).toBe('Groups:');
    } finally {
      await own.close();
    }
  },
);

describe('a worker_thread that ends with everything open', () => {
  test.each(['session', 'exec'])('leaves no process, zombie or crash behind (%s)', async (kind) => {
    const child = spawn(process.execPath, [fixture, 'thread', kind], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const { opened, left } = JSON.parse(stdout) as { opened: Record<string, number>; left: string[] };
    expect(Object.keys(opened).length).toBe(kind === 'exec' ? 3 : 2);
    expect(left).toEqual([]);
  });
});

describe('waiting for children', () => {
  test('commands waiting to exit hold no libuv pool thread: fs.promises and session.close() finish first', async () => {
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const session = await ns.enter();
    const order: string[] = [];
    const commands = Array.from({ length: poolSize + 2 }, () =>
      ns.exec(['sleep', '2']).then((status) => {
        order.push('exec');
        return status;
      }),
    );
    const read = fs.promises.readFile(__filename).then(() => order.push('readFile'));
    const closed = session.close().then(() => order.push('close'));
    const statuses = await Promise.all(commands);
    await Promise.all([read, closed]);
    expect(statuses.every((s) => s.code === 0)).toBe(true);
    expect(order.slice(0, 2).sort()).toEqual(['close', 'readFile']);
    expect(isGone(session.workerPid)).toBe(true);
  });

  test('close() ends a stopped worker', async () => {
    const session = await ns.enter();
    process.kill(session.workerPid, 'SIGSTOP');
    await session.close();
    expect(session.exit).toEqual({ code: null, signal: 9 });
    expect(isGone(session.workerPid)).toBe(true);
    expect(childPids()).not.toContain(session.workerPid);
  });

  test('close() ends a worker whose walk nobody reads any more', async () => {
    const session = await ns.enter();
    const walk = session.walk('/usr', { stat: true })[Symbol.asyncIterator]();
    expect((await walk.next()).done).toBe(false);
    await session.close();
    expect(isGone(session.workerPid)).toBe(true);
    expect(childPids()).not.toContain(session.workerPid);
  });
});

describe('what an exec()ed command inherits', () => {
  test('no fd but stdio, whatever node holds without close-on-exec', async () => {
    const out = path.join(fs.mkdtempSync(path.join(dir, 'fds-')), 'fds');
    // A shell's redirection leaves fd 20 open without close-on-exec, and node
    // keeps it so (node sets close-on-exec on some low fds it inherits).
    const child = spawn('bash', ['-c', 'exec "$0" "$1" exec-fds "$2" 20</dev/null', process.execPath, fixture, out], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    const { inherited, status } = JSON.parse(stdout) as { inherited: string[]; status: unknown };
    expect(inherited).toContain('/dev/null');
    expect(status).toEqual({ code: 0, signal: null });
    const fds = new Map<number, string>();
    for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
      const [, fd, target] = / (\d+) -> (.*)$/.exec(line) ?? [];
      if (fd !== undefined && target !== undefined) fds.set(Number(fd), target);
    }
    expect([0, 1, 2].every((fd) => fds.has(fd))).toBe(true);
    // ls itself holds the directory it lists.
    const others = [...fds].filter(([fd, target]) => fd > 2 && !/^\/proc\/\d+\/fd$/.test(target));
    expect(others).toEqual([]);
  });

  test('what it leaves running in the background ends with the namespace (its pid namespace)', async () => {
    const own = await createNamespace();
    const mntNs = fs.readlinkSync(`/proc/${own.pid}/ns/mnt`);
    try {
      expect(await own.exec(['sh', '-c', 'sleep 600 </dev/null >/dev/null 2>&1 &'])).toEqual({ code: 0, signal: null });
      // The shell's child, which may not have exec'd sleep yet.
      expect(processesInMountNamespace(mntNs).filter((p) => !/ unshare-fs/.test(p)).length).toBe(1);
    } finally {
      await own.close();
    }
    expect(await waitMountNamespaceEmpty(mntNs)).toEqual([]);
  });

  test('an argument with a NUL byte is refused, not cut short', async () => {
    await expect(ns.exec(['sh', '-c', 'exit 3\0; exit 0'])).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    await expect(ns.exec(['true\0ignored'])).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(() => native().spawnCommand(ns.pid, ['sh', '-c', 'exit 3\0'])).toThrow(expect.objectContaining({ name: 'TypeError' }));
  });
});

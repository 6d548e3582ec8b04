// Tests that need a component of the machine (root, a subuid range, podman,
// bfs, a second user ...) declare it, and are skipped with a plain reason
// when it is missing — or, with UNSHARE_FS_REQUIRE_ALL=1 (set by .ci/run),
// fail instead, so CI never passes by skipping.
//
//   import { requires, root, subuidRange, podman } from './helpers/requirements';
//   const ns = requires(subuidRange, userNamespaces);
//   ns.describe('sessions as an ordinary user', () => { ... });
//   requires(podman).it('enters a podman container', async () => { ... });
//   if (requires(bfs).why === null) { ...optional extra check... }
//
// Missing component, default: the returned describe/it are the skip variants,
// titles end in ` [skipped: <why>]`, and one stderr line per suite says
// `skipping <suite>: <why>`.
// Missing component, UNSHARE_FS_REQUIRE_ALL=1: the returned `it` registers a
// test that fails with `Error: required component missing: <why>`; the
// returned `describe` registers the suite with one such failing test in
// place of its body.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A component a test needs. `check()` returns true when it is there; false
 *  or a string saying what is missing when not. */
export interface Requirement {
  name: string;
  check(): boolean | string;
}

export type Mode = 'run' | 'skip' | 'fail';

/** The second, ordinary user that root's tests run sub-tests as. */
export const TEST_USER = process.env.UNSHARE_FS_TEST_USER || 'unsharefs';

export function requireAll(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.UNSHARE_FS_REQUIRE_ALL;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** A requirement whose check runs once per process. */
export function requirement(name: string, check: () => boolean | string): Requirement {
  let cached: boolean | string | undefined;
  return {
    name,
    check() {
      if (cached === undefined) {
        try {
          cached = check();
        } catch (err) {
          cached = `check failed: ${(err as Error).message}`;
        }
      }
      return cached;
    },
  };
}

/** The reason a requirement is not met, or null when it is. */
export function reasonOf(name: string, result: boolean | string): string | null {
  if (result === true) return null;
  if (result === false || result === '') return `${name} not available`;
  return `${name}: ${result}`;
}

/** Why the requirements are not met (all reasons, joined), or null. */
export function whyMissing(reqs: readonly Requirement[]): string | null {
  const reasons = reqs.map((r) => reasonOf(r.name, r.check())).filter((r): r is string => r !== null);
  return reasons.length === 0 ? null : reasons.join('; ');
}

/** The pure decision: run when nothing is missing, else skip or fail. */
export function decide(why: string | null, requireAllComponents: boolean): Mode {
  if (why === null) return 'run';
  return requireAllComponents ? 'fail' : 'skip';
}

export function skippedTitle(title: string, why: string): string {
  return `${title} [skipped: ${why}]`;
}

export function missingError(why: string): Error {
  return new Error(`required component missing: ${why}`);
}

// ----------------------------------------------------------------- helpers

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable in $PATH (or the usual system dirs), or null. */
export function which(bin: string): string | null {
  const dirs = [...(process.env.PATH || '').split(':').filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function run(cmd: string, args: string[], timeoutMs = 15000): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { ok: false, out: r.error.message };
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return { ok: r.status === 0, out: out || (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`) };
}

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** A user from the passwd database (getent, so NSS sources count), or null. */
export function lookupUser(name: string): UserInfo | null {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  let line = r.status === 0 ? r.stdout.split('\n')[0] : undefined;
  if (line === undefined) {
    try {
      line = fs
        .readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.split(':')[0] === name);
    } catch {
      line = undefined;
    }
  }
  if (!line) return null;
  const [userName, , uid, gid, , home] = line.split(':');
  if (userName === undefined || home === undefined) throw new Error(`lookupUser(${name}): not a passwd line: ${line}`);
  return { name: userName, uid: Number(uid), gid: Number(gid), home };
}

/** The user running the tests. */
export function currentUser(): UserInfo {
  const info = os.userInfo();
  return { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir };
}

export interface SubidRange {
  start: number;
  count: number;
}

/** The first range of `user` (by name or uid) in /etc/subuid or /etc/subgid. */
export function subidRange(file: string, user: UserInfo): SubidRange | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if ((who === user.name || who === String(user.uid)) && start !== undefined && count !== undefined) {
      const s = Number(start);
      const c = Number(count);
      if (Number.isInteger(s) && Number.isInteger(c) && c > 0) return { start: s, count: c };
    }
  }
  return null;
}

/** The size of range the namespace fixtures map (1..65536 inside). */
export const SUBID_COUNT = 65536;

function idMapperProblem(bin: string): string | null {
  const p = which(bin);
  if (p === null) return `${bin} not installed (Debian package uidmap)`;
  const st = fs.statSync(p);
  if (st.uid === 0 && (st.mode & 0o4000) !== 0) return null;
  // Not setuid root: accept file capabilities (getcap shows cap_setuid/cap_setgid).
  const g = run('getcap', [p]);
  if (g.ok && /cap_set[ug]id/.test(g.out)) return null;
  return `${p} is neither setuid root nor has cap_setuid/cap_setgid`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Where rootless podman keeps its pause pid for the current user. */
export function pausePidFiles(uid = currentUser().uid): string[] {
  const dirs = [process.env.XDG_RUNTIME_DIR, `/run/user/${uid}`, `/tmp/podman-run-${uid}`].filter((d): d is string => !!d);
  return [...new Set(dirs)].map((d) => path.join(d, 'libpod', 'tmp', 'pause.pid'));
}

// ----------------------------------------------------- ready-made requirements

export const root = requirement('root', () => {
  const euid = process.geteuid?.() ?? -1;
  return euid === 0 || `not running as root (euid ${euid})`;
});

export const nonRoot = requirement('nonRoot', () => process.geteuid?.() !== 0 || 'running as root');

export const newuidmap = requirement('newuidmap', () => {
  const problems = ['newuidmap', 'newgidmap'].map(idMapperProblem).filter((p): p is string => p !== null);
  return problems.length === 0 || problems.join(', ');
});

/** A subuid and subgid range for `user` of at least SUBID_COUNT ids, plus newuidmap/newgidmap. */
export function subuidRangeFor(user: string | UserInfo): Requirement {
  return requirement('subuidRange', () => {
    const u = typeof user === 'string' ? lookupUser(user) : user;
    if (u === null) return `no user ${typeof user === 'string' ? user : user.name}`;
    const problems: string[] = [];
    // The files the library reads: UNSHARE_FS_SUBUID/SUBGID stand in for them (lib/ns/subids.ts).
    for (const file of [process.env.UNSHARE_FS_SUBUID || '/etc/subuid', process.env.UNSHARE_FS_SUBGID || '/etc/subgid']) {
      const r = subidRange(file, u);
      if (r === null) problems.push(`no range for ${u.name} in ${file}`);
      else if (r.count < SUBID_COUNT) problems.push(`range for ${u.name} in ${file} has ${r.count} ids, need ${SUBID_COUNT}`);
    }
    const m = newuidmap.check();
    if (m !== true) problems.push(reasonOf('newuidmap', m) as string);
    return problems.length === 0 || problems.join(', ');
  });
}

export const subuidRange = subuidRangeFor(currentUser());

/**
 * A reason with what a tool said: its last line that is not a warning
 * (podman prints `level=warning msg=...` lines before its error), or the
 * reason alone when it said nothing else.
 */
export function withDetail(reason: string, said: string): string {
  const last = said
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/level=warn/.test(l))
    .pop();
  return last === undefined ? reason : `${reason}: ${last}`;
}

/**
 * Notes that this run started an engine's test scenario as `user`, so that
 * test/global-teardown.js stops it when the run ends.
 */
export function noteStarted(engine: 'podman' | 'docker', user: string): void {
  const dir = process.env.UNSHARE_FS_RUN_DIR;
  if (dir) fs.writeFileSync(path.join(dir, `started-${engine}`), `${user}\n`);
}

/** Where rootful podman keeps its storage by default (podman creates it on first use). */
export const ROOTFUL_PODMAN_STORAGE = '/var/lib/containers/storage';

/**
 * podman set up for this user, found without running podman: a first
 * `podman` command makes storage, config and (rootless) a pause process
 * that outlives the tests, so the tests ask podman nothing until this holds.
 */
export const podman = requirement('podman', () => {
  if (which('podman') === null) return 'podman not installed (Debian package podman; then scripts/podman-setup.sh)';
  if (process.geteuid?.() === 0) {
    // Rootful podman has no pause process: its storage says it was used; then ask it whether it works.
    if (!fs.existsSync(ROOTFUL_PODMAN_STORAGE))
      return `rootful podman never used here (no ${ROOTFUL_PODMAN_STORAGE}; run scripts/podman-setup.sh root)`;
    const r = run('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], 30000);
    return r.ok || withDetail('podman info failed as root', r.out);
  }
  const files = pausePidFiles();
  for (const f of files) {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(f, 'utf8').trim());
    } catch {
      continue;
    }
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) return true;
    return `pause process ${pid} from ${f} is not running (run scripts/podman-setup.sh)`;
  }
  return `no rootless pause process (none of ${files.join(', ')}; run scripts/podman-setup.sh)`;
});

export function command(bin: string, pkg?: string): Requirement {
  return requirement(bin, () => which(bin) !== null || `${bin} not installed${pkg ? ` (Debian package ${pkg})` : ''}`);
}

export const bfs = command('bfs', 'bfs');

/** The binary podman's storage.conf names as mount_program in the fuse-overlayfs tests. */
export const FUSE_OVERLAYFS = '/usr/bin/fuse-overlayfs';

/**
 * fuse-overlayfs installed and /dev/fuse open to this user: these VMs ship
 * it 0600 root until scripts/podman-setup.sh makes it 0666.
 */
export const fuseOverlayfs = requirement('fuseOverlayfs', () => {
  if (!fs.existsSync(FUSE_OVERLAYFS)) return `${FUSE_OVERLAYFS} not installed (Debian package fuse-overlayfs)`;
  try {
    fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK);
  } catch (error) {
    return `/dev/fuse not usable by uid ${process.geteuid?.()}: ${(error as NodeJS.ErrnoException).code} (run scripts/podman-setup.sh: it makes it 0666)`;
  }
  return true;
});

export const userNamespaces = requirement('userNamespaces', () => {
  if (which('unshare') === null) return 'unshare not installed (Debian package util-linux)';
  const r = run('unshare', ['-U', 'true']);
  return r.ok || `unshare -U true failed: ${r.out}`;
});

export const testUser = requirement('testUser', () => {
  const u = lookupUser(TEST_USER);
  if (u === null) return `no user ${TEST_USER} (run scripts/setup-test-user.sh ${TEST_USER})`;
  if (u.uid === 0) return `${TEST_USER} is uid 0, not an ordinary user`;
  return true;
});

/** The second user's passwd entry (throws when missing: guard with `testUser`). */
export function testUserInfo(): UserInfo {
  const u = lookupUser(TEST_USER);
  if (u === null) throw new Error(`no user ${TEST_USER}`);
  return u;
}

// --------------------------------------------------------------- requires()

const warned = new Set<string>();

function warnOnce(suite: string, why: string): void {
  const key = `${suite}\0${why}`;
  if (warned.has(key)) return;
  warned.add(key);
  process.stderr.write(`skipping ${suite}: ${why}\n`);
}

function currentTestFile(): string {
  let p: string | undefined;
  try {
    p = expect.getState().testPath ?? undefined;
  } catch {
    p = undefined;
  }
  return p ? path.relative(process.cwd(), p) : 'tests';
}

type AnyFn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
/** jest's `each` as the wrappers below call it: a table, then a title, a body and a timeout. */
type EachFn = (...table: unknown[]) => (title: string, fn: AnyFn, timeout?: number) => void;

function failingBody(why: string): () => never {
  return () => {
    throw missingError(why);
  };
}

function skipIt(why: string): jest.It {
  const g = globalThis.it;
  const wrap = (title: string, fn?: jest.ProvidesCallback, timeout?: number): void => {
    warnOnce(currentTestFile(), why);
    g.skip(skippedTitle(title, why), fn, timeout);
  };
  const each = ((...table: unknown[]) =>
    (title: string, fn: AnyFn, timeout?: number) => {
      warnOnce(currentTestFile(), why);
      (g.skip.each as EachFn)(...table)(skippedTitle(title, why), fn, timeout);
    }) as unknown as jest.Each;
  const it = Object.assign(wrap, { todo: g.todo, each }) as unknown as jest.It;
  Object.assign(it, { skip: it, only: it, concurrent: it, failing: it });
  return it;
}

function failIt(why: string): jest.It {
  const g = globalThis.it;
  const body = failingBody(why);
  const wrap = (title: string, _fn?: jest.ProvidesCallback, timeout?: number): void => {
    g(title, body, timeout);
  };
  const each = ((...table: unknown[]) =>
    (title: string, _fn: AnyFn, timeout?: number) => {
      (g.each as EachFn)(...table)(title, (..._args: unknown[]) => body(), timeout);
    }) as unknown as jest.Each;
  const it = Object.assign(wrap, { todo: g.todo, each }) as unknown as jest.It;
  // A skipped test stays skipped; .only and .concurrent still fail.
  Object.assign(it, { skip: g.skip, only: it, concurrent: it, failing: it });
  return it;
}

type DescribeName = Parameters<jest.Describe>[0];

function titleOf(name: DescribeName): string {
  return typeof name === 'function' ? name.name : String(typeof name === 'object' ? name.name : name);
}

function skipDescribe(why: string): jest.Describe {
  const g = globalThis.describe;
  const wrap = (name: DescribeName, fn: jest.EmptyFunction): void => {
    warnOnce(titleOf(name), why);
    g.skip(skippedTitle(titleOf(name), why), fn);
  };
  const each = ((...table: unknown[]) =>
    (title: string, fn: AnyFn) => {
      warnOnce(title, why);
      (g.skip.each as EachFn)(...table)(skippedTitle(title, why), fn);
    }) as unknown as jest.Each;
  const d = Object.assign(wrap, { each }) as unknown as jest.Describe;
  Object.assign(d, { skip: d, only: d });
  return d;
}

function failDescribe(why: string): jest.Describe {
  const g = globalThis.describe;
  const body = failingBody(why);
  const wrap = (name: DescribeName, _fn: jest.EmptyFunction): void => {
    g(titleOf(name), () => {
      globalThis.it('has its required components', body);
    });
  };
  const each = ((...table: unknown[]) =>
    (title: string, _fn: AnyFn) => {
      (g.each as EachFn)(...table)(title, () => {
        globalThis.it('has its required components', body);
      });
    }) as unknown as jest.Each;
  const d = Object.assign(wrap, { each }) as unknown as jest.Describe;
  Object.assign(d, { skip: g.skip, only: d });
  return d;
}

export interface Gate {
  /** describe, or its skip/fail stand-in when a requirement is missing. */
  describe: jest.Describe;
  /** it, or its skip/fail stand-in when a requirement is missing. */
  it: jest.It;
  /** The same as `it`. */
  test: jest.It;
  /** What is missing, or null when everything is there. */
  why: string | null;
  mode: Mode;
}

/** Gate tests on components of the machine. See the top of this file. */
export function requires(...reqs: Requirement[]): Gate {
  const why = whyMissing(reqs);
  const mode = decide(why, requireAll());
  if (why === null) return { describe: globalThis.describe, it: globalThis.it, test: globalThis.it, why, mode };
  const it = mode === 'fail' ? failIt(why) : skipIt(why);
  const describe = mode === 'fail' ? failDescribe(why) : skipDescribe(why);
  return { describe, it, test: it, why, mode };
}

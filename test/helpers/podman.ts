// Real podman for the end-to-end tests: run it as the current user (rootless
// for an ordinary user, rootful for root), and keep the seed scenario
// (scripts/podman-scenario.sh: contenedor1 and contenedor2) running.
import { execFileSync, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import { noteStarted, podman, requirement, withDetail } from './requirements';

export const UID = process.getuid ? process.getuid() : 0;
export const ROOTFUL = UID === 0;
export const IMAGE = 'localhost/unshare-fs-test';
export const SCENARIO = ['contenedor1', 'contenedor2'];
const SCENARIO_SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'podman-scenario.sh');
/** The scenario's containers run `sleep 1000000` (scripts/podman-scenario.sh): restart them when fewer than this many seconds are left. */
const SLEEP_SECONDS = 1000000;
const MIN_SECONDS_LEFT = 300;

/** The environment podman needs: ours, with XDG_RUNTIME_DIR for rootless podman. */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (ROOTFUL) return process.env;
  return { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || `/run/user/${UID}` };
}

/** Runs podman and returns its stdout (throws with its stderr on failure). */
export function pod(args: string[], options: { input?: string } = {}): string {
  try {
    return execFileSync('podman', args, {
      encoding: 'utf8',
      cwd: '/',
      env: podmanEnv(),
      maxBuffer: 1 << 28,
      input: options.input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as Error & { stderr?: string };
    e.message = `podman ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`;
    throw e;
  }
}

/** Runs podman; never throws. */
export function tryPod(args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', cwd: '/', env: podmanEnv(), maxBuffer: 1 << 28 });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() || String(r.error ?? '') };
}

/** podman installed and working for this user, with the test image built. */
export const podmanImage = requirement('podman', () => {
  const ready = podman.check();
  if (ready !== true) return ready;
  const r = tryPod(['image', 'exists', IMAGE]);
  if (!r.ok) {
    return withDetail(`image ${IMAGE} missing for uid ${UID} (run scripts/podman-setup.sh ${ROOTFUL ? 'root' : '<user>'})`, r.err);
  }
  return true;
});

function secondsLeft(name: string): number {
  const r = tryPod(['inspect', '--format', '{{.State.Running}} {{.State.StartedAt.Unix}}', name]);
  if (!r.ok) return -1;
  const [running, started] = r.out.split(' ');
  if (running !== 'true') return -1;
  return SLEEP_SECONDS - (Date.now() / 1000 - Number(started));
}

/**
 * Starts the seed scenario (scripts/podman-scenario.sh) unless both
 * containers are running with enough time left; returns their ids.
 */
export function ensureScenario(): string[] {
  if (!SCENARIO.every((n) => secondsLeft(n) > MIN_SECONDS_LEFT)) {
    const user = ROOTFUL ? 'root' : os.userInfo().username;
    execFileSync('bash', [SCENARIO_SCRIPT, 'start', user], {
      cwd: '/',
      env: { ...podmanEnv(), PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    noteStarted('podman', user);
  }
  return SCENARIO.map((n) => pod(['inspect', '--format', '{{.Id}}', n]).trim());
}

export interface GraphDriverData {
  LowerDir?: string;
  MergedDir?: string;
  UpperDir: string;
  WorkDir?: string;
}

export function graphDriverData(ref: string, kind: 'container' | 'image' = 'container'): GraphDriverData {
  return JSON.parse(pod([kind, 'inspect', '--format', '{{json .GraphDriver.Data}}', ref])) as GraphDriverData;
}

/** The code a promise rejects with; undefined when it resolves. */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/**
 * A running container of the test image with the seed scenario's files
 * (scripts/scenario-files.sh: /data, a 0700 dir of uid 1000 …), for a suite
 * that writes into a container: the scenario's own containers are compared,
 * live, with podman's diff and export by other suites that may run at the
 * same time.  Remove it with removeContainer().
 */
export function privateScenarioContainer(name: string, n = 1): string {
  tryPod(['rm', '-f', '-t', '0', name]);
  pod(['run', '-d', '--network', 'none', '--name', name, IMAGE, 'sleep', '1000000']);
  const files = path.join(__dirname, '..', '..', 'scripts', 'scenario-files.sh');
  const script = (fn: string, ...args: string[]): string =>
    execFileSync('bash', ['-c', `source "$1"; shift; "$@"`, 'bash', files, fn, ...args], { encoding: 'utf8' });
  pod(['exec', '-i', '--user', '0', name, 'sh', '-e'], { input: script('scenario_root_files', name, String(n)) });
  pod(['exec', '-i', '--user', '1000', name, 'sh', '-e'], { input: script('scenario_user_files', name) });
  return name;
}

/** Removes a container made by privateScenarioContainer() (never throws). */
export function removeContainer(name: string): void {
  tryPod(['rm', '-f', '-t', '0', name]);
}

/** podman's sizes: SI units, four significant digits (go-units HumanSizeWithPrecision). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/** The rows of one table of `podman system df -v`, split on runs of 2+ spaces. */
export function dfTable(text: string, title: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(title));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 3)) {
    if (line.trim() === '') break;
    rows.push(line.trim().split(/\s{2,}/));
  }
  return rows;
}

// Real Docker for the end-to-end tests: the package's CLI (/usr/bin/docker;
// /usr/local/bin may hold a newer client) talking to the current user's
// daemon (rootless for an ordinary user, rootful for root), and the scenario
// of scripts/docker-scenario.sh (dcontenedor1, dcontenedor2 running,
// dstopped stopped) kept up.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { noteStarted, requirement, withDetail } from './requirements';

export const UID = process.getuid ? process.getuid() : 0;
export const ROOTFUL = UID === 0;
export const DOCKER = '/usr/bin/docker';
export const IMAGE = 'unshare-fs-test';
export const RUNNING = ['dcontenedor1', 'dcontenedor2'];
export const STOPPED = 'dstopped';
const SCENARIO_SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'docker-scenario.sh');

/** The runtime dir of a rootless daemon: ours, else /run/user/UID. */
export const RUNTIME_DIR = process.env.XDG_RUNTIME_DIR || `/run/user/${UID}`;

/** The environment the CLI needs to reach this user's daemon. */
export function dockerEnv(): NodeJS.ProcessEnv {
  const socket = ROOTFUL ? '/var/run/docker.sock' : `${RUNTIME_DIR}/docker.sock`;
  return { ...process.env, XDG_RUNTIME_DIR: RUNTIME_DIR, DOCKER_HOST: `unix://${socket}` };
}

/** Runs docker and returns its stdout (throws with its stderr on failure). */
export function dk(args: string[], options: { encoding?: BufferEncoding } = {}): string {
  try {
    return execFileSync(DOCKER, args, {
      encoding: options.encoding ?? 'utf8',
      cwd: '/',
      env: dockerEnv(),
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as Error & { stderr?: Buffer | string };
    e.message = `docker ${args.join(' ')} failed: ${String(e.stderr ?? '').trim() || e.message}`;
    throw e;
  }
}

/** Runs docker; never throws. */
export function tryDk(args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync(DOCKER, args, { encoding: 'utf8', cwd: '/', env: dockerEnv(), maxBuffer: 1 << 28 });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() || String(r.error ?? '') };
}

/** Docker installed, this user's daemon answering, the test image there. */
export const dockerImage = requirement('docker', () => {
  if (!fs.existsSync(DOCKER)) return `${DOCKER} not installed (run scripts/docker-setup.sh)`;
  const r = tryDk(['image', 'inspect', '--format', '{{.Id}}', IMAGE]);
  if (!r.ok) {
    return withDetail(
      `no ${ROOTFUL ? 'rootful' : 'rootless'} Docker daemon with image ${IMAGE} for uid ${UID} (run scripts/docker-setup.sh ${ROOTFUL ? 'root' : '<user>'})`,
      r.err,
    );
  }
  return true;
});

/** Starts the scenario (scripts/docker-scenario.sh) unless it is up; returns the ids of dcontenedor1, dcontenedor2, dstopped. */
export function ensureScenario(): string[] {
  const user = ROOTFUL ? 'root' : os.userInfo().username;
  const run = (command: string): void => {
    execFileSync('bash', [SCENARIO_SCRIPT, command, user], {
      cwd: '/',
      env: { ...dockerEnv(), PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  };
  const stoppedThere = tryDk(['inspect', '--format', '{{.State.Running}}', STOPPED]).out === 'false';
  try {
    if (!stoppedThere) throw new Error('no stopped container');
    run('check');
  } catch {
    run('start');
    noteStarted('docker', user);
  }
  return [...RUNNING, STOPPED].map((n) => dk(['inspect', '--format', '{{.Id}}', n]).trim());
}

export interface GraphDriverData {
  LowerDir?: string;
  MergedDir?: string;
  UpperDir: string;
  WorkDir: string;
}

/** What the tests read of `docker inspect CONTAINER`. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State: { Running: boolean; Pid: number };
  Config: { Image: string };
  GraphDriver: { Data: GraphDriverData };
}

/** What the tests read of `docker image inspect IMAGE`. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  Size: number;
  GraphDriver: { Data: GraphDriverData };
}

export function inspectContainer(ref: string): ContainerInspect {
  const [found] = JSON.parse(dk(['container', 'inspect', ref])) as ContainerInspect[];
  if (found === undefined) throw new Error(`docker container inspect ${ref} printed no container`);
  return found;
}

export function inspectImage(ref: string): ImageInspect {
  const [found] = JSON.parse(dk(['image', 'inspect', ref])) as ImageInspect[];
  if (found === undefined) throw new Error(`docker image inspect ${ref} printed no image`);
  return found;
}

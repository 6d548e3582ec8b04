// A podman store of its own whose overlay driver mounts with fuse-overlayfs
// (storage.conf's mount_program), for test/podman-fuse.test.ts: the user's
// own store and the seed scenario in it stay untouched.
//
// What podman 4.3 needs for that, found on these machines:
// - CONTAINERS_STORAGE_CONF alone moves graphroot and runroot but not
//   libpod's database, which stays under the default graphroot and then
//   overrides the runroot and tmp dir with the ones recorded there: the
//   container lands in the user's own store.  `--root` moves the database
//   with it, `--runroot` and `--tmpdir` go with it.  Worse, containers-
//   storage then writes "true" to the user's own
//   `<graphroot>/overlay/.has-mount-program`, and from then on mounts that
//   store with fuse-overlayfs whatever its storage.conf says (seen here;
//   writing "false" back undoes it).
// - With `--root`, podman drops storage.conf's driver options:
//   `--storage-opt overlay.mount_program=...` again on every command.
// - Rootless: an XDG_RUNTIME_DIR of its own gives a pause process of its
//   own (its pid file is `<runtime dir>/libpod/tmp/pause.pid`), so nothing
//   here touches the user's pause process.  The library is told the same
//   with { storageConf, runtimeDir }.
// - `podman system reset` also removes the user's network configs:
//   clean-up removes the containers, then the store through `podman
//   unshare` (its files belong to the subordinate ids), then ends the pause
//   process it started.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { PodmanOptions } from '../../lib/podman';
import { IMAGE, pod, podmanEnv, ROOTFUL } from './podman';
import { FUSE_OVERLAYFS } from './requirements';

export interface FuseStore {
  /** The temp dir holding all of it. */
  readonly base: string;
  readonly storageConf: string;
  readonly graphRoot: string;
  /** What the library is given to find this store (and its pause process). */
  readonly options: PodmanOptions;
  /** podman on this store; its stdout, throwing with its stderr. */
  pod(args: string[]): string;
  /** podman on this store; never throws. */
  tryPod(args: string[]): { ok: boolean; out: string; err: string };
}

/** Makes the store and loads the test image into it from the user's own store (no registry here). */
export function createFuseStore(): FuseStore {
  const base = fs.mkdtempSync('/tmp/unshare-fs-fuse-');
  fs.chmodSync(base, 0o700);
  const graphRoot = path.join(base, 'graph');
  const runRoot = path.join(base, 'runroot');
  const runtimeDir = path.join(base, 'run');
  const tmpDir = path.join(runtimeDir, 'libpod', 'tmp');
  fs.mkdirSync(runtimeDir, { mode: 0o700 });
  const storageConf = path.join(base, 'storage.conf');
  fs.writeFileSync(
    storageConf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${graphRoot}"\nrunroot = "${runRoot}"\n` +
      `[storage.options.overlay]\nmount_program = "${FUSE_OVERLAYFS}"\n`,
  );
  const globals = [
    '--root',
    graphRoot,
    '--runroot',
    runRoot,
    '--tmpdir',
    tmpDir,
    '--storage-driver',
    'overlay',
    '--storage-opt',
    `overlay.mount_program=${FUSE_OVERLAYFS}`,
  ];
  const env = { ...podmanEnv(), CONTAINERS_STORAGE_CONF: storageConf, ...(ROOTFUL ? {} : { XDG_RUNTIME_DIR: runtimeDir }) };
  const run = (args: string[], input?: Buffer) =>
    spawnSync('podman', [...globals, ...args], { cwd: '/', env, input, maxBuffer: 1 << 28, encoding: 'buffer' });
  const store: FuseStore = {
    base,
    storageConf,
    graphRoot,
    options: ROOTFUL ? { storageConf } : { storageConf, runtimeDir },
    pod(args) {
      const r = run(args);
      if (r.status !== 0)
        throw new Error(`podman ${args.join(' ')} (fuse-overlayfs store) failed: ${r.stderr.toString().trim() || r.error}`);
      return r.stdout.toString();
    },
    tryPod(args) {
      const r = run(args);
      return { ok: r.status === 0, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
    },
  };
  const archive = path.join(base, 'image.tar');
  pod(['save', '-q', '--format', 'oci-archive', '-o', archive, IMAGE]);
  store.pod(['load', '-q', '-i', archive]);
  fs.rmSync(archive);
  return store;
}

/** Removes the store's containers, its files and (rootless) the pause process it started. */
export function removeFuseStore(store: FuseStore): void {
  const ids = store.tryPod(['ps', '-aq']).out.split('\n').filter(Boolean);
  if (ids.length > 0) store.tryPod(['rm', '-f', '-t', '0', ...ids]);
  if (ROOTFUL) {
    fs.rmSync(store.base, { recursive: true, force: true });
    return;
  }
  store.tryPod(['unshare', 'rm', '-rf', store.graphRoot, path.join(store.base, 'runroot')]);
  const pidFile = path.join(store.base, 'run', 'libpod', 'tmp', 'pause.pid');
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    // no pause process was started
  }
  // Ours only: the pid file is in this store's runtime dir, and the process is podman's pause process.
  if (pid > 0 && environOf(pid).includes('_PODMAN_PAUSE=1')) process.kill(pid, 'SIGKILL');
  execFileSync('rm', ['-rf', store.base]);
}

function environOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  } catch {
    return [];
  }
}

// A session inside another process's user and mount namespaces, served by a
// forked single-threaded worker (setns into a user namespace is refused to a
// multithreaded process, and node always is one).
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';

import { Channel } from './channel';
import { CallSite, UnshareFsError, fsError } from './errors';
import { FileSystem, resolverFrom } from './filesystem';
import { mapper, readIdMaps, type IdRange } from './idmap';
import { parseMountInfo, type MountInfo } from './mounts';
import { native, type ExitStatus, type NativeSysError } from './native';
import { checkPid, readPidFile } from './pidfile';
import { Reply, errorFromPayload } from './protocol';

export interface EnterOptions {
  /** The process whose namespaces to enter. */
  pid?: number;
  /** A file holding that pid, like podman's pause.pid. */
  pidFile?: string;
  /**
   * Resolve every path inside this directory (of the namespace), as a
   * container would: absolute symlinks and '..' stay inside it
   * (openat2 RESOLVE_IN_ROOT).  Paths given to the session are then
   * relative to it: '/etc/passwd' is `${root}/etc/passwd`.
   */
  root?: string;
}

/** How long close() lets the worker exit by itself before it is killed. */
const EXIT_GRACE_MS = 2000;

const signalNames = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

function describeExit(status: ExitStatus): string {
  if (status.signal !== null) return `killed by ${signalNames.get(status.signal) ?? `signal ${status.signal}`}`;
  return `exited with code ${status.code}`;
}

/** Turns an error thrown by the addon into a node:fs style one. */
export function nativeError(error: unknown): Error {
  const e = error as NativeSysError & { code?: unknown };
  if (typeof e?.errno === 'number' && typeof e.syscall === 'string' && e.code === undefined) {
    return fsError(e.errno, e.syscall, e.path);
  }
  return error as Error;
}

export class Session extends FileSystem implements AsyncDisposable {
  /** The pid whose namespaces the session is in. */
  readonly targetPid: number;
  /** The worker process serving the session. */
  readonly workerPid: number;
  /** False when the target shares our user namespace (root host, rootful containers). */
  readonly joinedUserNamespace: boolean;
  /** The target's uid_map: container uids to host uids. */
  readonly uidMap: readonly IdRange[];
  readonly gidMap: readonly IdRange[];
  protected resolvePath = resolverFrom(() => '/');
  private readonly channelToWorker: Channel;
  private closing: Promise<void> | undefined;
  private exitStatus: ExitStatus | undefined;
  private reaping: Promise<ExitStatus> | undefined;

  /** The directory paths are resolved in (EnterOptions.root), if any. */
  readonly root: string | undefined;

  /** @internal use enter() */
  constructor(
    targetPid: number,
    spawned: { pid: number; fd: number; joinedUserNamespace: boolean },
    maps: { uidMap: IdRange[]; gidMap: IdRange[] },
    root?: string,
  ) {
    super();
    this.targetPid = targetPid;
    this.root = root;
    this.workerPid = spawned.pid;
    this.joinedUserNamespace = spawned.joinedUserNamespace;
    this.uidMap = maps.uidMap;
    this.gidMap = maps.gidMap;
    this.mapUid = mapper(maps.uidMap);
    this.mapGid = mapper(maps.gidMap);
    this.channelToWorker = new Channel(spawned.fd, async (cause) => {
      this.exitStatus = await this.reapWorker();
      if (this.closing) return new UnshareFsError('ECLOSED', 'unshare-fs: the session is closed');
      return new UnshareFsError(
        'EWORKERDIED',
        `unshare-fs: the worker (pid ${this.workerPid}) for target pid ${this.targetPid} ${describeExit(this.exitStatus)}`,
        { cause },
      );
    });
  }

  /** The host's id for a uid seen inside. */
  toHostUid(uid: number): number {
    return this.mapUid(uid);
  }
  toHostGid(gid: number): number {
    return this.mapGid(gid);
  }

  /** How the worker ended, once it has. */
  get exit(): ExitStatus | undefined {
    return this.exitStatus;
  }

  get closed(): boolean {
    return this.closing !== undefined || !this.channelToWorker.isOpen;
  }

  /**
   * The mount table of the namespace, mount points as the worker sees them.
   * Read through our own /proc: the namespace's /proc may belong to another
   * pid namespace (a container's), where the worker has no pid, and a
   * session's `root` would resolve /proc inside it.
   */
  async mounts(): Promise<MountInfo[]> {
    const site = new CallSite(this.mounts);
    this.channel();
    try {
      return parseMountInfo(await readFile(`/proc/${this.workerPid}/mountinfo`, 'utf8'));
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  /** Resolves once the worker has exited and been reaped, whoever ended it. */
  whenClosed(): Promise<void> {
    return this.channelToWorker.whenClosed();
  }

  /** @internal */
  setRoot(dir: string): Promise<void> {
    return this.setRootRequest(dir, this.setRoot);
  }

  /** @internal mount(2) inside the namespace, for Namespace. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void> {
    return this.mountRequest(source, target, fstype, flags, data, this.mount);
  }

  /** @internal umount2(2) inside the namespace, for Namespace. */
  unmount(target: string, flags: number): Promise<void> {
    return this.unmountRequest(target, flags, this.unmount);
  }

  /** Ends the worker and waits for it to be reaped.  Idempotent. */
  close(): Promise<void> {
    // The kill after the grace period starts now, not once the worker has
    // closed its end: a stopped or stuck worker never does.
    this.closing ??= Promise.all([this.channelToWorker.close(), this.reapWorker()]).then(() => undefined);
    return this.closing;
  }

  /** The worker's exit, killing it EXIT_GRACE_MS after the first call. */
  private reapWorker(): Promise<ExitStatus> {
    this.reaping ??= native().reap(this.workerPid, EXIT_GRACE_MS);
    return this.reaping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  protected channel(): Channel {
    if (this.closing) throw new UnshareFsError('ECLOSED', 'unshare-fs: the session is closed');
    return this.channelToWorker;
  }

  /** @internal waits for the worker's ready frame (or its join error). */
  ready(site: CallSite): Promise<this> {
    return new Promise((resolve, reject) => {
      this.channelToWorker.hold();
      this.channelToWorker.expect(0, {
        frame: (kind, _flags, payload) => {
          this.channelToWorker.release();
          if (kind === Reply.Ready) resolve(this);
          else {
            reject(site.graft(errorFromPayload(payload)));
            void this.close();
          }
          return true;
        },
        fail: (error) => {
          this.channelToWorker.release();
          reject(site.graft(error));
        },
      });
    });
  }
}

/** Opens a session in the user and mount namespaces of a process. */
export async function enter(options: EnterOptions): Promise<Session> {
  const site = new CallSite(enter);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Expected an object with pid or pidFile for options');
  }
  const { pid: pidOption, pidFile, root } = options;
  if (root !== undefined && (typeof root !== 'string' || !root.startsWith('/'))) {
    throw new TypeError(`Expected an absolute path for root but received ${String(root)}`);
  }
  if ((pidOption === undefined) === (pidFile === undefined)) {
    throw new TypeError('Expected exactly one of pid and pidFile in options');
  }
  if (pidFile !== undefined && typeof pidFile !== 'string') {
    throw new TypeError(`Expected a string for pidFile but received ${typeof pidFile}`);
  }
  if (pidOption !== undefined) checkPid(pidOption);
  let pid: number;
  let spawned: { pid: number; fd: number; joinedUserNamespace: boolean };
  let maps: { uidMap: IdRange[]; gidMap: IdRange[] };
  try {
    pid = pidFile !== undefined ? readPidFile(pidFile) : pidOption!;
    spawned = native().spawnWorker(pid);
  } catch (error) {
    throw site.graft(nativeError(error));
  }
  try {
    maps = readIdMaps(pid);
  } catch {
    // The target may be gone already; the worker holds its namespaces.
    try {
      maps = readIdMaps(spawned.pid);
    } catch (error) {
      native().closeFd(spawned.fd);
      await native().reap(spawned.pid, EXIT_GRACE_MS);
      throw site.graft(error as Error);
    }
  }
  const session = new Session(pid, spawned, maps, root);
  await session.ready(site);
  if (root !== undefined) {
    try {
      await session.setRoot(root);
    } catch (error) {
      await session.close();
      throw site.graft(error as Error);
    }
  }
  return session;
}

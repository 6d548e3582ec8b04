// A session inside another process's user and mount namespaces, served by a
// forked single-threaded worker (setns into a user namespace is refused to a
// multithreaded process, and node always is one).
import * as fs from 'node:fs';
import { constants } from 'node:os';

import { Channel, socketTransport } from '../wire/channel';
import { debug } from '../core/debug';
import { CallSite, UnshareFsError, protocolError } from '../core/errors';
import { FileSystem, resolverFrom, serverOf } from '../api/filesystem';
import { setRootRequest } from '../wire/privileged';
import { inverseMapper, mapper, readIdMaps, type IdRange } from './idmap';
import { parseMountInfo, type MountInfo } from './mounts';
import { native, nativeError, type ExitStatus } from '../wire/native';
import { checkArgv, checkOneOf, checkOptionsObject, invalid, invalidValue, requireInteger } from '../core/checks';
import { checkPid, readPidFile } from './pidfile';
import { PROTOCOL_VERSION } from '../wire/protocol';
import { readyFrame } from '../wire/answer';

/** Options of enter(): the process whose namespaces to enter (`pid` or `pidFile`, exactly one), and a root. */
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
/** How long close() waits at most, the kill included. */
const CLOSE_LIMIT_MS = EXIT_GRACE_MS + 1000;

const signalNames = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

function describeExit(status: ExitStatus): string {
  if (status.signal !== null) return `killed by ${signalNames.get(status.signal) ?? `signal ${status.signal}`}`;
  return `exited with code ${status.code}`;
}

/** Only enter() makes sessions. */
const SESSION_TOKEN = Symbol('unshare-fs session');

/** The worker behind a session: its channel and how it ended. */
class WorkerLink {
  readonly channel: Channel;
  closing: Promise<void> | undefined;
  exitStatus: ExitStatus | undefined;
  #reaping: Promise<ExitStatus> | undefined;

  constructor(
    readonly targetPid: number,
    readonly workerPid: number,
    fd: number,
  ) {
    this.channel = new Channel(socketTransport(fd), async (cause) => {
      this.exitStatus = await this.reap();
      if (this.closing) return closedError();
      return new UnshareFsError(
        'EWORKERDIED',
        `unshare-fs: the worker (pid ${this.workerPid}) for target pid ${this.targetPid} ${describeExit(this.exitStatus)}`,
        { cause },
      );
    });
  }

  /**
   * Ends the worker: the kill after the grace starts now, not once the
   * worker has closed its end (a stopped or stuck one never does).  A
   * worker that not even SIGKILL ends within CLOSE_LIMIT_MS (stuck in an
   * uninterruptible wait, as a lookup behind a hung FUSE mount is) is left
   * to be reaped whenever it can die, without keeping node alive for it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), CLOSE_LIMIT_MS);
      });
      const ended = Promise.all([this.channel.close(), this.reap()]).then(() => true);
      const done = await Promise.race([ended, limit]);
      clearTimeout(timer);
      if (done) return;
      native().unrefReap(this.workerPid);
      this.channel.abandon(closedError());
    })();
    return this.closing;
  }

  /** The worker's exit, killing it EXIT_GRACE_MS after the first call. */
  reap(): Promise<ExitStatus> {
    this.#reaping ??= native().reap(this.workerPid, EXIT_GRACE_MS);
    return this.#reaping;
  }

  /** The channel, for a new request: ECLOSED once close() was called. */
  open(): Channel {
    if (this.closing) throw closedError();
    return this.channel;
  }
}

function closedError(): UnshareFsError {
  return new UnshareFsError('ECLOSED', 'unshare-fs: the session is closed');
}

/** Options of Session#exec. */
export interface ExecOptions {
  /** The working directory, in the namespace (default: its root). */
  cwd?: string;
  /** The environment (default: this process's). */
  env?: Record<string, string>;
  /** 'inherit' (the default): this process's stdio; 'ignore': /dev/null. */
  stdio?: 'inherit' | 'ignore';
}

let linkOf: (session: Session) => WorkerLink;

/**
 * A FileSystem inside another process's user and mount namespaces, served by
 * a worker process forked into them: paths, ids and permissions are the ones
 * seen there.  Made by enter() (and Namespace#enter, podman.enter…,
 * docker.enter…); close() (or `await using`) ends the worker.
 */
export class Session extends FileSystem implements AsyncDisposable {
  /** The pid whose namespaces the session is in. */
  readonly targetPid: number;
  /** The worker process serving the session. */
  readonly workerPid: number;
  /** False when the target shares our user namespace (root host, rootful containers). */
  readonly joinedUserNamespace: boolean;
  /** The target's uid_map: container uids to host uids. */
  readonly uidMap: readonly IdRange[];
  /** The target's gid_map: container gids to host gids. */
  readonly gidMap: readonly IdRange[];
  /** The directory paths are resolved in (EnterOptions.root), if any. */
  readonly root: string | undefined;
  readonly #link: WorkerLink;

  static {
    linkOf = (session) => session.#link;
  }

  /**
   * Not for use: sessions come from enter() (and Namespace#enter, podman.enter*).
   * @internal
   */
  constructor(
    token: symbol,
    targetPid: number,
    spawned: { pid: number; fd: number; joinedUserNamespace: boolean },
    maps: { uidMap: IdRange[]; gidMap: IdRange[] },
    root?: string,
  ) {
    if (token !== SESSION_TOKEN) throw new TypeError('Illegal constructor: sessions come from enter()');
    const link = new WorkerLink(targetPid, spawned.pid, spawned.fd);
    super({
      channel: () => link.open(),
      resolvePath: resolverFrom(() => '/'),
      mapUid: mapper(maps.uidMap),
      mapGid: mapper(maps.gidMap),
      unmapUid: inverseMapper(maps.uidMap),
      unmapGid: inverseMapper(maps.gidMap),
    });
    this.#link = link;
    this.targetPid = targetPid;
    this.root = root;
    this.workerPid = spawned.pid;
    this.joinedUserNamespace = spawned.joinedUserNamespace;
    // Copies: the mappers read the maps given here, which nobody may change.
    this.uidMap = Object.freeze(maps.uidMap.map((range) => Object.freeze({ ...range })));
    this.gidMap = Object.freeze(maps.gidMap.map((range) => Object.freeze({ ...range })));
  }

  /** The host's id for a uid seen inside. */
  toHostUid(uid: number): number {
    return mapper(this.uidMap)(checkId(uid, 'uid'));
  }
  /** The host's id for a gid seen inside. */
  toHostGid(gid: number): number {
    return mapper(this.gidMap)(checkId(gid, 'gid'));
  }

  /** The uid seen inside for a host uid (65534, the overflow id, when the namespace has none for it). */
  fromHostUid(uid: number): number {
    return inverseMapper(this.uidMap)(checkId(uid, 'uid'));
  }
  /** The gid seen inside for a host gid (65534, the overflow id, when the namespace has none for it). */
  fromHostGid(gid: number): number {
    return inverseMapper(this.gidMap)(checkId(gid, 'gid'));
  }

  /**
   * Runs a command in the session's namespaces, as their root: what
   * `podman unshare CMD` does, for what the API does not cover.  Its own
   * process, joined the way the worker is (it dies with this process, and
   * holds no fd but its stdio); resolves with how it exited.  It runs in the
   * target's mount namespace as it is, not inside the session's `root`.
   */
  async exec(argv: string[], options?: ExecOptions): Promise<ExitStatus> {
    const site = new CallSite(this.exec);
    const args = checkArgv(argv);
    const o = checkOptionsObject(options, ['cwd', 'env', 'stdio'], 'exec');
    const spawnOptions: { cwd?: string; env?: string[]; quiet: boolean } = {
      quiet: checkOneOf('stdio', o.stdio, ['inherit', 'ignore'], 'inherit') === 'ignore',
    };
    if (o.cwd !== undefined) {
      if (typeof o.cwd !== 'string') throw invalid('cwd', 'a string', o.cwd);
      if (o.cwd === '' || o.cwd.includes('\0')) throw invalidValue('cwd', 'a path without null bytes', o.cwd);
      spawnOptions.cwd = o.cwd;
    }
    if (o.env !== undefined) {
      if (typeof o.env !== 'object' || o.env === null) throw invalid('env', 'an object', o.env);
      spawnOptions.env = Object.entries(o.env as Record<string, unknown>).map(([name, value]) => {
        if (typeof value !== 'string') throw invalid(`env.${name}`, 'a string', value);
        if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
          throw invalidValue(`env.${name}`, 'a name without = and values without null bytes', value);
        }
        return `${name}=${value}`;
      });
    }
    if (this.closed) throw site.graft(closedError());
    let pid: number;
    try {
      pid = native().spawnCommand(this.targetPid, args, spawnOptions);
    } catch (error) {
      throw site.graft(nativeError(error));
    }
    return native().reap(pid, 0x7fffffff);
  }

  /** How the worker ended, once it has. */
  get exit(): ExitStatus | undefined {
    return this.#link.exitStatus;
  }

  /** True once close() was called or the worker has gone. */
  get closed(): boolean {
    return this.#link.closing !== undefined || !this.#link.channel.isOpen;
  }

  /**
   * The mount table of the namespace, mount points as the worker sees them.
   * Read through our own /proc: the namespace's /proc may belong to another
   * pid namespace (a container's), where the worker has no pid, and a
   * session's `root` would resolve /proc inside it.
   */
  async mounts(): Promise<MountInfo[]> {
    const site = new CallSite(this.mounts);
    try {
      this.#link.open();
      return parseMountInfo(await fs.promises.readFile(`/proc/${this.workerPid}/mountinfo`, 'utf8'));
    } catch (error) {
      throw site.graft(error as Error);
    }
  }

  /** Resolves once the worker has exited and been reaped, whoever ended it. */
  whenClosed(): Promise<void> {
    return this.#link.channel.whenClosed();
  }

  /** Ends the worker and waits for it to be reaped.  Idempotent. */
  close(): Promise<void> {
    return this.#link.close();
  }

  /** close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A uid or gid as the kernel has them: an integer from 0 to 2^32 - 2. */
function checkId(id: unknown, name: string): number {
  return requireInteger(name, id, 0, 0xfffffffe);
}

/** Waits for the worker's ready frame (or its join error); a worker that sent something else is closed. */
async function awaitReady(session: Session, site: CallSite): Promise<Session> {
  const { channel } = linkOf(session);
  let payload: Buffer;
  try {
    payload = await readyFrame(channel, () => void session.close());
  } catch (error) {
    throw site.graft(error as Error);
  }
  if (payload.length < 8 || payload.readUInt32LE(4) !== PROTOCOL_VERSION) {
    void session.close();
    throw site.graft(protocolError('the worker speaks another protocol version: rebuild the addon and dist/ together'));
  }
  return session;
}

/**
 * Opens a session in the user and mount namespaces of a process.
 *
 * @example
 * ```ts
 * import { enter } from 'unshare-fs';
 *
 * // The namespaces `podman unshare` joins: those of rootless podman's pause process.
 * await using session = await enter({ pidFile: `${process.env.XDG_RUNTIME_DIR}/libpod/tmp/pause.pid` });
 * const stats = await session.lstat(`${process.env.HOME}/.local/share/containers/storage`);
 * console.log(`owned by uid ${stats.uid} inside`);
 * ```
 * @throws node:fs-style errors (`code`, `errno`, `syscall`, `path`): `ENOENT` (no pid file), `ESRCH` (no such process; `pidfd_open`), `EPERM` or `EACCES` (its namespaces are not ours to join; `open`, `setns`), and the error of opening `root` inside.
 * UnshareFsError `EBADPIDFILE` (the pid file holds no pid), `EPROTO` (the worker speaks another protocol: the addon and dist/ are out of step).
 * `TypeError` or `RangeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`) for bad options.
 */
export function enter(options: EnterOptions): Promise<Session> {
  return enterWith(options, false, enter);
}

/**
 * enter(), for a Namespace of the library's own: its worker is let mount.
 * Not exported from the package.
 */
export function enterToMount(pid: number): Promise<Session> {
  return enterWith({ pid }, true, enterToMount);
}

async function enterWith(options: EnterOptions, allowMount: boolean, caller: (...args: never[]) => unknown): Promise<Session> {
  const site = new CallSite(caller);
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'an object with pid or pidFile', options);
  }
  checkOptionsObject(options, ['pid', 'pidFile', 'root'], 'enter');
  const { pid: pidOption, pidFile, root } = options;
  if (root !== undefined && typeof root !== 'string') throw invalid('root', 'an absolute path', root);
  if (root !== undefined && !root.startsWith('/')) throw invalidValue('root', 'an absolute path', root);
  if (pidOption === undefined && pidFile === undefined) throw invalid('pid', 'exactly one of pid and pidFile', pidOption);
  if (pidOption !== undefined && pidFile !== undefined) {
    throw invalidValue('pidFile', 'no pidFile beside a pid (exactly one of pid and pidFile)', pidFile);
  }
  if (pidFile !== undefined && typeof pidFile !== 'string') throw invalid('pidFile', 'a string', pidFile);
  if (pidOption !== undefined) checkPid(pidOption);
  let pid: number;
  let spawned: { pid: number; fd: number; joinedUserNamespace: boolean };
  let maps: { uidMap: IdRange[]; gidMap: IdRange[] };
  try {
    pid = pidFile !== undefined ? readPidFile(pidFile) : pidOption!;
    const start = debug.enabled ? performance.now() : 0;
    spawned = native().spawnWorker(pid, allowMount);
    if (debug.enabled) {
      const joined = spawned.joinedUserNamespace ? 'user, mnt' : 'mnt (the user namespace is ours)';
      const ms = (performance.now() - start).toFixed(3);
      debug(
        'join pid %d%s: namespaces %s, worker pid %d, %s ms',
        pid,
        pidFile === undefined ? '' : ` (from ${pidFile})`,
        joined,
        spawned.pid,
        ms,
      );
    }
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
  const session = new Session(SESSION_TOKEN, pid, spawned, maps, root);
  await awaitReady(session, site);
  if (root !== undefined) {
    try {
      await setRootRequest(serverOf(session), root, enter);
    } catch (error) {
      await session.close();
      throw site.graft(error as Error);
    }
  }
  return session;
}

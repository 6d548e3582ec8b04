/** Who this process is, and the passwd entries of others, in one place. */
import { passwdEntry, requirePasswdEntry } from '../ns/users';

export function ownUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

export function ownEuid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : 0;
}

/** Who an engine's files are looked up for. */
export interface UserOptions {
  /** uid whose engine to inspect (default: this process' uid). 0 = rootful. */
  uid?: number;
  /** environment to read XDG_* and the engine's variables from (default process.env for our own uid) */
  env?: NodeJS.ProcessEnv;
  /** home directory of `uid` (default: $HOME for our own uid, /etc/passwd otherwise) */
  home?: string;
}

/** The inspected uid: `opts.uid`, else ours. */
export function inspectedUid(opts: UserOptions = {}): number {
  return opts.uid ?? ownUid();
}

/**
 * The environment that describes the inspected user: `opts.env` if given;
 * else process.env when inspecting our own uid; else an empty one (another
 * user's XDG_* and engine settings are not ours to guess).
 */
export function userEnv(opts: UserOptions = {}): NodeJS.ProcessEnv {
  if (opts.env) return opts.env;
  return inspectedUid(opts) === ownUid() ? process.env : {};
}

/** Home directory of the inspected user. */
export function homeDir(opts: UserOptions = {}): string {
  if (opts.home) return opts.home;
  const uid = inspectedUid(opts);
  if (uid === ownUid()) return userEnv(opts).HOME || requirePasswdEntry(uid, 'its home directory (HOME is not set)').home;
  const entry = passwdEntry(uid);
  if (entry) return entry.home;
  return uid === 0 ? '/root' : `/home/${uid}`;
}

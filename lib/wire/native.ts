// Loads the addon (a prebuild from prebuilds/, else build/Release) and types
// exactly what it exports.  The public types live elsewhere.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { fsError } from '../core/errors';
import { PORT_READABLE, PORT_WRITABLE, PROTOCOL_VERSION } from './protocol';

export interface NativeSysError extends Error {
  errno: number;
  syscall: string;
  path?: string;
}

export interface SpawnedWorker {
  pid: number;
  fd: number;
  joinedUserNamespace: boolean;
}

/** How a process ended: its exit code, or the signal that ended it. */
export interface ExitStatus {
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal number that ended it, or null. */
  signal: number | null;
}

/** Our end of a server's socket, watched by the event loop (native/binding.cc). */
export interface NativePort {
  /** Bytes read into `buffer`, 0 at the end of the stream, or -errno (-EAGAIN: nothing yet). */
  read(buffer: Uint8Array, offset: number, length: number): number;
  /** Bytes written, or -errno (-EAGAIN: the socket is full). */
  write(buffer: Uint8Array, offset: number, length: number): number;
  /** The readiness events (PORT_READABLE | PORT_WRITABLE) to be called for; 0 for none. */
  watch(events: number): void;
  ref(): void;
  unref(): void;
  /** Ends our direction of the stream; 0 or -errno. */
  shutdown(): number;
  /** Stops watching and closes the fd. */
  close(): void;
}

export { PORT_READABLE, PORT_WRITABLE };

/** The wire format's constants as the addon was built with them (native/core/protocol.h). */
export type NativeProtocol = Record<string, number> & { version: number };

export interface NativeBinding {
  protocol: NativeProtocol;
  /** Watches `fd`, calling `onEvents` with readiness bits or a negative libuv status. Unreferenced at first. */
  Port: new (fd: number, onEvents: (events: number) => void) => NativePort;
  startHostServer(): number;
  /** A worker in `pid`'s namespaces; only one for a namespace of our own is let mount. */
  spawnWorker(pid: number, allowMount?: boolean): SpawnedWorker;
  spawnHolder(newUserNamespace: boolean): { pid: number; fd: number };
  /**
   * A command in `pid`'s namespaces: `cwd` there, `env` as NAME=value strings (default ours), `quiet`: stdio to /dev/null,
   * `pidNamespace`: in the pid namespace `pid` makes its children in (a holder's), behind a relay that exits as it does.
   */
  spawnCommand(pid: number, argv: string[], options?: { cwd?: string; env?: string[]; quiet?: boolean; pidNamespace?: boolean }): number;
  reap(pid: number, graceMs: number): Promise<ExitStatus>;
  /** The pending reap of `pid` stops holding the event loop (it still happens). */
  unrefReap(pid: number): void;
  closeFd(fd: number): void;
}

let binding: NativeBinding | undefined;

// node-gyp-build keeps its own cache, so this stays cheap when jest
// re-evaluates the module for every test file.
export function native(): NativeBinding {
  binding ??= checkVersion(load());
  return binding;
}

/** An addon built from other sources than this dist/ speaks another protocol: say so, do not misread it. */
function checkVersion(loaded: NativeBinding): NativeBinding {
  const version = loaded.protocol?.version;
  if (version !== PROTOCOL_VERSION) {
    throw new Error(
      `unshare-fs: the native addon speaks protocol version ${String(version)} and this JavaScript ` +
        `speaks version ${PROTOCOL_VERSION}: the addon and dist/ come from different builds. ` +
        'Rebuild both (`npm rebuild unshare-fs`, or `npm run build:native && npm run build:ts` in a checkout).',
    );
  }
  return loaded;
}

function load(): NativeBinding {
  if (process.platform !== 'linux') {
    throw new Error(`unshare-fs works on Linux only (this is ${process.platform})`);
  }
  const root = path.join(__dirname, '..', '..'); // the package, from lib/wire/ or dist/wire/
  // UNSHARE_FS_ADDON names the addon to load instead: the sanitizer build
  // (npm run test:asan), or a prebuild under test (scripts/prebuild.js runs
  // scripts/prebuild-smoke.js with it; the suites can run against one too).
  const override = process.env.UNSHARE_FS_ADDON;
  if (override) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.resolve(override)) as NativeBinding;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loadBuild = require('node-gyp-build') as (dir: string) => NativeBinding;
    return loadBuild(root);
  } catch (cause) {
    throw new Error(
      'unshare-fs: the native addon could not be loaded. ' +
        `No prebuild in ${path.join(root, 'prebuilds')} fits this machine ` +
        `(${process.platform}-${process.arch}, ${libc()}, node ${process.version}) and no local build was found. ` +
        'Reinstall it with `npm rebuild unshare-fs`: that builds it from source when no prebuild fits, ' +
        'and needs python3, make and g++ (Debian: `apt-get install python3 make g++`).',
      { cause },
    );
  }
}

/** The libc as node-gyp-build picks a prebuild by it. */
function libc(): string {
  return process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

/** Turns an error thrown by the addon into a node:fs style one. */
export function nativeError(error: unknown): Error {
  const e = error as NativeSysError & { code?: unknown };
  if (typeof e?.errno === 'number' && typeof e.syscall === 'string' && e.code === undefined) {
    return fsError(e.errno, e.syscall, e.path);
  }
  return error as Error;
}

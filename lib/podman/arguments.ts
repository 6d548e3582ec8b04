/**
 * The checks of podman.*'s arguments, made once where the public functions
 * are (lib/podman.ts): the discovery modules behind them trust what they get.
 */
import { checkBoolean, checkInteger, checkOptionsObject, checkSignal, checkString, invalid, invalidValue } from '../options';
import type { PodmanOptions } from './config';
import type { PodmanDiffOptions, PodmanExportOptions } from './layers';
import type { PodmanSessionOptions } from './session';

const PODMAN_OPTIONS = ['uid', 'env', 'home', 'storageConf', 'graphRoot', 'runRoot', 'runtimeDir'];
const SESSION_OPTIONS = [...PODMAN_OPTIONS, 'root'];
const PATH_OPTIONS = ['home', 'storageConf', 'graphRoot', 'runRoot', 'runtimeDir'] as const;

/** Options of a discovery function; `what` names the function in errors. */
export function checkPodmanOptions(options: unknown, what: string): PodmanOptions {
  return checkWith(options, PODMAN_OPTIONS, what);
}

/** Options of a function that opens a session: the discovery options and `root`. */
export function checkSessionOptions(options: unknown, what: string): PodmanSessionOptions {
  const o: PodmanSessionOptions = checkWith(options, SESSION_OPTIONS, what);
  if (o.root !== undefined && !checkString('root', o.root).startsWith('/')) {
    throw invalidValue('root', 'an absolute path', o.root);
  }
  return o;
}

/** Options of podman.diff: the discovery options and `signal`. */
export function checkDiffOptions(options: unknown, what: string): PodmanDiffOptions {
  const o: PodmanDiffOptions = checkWith(options, [...PODMAN_OPTIONS, 'signal'], what);
  checkSignal(o.signal);
  return o;
}

/** Options of podman.exportContainer and exportLayer: the discovery options, `signal` and `xattrs`. */
export function checkExportOptions(options: unknown, what: string): PodmanExportOptions {
  const o: PodmanExportOptions = checkWith(options, [...PODMAN_OPTIONS, 'signal', 'xattrs'], what);
  checkSignal(o.signal);
  checkBoolean('xattrs', o.xattrs);
  return o;
}

/**
 * A copy of the known keys, checked: the modules read options more than
 * once, and a getter must not give them something other than what was checked.
 */
function checkWith(options: unknown, known: readonly string[], what: string): Record<string, unknown> {
  const o = checkOptionsObject(options, known, what);
  const checked: Record<string, unknown> = {};
  for (const key of known) {
    const value = o[key];
    if (value !== undefined) checked[key] = value;
  }
  // A uid as the kernel has them: 2^32 - 1 is no one's.
  checkInteger('uid', checked.uid, 0, 0xfffffffe, 0);
  if (checked.env !== undefined) {
    const env = checked.env;
    if (typeof env !== 'object' || env === null || Array.isArray(env)) {
      throw invalid('env', 'an object of environment variables', env);
    }
    const copy: Record<string, string> = {};
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) continue;
      if (typeof value !== 'string') throw invalid(`env.${key}`, 'a string', value);
      copy[key] = value;
    }
    checked.env = copy;
  }
  for (const key of PATH_OPTIONS) {
    if (checked[key] !== undefined) checkString(key, checked[key]);
  }
  return checked;
}

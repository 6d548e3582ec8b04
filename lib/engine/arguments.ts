/**
 * The checks of an engine front end's arguments (podman.*, docker.*), made
 * once where its public functions are: the modules behind them trust what
 * they get.  Each front end names its own option keys.
 */
import { checkBoolean, checkInteger, checkOptionsObject, checkSignal, checkString, invalid, invalidValue } from '../core/checks';
import { checkProgress, type ProgressOptions } from '../core/progress';

/** One front end's option keys: all of its discovery options, and which of them are paths. */
export interface EngineOptionKeys {
  options: readonly string[];
  paths: readonly string[];
}

/** Options of a discovery function; `what` names the function in errors. */
export function checkEngineOptions<T>(keys: EngineOptionKeys, options: unknown, what: string): T {
  return checkWith(options, keys.options, keys.paths, what) as T;
}

/** Options of a listing (containers(), images()): the discovery options and `onError`. */
function checkEngineListOptions<T extends { onError?: unknown }>(keys: EngineOptionKeys, options: unknown, what: string): T {
  const o = checkWith(options, [...keys.options, 'onError'], keys.paths, what) as T;
  if (o.onError !== undefined && typeof o.onError !== 'function') throw invalid('onError', 'a function', o.onError);
  return o;
}

/** Options of a function that opens a session: the discovery options and `root`. */
function checkEngineSessionOptions<T extends { root?: string }>(keys: EngineOptionKeys, options: unknown, what: string): T {
  const o = checkWith(options, [...keys.options, 'root'], keys.paths, what) as T;
  if (o.root !== undefined && !checkString('root', o.root).startsWith('/')) {
    throw invalidValue('root', 'an absolute path', o.root);
  }
  return o;
}

/** Options of diff and df: the discovery options and `signal`. */
function checkEngineDiffOptions<T extends { signal?: AbortSignal }>(keys: EngineOptionKeys, options: unknown, what: string): T {
  const o = checkWith(options, [...keys.options, 'signal'], keys.paths, what) as T;
  checkSignal(o.signal);
  return o;
}

/** Options of exportContainer, exportLayer and exportVolume: the discovery options, `signal`, `xattrs` and `onProgress`. */
function checkEngineExportOptions<T extends { signal?: AbortSignal; xattrs?: boolean }>(
  keys: EngineOptionKeys,
  options: unknown,
  what: string,
): T {
  const o = checkWith(options, [...keys.options, 'signal', 'xattrs', 'onProgress'], keys.paths, what) as T & { onProgress?: unknown };
  checkSignal(o.signal);
  checkBoolean('xattrs', o.xattrs);
  checkProgress(o.onProgress, what);
  return o;
}

/** Options of importVolume: the discovery options, `signal` and `onProgress`. */
function checkEngineImportOptions<T extends { signal?: AbortSignal }>(keys: EngineOptionKeys, options: unknown, what: string): T {
  const o = checkWith(options, [...keys.options, 'signal', 'onProgress'], keys.paths, what) as T & { onProgress?: unknown };
  checkSignal(o.signal);
  checkProgress(o.onProgress, what);
  return o;
}

/**
 * A copy of the known keys, checked: the modules read options more than
 * once, and a getter must not give them something other than what was checked.
 */
function checkWith(options: unknown, known: readonly string[], paths: readonly string[], what: string): Record<string, unknown> {
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
  for (const key of paths) {
    if (checked[key] !== undefined) checkString(key, checked[key]);
  }
  return checked;
}

/** A front end's four checkers, over its keys. */
export interface EngineCheckers<O, S, D, E, L = O> {
  options: (options: unknown, what: string) => O;
  list: (options: unknown, what: string) => L;
  session: (options: unknown, what: string) => S;
  diff: (options: unknown, what: string) => D;
  export: (options: unknown, what: string) => E;
  /** importVolume's: diff's and `onProgress`. */
  import: (options: unknown, what: string) => D & ProgressOptions;
}

export function engineCheckers<
  O,
  S extends { root?: string },
  D extends { signal?: AbortSignal },
  E extends { signal?: AbortSignal; xattrs?: boolean },
  L extends { onError?: unknown } = O & { onError?: unknown },
>(keys: EngineOptionKeys): EngineCheckers<O, S, D, E, L> {
  return {
    options: (options, what) => checkEngineOptions<O>(keys, options, what),
    list: (options, what) => checkEngineListOptions<L>(keys, options, what),
    session: (options, what) => checkEngineSessionOptions<S>(keys, options, what),
    diff: (options, what) => checkEngineDiffOptions<D>(keys, options, what),
    export: (options, what) => checkEngineExportOptions<E>(keys, options, what),
    import: (options, what) => checkEngineImportOptions<D & ProgressOptions>(keys, options, what),
  };
}

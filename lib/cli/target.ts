// What a command-line TARGET names, written as `podman cp` writes them:
//   CONTAINER:/path     a file of a container of any engine (its merged dir
//                       while it runs, else its layers mounted read-only)
//   storage:/abs/path   a path in the engine's storage namespaces (what
//                       `podman unshare` sees: host paths, container ids)
//   volume:NAME:/path   a file of a volume of any engine, its ids as the
//                       containers that mount it see them
//   /path, ./path, path a host path (no ':' before the first '/'), as podman
//                       cp reads them: one that starts with '/' or '.' is
//                       always a host path.
import { docker, host, podman, type FileSystem, type Session } from '../index';
import { UsageError } from './output';

export type EngineName = 'podman' | 'docker';

/** A TARGET as written, before anything is opened. */
export type TargetSpec =
  | { kind: 'host'; path: string }
  | { kind: 'storage'; path: string }
  | { kind: 'container'; container: string; path: string }
  | { kind: 'volume'; volume: string; path: string };

/** Splits a TARGET; a usage error when it cannot name anything. */
export function parseTarget(text: string): TargetSpec {
  if (text === '') throw new UsageError('empty TARGET');
  if (text.startsWith('/') || text.startsWith('.')) return { kind: 'host', path: text };
  const colon = text.indexOf(':');
  if (colon < 0) return { kind: 'host', path: text };
  const prefix = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (prefix === 'volume') {
    // volume:NAME:/path (volume:NAME alone is its '/'); a container named
    // "volume" is not reachable this way, as podman cp has no such prefix.
    const second = rest.indexOf(':');
    const name = second < 0 ? rest : rest.slice(0, second);
    const inside = second < 0 ? '/' : rest.slice(second + 1);
    if (name === '') throw new UsageError(`no volume named in '${text}' (volume:NAME:/path)`);
    return { kind: 'volume', volume: name, path: inside.startsWith('/') ? inside : `/${inside}` };
  }
  if (prefix === 'storage') {
    if (!rest.startsWith('/')) throw new UsageError(`storage: takes an absolute path, not '${rest}'`);
    return { kind: 'storage', path: rest };
  }
  if (prefix === '') throw new UsageError(`no container named before ':' in '${text}'`);
  // As podman cp: a path in a container is relative to its '/'.
  return { kind: 'container', container: prefix, path: rest.startsWith('/') ? rest : `/${rest}` };
}

/** What error messages put before a target's path: 'contenedor1:', 'volume:v:', 'storage:' or ''. */
export function targetPrefix(spec: TargetSpec): string {
  if (spec.kind === 'container') return `${spec.container}:`;
  if (spec.kind === 'volume') return `volume:${spec.volume}:`;
  return spec.kind === 'storage' ? 'storage:' : '';
}

/** An opened TARGET: the file system that holds it and how to show its paths. */
export interface Target {
  /** Where the path is read. */
  fs: FileSystem;
  /** The path inside `fs`. */
  path: string;
  /** What error messages put before a path: 'contenedor1:', 'volume:v:', 'storage:' or ''. */
  prefix: string;
  /** The session, when the target is not on the host (for --host-ids: its id maps). */
  session: Session | null;
  /** Closes what opening it started; idempotent. */
  close(): Promise<void>;
}

const ENGINES = [
  ['podman', podman],
  ['docker', docker],
] as const;

/** The engines asked for (`--engine`, else both), with their APIs. */
function enginesAsked(engine: EngineName | undefined): (typeof ENGINES)[number][] {
  return ENGINES.filter(([which]) => engine === undefined || engine === which);
}

/** A container as the command line goes on with it: its engine and full id. */
export interface ContainerRef {
  engine: EngineName;
  id: string;
}

/**
 * The one container `ref` names (a name, an id or the start of one), of
 * the engine asked for: ENOCONTAINER when none, a usage error when it
 * names more than one.  Each engine looks `ref` up itself, and reads the
 * layers of that container alone (not of every container, as a listing
 * does).  A name or a whole id in one engine wins over the start of an id
 * in the other.
 */
export function resolveContainer(ref: string, engine: EngineName | undefined): ContainerRef {
  const exact: ContainerRef[] = [];
  const started: ContainerRef[] = [];
  // An engine that cannot be read (another user's, a broken store) does not
  // hide the other's container; what it said is told when none matched.
  const errors: Error[] = [];
  for (const [which, api] of enginesAsked(engine)) {
    try {
      const c = api.container(ref);
      // Docker's names are written with or without their leading '/'.
      const named = c.id === ref || c.names.includes(ref) || c.names.includes(ref.replace(/^\//, ''));
      (named ? exact : started).push({ engine: which, id: c.id });
    } catch (error) {
      const { code, candidates } = error as { code?: string; candidates?: string[] };
      if (code === 'EPODMANAMBIGUOUS' || code === 'EDOCKERAMBIGUOUS') {
        for (const id of candidates ?? []) started.push({ engine: which, id });
      } else if (code !== 'ENOCONTAINER') errors.push(error as Error);
    }
  }
  const found = exact.length > 0 ? exact : started;
  const engines = [...new Set(found.map((c) => c.engine))];
  if (found.length === 0) {
    const why = errors.map((e) => `; ${e.message}`).join('');
    throw Object.assign(new Error(`no such container: ${ref}${engine ? ` (${engine})` : ''}${why}`), { code: 'ENOCONTAINER' });
  }
  if (engines.length > 1) {
    throw new UsageError(`'${ref}' names a container of ${engines.join(' and of ')}: say which with --engine ${engines.join('|')}`);
  }
  if (found.length > 1) throw new UsageError(`'${ref}' is the start of ${found.length} container ids: give more of it`);
  return found[0]!;
}

/** The engines that have a volume named `name`, of those asked for. */
export function findVolume(name: string, engine: EngineName | undefined): { found: EngineName[]; errors: Error[] } {
  // As for containers: an engine that cannot be read does not hide the
  // other's volume; what it said is told when neither has one.
  const found: EngineName[] = [];
  const errors: Error[] = [];
  for (const [which, api] of enginesAsked(engine)) {
    try {
      api.volume(name);
      found.push(which);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOVOLUME') errors.push(error as Error);
    }
  }
  return { found, errors };
}

/** Opens a TARGET; container and storage targets start a session, closed by `close()`. */
export async function openTarget(spec: TargetSpec, engine: EngineName | undefined): Promise<Target> {
  if (spec.kind === 'host') return { fs: host, path: spec.path, prefix: '', session: null, close: async () => undefined };
  if (spec.kind === 'storage') {
    const session = await (engine === 'docker' ? docker.enterStorage() : podman.enterStorage());
    return { fs: session, path: spec.path, prefix: 'storage:', session, close: () => session.close() };
  }
  if (spec.kind === 'volume') {
    const { found, errors } = findVolume(spec.volume, engine);
    if (found.length === 0) {
      const why = errors.map((e) => `; ${e.message}`).join('');
      throw Object.assign(new Error(`no such volume: ${spec.volume}${engine ? ` (${engine})` : ''}${why}`), { code: 'ENOVOLUME' });
    }
    if (found.length > 1) {
      throw new UsageError(`'${spec.volume}' names a volume of ${found.join(' and of ')}: say which with --engine ${found.join('|')}`);
    }
    const session = await (found[0] === 'docker' ? docker : podman).enterVolume(spec.volume);
    return { fs: session, path: spec.path, prefix: targetPrefix(spec), session, close: () => session.close() };
  }
  const c = resolveContainer(spec.container, engine);
  const api = c.engine === 'docker' ? docker : podman;
  const prefix = targetPrefix(spec);
  try {
    const session = await api.enterMerged(c.id);
    return { fs: session, path: spec.path, prefix, session, close: () => session.close() };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ECONTAINERSTOPPED') throw error;
  }
  // A stopped container: its layers, stacked read-only where only we see them.
  const mounted = await api.mountContainer(c.id);
  return { fs: mounted.session, path: spec.path, prefix, session: mounted.session, close: () => mounted.close() };
}

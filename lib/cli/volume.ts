// unshare-fs volume ls|inspect|rm|export|import: the volumes of podman and
// Docker, read from the engines' own files, their contents reached in the
// engine's storage namespaces (ids as the containers see them).
import * as fs from 'node:fs';

import { docker, podman, type TreeOptions, type Volume } from '../index';
import { refuseTerminal, writeTar } from './export';
import { UsageError, type Output } from './output';
import { findVolume, type EngineName } from './target';

/** A volume with its engine: the --json line and inspect's object (README, Command line). */
interface Row {
  engine: EngineName;
  name: string;
  driver: string | null;
  mountPoint: string;
  createdAt: string | null;
  labels: Record<string, string> | null;
  containers: string[] | null;
}

const API = { podman, docker } as const;
const ENGINES: readonly EngineName[] = ['podman', 'docker'];

function row(engine: EngineName, v: Volume): Row {
  return {
    engine,
    name: v.name,
    driver: v.driver,
    mountPoint: v.mountPoint,
    createdAt: v.createdAt,
    labels: v.labels,
    containers: v.containers,
  };
}

/** The one engine whose volume `name` is: ENOVOLUME when none, a usage error when both have one. */
function engineOf(name: string, engine: EngineName | undefined): EngineName {
  const { found, errors } = findVolume(name, engine);
  if (found.length === 0) {
    const why = errors.map((e) => `; ${e.message}`).join('');
    throw Object.assign(new Error(`no such volume: ${name}${engine ? ` (${engine})` : ''}${why}`), { code: 'ENOVOLUME' });
  }
  if (found.length > 1)
    throw new UsageError(`'${name}' names a volume of ${found.join(' and of ')}: say which with --engine ${found.join('|')}`);
  return found[0]!;
}

/** Runs `work` on each name; a failure costs that name (exit 1), a usage error ends the run. */
async function each(names: string[], out: Output, work: (name: string) => Promise<void>): Promise<void> {
  for (const name of names) {
    try {
      await work(name);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      out.fail(error);
    }
  }
  await out.flush(true);
}

/**
 * Lists the volumes of every engine (or the one asked for): a table as
 * `podman volume ls` with the engine first, or one JSON object a line.
 * An engine with no volumes directory lists none; one that cannot be read
 * is told (exit 1) and does not hide the other's.
 */
export async function volumeLs(options: { json?: boolean; engine?: EngineName }, out: Output): Promise<void> {
  const rows: Row[] = [];
  for (const engine of ENGINES) {
    if (options.engine !== undefined && options.engine !== engine) continue;
    try {
      rows.push(...API[engine].volumes().map((v) => row(engine, v)));
    } catch (error) {
      // An engine the user does not have is no failure when none was asked for.
      if (options.engine === undefined && isAbsent(error)) continue;
      out.fail(error);
    }
  }
  if (options.json) {
    for (const r of rows) out.write(JSON.stringify(r) + '\n');
    return out.flush(true);
  }
  // Names are [a-zA-Z0-9][a-zA-Z0-9_.-]* (the engines' rule, checked when listed); a driver from a file is shown safely.
  const safe = (s: string): string => (/^[\x21-\x7e]*$/.test(s) ? s : JSON.stringify(s));
  const table = rows.map((r) => [r.engine, safe(r.driver ?? '-'), r.name]);
  const header = ['ENGINE', 'DRIVER', 'NAME'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  for (const cells of [header, ...table])
    out.write(cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
  return out.flush(true);
}

/** An engine's error that says it is not there at all (no storage, no daemon's files). */
function isAbsent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENODOCKER' || code === 'ENOPODMAN';
}

/** Prints the volumes as one JSON array, as `podman volume inspect` does (the --json fields). */
export async function volumeInspect(names: string[], options: { engine?: EngineName }, out: Output): Promise<void> {
  const rows: Row[] = [];
  await each(names, out, async (name) => {
    const engine = engineOf(name, options.engine);
    rows.push(row(engine, API[engine].volume(name)));
  });
  out.write(JSON.stringify(rows, null, 4) + '\n');
  await out.flush(true);
}

/**
 * Empties each volume: removes every file in it, as its containers see
 * them (files of subordinate ids, which the user cannot remove from the
 * host).  The engine's record of the volume (podman's database, Docker's
 * metadata.db) is the engine's and stays: `podman volume rm` removes it,
 * and then has nothing left it cannot delete.  Refused while a container,
 * running or not, uses the volume (as `podman volume rm` refuses), unless
 * `force`; where the engine's files do not say who uses it, it is emptied.
 */
export async function volumeRm(
  names: string[],
  options: { force?: boolean; engine?: EngineName; onProgress?: TreeOptions['onProgress'] },
  out: Output,
): Promise<void> {
  await each(names, out, async (name) => {
    const engine = engineOf(name, options.engine);
    const users = API[engine].volume(name).containers ?? [];
    if (users.length > 0 && !options.force) {
      const ids = users.map((id) => id.slice(0, 12)).join(', ');
      throw Object.assign(
        new Error(`volume ${name} is being used by the following container(s): ${ids}: not emptied (--force empties it)`),
        {
          code: 'EBUSY',
        },
      );
    }
    const session = await API[engine].enterVolume(name);
    try {
      await session.rm('/', {
        recursive: true,
        allowRoot: true,
        signal: out.closed.signal,
        onError: (error) => out.fail(error, `volume:${name}:`),
        ...(options.onProgress && { onProgress: options.onProgress }),
      });
    } finally {
      await session.close();
    }
  });
}

/** Writes the volume's tar (what `podman volume export` writes) to stdout, or to `output` once it is whole. */
export async function volumeExport(name: string, options: { output?: string; engine?: EngineName }, out: Output): Promise<void> {
  refuseTerminal(options.output);
  const engine = engineOf(name, options.engine);
  await writeTar((signal) => API[engine].exportVolume(name, { signal }), options.output, out);
}

/** Unpacks a tar from stdin, or from `input`, into the volume over what is there (`podman volume import`). */
export async function volumeImport(name: string, options: { input?: string; engine?: EngineName }, out: Output): Promise<void> {
  if (options.input === undefined && (process.stdin as { isTTY?: boolean }).isTTY === true) {
    throw new UsageError('refusing to read a tar from a terminal: use -i FILE or redirect stdin');
  }
  const engine = engineOf(name, options.engine);
  const source = options.input === undefined ? process.stdin : fs.createReadStream(options.input);
  try {
    await API[engine].importVolume(name, source, { signal: out.closed.signal });
  } finally {
    if (options.input !== undefined) (source as fs.ReadStream).destroy();
  }
}

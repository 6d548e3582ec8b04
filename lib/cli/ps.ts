// unshare-fs ps: the containers of every engine the user has, with what the
// other verbs need to reach them (engine, pid, storage driver, merged dir).
import { containers, docker, podman, type EngineContainer } from '../index';
import type { Output } from './output';

/** One container's row. */
interface Row {
  engine: string;
  name: string;
  id: string;
  state: 'running' | 'stopped';
  pid: number | null;
  driver: string;
  mergedDir: string;
}

/** The engine's storage driver; '-' when its configuration cannot be read. */
function driverOf(engine: EngineContainer['engine']): string {
  try {
    return engine === 'docker' ? docker.storageConfig().driver : podman.storageConfig().driver;
  } catch {
    return '-';
  }
}

/** Lists the containers: a table, or one JSON object a line. */
export async function ps(options: { json?: boolean; engine?: string }, out: Output): Promise<void> {
  const drivers = new Map<string, string>();
  const rows: Row[] = containers({ onError: (error) => out.fail(error) })
    .filter((c) => options.engine === undefined || c.engine === options.engine)
    .map((c) => {
      if (!drivers.has(c.engine)) drivers.set(c.engine, driverOf(c.engine));
      return {
        engine: c.engine,
        name: c.names[0] ?? '',
        id: c.id,
        state: c.running ? 'running' : 'stopped',
        pid: c.pid,
        driver: drivers.get(c.engine)!,
        mergedDir: c.mergedDir,
      };
    });
  if (options.json) {
    for (const row of rows) out.write(JSON.stringify(row) + '\n');
    return out.flush(true);
  }
  const header = ['ENGINE', 'NAME', 'ID', 'STATE', 'PID', 'DRIVER', 'MERGED'];
  // Names come from the engines' own records: shown as JSON strings when they hold anything but printable ASCII.
  const safe = (s: string): string => (/^[\x21-\x7e]*$/.test(s) ? s : JSON.stringify(s));
  const table = rows.map((r) => [
    r.engine,
    safe(r.name),
    r.id.slice(0, 12),
    r.state,
    r.pid === null ? '-' : String(r.pid),
    r.driver,
    safe(r.mergedDir),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  for (const cells of [header, ...table])
    out.write(cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
  return out.flush(true);
}

// The demo with real podman containers, when this user has running ones:
// list them, then walk the first from inside podman's namespaces.
import * as podman from '../podman';
import type { Session } from '../ns/session';

type Lister = (
  session: Session,
  root: string,
  out: (line: string) => void,
  maxDepth: number,
) => Promise<{ entries: number; bytes: number }>;

/** Shows running containers; false when there are none (or no podman), so the caller shows its own overlay. */
export async function showPodman(out: (line: string) => void, listTree: Lister): Promise<boolean> {
  let running: podman.PodmanContainer[];
  try {
    running = podman.containers().filter((c) => c.pid !== null && c.mounted);
  } catch {
    return false;
  }
  const [first] = running;
  if (first === undefined) return false;
  const started = process.hrtime.bigint();
  const session = await podman.enterStorage();
  try {
    out(`podman containers, read from podman's own files (storage ${podman.storageConfig().graphRoot}):`);
    for (const c of running) {
      out(`  ${c.id.slice(0, 12)}  ${(c.names[0] ?? '').padEnd(16)} pid ${String(c.pid).padEnd(8)} ${c.imageName ?? c.image.slice(0, 12)}`);
      out(`      merged ${c.mergedDir}`);
    }
    out('');
    out(`${first.names[0] ?? first.id}, its top two levels, from inside podman's namespaces (session worker pid ${session.workerPid}):`);
    const { entries, bytes } = await listTree(session, first.mergedDir, out, 2);
    let all = 0;
    for await (const batch of session.walkBatches(first.mergedDir, { stat: ['size'] })) all += batch.length;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    out('');
    out(`${entries} entries listed (${bytes} bytes); the whole tree has ${all} entries; ${ms.toFixed(1)} ms in all`);
  } finally {
    await session.close();
  }
  return true;
}

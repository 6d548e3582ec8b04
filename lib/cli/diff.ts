// unshare-fs diff: what a container changed against its image, as `podman
// diff` (and `docker diff`) print it, read from its layers without the engine.
import { docker, podman } from '../index';
import { questionMarks } from './names';
import type { Output } from './output';
import { resolveContainer, type EngineName } from './target';

const LETTER = { added: 'A', changed: 'C', deleted: 'D' } as const;

/**
 * Prints the container's changes, one a line: `C /etc`, `A /etc/motd`,
 * `D /tmp/x`, sorted by path (podman and Docker print the same lines in
 * an order of their own); or (`json`) one object a line,
 * `{"kind":"added","path":"/etc/motd"}`.  Paths are the container's,
 * hostile input: on a terminal a control character prints as '?' (as find
 * prints names); piped they are written as podman writes them.
 */
export async function diff(ref: string, options: { json?: boolean; engine?: EngineName }, out: Output): Promise<void> {
  const c = resolveContainer(ref, options.engine);
  // Ctrl-C stops the comparison in the server (./interrupt.ts).
  const changes = await (c.engine === 'docker' ? docker : podman).diff(c.id, { signal: out.closed.signal });
  const tty = (process.stdout as { isTTY?: boolean }).isTTY === true;
  for (const change of changes) {
    if (options.json) out.write(`${JSON.stringify({ kind: change.kind, path: change.path })}\n`);
    else {
      const path = Buffer.from(change.path);
      out.write(Buffer.concat([Buffer.from(`${LETTER[change.kind]} `), tty ? questionMarks(path) : path, Buffer.from('\n')]));
    }
    if (out.full) await out.flush();
  }
}

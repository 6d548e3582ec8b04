// unshare-fs export: a container's files as a tar, what `podman export`
// (and `docker export`) write, read without the engine; the writing of a
// tar, shared with `volume export`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { docker, podman } from '../index';
import { UsageError, type Output } from './output';
import { resolveContainer, type EngineName } from './target';

/**
 * Writes the container's tar to stdout, or (`output`) to a file that
 * appears only once the tar is whole (see writeTar).  A tar is not written
 * to a terminal, as podman refuses to.
 */
export async function exportContainer(ref: string, options: { output?: string; engine?: EngineName }, out: Output): Promise<void> {
  refuseTerminal(options.output);
  const c = resolveContainer(ref, options.engine);
  const api = c.engine === 'docker' ? docker : podman;
  await writeTar((signal) => api.exportContainer(c.id, { signal }), options.output, out);
}

/** A usage error when a tar would go to a terminal (no `output`, stdout a tty). */
export function refuseTerminal(output: string | undefined): void {
  if (output === undefined && (process.stdout as { isTTY?: boolean }).isTTY === true) {
    throw new UsageError('refusing to write a tar to a terminal: use -o FILE or redirect stdout');
  }
}

/**
 * Writes the tar `open` streams to stdout, or (`output`) to a file that
 * appears only once the tar is whole: it is written under a temporary name
 * in the same directory and renamed over `output` at the end (a failed or
 * interrupted export leaves neither a truncated tar nor the temporary
 * file; Ctrl-C is such an interruption).  Progress counts the tar's bytes.
 */
export async function writeTar(open: (signal?: AbortSignal) => Readable, output: string | undefined, out: Output): Promise<void> {
  if (output === undefined) {
    await out.flush(true);
    try {
      for await (const chunk of open(out.closed.signal) as AsyncIterable<Buffer>) {
        out.write(chunk);
        out.progress.add({ bytes: chunk.length });
        await out.flush(true);
      }
    } catch (error) {
      if (out.stoppedBy(error)) return; // the reader went away, or Ctrl-C
      throw error;
    }
    return;
  }
  const file = output;
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.unshare-fs-${process.pid}.tmp`);
  // A second Ctrl-C exits at once (./interrupt.ts): the file goes with the process.
  const removeAtExit = (): void => fs.rmSync(temporary, { force: true });
  process.on('exit', removeAtExit);
  try {
    // 'wx': never through a file (or a link) someone else put at that name.
    await pipeline(
      open(out.closed.signal),
      async function* (tar: AsyncIterable<Buffer>) {
        for await (const chunk of tar) {
          out.progress.add({ bytes: chunk.length });
          yield chunk;
        }
      },
      fs.createWriteStream(temporary, { flags: 'wx' }),
    );
    await fs.promises.rename(temporary, file);
  } catch (error) {
    await fs.promises.rm(temporary, { force: true });
    throw error;
  } finally {
    process.removeListener('exit', removeAtExit);
  }
}

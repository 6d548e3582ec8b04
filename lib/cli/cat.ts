// unshare-fs cat: a file's bytes on stdout, streamed with backpressure.
import { pipeline } from 'node:stream/promises';

import type { Output } from './output';
import type { Target } from './target';

/**
 * Copies the target file to stdout (raw, as cat does: it is the user's to
 * pipe).  Only a regular file (a symlink to one included) is read: a FIFO or
 * a device a container planted would hold the command until someone wrote
 * to it (a swap between this stat and the open still can: Ctrl-C ends it).
 */
export async function cat(target: Target, out: Output): Promise<void> {
  const st = await target.fs.stat(target.path);
  if (!st.isFile() && !st.isDirectory()) {
    throw new Error(`'${target.prefix}${target.path}' is not a regular file: not read`);
  }
  await out.flush(true);
  const stream = target.fs.createReadStream(target.path, { signal: out.closed.signal });
  await pipeline(stream, async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      out.write(chunk);
      await out.flush(true);
    }
  });
}

// unshare-fs cat: a file's bytes on stdout, streamed with backpressure.
import { pipeline } from 'node:stream/promises';

import type { Output } from './output';
import type { Target } from './target';

/** Copies the target file to stdout (raw, as cat does: it is the user's to pipe). */
export async function cat(target: Target, out: Output): Promise<void> {
  await out.flush(true);
  const stream = target.fs.createReadStream(target.path, { signal: out.closed.signal });
  await pipeline(stream, async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      out.write(chunk);
      await out.flush(true);
    }
  });
}

// A tar's entries as comparable lines: name -> type, ids, mode, size, link
// target, content hash.  Read with the library's reader, which the tar
// tests hold to GNU tar and podman's archives hold to Go's writer.
import { createHash } from 'node:crypto';

import { readTar } from '../../lib/layers/tar';

export async function tarEntries(source: AsyncIterable<Buffer>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const entry of readTar(source)) {
    const h = entry.header;
    const hash = createHash('sha256');
    for await (const chunk of entry.body()) hash.update(chunk);
    const line = [h.type, h.uid, h.gid, h.mode.toString(8), h.size, h.linkName?.toString('latin1') ?? '', hash.digest('hex').slice(0, 16)];
    out.set(h.name.toString('latin1'), line.join(' '));
  }
  return out;
}

// A request frame told in words for NODE_DEBUG=unshare-fs: its op's name
// and the paths it names, read with the op table's layout (OPS), so that
// no op needs a describer of its own.
import { FRAME_HEADER, OPS } from './protocol.generated';

const OP_NAMES = new Map<number, string>(Object.entries(OPS).map(([name, layout]) => [layout.op, name]));
/** Fields that name a path (an xattr's value, a write's data, a mount's options do not). */
const PATH_FIELDS = new Set(['path', 'from', 'to', 'existing', 'new_path', 'target', 'source']);

/** `Op path` (or `Op from -> to`) of a request frame; what it cannot read it leaves out. */
export function describeRequest(frame: Buffer): string {
  const op = frame[8]!;
  const name = OP_NAMES.get(op) ?? `op ${op}`;
  const layout = Object.values(OPS).find((l) => l.op === op);
  if (layout === undefined) return name;
  const paths: string[] = [];
  let at = FRAME_HEADER;
  try {
    for (const [type, field] of layout.fields) {
      if (type === 'u32') at += 4;
      else if (type === 'u64' || type === 'i64') at += 8;
      else if (type === 'str') {
        const length = frame.readUInt32LE(at);
        if (PATH_FIELDS.has(field)) paths.push(frame.toString('utf8', at + 4, at + 4 + length));
        at += 4 + length;
      } else if (type === 'strs') {
        const count = frame.readUInt32LE(at);
        at += 4;
        for (let i = 0; i < count; i++) at += 4 + frame.readUInt32LE(at);
      } else if (PATH_FIELDS.has(field)) {
        paths.push(frame.toString('utf8', at));
      }
    }
  } catch {
    // A frame shorter than its layout: the op's name is all there is to say.
  }
  return paths.length === 0 ? name : `${name} ${paths.map((p) => JSON.stringify(p)).join(' -> ')}`;
}

// Turns walk batches (see native/core/protocol.h) into Entry objects.  One
// decoder serves the in-process walker and the namespace worker alike.
import { Entry, TYPE_BY_DTYPE } from './entry';
import { fsError, type FsError } from './errors';
import { RecordTag } from './protocol';
import { StatReader, type BigIntStats, type IdMapper, type Stats } from './stats';

export interface DecodeOptions {
  /** The walk's root as the caller wrote it (no trailing slash but for "/"). */
  root: string;
  statMask: number;
  bigint: boolean;
  buffer: boolean;
  mapUid: IdMapper;
  mapGid: IdMapper;
}

export interface DecodedBatch {
  entries: Entry<string | Buffer, Stats | BigIntStats>[];
  errors: FsError[];
  /** For each error, how many entries came before it in this batch. */
  errorPositions: number[];
}

type Utf8Slicer = (this: Buffer, start: number, end: number) => string;
// Buffer#utf8Slice skips toString's argument checks; both are node's own.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Utf8Slicer }).utf8Slice;

export class BatchDecoder {
  private readonly rootPrefix: string;
  private readonly rootPrefixBytes: Buffer;

  constructor(private readonly options: DecodeOptions) {
    this.rootPrefix = options.root.endsWith('/') ? options.root : `${options.root}/`;
    this.rootPrefixBytes = Buffer.from(this.rootPrefix);
  }

  decode(batch: Buffer): DecodedBatch {
    const { statMask, bigint, buffer } = this.options;
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    const stats = new StatReader(view, statMask, this.options.mapUid, this.options.mapGid);
    const entries: DecodedBatch['entries'] = [];
    const errors: FsError[] = [];
    const errorPositions: number[] = [];
    let dirPrefix = this.rootPrefix;
    let dirPrefixBytes = this.rootPrefixBytes;
    let depth = 1;
    let o = 0;
    const end = batch.length;
    while (o < end) {
      const tag = batch[o];
      if (tag === RecordTag.Entry) {
        const type = TYPE_BY_DTYPE[batch[o + 1] & 15];
        const nameLength = view.getUint16(o + 2, true);
        const nameStart = o + 4;
        o = nameStart + nameLength;
        let stat: Stats | BigIntStats | undefined;
        if (statMask !== 0) {
          stat = bigint ? stats.readBigInt(o) : stats.read(o);
          o = stats.offset;
        }
        if (buffer) {
          const name = Buffer.from(batch.subarray(nameStart, nameStart + nameLength));
          entries.push(new Entry(Buffer.concat([dirPrefixBytes, name]), name, type, depth, stat));
        } else {
          const name = utf8Slice.call(batch, nameStart, nameStart + nameLength);
          entries.push(new Entry(dirPrefix + name, name, type, depth, stat));
        }
      } else if (tag === RecordTag.Dir) {
        depth = view.getUint16(o + 2, true) + 1;
        const length = view.getUint32(o + 4, true);
        if (length === 0) {
          dirPrefix = this.rootPrefix;
          dirPrefixBytes = this.rootPrefixBytes;
        } else {
          const rel = batch.subarray(o + 8, o + 8 + length);
          dirPrefix = `${this.rootPrefix}${utf8Slice.call(rel, 0, rel.length)}/`;
          if (buffer) dirPrefixBytes = Buffer.concat([this.rootPrefixBytes, rel, Buffer.from('/')]);
        }
        o += 8 + length;
      } else if (tag === RecordTag.Error) {
        const syscallLength = view.getUint16(o + 2, true);
        const errno = view.getInt32(o + 4, true);
        const pathLength = view.getUint32(o + 8, true);
        const syscallStart = o + 12;
        const pathStart = syscallStart + syscallLength;
        const syscall = batch.toString('latin1', syscallStart, pathStart);
        const rel = batch.toString('utf8', pathStart, pathStart + pathLength);
        errors.push(fsError(errno, syscall, this.rootPrefix + rel));
        errorPositions.push(entries.length);
        o = pathStart + pathLength;
      } else {
        throw new Error(`unshare-fs: corrupt walk batch (record tag ${tag} at ${o})`);
      }
    }
    return { entries, errors, errorPositions };
  }
}

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

type Utf8Slicer = (this: Buffer, start: number, end: number) => string;
// Buffer#utf8Slice skips toString's argument checks; both are node's own.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Utf8Slicer }).utf8Slice;

type AnyEntry = Entry<string | Buffer, Stats | BigIntStats>;

const SLASH = Buffer.from('/');
const EMPTY = Buffer.alloc(0);

/**
 * Reads one batch at a time, record by record: the caller takes each entry
 * as it is made, so a batch's entries are not all alive at once.
 */
export class BatchDecoder {
  private readonly rootPrefix: string;
  private readonly rootPrefixBytes: Buffer;
  private batch: Buffer = EMPTY;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private stats: StatReader;
  private offset = 0;
  private dirPrefix: string;
  private dirPrefixBytes: Buffer;
  private depth = 1;

  constructor(private readonly options: DecodeOptions) {
    this.rootPrefix = options.root.endsWith('/') ? options.root : `${options.root}/`;
    this.rootPrefixBytes = Buffer.from(this.rootPrefix);
    this.dirPrefix = this.rootPrefix;
    this.dirPrefixBytes = this.rootPrefixBytes;
    this.stats = new StatReader(this.view, options.statMask, options.mapUid, options.mapGid);
  }

  /** Starts reading `batch` (self-contained: it begins with its directory). */
  reset(batch: Buffer): void {
    this.batch = batch;
    this.view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    this.stats = new StatReader(this.view, this.options.statMask, this.options.mapUid, this.options.mapGid);
    this.offset = 0;
    this.dirPrefix = this.rootPrefix;
    this.dirPrefixBytes = this.rootPrefixBytes;
    this.depth = 1;
  }

  /** Forgets the batch: it is not read again. */
  clear(): void {
    this.reset(EMPTY);
  }

  /** The next entry, or the error of an error record, or undefined at the batch's end. */
  next(): AnyEntry | FsError | undefined {
    const batch = this.batch;
    const view = this.view;
    const end = batch.length;
    let o = this.offset;
    while (o < end) {
      const tag = batch[o];
      if (tag === RecordTag.Entry) {
        const type = TYPE_BY_DTYPE[batch[o + 1] & 15];
        const nameLength = view.getUint16(o + 2, true);
        const nameStart = o + 4;
        o = nameStart + nameLength;
        let stat: Stats | BigIntStats | undefined;
        const { statMask } = this.options;
        if (statMask !== 0) {
          stat = this.options.bigint ? this.stats.readBigInt(o) : this.stats.read(o);
          o = this.stats.offset;
        }
        this.offset = o;
        if (this.options.buffer) {
          const name = Buffer.from(batch.subarray(nameStart, nameStart + nameLength));
          return new Entry(Buffer.concat([this.dirPrefixBytes, name]), name, type, this.depth, stat);
        }
        const name = utf8Slice.call(batch, nameStart, nameStart + nameLength);
        return new Entry(this.dirPrefix + name, name, type, this.depth, stat);
      }
      if (tag === RecordTag.Dir) {
        o = this.directory(o);
      } else if (tag === RecordTag.Error) {
        return this.error(o);
      } else {
        throw new Error(`unshare-fs: corrupt walk batch (record tag ${tag} at ${o})`);
      }
    }
    this.offset = o;
    return undefined;
  }

  // The other records, out of next() so that the entry path stays small.

  /** A directory record: the entries after it are in this directory. */
  private directory(o: number): number {
    const batch = this.batch;
    this.depth = this.view.getUint16(o + 2, true) + 1;
    const length = this.view.getUint32(o + 4, true);
    if (length === 0) {
      this.dirPrefix = this.rootPrefix;
      this.dirPrefixBytes = this.rootPrefixBytes;
    } else {
      this.dirPrefix = `${this.rootPrefix}${utf8Slice.call(batch, o + 8, o + 8 + length)}/`;
      if (this.options.buffer) {
        this.dirPrefixBytes = Buffer.concat([this.rootPrefixBytes, batch.subarray(o + 8, o + 8 + length), SLASH]);
      }
    }
    return o + 8 + length;
  }

  /** An error record: what failed, on which path. */
  private error(o: number): FsError {
    const batch = this.batch;
    const syscallLength = this.view.getUint16(o + 2, true);
    const errno = this.view.getInt32(o + 4, true);
    const pathLength = this.view.getUint32(o + 8, true);
    const syscallStart = o + 12;
    const pathStart = syscallStart + syscallLength;
    const syscall = batch.toString('latin1', syscallStart, pathStart);
    const rel = batch.toString('utf8', pathStart, pathStart + pathLength);
    this.offset = pathStart + pathLength;
    return fsError(errno, syscall, this.rootPrefix + rel);
  }
}

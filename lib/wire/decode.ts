// Turns walk batches (see native/core/protocol.h) into Entry objects.  One
// decoder serves the in-process walker and the namespace worker alike.
import { Entry, TYPE_BY_DTYPE } from '../core/entry';
import { fsError, protocolError, type FsError } from '../core/errors';
import { ALL_STAT, BATCH_HEADER, BATCH_NAMES_ASCII, RecordTag, SUMMARY_RECORD_BYTES, SUMMARY_VALUES } from './protocol';
import { ALL_STAT_BYTES, StatReader, type BigIntStats, type IdMapper, type Stats } from '../core/stats';

export interface DecodeOptions {
  /** The walk's root as the caller wrote it (no trailing slash but for "/"). */
  root: string;
  statMask: number;
  bigint: boolean;
  /** Names and paths as Buffers, latin1 strings (one char a byte) or UTF-8 strings. */
  encoding: 'utf8' | 'latin1' | 'buffer';
  mapUid: IdMapper;
  mapGid: IdMapper;
  /** A summing walk's SUMMARY records, each as it is read (a SummaryKind plus a SummaryField each). */
  onSummary?: ((sums: bigint[]) => void) | undefined;
}

type Slicer = (this: Buffer, start: number, end: number) => string;
// Buffer#utf8Slice and #latin1Slice skip toString's argument checks; both are node's own.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slicer }).utf8Slice;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Slicer }).latin1Slice;

type AnyEntry = Entry<string | Buffer, Stats | BigIntStats | undefined>;

/** Bytes of each stat field, in mask bit order (native/core/protocol.h). */
const STAT_FIELD_BYTES = [4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12];

const SLASH = Buffer.from('/');
const EMPTY = Buffer.alloc(0);

/**
 * Reads one batch at a time, record by record: the caller takes each entry
 * as it is made, so a batch's entries are not all alive at once.
 */
export class BatchDecoder {
  /** The root as entries' paths start with it: as written, or its bytes as latin1 chars. */
  private readonly root: string;
  private readonly rootPrefix: string;
  /** The root as error paths start with it: as written. */
  private readonly errorPrefix: string;
  private readonly rootPrefixBytes: Buffer;
  private readonly statMask: number;
  private readonly bigint: boolean;
  private readonly buffer: boolean;
  private readonly latin1: boolean;
  /** Every stat field, as numbers: `stat: true`, the common case, read straight-line. */
  private readonly allStats: boolean;
  /** An entry record's bytes: tag, type, name length, stat fields. */
  private readonly entryBytes: number;
  private batch: Buffer = EMPTY;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private stats: StatReader;
  private offset = 0;
  private recordsEnd = 0;
  /** Where the next entry's name starts, in the batch. */
  private namePosition = 0;
  private namesStart = 0;
  /**
   * All of the batch's names as one string, when they are all ASCII or the
   * walk asked for latin1 (so byte offsets are string offsets): a name is a
   * substring of it, made without a call into node per entry.  V8 makes
   * longer substrings slices, so a name the caller keeps keeps its batch's
   * names (not its stats) alive.
   */
  private names: string | undefined;
  private dirPrefix: string;
  private dirPrefixBytes: Buffer;
  /** The entries' parentPath: the root as written, or the prefix without its slash. */
  private dirParent: string;
  private dirParentBytes: Buffer;
  private readonly rootBytes: Buffer;
  private depth = 1;
  private failure: FsError | undefined;

  constructor(private readonly options: DecodeOptions) {
    this.buffer = options.encoding === 'buffer';
    this.latin1 = options.encoding === 'latin1';
    this.rootBytes = Buffer.from(options.root);
    this.root = this.latin1 ? this.rootBytes.toString('latin1') : options.root;
    this.errorPrefix = options.root.endsWith('/') ? options.root : `${options.root}/`;
    this.rootPrefix = this.root.endsWith('/') ? this.root : `${this.root}/`;
    this.rootPrefixBytes = Buffer.from(this.errorPrefix);
    this.statMask = options.statMask;
    this.bigint = options.bigint;
    this.allStats = options.statMask === ALL_STAT && !options.bigint;
    this.entryBytes = 4;
    for (const [bit, bytes] of STAT_FIELD_BYTES.entries()) {
      if (options.statMask & (1 << bit)) this.entryBytes += bytes;
    }
    this.dirPrefix = this.rootPrefix;
    this.dirPrefixBytes = this.rootPrefixBytes;
    this.dirParent = this.root;
    this.dirParentBytes = this.rootBytes;
    this.stats = new StatReader(this.view, options.statMask, options.mapUid, options.mapGid);
  }

  /** Starts reading `batch` (self-contained: its first record is its directory). */
  reset(batch: Buffer): void {
    this.batch = batch;
    this.view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    this.stats = new StatReader(this.view, this.statMask, this.options.mapUid, this.options.mapGid);
    this.dirPrefix = this.rootPrefix;
    this.dirPrefixBytes = this.rootPrefixBytes;
    this.dirParent = this.root;
    this.dirParentBytes = this.rootBytes;
    this.depth = 1;
    this.failure = undefined;
    this.names = undefined;
    // Nothing of a batch that fails below is read.
    this.offset = this.recordsEnd = this.namePosition = this.namesStart = 0;
    if (batch.length === 0) return;
    if (batch.length < BATCH_HEADER) throw corrupt(`${batch.length} bytes`);
    const namesStart = this.view.getUint32(0, true);
    if (namesStart < BATCH_HEADER || namesStart > batch.length) {
      throw corrupt(`names at ${namesStart} of ${batch.length}`);
    }
    this.offset = BATCH_HEADER;
    this.recordsEnd = this.namePosition = this.namesStart = namesStart;
    if (this.latin1 || (!this.buffer && (this.view.getUint32(4, true) & BATCH_NAMES_ASCII) !== 0)) {
      this.names = latin1Slice.call(batch, namesStart, batch.length);
    }
  }

  /** Forgets the batch: it is not read again. */
  clear(): void {
    this.reset(EMPTY);
  }

  /**
   * The next entry; undefined at the batch's end, or at an error record,
   * whose error takeError() then gives.
   */
  next(): AnyEntry | undefined {
    const batch = this.batch;
    let o = this.offset;
    while (o < this.recordsEnd) {
      const tag = batch[o];
      if (tag === RecordTag.Entry) {
        // A record or name running past its end would be read from the next
        // batch's bytes, or from nothing.
        if (o + this.entryBytes > this.recordsEnd) throw corrupt(`entry record at ${o} runs past the records' end ${this.recordsEnd}`);
        // In range: the record's end was checked just above, and the table has 16 types.
        const type = TYPE_BY_DTYPE[batch[o + 1]! & 15]!;
        const nameLength = batch[o + 2]! | (batch[o + 3]! << 8);
        const nameStart = this.namePosition;
        const nameEnd = nameStart + nameLength;
        if (nameEnd > batch.length) throw corrupt(`name of the entry at ${o} runs past the batch's end ${batch.length}`);
        this.namePosition = nameEnd;
        let stat: Stats | BigIntStats | undefined;
        if (this.allStats) {
          stat = this.stats.readAll(o + 4);
          this.offset = o + 4 + ALL_STAT_BYTES;
        } else if (this.statMask !== 0) {
          stat = this.bigint ? this.stats.readBigInt(o + 4) : this.stats.read(o + 4);
          this.offset = this.stats.offset;
        } else {
          this.offset = o + 4;
        }
        if (this.buffer) {
          // Copies of their own (the batch's memory is reused), each one
          // allocation and one copy from the batch: Buffer.from(subarray)
          // and Buffer.concat made two more objects an entry.
          const prefix = this.dirPrefixBytes;
          const name = Buffer.allocUnsafe(nameLength);
          batch.copy(name, 0, nameStart, nameEnd);
          const fullPath = Buffer.allocUnsafe(prefix.length + nameLength);
          prefix.copy(fullPath, 0);
          batch.copy(fullPath, prefix.length, nameStart, nameEnd);
          return new Entry(this.dirParentBytes, name, fullPath, type, this.depth, stat);
        }
        const name =
          this.names !== undefined
            ? this.names.substring(nameStart - this.namesStart, nameEnd - this.namesStart)
            : utf8Slice.call(batch, nameStart, nameEnd);
        return new Entry(this.dirParent, name, this.dirPrefix + name, type, this.depth, stat);
      }
      if (tag === RecordTag.Dir) {
        o = this.directory(o);
      } else if (tag === RecordTag.Error) {
        this.failure = this.error(o);
        return undefined;
      } else if (tag === RecordTag.Summary) {
        o = this.summary(o);
      } else {
        throw corrupt(`record tag ${tag} at ${o}`);
      }
    }
    this.offset = o;
    return undefined;
  }

  /** The error of the error record next() stopped at, once. */
  takeError(): FsError | undefined {
    const failure = this.failure;
    this.failure = undefined;
    return failure;
  }

  // The other records, out of next() so that the entry path stays small.

  /** A directory record: the entries after it are in this directory. */
  private directory(o: number): number {
    const batch = this.batch;
    if (o + 8 > this.recordsEnd) throw corrupt(`directory record at ${o} runs past the records' end ${this.recordsEnd}`);
    const length = this.view.getUint32(o + 4, true);
    if (o + 8 + length > this.recordsEnd) throw corrupt(`directory path at ${o} runs past the records' end ${this.recordsEnd}`);
    this.depth = this.view.getUint16(o + 2, true) + 1;
    if (length === 0) {
      this.dirPrefix = this.rootPrefix;
      this.dirPrefixBytes = this.rootPrefixBytes;
      this.dirParent = this.root;
      this.dirParentBytes = this.rootBytes;
    } else {
      this.dirParent = `${this.rootPrefix}${(this.latin1 ? latin1Slice : utf8Slice).call(batch, o + 8, o + 8 + length)}`;
      this.dirPrefix = `${this.dirParent}/`;
      if (this.buffer) {
        this.dirParentBytes = Buffer.concat([this.rootPrefixBytes, batch.subarray(o + 8, o + 8 + length)]);
        this.dirPrefixBytes = Buffer.concat([this.dirParentBytes, SLASH]);
      }
    }
    return o + 8 + length;
  }

  /** A SUMMARY record: its sums go to onSummary. */
  private summary(o: number): number {
    if (o + SUMMARY_RECORD_BYTES > this.recordsEnd) throw corrupt(`summary record at ${o} runs past the records' end ${this.recordsEnd}`);
    const sums: bigint[] = [];
    for (let i = 0; i < SUMMARY_VALUES; i++) sums.push(this.view.getBigUint64(o + 8 + 8 * i, true));
    this.options.onSummary?.(sums);
    return o + SUMMARY_RECORD_BYTES;
  }

  /** An error record: what failed, on which path. */
  private error(o: number): FsError {
    const batch = this.batch;
    if (o + 12 > this.recordsEnd) throw corrupt(`error record at ${o} runs past the records' end ${this.recordsEnd}`);
    const syscallLength = this.view.getUint16(o + 2, true);
    const errno = this.view.getInt32(o + 4, true);
    const pathLength = this.view.getUint32(o + 8, true);
    const syscallStart = o + 12;
    const pathStart = syscallStart + syscallLength;
    if (pathStart + pathLength > this.recordsEnd) throw corrupt(`error record at ${o} runs past the records' end ${this.recordsEnd}`);
    const syscall = batch.toString('latin1', syscallStart, pathStart);
    const rel = batch.toString('utf8', pathStart, pathStart + pathLength);
    this.offset = pathStart + pathLength;
    return fsError(errno, syscall, this.errorPrefix + rel);
  }
}

function corrupt(what: string): Error {
  return protocolError(`corrupt walk batch (${what})`);
}

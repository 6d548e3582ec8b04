// The wire format on the TypeScript side: native/core/protocol.h's op table,
// constants and enums as scripts/gen-protocol.js generated them into
// protocol.generated.ts (no number is written here: test/protocol.test.ts
// checks that), and the error reply's payload read.  Request frames are
// built by requests.ts.
import { fsError, type FsError } from '../core/errors';
import { StatField as StatBit } from './protocol.generated';

export {
  ALL_STAT_BYTES,
  BATCH_HEADER,
  BATCH_ASKS,
  BATCH_NAMES_ASCII,
  END_CANCELLED,
  FRAME_HEADER,
  MAX_CHUNK,
  MAX_EXCLUDES,
  MAX_EXCLUDE_BYTES,
  MAX_HANDLES,
  MAX_LOWERS,
  MAX_REQUEST,
  MAX_WALK_THREADS,
  MAX_WINDOW,
  MIN_TAR_CHUNK,
  MKDIR_RECURSIVE,
  NO_FOLLOW,
  NO_ID,
  OPEN_FLAGS,
  PORT_READABLE,
  PORT_WRITABLE,
  PROGRESS_EVERY,
  PRUNE_ASK,
  PROTOCOL_VERSION,
  SEND_BUFFER_BYTES,
  SYNC_DATA,
  STAT_FIELD_BYTES,
  SUMMARY_RECORD_BYTES,
  SUMMARY_VALUES,
  TO_END,
  WALK_BATCH_BYTES,
  WALK_WINDOW,
  Op,
  RecordTag,
  Reply,
  CopyFlag,
  DiffFlag,
  TarFlag,
  TreeFlag,
  WalkFlag,
  WriteFlag,
  StatfsField,
  SummaryField,
  SummaryKind,
} from './protocol.generated';

/** Every stat field: a stat frame's, a walk's full stat mask (a bit per ../core/stats.ts's STAT_FIELDS name). */
export const ALL_STAT: number = StatBit.AllStat;

/** The node:fs style error an error reply carries: i32 errno, u16 length, syscall, path. */
export function errorFromPayload(payload: Buffer): FsError {
  const errno = payload.readInt32LE(0);
  const syscallLength = payload.readUInt16LE(4);
  const syscall = payload.toString('latin1', 6, 6 + syscallLength);
  const path = payload.toString('utf8', 6 + syscallLength);
  return fsError(errno, syscall, path.length > 0 ? path : undefined);
}

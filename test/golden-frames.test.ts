// Golden frames: every TypeScript encoder's frame goes through the server's
// own parser (the addon's test-only __parseRequest: its frame splitter and
// ParseRequest, nothing run) and must come back as the fields sent, by the
// names of protocol.h's op table.  The expected values are the arguments
// given to the encoders, and each op's number is the addon's, so neither
// side is checked against itself.  Edge values throughout: max u32, the
// widest u64 and i64, empty strings where the parser allows them, paths of
// PATH_MAX - 1 bytes and not UTF-8, the most exclude patterns and lowers.
import { native } from '../lib/wire/native';
import { CopyFlag } from '../lib/wire/protocol';
import {
  encodeAccess,
  encodeClose,
  encodeHandleChmod,
  encodeHandleChown,
  encodeHandleRead,
  encodeHandleReaddir,
  encodeHandleStat,
  encodeHandleSync,
  encodeHandleTruncate,
  encodeHandleWrite,
  encodeOpen,
  encodeRealpath,
  encodeStatfs,
  encodeCancel,
  encodeChmod,
  encodeChown,
  encodeChownTree,
  encodeCounters,
  encodeCredit,
  encodeDiff,
  encodeCopyFile,
  encodeLink,
  encodeLstat,
  encodeMkdir,
  encodeMknod,
  encodeMount,
  encodeReadFile,
  encodeReadlink,
  encodeRemove,
  encodeRename,
  encodeRmdir,
  encodeSetRoot,
  encodeSetXattr,
  encodeStat,
  encodeSymlink,
  encodeTar,
  encodeTruncate,
  encodeUnlink,
  encodeUnmount,
  encodeUtimes,
  encodeWalk,
  encodeWrite,
  encodeWriteData,
  encodeDescend,
  encodeWriteEnd,
  encodeXattrs,
  type RequestFrame,
} from '../lib/wire/requests';
import { requirement, requires } from './helpers/requirements';

/** What __parseRequest gives: errno 0 when it parsed, the frame's id and op, the op's fields by name. */
type Parsed = { errno: number; id?: number; op?: number } & Record<string, unknown>;

interface OpEntry {
  op: number;
  kind: string;
  fields: [string, string][];
}

interface TestBinding {
  __parseRequest?: (frame: Buffer) => Parsed;
  protocolTable?: { ops: Record<string, OpEntry> };
}

const binding = (): TestBinding => native() as unknown as TestBinding;

const parser = requirement("the addon's test-only __parseRequest and its protocolTable", () => {
  const { __parseRequest: parse, protocolTable: table } = binding();
  return (typeof parse === 'function' && typeof table === 'object') || 'the addon exports no __parseRequest or protocolTable';
});

const U32_MAX = 0xffffffff;
const U64_MAX = 0xffffffffffffffffn;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const MAX_REQUEST = 64 * 1024;
const FRAME_HEADER = 12;
/** A path of PATH_MAX - 1 bytes, the longest the kernel takes. */
const LONG_PATH = Buffer.from(`/${'d/'.repeat(2046)}f`);
/** A path that is no UTF-8 (paths are bytes). */
const BYTES_PATH = Buffer.from([0x2f, 0xff, 0xfe, 0x80, 0x2f, 0x61]);
const PATHS = [Buffer.from('/'), LONG_PATH, BYTES_PATH];

/** One case: the encoder's frame, and the fields the parser must find in it. */
interface Case {
  op: string;
  frame: RequestFrame;
  fields: Record<string, unknown>;
}

const cases: Case[] = [];
const add = (op: string, frame: RequestFrame, fields: Record<string, unknown>): void => {
  cases.push({ op, frame, fields });
};

for (const path of PATHS) {
  add('Lstat', encodeLstat(path), { path });
  add('Stat', encodeStat(path), { path });
  add('Readlink', encodeReadlink(path), { path });
  add('Xattrs', encodeXattrs(path), { path });
  add('SetRoot', encodeSetRoot(path), { path });
  add('Unlink', encodeUnlink(path), { path });
  add('Rmdir', encodeRmdir(path), { path });
}

// A whole file (0 to the end, the widest limit), and a range.
add('ReadFile', encodeReadFile({ start: 0n, end: U64_MAX, limit: U64_MAX, window: 64, chunkBytes: 1 << 20 }, LONG_PATH), {
  start: 0n,
  end: U64_MAX,
  limit: U64_MAX,
  window: 64,
  chunk_bytes: 1 << 20,
  path: LONG_PATH,
});
add('ReadFile', encodeReadFile({ start: I64_MAX, end: U64_MAX - 1n, limit: 1n, window: 1, chunkBytes: 1 }, BYTES_PATH), {
  start: I64_MAX,
  end: U64_MAX - 1n,
  limit: 1n,
  window: 1,
  chunk_bytes: 1,
  path: BYTES_PATH,
});

// Walks: no exclude; the most patterns the server takes (256); one that is no UTF-8.
const walk = { maxDepth: U32_MAX, statMask: 0xfff, flags: 1 | (16 << 8), window: 64, batchBytes: 8 << 20 };
const walkFields = { max_depth: U32_MAX, stat_mask: 0xfff, flags: 1 | (16 << 8), window: 64, batch_bytes: 8 << 20 };
add('Walk', encodeWalk(walk, [], LONG_PATH), { ...walkFields, excludes: [], path: LONG_PATH });
const manyExcludes = Array.from({ length: 256 }, (_, i) => Buffer.from(`*.${i}.${'x'.repeat(200)}`));
add('Walk', encodeWalk(walk, manyExcludes, Buffer.from('/')), { ...walkFields, excludes: manyExcludes, path: Buffer.from('/') });
const onePattern = [Buffer.from([0x2a, 0xff])];
add('Walk', encodeWalk({ maxDepth: 0, statMask: 0, flags: 0, window: 1, batchBytes: 4096 }, onePattern, BYTES_PATH), {
  max_depth: 0,
  stat_mask: 0,
  flags: 0,
  window: 1,
  batch_bytes: 4096,
  excludes: onePattern,
  path: BYTES_PATH,
});

add('Credit', encodeCredit(U32_MAX), { credit: U32_MAX });
add('Credit', encodeCredit(0), { credit: 0 });
add('Cancel', encodeCancel(), {});
add('Counters', encodeCounters(), {});

const mount = { flags: U64_MAX, source: Buffer.alloc(0), target: LONG_PATH, fstype: Buffer.from('overlay'), data: Buffer.alloc(0) };
add('Mount', encodeMount(mount), mount);
const overlayData = Buffer.from(`lowerdir=${'/l'.repeat(1000)},upperdir=/u,workdir=/w,userxattr`);
add(
  'Mount',
  encodeMount({ flags: 1n, source: Buffer.from('tmpfs'), target: BYTES_PATH, fstype: Buffer.from('tmpfs'), data: overlayData }),
  {
    flags: 1n,
    source: Buffer.from('tmpfs'),
    target: BYTES_PATH,
    fstype: Buffer.from('tmpfs'),
    data: overlayData,
  },
);
add('Unmount', encodeUnmount(U32_MAX, LONG_PATH), { flags: U32_MAX, target: LONG_PATH });

add('Mkdir', encodeMkdir({ mode: 0o7777, flags: 1, uid: U32_MAX, gid: U32_MAX }, LONG_PATH), {
  mode: 0o7777,
  flags: 1,
  uid: U32_MAX,
  gid: U32_MAX,
  path: LONG_PATH,
});
add('Mkdir', encodeMkdir({ mode: 0, flags: 0, uid: 0, gid: 0 }, BYTES_PATH), { mode: 0, flags: 0, uid: 0, gid: 0, path: BYTES_PATH });

add('Rename', encodeRename(LONG_PATH, BYTES_PATH), { from: LONG_PATH, to: BYTES_PATH });
add('Link', encodeLink(BYTES_PATH, LONG_PATH), { existing: BYTES_PATH, new_path: LONG_PATH });
add('CopyFile', encodeCopyFile(CopyFlag.Exclusive | CopyFlag.NoFollow, BYTES_PATH, LONG_PATH), {
  flags: 3,
  from: BYTES_PATH,
  to: LONG_PATH,
});
// A symlink's target is any bytes but NUL, even none.
add('Symlink', encodeSymlink(Buffer.alloc(0), LONG_PATH), { target: Buffer.alloc(0), path: LONG_PATH });
add('Symlink', encodeSymlink(Buffer.from([0xff, 0x2e, 0x2e]), BYTES_PATH), { target: Buffer.from([0xff, 0x2e, 0x2e]), path: BYTES_PATH });

add('Chmod', encodeChmod(0o7777, LONG_PATH), { mode: 0o7777, path: LONG_PATH });
add('Chown', encodeChown({ uid: U32_MAX, gid: U32_MAX - 1, flags: 1 }, BYTES_PATH), {
  uid: U32_MAX,
  gid: U32_MAX - 1,
  flags: 1,
  path: BYTES_PATH,
});
add(
  'Utimes',
  encodeUtimes({ atimeSeconds: I64_MIN, atimeNanoseconds: 999_999_999, mtimeSeconds: I64_MAX, mtimeNanoseconds: 0, flags: 1 }, LONG_PATH),
  { atime_sec: I64_MIN, atime_nsec: 999_999_999, mtime_sec: I64_MAX, mtime_nsec: 0, flags: 1, path: LONG_PATH },
);
add(
  'Utimes',
  encodeUtimes({ atimeSeconds: -1n, atimeNanoseconds: 1, mtimeSeconds: 0n, mtimeNanoseconds: 999_999_999, flags: 0 }, BYTES_PATH),
  {
    atime_sec: -1n,
    atime_nsec: 1,
    mtime_sec: 0n,
    mtime_nsec: 999_999_999,
    flags: 0,
    path: BYTES_PATH,
  },
);
add('Truncate', encodeTruncate(I64_MAX, LONG_PATH), { length: I64_MAX, path: LONG_PATH });
add('Truncate', encodeTruncate(0n, BYTES_PATH), { length: 0n, path: BYTES_PATH });

add('Write', encodeWrite({ flags: 2 | 4, mode: 0o7777, uid: U32_MAX, gid: U32_MAX, window: 64 }, LONG_PATH), {
  flags: 2 | 4,
  mode: 0o7777,
  uid: U32_MAX,
  gid: U32_MAX,
  window: 64,
  position: 0n,
  path: LONG_PATH,
});
add('Write', encodeWrite({ flags: 8 | 16 | 32, mode: 0, uid: 0, gid: 0, window: 1, position: I64_MAX }, BYTES_PATH), {
  flags: 8 | 16 | 32,
  mode: 0,
  uid: 0,
  gid: 0,
  window: 1,
  position: I64_MAX,
  path: BYTES_PATH,
});
const fullChunk = Buffer.alloc(MAX_REQUEST - FRAME_HEADER, 0xa5);
add('WriteData', encodeWriteData(fullChunk), { data: fullChunk });
add('WriteData', encodeWriteData(Buffer.alloc(0)), { data: Buffer.alloc(0) });
add('WriteData', encodeWriteData(new Uint8Array([0, 1, 2, 0])), { data: Buffer.from([0, 1, 2, 0]) });
add('Descend', encodeDescend(new Uint8Array([1, 0, 0, 1])), { verdicts: Buffer.from([1, 0, 0, 1]) });
add('Descend', encodeDescend(new Uint8Array(0)), { verdicts: Buffer.alloc(0) });
add('WriteEnd', encodeWriteEnd(), {});

add('Remove', encodeRemove(1 | 2 | 4 | 8 | 16, LONG_PATH), { flags: 1 | 2 | 4 | 8 | 16, uid: U32_MAX, gid: U32_MAX, path: LONG_PATH });
add('ChownTree', encodeChownTree({ flags: 1, uid: U32_MAX - 1, gid: 0 }, BYTES_PATH), {
  flags: 1,
  uid: U32_MAX - 1,
  gid: 0,
  path: BYTES_PATH,
});

add('Mknod', encodeMknod({ mode: 0o060000 | 0o7777, rdev: U64_MAX, uid: U32_MAX, gid: U32_MAX }, LONG_PATH), {
  mode: 0o060000 | 0o7777,
  rdev: U64_MAX,
  uid: U32_MAX,
  gid: U32_MAX,
  path: LONG_PATH,
});
add('Mknod', encodeMknod({ mode: 0o010000, rdev: 0n, uid: 0, gid: 0 }, BYTES_PATH), {
  mode: 0o010000,
  rdev: 0n,
  uid: 0,
  gid: 0,
  path: BYTES_PATH,
});

// An empty value is an attribute set to nothing; values are bytes.
add('SetXattr', encodeSetXattr(Buffer.from('user.x'), Buffer.alloc(0), LONG_PATH), {
  name: Buffer.from('user.x'),
  value: Buffer.alloc(0),
  path: LONG_PATH,
});
const binaryValue = Buffer.from([0, 0xff, 0, 0x80]);
add('SetXattr', encodeSetXattr(Buffer.from('trusted.overlay.opaque'), binaryValue, BYTES_PATH), {
  name: Buffer.from('trusted.overlay.opaque'),
  value: binaryValue,
  path: BYTES_PATH,
});

add('Tar', encodeTar({ flags: 1 | 2 | 4 | 8, window: 64, chunkBytes: 1 << 20 }, LONG_PATH), {
  flags: 1 | 2 | 4 | 8,
  window: 64,
  chunk_bytes: 1 << 20,
  path: LONG_PATH,
});
add('Tar', encodeTar({ flags: 0, window: 1, chunkBytes: 4096 }, BYTES_PATH), { flags: 0, window: 1, chunk_bytes: 4096, path: BYTES_PATH });

// The most lower dirs overlay stacks, and none.
const manyLowers = Array.from({ length: 500 }, (_, i) => Buffer.from(`/var/lib/containers/storage/overlay/${i}/diff`));
add('Diff', encodeDiff(64, manyLowers, LONG_PATH, 1), { flags: 1, window: 64, lowers: manyLowers, path: LONG_PATH });
add('Diff', encodeDiff(1, [], BYTES_PATH), { flags: 0, window: 1, lowers: [], path: BYTES_PATH });

// node:fs's other path calls, and open files.
add('Access', encodeAccess(7, LONG_PATH), { mode: 7, path: LONG_PATH });
add('Access', encodeAccess(0, BYTES_PATH), { mode: 0, path: BYTES_PATH });
add('Realpath', encodeRealpath(LONG_PATH), { path: LONG_PATH });
add('Realpath', encodeRealpath(BYTES_PATH), { path: BYTES_PATH });
add('Statfs', encodeStatfs(LONG_PATH), { path: LONG_PATH });
add('Statfs', encodeStatfs(BYTES_PATH), { path: BYTES_PATH });
/** Every open flag the server takes (OPEN_FLAGS, written out from fcntl.h's values), and none. */
const ALL_OPEN_FLAGS = 0o2 | 0o100 | 0o200 | 0o1000 | 0o2000 | 0o4010000 | 0o200000 | 0o400000 | 0o1000000;
add('Open', encodeOpen(ALL_OPEN_FLAGS, 0o7777, LONG_PATH), { flags: ALL_OPEN_FLAGS, mode: 0o7777, path: LONG_PATH });
add('Open', encodeOpen(0, 0, BYTES_PATH), { flags: 0, mode: 0, path: BYTES_PATH });
add('HandleRead', encodeHandleRead(U32_MAX, 1 << 20, U64_MAX), { handle: U32_MAX, length: 1 << 20, position: U64_MAX });
add('HandleRead', encodeHandleRead(0, 0, I64_MAX), { handle: 0, length: 0, position: I64_MAX });
const fullWrite = Buffer.alloc(MAX_REQUEST - FRAME_HEADER - 12, 0x5a);
add('HandleWrite', encodeHandleWrite(U32_MAX, I64_MAX, fullWrite), { handle: U32_MAX, position: I64_MAX, data: fullWrite });
add('HandleWrite', encodeHandleWrite(3, U64_MAX, Buffer.alloc(0)), { handle: 3, position: U64_MAX, data: Buffer.alloc(0) });
add('HandleStat', encodeHandleStat(U32_MAX), { handle: U32_MAX });
add('HandleTruncate', encodeHandleTruncate(U32_MAX, I64_MAX), { handle: U32_MAX, length: I64_MAX });
add('HandleChmod', encodeHandleChmod(0, 0o7777), { handle: 0, mode: 0o7777 });
add('HandleChown', encodeHandleChown(7, U32_MAX, 0), { handle: 7, uid: U32_MAX, gid: 0 });
add('HandleSync', encodeHandleSync(U32_MAX, 1), { handle: U32_MAX, flags: 1 });
add('HandleSync', encodeHandleSync(0, 0), { handle: 0, flags: 0 });
add('Close', encodeClose(U32_MAX), { handle: U32_MAX });
add('HandleReaddir', encodeHandleReaddir(U32_MAX), { handle: U32_MAX });
add('HandleReaddir', encodeHandleReaddir(0), { handle: 0 });

/** Frames whose fields break a rule of request.cc's Check: EINVAL from the parser, as the server answers them. */
const refused: [string, RequestFrame][] = [
  ['access mode 8', encodeAccess(8, LONG_PATH)],
  ['open O_WRONLY | O_RDWR', encodeOpen(0o3, 0, LONG_PATH)],
  ['open O_NONBLOCK (the server adds it)', encodeOpen(0o4000, 0, LONG_PATH)],
  ['open O_PATH', encodeOpen(0o10000000, 0, LONG_PATH)],
  ['open mode 010000', encodeOpen(0o100, 0o10000, LONG_PATH)],
  ['read past MAX_CHUNK', encodeHandleRead(0, (1 << 20) + 1, 0n)],
  ['read at 2^63', encodeHandleRead(0, 1, 1n << 63n)],
  ['write at 2^63', encodeHandleWrite(0, 1n << 63n, Buffer.alloc(1))],
  ['truncate to 2^63', encodeHandleTruncate(0, 1n << 63n)],
  ['fchmod type bits', encodeHandleChmod(0, 0o100644)],
  ['sync flag 2', encodeHandleSync(0, 2)],
];

const gate = requires(parser);

gate.describe('frames of the new ops that break a Check rule are EINVAL', () => {
  test.each(refused)('%s', (_name, frame) => {
    expect(binding().__parseRequest!(frame).errno).toBe(22);
  });
});

gate.describe("each encoder's frame parses back, in the server, to the fields sent", () => {
  test.each(cases.map((c, i) => [`${c.op} #${i}`, c] as const))('%s', (_name, { op, frame, fields }) => {
    const table = binding().protocolTable!.ops;
    const id = 0x7fffffff;
    frame.writeUInt32LE(id, 4);
    expect(binding().__parseRequest!(frame)).toEqual({ errno: 0, id, op: table[op]!.op, ...fields });
  });

  test("every op of the addon's table has an encoder tested here, and with every field of its layout", () => {
    const table = binding().protocolTable!.ops;
    const tested = new Set(cases.map((c) => c.op));
    expect(Object.keys(table).filter((op) => !tested.has(op))).toEqual([]);
    for (const c of cases) {
      expect([c.op, Object.keys(c.fields).sort()]).toEqual([c.op, table[c.op]!.fields.map(([, name]) => name).sort()]);
    }
  });
});

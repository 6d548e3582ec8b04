// The wire format as the servers see it: raw frames sent to the host
// server and to a namespace worker.  A bad frame gets an error reply, never
// a disconnect; requests only a namespace of our own may make are refused
// elsewhere; the addon's wire format is the one lib/wire was generated from
// (native/core/protocol.h, scripts/gen-protocol.js).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { createNamespace, type Namespace } from '../lib';
import { ALL_STAT_BYTES } from '../lib/core/stats';
import { PORT_READABLE, PORT_WRITABLE, native } from '../lib/wire/native';
import * as protocol from '../lib/wire/protocol';
import { STAT_FIELDS } from '../lib/core/stats';
import * as generated from '../lib/wire/protocol.generated';
import { WALK_WINDOW } from '../lib/wire/walk-stream';
import { DiffFlag, FRAME_HEADER, Op, Reply, TarFlag, errorFromPayload } from '../lib/wire/protocol';
import {
  encodeCancel,
  encodeCounters,
  encodeCredit,
  encodeDiff,
  encodeLstat,
  encodeMkdir,
  encodeMount,
  encodeReadFile,
  encodeRename,
  encodeSetRoot,
  encodeTar,
  encodeUnmount,
  type RequestFrame,
} from '../lib/wire/requests';

interface ReplyFrame {
  id: number;
  kind: number;
  flags: number;
  payload: Buffer;
}

/** A raw connection to a server: frames out, frames in. */
class RawClient {
  private buffered = Buffer.alloc(0);
  private readonly frames: ReplyFrame[] = [];
  private waiters: (() => void)[] = [];
  private ended = false;
  readonly socket: net.Socket;

  constructor(fd: number) {
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readUInt32LE(0)) {
        const length = this.buffered.readUInt32LE(0);
        const frame = this.buffered.subarray(0, 4 + length);
        this.frames.push({
          id: frame.readUInt32LE(4),
          kind: frame.readUInt8(8),
          flags: frame.readUInt8(9),
          payload: Buffer.from(frame.subarray(12)),
        });
        this.buffered = this.buffered.subarray(4 + length);
      }
      this.wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('error', () => undefined);
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame for `id`; fails if the server ends the stream first. */
  async next(id: number): Promise<ReplyFrame> {
    for (;;) {
      const at = this.frames.findIndex((f) => f.id === id);
      if (at >= 0) return this.frames.splice(at, 1)[0]!;
      if (this.ended) throw new Error(`the server ended the stream before answering ${id}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Frames received so far and not taken. */
  get pending(): number {
    return this.frames.length;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** An encoder's frame, given its id as the channel would. */
function withId(id: number, frame: RequestFrame): Buffer {
  frame.writeUInt32LE(id, 4);
  return frame;
}

/** A frame no encoder would build: `op`, u32 fields, then `tail`, as is. */
function rawFrame(id: number, op: Op, fields: readonly number[], tail = Buffer.alloc(0)): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER + 4 * fields.length + tail.length);
  frame.writeUInt32LE(frame.length - 4, 0);
  frame.writeUInt32LE(id, 4);
  frame.writeUInt32LE(op, 8);
  fields.forEach((field, i) => frame.writeUInt32LE(field, FRAME_HEADER + 4 * i));
  tail.copy(frame, FRAME_HEADER + 4 * fields.length);
  return frame;
}

/** Length-prefixed strings, as a walk's exclude patterns go. */
function strings(values: readonly string[]): Buffer {
  return Buffer.concat(
    values.flatMap((value) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(Buffer.byteLength(value), 0);
      return [length, Buffer.from(value)];
    }),
  );
}

function readFrame(id: number, start: bigint, end: bigint, limit: bigint, chunkBytes: number, file: string, window = 1): Buffer {
  return withId(id, encodeReadFile({ start, end, limit, window, chunkBytes }, Buffer.from(file)));
}

function lstatFrame(id: number, file: string): Buffer {
  return withId(id, encodeLstat(Buffer.from(file)));
}

async function expectError(client: RawClient, id: number, code: string): Promise<void> {
  const frame = await client.next(id);
  expect(frame.kind).toBe(Reply.Error);
  expect(errorFromPayload(frame.payload).code).toBe(code);
}

async function expectAnswers(client: RawClient, id: number): Promise<void> {
  client.send(lstatFrame(id, '/'));
  expect((await client.next(id)).kind).toBe(Reply.Stat);
}

test('the addon was built from the protocol.h that lib/wire/protocol.generated.ts was made from', () => {
  // A stale build (or a generated file not regenerated) differs here.
  const table = (native() as unknown as { protocolTable: unknown }).protocolTable;
  expect(table).toEqual(generated.PROTOCOL_TABLE);
  expect(native().protocol.version).toBe(generated.PROTOCOL_VERSION);
});

test('lib/wire/protocol.ts writes no number: its constants and enums are the generated ones', () => {
  // A number written there would be a second copy of protocol.h's.
  const source = fs.readFileSync(path.join(__dirname, '..', 'lib', 'wire', 'protocol.ts'), 'utf8').replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '');
  expect(source.match(/=\s*-?\d[\w.]*/g) ?? []).toEqual([]);
  const names = Object.keys(protocol).filter((name) => name in generated);
  expect(names.length).toBeGreaterThan(25);
  for (const name of names)
    expect([name, protocol[name as keyof typeof protocol]]).toEqual([name, generated[name as keyof typeof generated]]);
  expect(protocol.ALL_STAT).toBe(2 ** STAT_FIELDS.length - 1);
});

/** The server's own parser, through the addon's test-only export. */
function parse(frame: Buffer): Record<string, unknown> {
  return (native() as unknown as { __parseRequest(frame: Buffer): Record<string, unknown> }).__parseRequest(frame);
}

describe("the server's parser (__parseRequest) reads what lib/wire's encoders write", () => {
  const { EINVAL, ENOSYS, E2BIG } = os.constants.errno;

  test('a read, a tar, a diff, a mkdir and a rename come back as the fields sent', () => {
    const read = readFrame(3, 5n, protocol.TO_END, 1n << 40n, 65536, '/etc/hostname', 4);
    expect(parse(read)).toEqual({
      errno: 0,
      id: 3,
      op: generated.OPS.ReadFile.op,
      start: 5n,
      end: generated.TO_END,
      limit: 1n << 40n,
      window: 4,
      chunk_bytes: 65536,
      path: Buffer.from('/etc/hostname'),
    });
    const tar = withId(4, encodeTar({ flags: TarFlag.Xattrs | TarFlag.Copy, window: 2, chunkBytes: 8192 }, Buffer.from('/srv')));
    expect(parse(tar)).toEqual({
      errno: 0,
      id: 4,
      op: generated.OPS.Tar.op,
      flags: TarFlag.Xattrs | TarFlag.Copy,
      window: 2,
      chunk_bytes: 8192,
      path: Buffer.from('/srv'),
    });
    const diff = withId(5, encodeDiff(3, [Buffer.from('/l1'), Buffer.from('/l0')], Buffer.from('/up'), DiffFlag.FuseOverlayfs));
    expect(parse(diff)).toEqual({
      errno: 0,
      id: 5,
      op: generated.OPS.Diff.op,
      flags: DiffFlag.FuseOverlayfs,
      window: 3,
      lowers: [Buffer.from('/l1'), Buffer.from('/l0')],
      path: Buffer.from('/up'),
    });
    const mkdir = withId(
      6,
      encodeMkdir({ mode: 0o750, flags: protocol.MKDIR_RECURSIVE, uid: protocol.NO_ID, gid: 7 }, Buffer.from('/a/b')),
    );
    expect(parse(mkdir)).toEqual({
      errno: 0,
      id: 6,
      op: generated.OPS.Mkdir.op,
      mode: 0o750,
      flags: 1,
      uid: 0xffffffff,
      gid: 7,
      path: Buffer.from('/a/b'),
    });
    const rename = withId(7, encodeRename(Buffer.from('/from'), Buffer.from('/to')));
    expect(parse(rename)).toEqual({ errno: 0, id: 7, op: generated.OPS.Rename.op, from: Buffer.from('/from'), to: Buffer.from('/to') });
  });

  test('malformed frames get EINVAL, an unknown op ENOSYS, an oversized frame E2BIG', () => {
    expect(parse(readFrame(8, 0n, 10n, 10n, 4096, '/f', 0))).toMatchObject({ errno: EINVAL, id: 8 });
    expect(parse(rawFrame(9, Op.Mkdir, [0o755]))).toMatchObject({ errno: EINVAL, id: 9 });
    expect(parse(lstatFrame(10, '/a\0b'))).toMatchObject({ errno: EINVAL, id: 10 });
    expect(parse(rawFrame(11, 200 as Op, [], Buffer.from('/')))).toMatchObject({ errno: ENOSYS, id: 11 });
    expect(parse(withId(12, encodeLstat(Buffer.alloc(protocol.MAX_REQUEST, 0x61))))).toMatchObject({ errno: E2BIG, id: 12 });
    // Not one whole frame: cut short, or with bytes after it.
    const whole = lstatFrame(13, '/');
    expect(parse(whole.subarray(0, whole.length - 1))).toEqual({ errno: EINVAL });
    expect(parse(Buffer.concat([whole, Buffer.from([0])]))).toEqual({ errno: EINVAL });
  });

  test('a diff with an unknown flag, and a fuse-overlayfs tar that is no layer, get EINVAL', () => {
    const diff = (flags: number) => parse(withId(14, encodeDiff(1, [], Buffer.from('/up'), flags)));
    expect(diff(DiffFlag.FuseOverlayfs)).toMatchObject({ errno: 0 });
    expect(diff(2)).toMatchObject({ errno: EINVAL, id: 14 });
    const tar = (flags: number) => parse(withId(15, encodeTar({ flags, window: 1, chunkBytes: 4096 }, Buffer.from('/up'))));
    expect(tar(TarFlag.Layer | TarFlag.FuseOverlayfs)).toMatchObject({ errno: 0 });
    expect(tar(TarFlag.FuseOverlayfs)).toMatchObject({ errno: EINVAL, id: 15 });
    expect(tar(16)).toMatchObject({ errno: EINVAL, id: 15 });
  });

  // A value of each field type that every op's rules accept, unless named here.
  const SAMPLES: Record<string, unknown> = {
    u32: 1,
    u64: 7n,
    i64: -3n,
    str: Buffer.from('/s'),
    strs: [Buffer.from('x'), Buffer.from('y/z')],
    path: Buffer.from('/p'),
    bytes: Buffer.from('data'),
  };
  const OVERRIDES: Record<string, Record<string, unknown>> = {
    Mknod: { mode: 0o20644 },
    ReadFile: { chunk_bytes: 4096 },
    Tar: { chunk_bytes: 8192 },
    Walk: { batch_bytes: 65536 },
    SetXattr: { name: Buffer.from('user.a'), value: Buffer.from('') },
  };
  /** A frame written from the generated layout alone: what any encoder of `name` must produce. */
  function layoutFrame(id: number, name: keyof typeof generated.OPS, values: Record<string, unknown>): Buffer {
    const parts: Buffer[] = [];
    const u32 = (v: number): Buffer => Buffer.from(new Uint32Array([v]).buffer);
    for (const [type, field] of generated.OPS[name].fields as readonly (readonly [string, string])[]) {
      const v = values[field];
      if (type === 'u32') parts.push(u32(v as number));
      else if (type === 'u64' || type === 'i64') parts.push(Buffer.from(new BigInt64Array([BigInt.asIntN(64, v as bigint)]).buffer));
      else if (type === 'str') parts.push(u32((v as Buffer).length), v as Buffer);
      else if (type === 'strs') parts.push(u32((v as Buffer[]).length), ...(v as Buffer[]).flatMap((b) => [u32(b.length), b]));
      else parts.push(v as Buffer);
    }
    return rawFrame(id, generated.OPS[name].op as Op, [], Buffer.concat(parts));
  }

  test.each(Object.keys(generated.OPS) as (keyof typeof generated.OPS)[])('%s: every field of its layout comes back by name', (name) => {
    const values: Record<string, unknown> = {};
    for (const [type, field] of generated.OPS[name].fields as readonly (readonly [string, string])[])
      values[field] = OVERRIDES[name]?.[field] ?? SAMPLES[type];
    const parsed = parse(layoutFrame(21, name, values));
    const u64Fields = (generated.OPS[name].fields as readonly (readonly [string, string])[])
      .filter(([type]) => type === 'u64')
      .map(([, field]) => field);
    for (const field of u64Fields) values[field] = BigInt.asUintN(64, values[field] as bigint);
    expect(parsed).toEqual({ errno: 0, id: 21, op: generated.OPS[name].op, ...values });
  });
});

test("limits lib/ still writes by hand beside lib/wire/protocol.ts are protocol.h's", () => {
  // Until they are read from lib/wire/protocol.generated.ts: the stat
  // record's size, a walk's window (the server's send buffer is sized to
  // it), a Port's readiness bits.
  expect({ ALL_STAT_BYTES, WALK_WINDOW, PORT_READABLE, PORT_WRITABLE }).toEqual({
    ALL_STAT_BYTES: generated.ALL_STAT_BYTES,
    WALK_WINDOW: generated.WALK_WINDOW,
    PORT_READABLE: generated.PORT_READABLE,
    PORT_WRITABLE: generated.PORT_WRITABLE,
  });
  expect(generated.STAT_FIELD_BYTES.reduce((a, b) => a + b, 0)).toBe(generated.ALL_STAT_BYTES);
  expect(generated.SEND_BUFFER_BYTES).toBe(generated.WALK_WINDOW * generated.WALK_BATCH_BYTES);
});

describe('scripts/gen-protocol.js --check', () => {
  const script = path.join(__dirname, '..', 'scripts', 'gen-protocol.js');
  const header = fs.readFileSync(path.join(__dirname, '..', 'native', 'core', 'protocol.h'), 'utf8');
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-gen-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true }));

  function check(source: string): { status: number | null; stderr: string } {
    const file = path.join(dir, 'protocol.h');
    fs.writeFileSync(file, source);
    const run = spawnSync(process.execPath, [script, '--check', '--header', file], { encoding: 'utf8' });
    return { status: run.status, stderr: run.stderr };
  }

  test('passes on the committed protocol.h and generated file', () => {
    expect(check(header)).toEqual({ status: 0, stderr: '' });
  });

  test('fails, saying what differs, when one number changes in protocol.h', () => {
    const changed = header.replace('constexpr uint32_t kMaxWindow = 64;', 'constexpr uint32_t kMaxWindow = 65;');
    expect(changed).not.toBe(header);
    const result = check(changed);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('MAX_WINDOW = 65');
    const renumbered = header.replace('X(Tar, 29, kStream,', 'X(Tar, 32, kStream,');
    expect(renumbered).not.toBe(header);
    expect(check(renumbered).stderr).toContain('Tar = 32');
  });

  test('fails when a constant is left out of what the addon exports', () => {
    const unlisted = header.replace(
      'constexpr uint32_t kMaxWindow = 64;',
      'constexpr uint32_t kMaxWindow = 64;\nconstexpr uint32_t kNewLimit = 3;',
    );
    const result = check(unlisted);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('kNewLimit is not in UNSHARE_FS_CONSTANTS');
  });
});

test('an addon of another protocol version is refused with a message that says what to do', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-addon-'));
  const fake = path.join(dir, 'fake.js');
  fs.writeFileSync(fake, 'module.exports = { protocol: { version: 1 } };');
  const saved = process.env.UNSHARE_FS_ADDON;
  process.env.UNSHARE_FS_ADDON = fake;
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fresh = require('../lib/wire/native') as typeof import('../lib/wire/native');
      expect(() => fresh.native()).toThrow(
        new RegExp(`protocol version 1 .* version ${protocol.PROTOCOL_VERSION}: the addon and dist/ come from different builds`),
      );
    });
  } finally {
    if (saved === undefined) delete process.env.UNSHARE_FS_ADDON;
    else process.env.UNSHARE_FS_ADDON = saved;
    fs.rmSync(dir, { recursive: true });
  }
});

let ns: Namespace;
beforeAll(async () => {
  ns = await createNamespace();
});
afterAll(async () => ns?.close());

const servers: { name: string; open(): Promise<RawClient>; close(client: RawClient): Promise<void> }[] = [
  {
    name: 'host server',
    async open() {
      return new RawClient(native().startHostServer());
    },
    async close(client) {
      client.close();
    },
  },
  {
    name: 'namespace worker',
    async open() {
      const spawned = native().spawnWorker(ns.pid);
      const client = new RawClient(spawned.fd);
      const ready = await client.next(0);
      expect(ready.kind).toBe(Reply.Ready);
      expect(ready.payload.readUInt32LE(0)).toBe(spawned.pid);
      expect(ready.payload.readUInt32LE(4)).toBe(protocol.PROTOCOL_VERSION);
      (client as RawClient & { pid?: number }).pid = spawned.pid;
      return client;
    },
    async close(client) {
      client.close();
      const status = await native().reap((client as RawClient & { pid: number }).pid, 2000);
      expect(status).toEqual({ code: 0, signal: null });
    },
  },
];

describe.each(servers)('$name', (server) => {
  let client: RawClient;
  beforeEach(async () => {
    client = await server.open();
  });
  afterEach(async () => server.close(client));

  test('an oversized request gets E2BIG and the stream goes on', async () => {
    const huge = withId(7, encodeLstat(Buffer.alloc(protocol.MAX_REQUEST + 1000, 0x61)));
    client.send(huge);
    await expectError(client, 7, 'E2BIG');
    await expectAnswers(client, 8);
  });

  test('a frame too short for a header is answered on id 0 and skipped', async () => {
    const short = Buffer.from([3, 0, 0, 0, 1, 2, 3]);
    client.send(Buffer.concat([short, lstatFrame(9, '/')]));
    expect((await client.next(0)).kind).toBe(Reply.Error);
    expect((await client.next(9)).kind).toBe(Reply.Stat);
  });

  test('malformed requests get EINVAL or ENOSYS, one each, and the stream goes on', async () => {
    client.send(rawFrame(10, 99 as Op, [], Buffer.from('/')));
    await expectError(client, 10, 'ENOSYS');
    client.send(lstatFrame(11, '/a\0b'));
    await expectError(client, 11, 'EINVAL');
    client.send(lstatFrame(12, ''));
    await expectError(client, 12, 'EINVAL');
    // A walk with a window of 0 and too few fields.
    client.send(rawFrame(13, Op.Walk, [1, 0, 0, 0, 65536], Buffer.from('/')));
    await expectError(client, 13, 'EINVAL');
    client.send(rawFrame(14, Op.Walk, [1]));
    await expectError(client, 14, 'EINVAL');
    // A read whose chunk is over the limit, and one whose start is past its end.
    client.send(readFrame(15, 0n, 10n, 10n, protocol.MAX_CHUNK + 1, '/etc/hostname'));
    await expectError(client, 15, 'EINVAL');
    client.send(readFrame(16, 20n, 10n, 10n, 4096, '/etc/hostname'));
    await expectError(client, 16, 'EINVAL');
    await expectAnswers(client, 17);
  });

  test('a walk whose exclude patterns are too many, run past the frame or hold a NUL gets EINVAL; a frame too big for them E2BIG', async () => {
    const walk = (id: number, count: number, patterns: Buffer): void =>
      client.send(rawFrame(id, Op.Walk, [1, 0, 0, 1, 65536, count], Buffer.concat([patterns, Buffer.from('/')])));
    walk(50, protocol.MAX_EXCLUDES + 1, strings(Array(protocol.MAX_EXCLUDES + 1).fill('x')));
    await expectError(client, 50, 'EINVAL');
    walk(51, 2, strings(['x']));
    await expectError(client, 51, 'EINVAL');
    walk(52, 1, Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await expectError(client, 52, 'EINVAL');
    walk(53, 1, strings(['a\0b']));
    await expectError(client, 53, 'EINVAL');
    walk(54, 1, strings(['x'.repeat(protocol.MAX_EXCLUDE_BYTES + 1)]));
    await expectError(client, 54, 'EINVAL');
    walk(55, protocol.MAX_EXCLUDES, strings(Array(protocol.MAX_EXCLUDES).fill('x'.repeat(protocol.MAX_EXCLUDE_BYTES))));
    await expectError(client, 55, 'E2BIG');
    // A good one is walked.
    walk(56, 1, strings(['*']));
    expect((await client.next(56)).kind).toBe(Reply.End);
    await expectAnswers(client, 57);
  });

  test('credit and cancel for requests that do not exist are ignored', async () => {
    client.send(withId(20, encodeCredit(5)));
    client.send(withId(21, encodeCancel()));
    await expectAnswers(client, 22);
    expect(client.pending).toBe(0);
  });

  test('mount and unmount are refused: only a namespace of our own mounts', async () => {
    const mount = {
      flags: 0n,
      source: Buffer.from('tmpfs'),
      target: Buffer.from(os.tmpdir()),
      fstype: Buffer.from('tmpfs'),
      data: Buffer.alloc(0),
    };
    client.send(withId(30, encodeMount(mount)));
    await expectError(client, 30, 'EPERM');
    client.send(withId(31, encodeUnmount(2, Buffer.from(os.tmpdir()))));
    await expectError(client, 31, 'EPERM');
  });

  test('counters: a job waiting for credit is seen by state, and gone once cancelled', async () => {
    const counter = generated.PROTOCOL_TABLE.enums.Counter;
    let next = 1000;
    const counters = async (): Promise<number[]> => {
      const id = next++;
      client.send(withId(id, encodeCounters()));
      const frame = await client.next(id);
      expect(frame.kind).toBe(Reply.Data);
      expect(frame.payload.length).toBe(4 * counter.kCounterCount);
      return Array.from({ length: counter.kCounterCount }, (_, i) => frame.payload.readUInt32LE(4 * i));
    };
    const quiet = await counters();
    expect([
      quiet[counter.kCounterJobs],
      quiet[counter.kCounterCreditWaits],
      quiet[counter.kCounterQueued],
      quiet[counter.kCounterQuickQueued],
    ]).toEqual([0, 0, 0, 0]);
    expect(quiet[counter.kCounterThreads]).toBeGreaterThanOrEqual(1);
    // A read of /dev/zero with a window of one frame: once that frame is
    // sent, the job waits for credit, and the counters say so.
    client.send(readFrame(60, 0n, protocol.TO_END, 1n << 40n, 4096, '/dev/zero'));
    expect((await client.next(60)).kind).toBe(Reply.Stat);
    expect((await client.next(60)).kind).toBe(Reply.Data);
    let waiting = await counters();
    while (waiting[counter.kCounterCreditWaits] === 0) waiting = await counters();
    expect([waiting[counter.kCounterJobs], waiting[counter.kCounterCreditWaits]]).toEqual([1, 1]);
    expect(client.pending).toBe(0); // nothing more came without credit
    client.send(withId(60, encodeCancel()));
    expect((await client.next(60)).kind).toBe(Reply.End);
    let after = await counters();
    while (after[counter.kCounterJobs] !== 0) after = await counters();
    expect([after[counter.kCounterCreditWaits], after[counter.kCounterQueued]]).toEqual([0, 0]);
  });

  test('a request id in use by a running stream is refused, the stream goes on', async () => {
    const read = (): Buffer => readFrame(40, 0n, protocol.TO_END, 1n << 40n, 4096, '/dev/zero');
    client.send(read());
    expect((await client.next(40)).kind).toBe(Reply.Stat); // the open file's, first
    expect((await client.next(40)).kind).toBe(Reply.Data);
    client.send(read());
    await expectError(client, 40, 'EEXIST');
    client.send(withId(40, encodeCancel()));
    const end = await client.next(40);
    expect(end.kind).toBe(Reply.End);
    expect(end.flags & protocol.END_CANCELLED).toBe(protocol.END_CANCELLED);
  });
});

test('the host server is never rooted', async () => {
  const client = new RawClient(native().startHostServer());
  client.send(withId(1, encodeSetRoot(Buffer.from(os.tmpdir()))));
  await expectError(client, 1, 'EPERM');
  client.close();
});

test('a worker is rooted once: a second set-root is refused', async () => {
  const spawned = native().spawnWorker(ns.pid);
  const client = new RawClient(spawned.fd);
  expect((await client.next(0)).kind).toBe(Reply.Ready);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-root-'));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'inside'), 'x');
  client.send(withId(1, encodeSetRoot(Buffer.from(dir))));
  expect((await client.next(1)).kind).toBe(Reply.End);
  client.send(withId(2, encodeSetRoot(Buffer.from('/'))));
  await expectError(client, 2, 'EPERM');
  // Still rooted where it was.
  client.send(lstatFrame(3, '/inside'));
  expect((await client.next(3)).kind).toBe(Reply.Stat);
  client.close();
  expect(await native().reap(spawned.pid, 2000)).toEqual({ code: 0, signal: null });
  fs.rmSync(dir, { recursive: true });
});

test("a Namespace's own worker may mount, where it was made for that", async () => {
  const target = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-mnt-'));
  fs.chmodSync(target, 0o755);
  await ns.mountTmpfs(target);
  const session = await ns.enter();
  expect((await session.mounts()).some((m) => m.mountPoint === target && m.fsType === 'tmpfs')).toBe(true);
  await session.close();
  await ns.unmount(target);
  fs.rmdirSync(target);
});

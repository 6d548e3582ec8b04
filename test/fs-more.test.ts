// node:fs's access, realpath, statfs, opendir, mkdtemp and open (a
// FileHandle), each call made with node:fs/promises on the host and with
// the library (host paths, a namespace session, and a session rooted in
// the tree) on the same tree: results and errors (code, syscall) must be
// the same.  What node does is the expected value; where node cannot be
// asked (a FIFO node would block on, the namespace's own credentials), the
// kernel is: fifo(7), test(1) run inside the namespace.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import { createNamespace, enter, host, type FileSystem, type Namespace, type Session } from '../lib';
import { requires, subuidRange, type Gate } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

/** The calls compared: node's fs/promises, or a FileSystem. */
type Api = Pick<FileSystem, 'access' | 'realpath' | 'statfs' | 'opendir' | 'mkdtemp' | 'open'>;
const nodeApi = fsp as unknown as Api;

/** How a call ended, comparable across the two sides: its value, or its error's code and syscall. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await run() };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { code: e.code, syscall: e.syscall };
  }
}

/** A chain of `links` symlinks ending at `target`: c0 -> c1 -> … -> target. */
function chain(dir: string, name: string, links: number, target: string): void {
  for (let i = 0; i < links; i++) fs.symlinkSync(i === links - 1 ? target : `${name}${i + 1}`, path.join(dir, `${name}${i}`));
}

/** The shared tree, made with node:fs.  Links are relative, so that a rooted session and node resolve them alike. */
function buildTree(root: string): void {
  fs.mkdirSync(path.join(root, 'dir/sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'file.txt'), 'hello world\n');
  fs.chmodSync(path.join(root, 'file.txt'), 0o644);
  fs.writeFileSync(path.join(root, 'exec.sh'), '#!/bin/sh\n');
  fs.chmodSync(path.join(root, 'exec.sh'), 0o755);
  fs.writeFileSync(path.join(root, 'dir/sub/leaf'), '');
  fs.symlinkSync('file.txt', path.join(root, 'link'));
  fs.symlinkSync('../..', path.join(root, 'dir/sub/up'));
  fs.symlinkSync('does/not/exist', path.join(root, 'dangling'));
  fs.symlinkSync('loop-b', path.join(root, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(root, 'loop-b'));
  fs.mkdirSync(path.join(root, 'chains'));
  chain(path.join(root, 'chains'), 'forty', 40, '../file.txt');
  chain(path.join(root, 'chains'), 'fortyone', 41, '../file.txt');
  fs.mkdirSync(path.join(root, 'many'));
  for (let i = 0; i < 1500; i++) fs.writeFileSync(path.join(root, 'many', `entry-${i}`), '');
  fs.mkdirSync(path.join(root, 'writable'));
  fs.chmodSync(path.join(root, 'writable'), 0o777);
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
}

/** `dir` followed by '/.' and slashes up to `length` bytes: the same directory, spelled long. */
function longPath(dir: string, length: number): string {
  const dots = '/.'.repeat((length - dir.length) >> 1);
  return (dir + dots).padEnd(length, '/');
}

/** Paths below the tree the read cases ask about. */
const READ_PATHS = [
  'file.txt',
  'exec.sh',
  'link',
  'dir',
  'dir/sub/up',
  'dir/sub/up/file.txt',
  'dir/./sub/../sub/leaf',
  'dangling',
  'loop-a',
  'missing',
  'file.txt/',
  'file.txt/x',
  'chains/forty0',
  'chains/fortyone0',
  'fifo',
];

interface Side {
  name: string;
  gate: Gate;
  api(): Api;
  /** The path the library is given for `rel` below the tree. */
  path(rel: string): string;
  setup?(tree: string): Promise<void>;
  teardown?(): Promise<void>;
}

let tree = '';
let ns: Namespace | undefined;
let session: Session | undefined;
let rooted: Session | undefined;
const nsGate = process.geteuid!() === 0 ? requires() : requires(subuidRange);

const sides: Side[] = [
  { name: 'host', gate: requires(), api: () => host, path: (rel) => path.join(tree, rel) },
  {
    name: 'namespace session',
    gate: nsGate,
    api: () => session!,
    path: (rel) => path.join(tree, rel),
    async setup() {
      ns ??= await createNamespace();
      session = await ns.enter();
    },
    async teardown() {
      await session?.close();
    },
  },
  {
    name: 'session rooted in the tree',
    gate: nsGate,
    api: () => rooted!,
    path: (rel) => `/${rel}`,
    async setup(dir) {
      ns ??= await createNamespace();
      rooted = await enter({ pid: ns.pid, root: dir });
    },
    async teardown() {
      await rooted?.close();
    },
  },
];

beforeAll(() => {
  tree = tempDir('unshare-fs-fs-more-');
  fs.chmodSync(tree, 0o755);
  buildTree(tree);
});

afterAll(async () => {
  await ns?.close();
  removeTree(tree);
});

/** A value with the tree's own prefix taken off, so the rooted session's '/x' and node's '<tree>/x' compare. */
function relative(value: unknown): unknown {
  if (typeof value === 'string') return value === tree ? '/' : value.startsWith(`${tree}/`) ? value.slice(tree.length) : value;
  if (Buffer.isBuffer(value)) return relative(value.toString('utf8'));
  return value;
}

describe.each(sides)('$name: as node:fs/promises', (side) => {
  beforeAll(async () => {
    if (side.gate.why === null) await side.setup?.(tree);
  });
  afterAll(async () => {
    await side.teardown?.();
  });

  side.gate.test.each(READ_PATHS)('access %s, every mode', async (rel) => {
    for (const mode of [undefined, fs.constants.F_OK, fs.constants.R_OK, fs.constants.X_OK, fs.constants.R_OK | fs.constants.X_OK]) {
      const expected = await outcome(() => nodeApi.access(path.join(tree, rel), mode));
      expect([mode, await outcome(() => side.api().access(side.path(rel), mode))]).toEqual([mode, expected]);
    }
  });

  side.gate.test.each(READ_PATHS)('realpath %s, as a string and as a Buffer', async (rel) => {
    const expected = await outcome(async () => relative(await nodeApi.realpath(path.join(tree, rel))));
    expect(await outcome(async () => relative(await side.api().realpath(side.path(rel))))).toEqual(expected);
    const bytes = await outcome(() => side.api().realpath(side.path(rel), { encoding: 'buffer' }));
    const nodeBytes = await outcome(() => nodeApi.realpath(path.join(tree, rel), { encoding: 'buffer' }));
    expect(typeof bytes === 'object' && 'value' in bytes! ? Buffer.isBuffer(bytes.value) : bytes).toEqual(
      typeof nodeBytes === 'object' && 'value' in nodeBytes! ? Buffer.isBuffer(nodeBytes.value) : nodeBytes,
    );
  });

  // node's realpath resolves in user space and takes a path of any length;
  // every call here is held to the kernel's PATH_MAX, as node's access is.
  side.gate.test('realpath, access and statfs of a path of 4095 bytes (PATH_MAX less its NUL), and of 4096', async () => {
    const rootedSide = side.path('dir') !== path.join(tree, 'dir');
    const ours = longPath(side.path('dir'), 4095);
    const theirs = longPath(path.join(tree, 'dir'), 4095);
    if (rootedSide) {
      expect(await side.api().realpath(ours)).toBe('/dir');
    } else {
      expect(await outcome(() => side.api().realpath(ours))).toEqual(await outcome(() => nodeApi.realpath(theirs)));
    }
    expect(await outcome(() => side.api().access(ours))).toEqual(await outcome(() => nodeApi.access(theirs)));
    expect(await outcome(async () => typeof (await side.api().statfs(ours)).type)).toEqual(
      await outcome(async () => typeof (await nodeApi.statfs(theirs)).type),
    );
    const tooLong = longPath(side.path('dir'), 4096);
    const kernel = await outcome(() => nodeApi.access(longPath(path.join(tree, 'dir'), 4096)));
    expect(kernel).toEqual({ code: 'ENAMETOOLONG', syscall: 'access' });
    expect(await outcome(() => side.api().access(tooLong))).toEqual(kernel);
    expect(await outcome(() => side.api().realpath(tooLong))).toEqual({ code: 'ENAMETOOLONG', syscall: 'realpath' });
  });

  side.gate.test('statfs: the fields node gives, numbers and bigints', async () => {
    const fields = ['type', 'bsize', 'blocks', 'files'] as const;
    const expected = await nodeApi.statfs(path.join(tree, 'file.txt'));
    const got = await side.api().statfs(side.path('file.txt'));
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
    for (const key of fields) expect([key, got[key]]).toEqual([key, expected[key]]);
    const big = await side.api().statfs(side.path('dir'), { bigint: true });
    const nodeBig = await nodeApi.statfs(path.join(tree, 'dir'), { bigint: true });
    for (const key of fields) expect([key, big[key]]).toEqual([key, nodeBig[key]]);
    for (const rel of ['missing', 'file.txt/x', 'loop-a']) {
      expect(await outcome(() => side.api().statfs(side.path(rel)))).toEqual(await outcome(() => nodeApi.statfs(path.join(tree, rel))));
    }
  });

  side.gate.test('opendir: read() one at a time, for await, its path, its errors', async () => {
    for (const rel of ['dir', 'many', '.']) {
      const ours = await side.api().opendir(side.path(rel), { bufferSize: 7 });
      const theirs = await nodeApi.opendir(path.join(tree, rel), { bufferSize: 7 });
      expect(ours.path).toBe(side.path(rel));
      const names: string[] = [];
      for (let e = await ours.read(); e !== null; e = await ours.read())
        names.push(`${e.name} ${e.isDirectory()} ${e.isSymbolicLink()} ${e.isFIFO()}`);
      const nodeNames: string[] = [];
      for await (const e of theirs) nodeNames.push(`${e.name} ${e.isDirectory()} ${e.isSymbolicLink()} ${e.isFIFO()}`);
      expect(names.sort()).toEqual(nodeNames.sort());
      expect(await ours.read()).toBeNull();
      await ours.close();
      await expect(ours.close()).rejects.toMatchObject({ code: 'ERR_DIR_CLOSED' });
      await expect(ours.read()).rejects.toMatchObject({ code: 'ERR_DIR_CLOSED' });
    }
    // recursive: every entry under it, each with its own parent, as node's.
    const below = async (api: Api, dir: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of await api.opendir(dir, { recursive: true })) out.push(`${relative(e.parentPath) as string} ${e.name}`);
      return out.sort();
    };
    expect(await below(side.api(), side.path('dir'))).toEqual(await below(nodeApi, path.join(tree, 'dir')));
    const iterated: string[] = [];
    for await (const e of await side.api().opendir(side.path('dir'))) iterated.push(e.name);
    expect(iterated.sort()).toEqual(fs.readdirSync(path.join(tree, 'dir')).sort());
    for (const rel of ['missing', 'file.txt', 'loop-a']) {
      expect(await outcome(() => side.api().opendir(side.path(rel)))).toEqual(await outcome(() => nodeApi.opendir(path.join(tree, rel))));
    }
  });

  side.gate.test('mkdtemp: a new 0700 directory of six more characters, and node errors', async () => {
    const made = await side.api().mkdtemp(side.path('writable/t-'));
    expect(made).toMatch(/\/writable\/t-[A-Za-z0-9]{6}$/);
    const onHost = path.join(tree, relative(made) as string);
    expect(fs.statSync(onHost).isDirectory()).toBe(true);
    expect(fs.statSync(onHost).mode & 0o777).toBe(0o700);
    const again = await side.api().mkdtemp(side.path('writable/t-'), { encoding: 'buffer' });
    expect(Buffer.isBuffer(again)).toBe(true);
    expect(again.toString()).not.toBe(made);
    fs.rmdirSync(onHost);
    fs.rmdirSync(path.join(tree, relative(again) as string));
    for (const rel of ['missing/t-', 'file.txt/t-']) {
      expect(await outcome(() => side.api().mkdtemp(side.path(rel)))).toEqual(await outcome(() => nodeApi.mkdtemp(path.join(tree, rel))));
    }
  });

  /** A FileHandle's life, step by step: every step's outcome, node's and ours side by side. */
  side.gate.test('open: a FileHandle read and written at positions, truncated, stated, synced, closed', async () => {
    const script = async (api: Api, file: string): Promise<unknown[]> => {
      const steps: unknown[] = [];
      const step = async (run: () => Promise<unknown>): Promise<void> => {
        steps.push(await outcome(run));
      };
      const h = await api.open(file, 'w+', 0o640);
      await step(async () => (await h.write(Buffer.from('hello world'))).bytesWritten);
      await step(async () => (await h.write('HELLO', 0)).bytesWritten);
      await step(async () => (await h.write(Buffer.from('xxabcxx'), 2, 3, 20)).bytesWritten);
      await step(async () => (await h.write(Buffer.from('__'), { offset: 0, length: 1, position: 5 })).bytesWritten);
      await step(async () => {
        const r = await h.read(Buffer.alloc(8), 0, 8, 0);
        return [r.bytesRead, Buffer.from(r.buffer.buffer, r.buffer.byteOffset, r.buffer.byteLength).toString('latin1')];
      });
      await step(async () => {
        const r = await h.read({ buffer: Buffer.alloc(4), position: 6 });
        return [r.bytesRead, Buffer.from(r.buffer.buffer, r.buffer.byteOffset, r.buffer.byteLength).toString('latin1')];
      });
      await step(async () => {
        const r = await h.read(Buffer.alloc(10), { position: 100 } as never);
        return r.bytesRead;
      });
      await step(async () => {
        const r = await h.read({ position: 0 });
        return [r.bytesRead, r.buffer.byteLength];
      });
      await step(async () => (await h.stat()).size);
      await step(async () => typeof (await h.stat({ bigint: true })).size);
      await step(() => h.truncate(4));
      await step(async () => (await h.stat()).size);
      await step(async () => {
        await h.write('rest', null);
        return (await h.stat()).size;
      });
      await step(() => h.writeFile('written from the position'));
      await step(async () => {
        await h.read(Buffer.alloc(1), 0, 1, null);
        return h.readFile('utf8');
      });
      await step(async () => (await h.readFile()).length);
      await step(() => h.chmod(0o600));
      await step(async () => (await h.stat()).mode & 0o7777);
      await step(() => h.sync());
      await step(() => h.datasync());
      await step(() => h.close());
      await step(() => h.read());
      await step(() => h.stat());
      await step(() => h.write('x'));
      await step(() => h.close());
      await step(async () => h.fd);
      steps.push(fs.readFileSync(file.startsWith(tree) ? file : path.join(tree, file), 'latin1'));
      return steps;
    };
    const theirs = path.join(tree, 'writable', `node-${side.name.replace(/ /g, '-')}`);
    const ours = side.path(`writable/ours-${side.name.replace(/ /g, '-')}`);
    expect(await script(side.api(), ours)).toEqual(await script(nodeApi, theirs));
  });

  side.gate.test("open: node's flags and their errors", async () => {
    const cases: [string, string | number][] = [
      ['missing', 'r'],
      ['missing', 'r+'],
      ['file.txt', 'wx'],
      ['file.txt', 'ax+'],
      ['dir', 'w'],
      ['file.txt/', 'r'],
      ['loop-a', 'r'],
      ['link', fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW],
      ['file.txt', fs.constants.O_RDONLY | fs.constants.O_DIRECTORY],
      ['dangling', 'r'],
    ];
    for (const [rel, flags] of cases) {
      const run = async (api: Api, p: string): Promise<unknown> =>
        outcome(async () => {
          const h = await api.open(p, flags);
          await h.close();
          return 'opened';
        });
      expect([rel, flags, await run(side.api(), side.path(rel))]).toEqual([rel, flags, await run(nodeApi, path.join(tree, rel))]);
    }
    // A directory opens; reading it is EISDIR, as node's.
    const read = async (api: Api, p: string): Promise<unknown> => {
      const h = await api.open(p);
      try {
        return await outcome(() => h.read());
      } finally {
        await h.close();
      }
    };
    expect(await read(side.api(), side.path('dir'))).toEqual(await read(nodeApi, path.join(tree, 'dir')));
    // Appending: every write lands at the end, whatever position is asked (pwrite(2) on Linux with O_APPEND).
    const append = async (api: Api, p: string): Promise<string> => {
      const h = await api.open(p, 'a+');
      await h.write('one');
      await h.write('two', 0);
      await h.close();
      return fs.readFileSync(p.startsWith(tree) ? p : path.join(tree, p), 'latin1');
    };
    const tag = side.name.replace(/ /g, '-');
    expect(await append(side.api(), side.path(`writable/append-ours-${tag}`))).toBe(
      await append(nodeApi, path.join(tree, `writable/append-node-${tag}`)),
    );
  });

  side.gate.test('a file unlinked while open is still read and written through its handle, as with node', async () => {
    const tag = side.name.replace(/ /g, '-');
    const run = async (api: Api, p: string, onHost: string): Promise<unknown> => {
      fs.writeFileSync(onHost, 'still here');
      const h = await api.open(p, 'r+');
      fs.unlinkSync(onHost);
      await h.write('STILL', 0);
      const got = await h.readFile('latin1');
      const size = (await h.stat()).size;
      await h.close();
      return [got, size, fs.existsSync(onHost)];
    };
    const ours = path.join(tree, `writable/vanish-ours-${tag}`);
    const theirs = path.join(tree, `writable/vanish-node-${tag}`);
    expect(await run(side.api(), side.path(`writable/vanish-ours-${tag}`), ours)).toEqual(await run(nodeApi, theirs, theirs));
  });

  // node's open of a FIFO waits for the other end: nothing to compare with.
  // fifo(7): with O_NONBLOCK a read-only open succeeds at once, a
  // write-only one with no reader is ENXIO; read(2) with no writer is 0.
  side.gate.test('a FIFO opens without a wait; its read answers at once; the session goes on', async () => {
    const api = side.api();
    await expect(api.open(side.path('fifo'), 'w')).rejects.toMatchObject({ code: 'ENXIO', syscall: 'open' });
    const h = await api.open(side.path('fifo'));
    const r = await h.read(Buffer.alloc(16), 0, 16, null);
    expect(r.bytesRead).toBe(0);
    expect(await h.readFile()).toEqual(Buffer.alloc(0));
    await h.close();
    expect((await api.realpath(side.path('link'))).endsWith('/file.txt')).toBe(true);
  });

  // pipe(7): a read of an empty pipe whose writer is open is EAGAIN with
  // O_NONBLOCK, where node's blocking read would wait for the writer.
  side.gate.test('a FIFO with a writer and nothing written: the read is EAGAIN, never a wait', async () => {
    const writer = fs.openSync(path.join(tree, 'fifo'), fs.constants.O_RDWR);
    try {
      const h = await side.api().open(side.path('fifo'));
      await expect(h.read(Buffer.alloc(4), 0, 4, null)).rejects.toMatchObject({ code: 'EAGAIN', syscall: 'read' });
      fs.writeSync(writer, 'ping');
      const r = await h.read(Buffer.alloc(8), 0, 8, null);
      expect(Buffer.from(r.buffer.buffer, 0, r.bytesRead).toString()).toBe('ping');
      await h.close();
    } finally {
      fs.closeSync(writer);
    }
  });

  side.gate.test('at most MAX_HANDLES (256) files open at once: one more is EMFILE; a close makes room', async () => {
    const api = side.api();
    const handles = [];
    for (let i = 0; i < 256; i++) handles.push(await api.open(side.path('file.txt')));
    expect(new Set(handles.map((h) => h.fd)).size).toBe(256);
    await expect(api.open(side.path('file.txt'))).rejects.toMatchObject({ code: 'EMFILE', syscall: 'open' });
    await handles.pop()!.close();
    handles.push(await api.open(side.path('file.txt')));
    for (const h of handles) await h.close();
  });

  side.gate.test('await using closes a handle', async () => {
    let fd = -1;
    let held: { fd: number } | undefined;
    {
      await using h = await side.api().open(side.path('file.txt'));
      fd = h.fd;
      held = h;
    }
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(held.fd).toBe(-1);
  });
});

/** gc(), without node's --expose-gc flag (jest starts the process). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

// node closes a FileHandle collected unclosed, with a warning; the
// kernel's /proc/self/fd says whether the host server's fd is still open.
test('a FileHandle collected unclosed is closed in the server, with the warning node gives', async () => {
  const gc = collector();
  const file = path.join(tree, 'file.txt');
  const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    let fd = -1;
    await (async () => {
      fd = (await host.open(file)).fd;
    })();
    const link = `/proc/self/fd/${fd}`;
    expect(fs.readlinkSync(link)).toBe(file);
    const stillOpen = (): boolean => {
      try {
        return fs.readlinkSync(link) === file;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 200 && stillOpen(); i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(stillOpen()).toBe(false);
    expect(emitWarning).toHaveBeenCalledWith(`Closing file descriptor ${fd} on garbage collection`);
  } finally {
    emitWarning.mockRestore();
  }
});

nsGate.describe('a session closes what it holds open', () => {
  test('a FileHandle left open is closed with its session: later calls are EBADF, close resolves', async () => {
    ns ??= await createNamespace();
    const s = await ns.enter();
    const h = await s.open(path.join(tree, 'file.txt'));
    const pid = s.workerPid;
    const fdLink = `/proc/${pid}/fd/${h.fd}`;
    expect(fs.readlinkSync(fdLink)).toBe(path.join(tree, 'file.txt'));
    await s.close();
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    await expect(h.read()).rejects.toMatchObject({ code: 'EBADF', syscall: 'read' });
    await expect(h.stat()).rejects.toMatchObject({ code: 'EBADF', syscall: 'fstat' });
    await expect(h.close()).resolves.toBeUndefined();
  });

  test("access in a namespace is decided by the worker's credentials, as test(1) run there decides", async () => {
    ns ??= await createNamespace();
    const s = await ns.enter();
    try {
      const locked = path.join(tree, 'writable', 'locked');
      fs.writeFileSync(locked, 'x');
      fs.chmodSync(locked, 0o000);
      for (const [flag, mode] of [
        ['-r', fs.constants.R_OK],
        ['-w', fs.constants.W_OK],
        ['-x', fs.constants.X_OK],
      ] as const) {
        const status = await ns.exec(['/usr/bin/test', flag, locked]);
        const ours = await outcome(() => s.access(locked, mode));
        expect([flag, ours]).toEqual([flag, status.code === 0 ? { value: undefined } : { code: 'EACCES', syscall: 'access' }]);
      }
    } finally {
      await s.close();
    }
  });
});

nsGate.describe('a session rooted in a tree resolves inside it', () => {
  test("an absolute symlink is the root's, for realpath, access and open, never the host's", async () => {
    ns ??= await createNamespace();
    const root = path.join(tree, 'writable', 'rooted');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'inside\n');
    fs.symlinkSync('/etc', path.join(root, 'abs'));
    fs.symlinkSync('../../../../../../..', path.join(root, 'etc', 'far-up'));
    const s = await enter({ pid: ns.pid, root });
    try {
      // The kernel's view of the same file: its inode, as node sees it on the host.
      const inside = fs.statSync(path.join(root, 'etc', 'passwd'));
      expect(await s.realpath('/abs/passwd')).toBe('/etc/passwd');
      expect(await s.realpath('/etc/far-up')).toBe('/');
      expect(await s.realpath('/etc/far-up/abs/../abs')).toBe('/etc');
      expect((await s.stat(await s.realpath('/abs/passwd'))).ino).toBe(inside.ino);
      await expect(s.access('/abs/passwd')).resolves.toBeUndefined();
      await expect(s.access('/abs/shadow')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'access' });
      const h = await s.open('/abs/passwd');
      expect(await h.readFile('utf8')).toBe('inside\n');
      expect((await h.stat()).ino).toBe(inside.ino);
      await h.close();
      // Swapped for a symlink out of the root after a first look: still the root's.
      fs.rmSync(path.join(root, 'etc'), { recursive: true });
      fs.symlinkSync('/', path.join(root, 'etc'));
      expect(await s.realpath('/etc/abs')).toBe('/');
      await expect(s.open('/etc/passwd')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open' });
      await expect(s.realpath('/etc/passwd')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'realpath' });
    } finally {
      await s.close();
    }
  });
});

// node:fs's options and URL paths, each call made with node:fs on the host
// and with the library (host and a namespace session) on twin files: the
// results, the errors (code, syscall, message) and the files left must be
// the same.  What node does is the expected value, never the library.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { FileSystem } from '../lib';
import { requires, subuidRange, type Gate } from './helpers/requirements';
import { fileSystemTargets, type FileSystemTarget } from './helpers/targets';
import { removeTree, tempDir } from './helpers/tree';

/** The calls a case makes: node's fs/promises with fs's streams, or a FileSystem. */
type Api = Pick<
  FileSystem,
  | 'writeFile'
  | 'appendFile'
  | 'readFile'
  | 'readdir'
  | 'readlink'
  | 'rm'
  | 'rmdir'
  | 'stat'
  | 'lstat'
  | 'mkdir'
  | 'createReadStream'
  | 'createWriteStream'
>;

const nodeApi = { ...fsp, createReadStream: fs.createReadStream, createWriteStream: fs.createWriteStream } as unknown as Api;

interface Case {
  name: string;
  /** Prepares the case's own file (with node:fs: the same for both sides). */
  setup?(file: string): void;
  run(api: Api, file: string): Promise<unknown>;
}

function finished(stream: NodeJS.ReadableStream | NodeJS.WritableStream, ends: 'close' | 'finish' = 'close'): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on(ends, () => resolve());
  });
}

/** A stream's content: its chunks joined (how it cuts them is its own). */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: (string | Buffer)[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks.every((c) => typeof c === 'string') ? chunks.join('') : `bytes: ${Buffer.concat(chunks as Buffer[]).toString('hex')}`;
}

const hello = (file: string): void => fs.writeFileSync(file, 'hello world');

const cases: Case[] = [
  // writeFile's flags, all of node's table, and flush.
  ...[
    'w',
    'wx',
    'xw',
    'w+',
    'wx+',
    'xw+',
    'a',
    'ax',
    'xa',
    'as',
    'sa',
    'a+',
    'ax+',
    'xa+',
    'as+',
    'sa+',
    'r+',
    'rs+',
    'sr+',
    'r',
    'rs',
  ].flatMap((flag): Case[] => [
    { name: `writeFile flag ${flag} on a file`, setup: hello, run: (api, f) => api.writeFile(f, 'HEY', { flag: flag as 'w' }) },
    { name: `writeFile flag ${flag}, no file`, run: (api, f) => api.writeFile(f, 'HEY', { flag: flag as 'w' }) },
    { name: `readFile flag ${flag}`, setup: hello, run: (api, f) => api.readFile(f, { flag: flag as 'w', encoding: 'latin1' }) },
  ]),
  {
    name: 'writeFile numeric flags O_WRONLY|O_CREAT|O_APPEND',
    setup: hello,
    run: (api, f) => api.writeFile(f, '!', { flag: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND }),
  },
  { name: 'writeFile flush', setup: hello, run: (api, f) => api.writeFile(f, 'flushed', { flush: true, mode: 0o600 }) },
  { name: 'writeFile flush not a boolean', run: (api, f) => api.writeFile(f, 'x', { flush: 'yes' as unknown as boolean }) },
  { name: 'writeFile flag not in the table', run: (api, f) => api.writeFile(f, 'x', { flag: 'rw' as 'w' }) },
  { name: 'appendFile flag w+', setup: hello, run: (api, f) => api.appendFile(f, 'over', { flag: 'w+', flush: true }) },
  { name: 'appendFile without flag', setup: hello, run: (api, f) => api.appendFile(f, '!') },
  // rm's retries.
  {
    name: 'rm recursive with maxRetries and retryDelay',
    setup: (f) => fs.mkdirSync(path.join(f, 'a', 'b'), { recursive: true }),
    run: (api, f) => api.rm(f, { recursive: true, maxRetries: 2, retryDelay: 1 }).then(() => undefined),
  },
  { name: 'rm maxRetries without recursive', setup: hello, run: (api, f) => api.rm(f, { maxRetries: 2 }).then(() => undefined) },
  {
    name: 'rm of a missing path with force and retries',
    run: (api, f) => api.rm(f, { recursive: true, force: true, maxRetries: 1, retryDelay: 1 }).then(() => undefined),
  },
  { name: 'rm maxRetries -1', run: (api, f) => api.rm(f, { recursive: true, maxRetries: -1 }) },
  { name: "rm retryDelay '5'", run: (api, f) => api.rm(f, { recursive: true, retryDelay: '5' as unknown as number }) },
  {
    name: 'rmdir recursive',
    setup: (f) => fs.mkdirSync(path.join(f, 'a'), { recursive: true }),
    run: (api, f) => api.rmdir(f, { recursive: true, maxRetries: 1 }),
  },
  { name: 'rmdir recursive of a file', setup: hello, run: (api, f) => api.rmdir(f, { recursive: true }) },
  { name: 'rmdir with maxRetries only', setup: (f) => fs.mkdirSync(f), run: (api, f) => api.rmdir(f, { maxRetries: 3, retryDelay: 5 }) },
  // Streams.
  {
    name: 'createWriteStream r+ at start, every option',
    setup: hello,
    async run(api, f) {
      const stream = api.createWriteStream(f, {
        flags: 'r+',
        start: 6,
        encoding: 'latin1',
        mode: 0o600,
        autoClose: true,
        emitClose: true,
        highWaterMark: 2,
        flush: true,
        fd: null,
        fs: null,
      });
      stream.end('WÖRLD');
      await finished(stream);
    },
  },
  {
    name: 'createWriteStream start with flags a',
    setup: hello,
    async run(api, f) {
      const stream = api.createWriteStream(f, { flags: 'a', start: 2 });
      stream.end('++');
      await finished(stream);
    },
  },
  {
    name: 'createWriteStream emitClose false',
    async run(api, f) {
      const stream = api.createWriteStream(f, { emitClose: false });
      let closed = false;
      stream.on('close', () => (closed = true));
      stream.end('x');
      await finished(stream, 'finish');
      await new Promise((resolve) => setImmediate(resolve));
      return closed;
    },
  },
  {
    name: 'createWriteStream as an encoding string',
    async run(api, f) {
      const stream = api.createWriteStream(f, 'hex');
      stream.end('414243');
      await finished(stream);
    },
  },
  { name: 'createWriteStream start -1', run: async (api, f) => api.createWriteStream(f, { start: -1 }) && undefined },
  {
    name: 'createReadStream every option',
    setup: hello,
    run: (api, f) =>
      readAll(
        api.createReadStream(f, {
          flags: 'rs',
          encoding: 'utf8',
          mode: 0o600,
          autoClose: false,
          emitClose: true,
          start: 2,
          end: 8,
          highWaterMark: 3,
          fd: null,
          fs: null,
        }),
      ),
  },
  { name: 'createReadStream flags r+', setup: hello, run: (api, f) => readAll(api.createReadStream(f, { flags: 'r+', encoding: 'hex' })) },
  { name: 'createReadStream as an encoding string', setup: hello, run: (api, f) => readAll(api.createReadStream(f, 'base64')) },
  { name: 'createReadStream of a missing file', run: (api, f) => readAll(api.createReadStream(f, { flags: 'rs' })) },
  // URLs.
  {
    name: 'file: URLs for writeFile, readFile, stat, mkdir, rm',
    async run(api, f) {
      const url = pathToFileURL(f);
      await api.mkdir(url, { recursive: true });
      const inside = pathToFileURL(path.join(f, 'a b%c'));
      await api.writeFile(inside, 'by url');
      const text = await api.readFile(inside, 'utf8');
      const size = (await api.stat(inside)).size;
      await api.rm(url, { recursive: true });
      return [text, size];
    },
  },
  {
    name: 'a file: URL to read as a stream',
    setup: hello,
    run: (api, f) => readAll(api.createReadStream(pathToFileURL(f), { encoding: 'utf8' })),
  },
  {
    name: 'readdir of a file: URL, recursive',
    setup: (f) => fs.mkdirSync(path.join(f, 'a', 'b'), { recursive: true }),
    run: async (api, f) => (await api.readdir(pathToFileURL(f), { recursive: true })).sort(),
  },
  {
    name: 'a Buffer path of bytes that are not UTF-8 stays bytes',
    setup: (f) => fs.mkdirSync(f),
    async run(api, f) {
      const name = Buffer.concat([Buffer.from(`${f}/caf`), Buffer.from([0xe9, 0xff])]);
      await api.writeFile(name, 'latin1 name');
      const names = await api.readdir(f, { encoding: 'buffer' });
      return [names.map((n) => n.toString('hex')), await api.readFile(name, 'utf8')];
    },
  },
  ...(['hex', 'latin1', 'base64', 'utf-8', 'buffer'] as const).flatMap((encoding): Case[] => {
    const tree = (f: string): void => {
      fs.mkdirSync(path.join(f, 'd'), { recursive: true });
      fs.writeFileSync(Buffer.concat([Buffer.from(`${f}/caf`), Buffer.from([0xe9])]), '');
      fs.symlinkSync(Buffer.from([0x74, 0xff]), path.join(f, 'link'));
    };
    const shown = (names: unknown[]): unknown[] => names.map((n) => (Buffer.isBuffer(n) ? `bytes ${n.toString('hex')}` : n)).sort();
    return [
      { name: `readdir encoding ${encoding}`, setup: tree, run: async (api, f) => shown(await api.readdir(f, { encoding })) },
      {
        name: `readdir encoding ${encoding} as a string`,
        setup: tree,
        run: async (api, f) => shown(await api.readdir(f, encoding as BufferEncoding)),
      },
      {
        name: `readdir encoding ${encoding} withFileTypes`,
        setup: tree,
        async run(api, f) {
          const dirents = await api.readdir(Buffer.from(f), { encoding, withFileTypes: true } as { withFileTypes: true });
          return dirents
            .map((d) => {
              // The parent is the path as given, a Buffer here (its directory differs between the twins).
              const parent = `${Buffer.isBuffer(d.parentPath) ? 'Buffer' : typeof d.parentPath} ${Buffer.from(d.parentPath).equals(Buffer.from(f))}`;
              return [shown([d.name])[0], parent, d.isDirectory(), d.isSymbolicLink()].join(' ');
            })
            .sort();
        },
      },
      {
        name: `readlink encoding ${encoding}`,
        setup: tree,
        run: async (api, f) => shown([await api.readlink(path.join(f, 'link'), { encoding })]),
      },
    ];
  }),
  { name: 'a URL of another scheme', run: (api) => api.stat(new URL('http://example.com/etc')) },
  { name: 'a file: URL with a host', run: (api) => api.lstat(new URL('file://example.com/etc')) },
  { name: 'a file: URL with an encoded slash', run: (api) => api.readFile(new URL('file:///etc%2Fpasswd')) },
  { name: 'a file: URL of a missing file', run: (api, f) => api.readFile(pathToFileURL(`${f}-missing`)) },
];

/** What a call came to, with the case's own directory taken out of messages. */
async function outcome(run: () => Promise<unknown>, dir: string): Promise<unknown> {
  try {
    const value = await run();
    return { value: Buffer.isBuffer(value) ? value.toString('latin1') : value };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // An argument error's message is the library's own (it names the option and what came); its class and code are node's.
    if (e.code?.startsWith('ERR_')) return { error: { name: e.name, code: e.code } };
    return { error: { name: e.name, code: e.code, syscall: e.syscall, message: e.message.split(dir).join('<dir>') } };
  }
}

/** The file a case leaves: its type, and its bytes if a file. */
function left(file: string): string {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (st === undefined) return 'missing';
  if (st.isDirectory()) return `directory: ${fs.readdirSync(file).sort().join(' ')}`;
  return `file: ${fs.readFileSync(file, 'latin1')}`;
}

const [hostTarget, namespaceTarget] = fileSystemTargets();
const targets: (FileSystemTarget & { gate: Gate })[] = [
  { ...hostTarget!, gate: requires() },
  { ...namespaceTarget!, gate: process.geteuid!() === 0 ? requires() : requires(subuidRange) },
];

describe.each(targets)('$name: as node:fs', (target) => {
  let root: string;
  beforeAll(async () => {
    root = tempDir('unshare-fs-node-options-');
    fs.chmodSync(root, 0o755);
    if (target.gate.why === null) await target.setup?.();
  });
  afterAll(async () => {
    await target.teardown?.();
    removeTree(root);
  });

  target.gate.test.each(cases.map((c, i) => [c.name, i] as const))('%s', async (_name, i) => {
    const c = cases[i]!;
    const dir = path.join(root, String(i));
    fs.mkdirSync(path.join(dir, 'node'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'ours'));
    // The session's worker writes as its namespace's root: the directory must let it.
    fs.chmodSync(path.join(dir, 'ours'), 0o777);
    const theirs = path.join(dir, 'node', 'f');
    const ours = path.join(dir, 'ours', 'f');
    c.setup?.(theirs);
    c.setup?.(ours);
    const expected = await outcome(() => c.run(nodeApi, theirs), path.join(dir, 'node'));
    const got = await outcome(() => c.run(target.fs(), ours), path.join(dir, 'ours'));
    expect(got).toEqual(expected);
    expect(left(ours)).toBe(left(theirs));
  });

  target.gate.test('unknown keys that are no option of node stay errors', async () => {
    const api = target.fs();
    const f = path.join(root, 'unknown');
    const unknown = { code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/^Unknown option 'maxRetry' for rm/) };
    await expect(api.rm(f, { maxRetry: 1 } as never)).rejects.toMatchObject(unknown);
    expect(() => api.createWriteStream(f, { startAt: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => api.createReadStream(f, { flag: 'r' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    await expect(api.writeFile(f, 'x', { flags: 'w' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(fs.existsSync(f)).toBe(false);
  });

  target.gate.test("a stream's fd and fs are refused with a reason: the server opens by path", () => {
    const api = target.fs();
    const f = path.join(root, 'fd');
    expect(() => api.createReadStream(f, { fd: 0 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => api.createWriteStream(f, { fs: fs } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

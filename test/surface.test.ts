// A closed surface: the package exports the documented names and nothing
// else, no public object holds a way into the library's internals, and
// every public function refuses a bad argument with a TypeError or
// RangeError whose `code` is node's and whose message names the argument.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as api from '../lib';
import {
  BigIntStats,
  Entry,
  FileSystem,
  Namespace,
  Session,
  Stats,
  createNamespace,
  docker,
  enter,
  host,
  podman,
  type Namespace as NamespaceType,
} from '../lib';
import { requires, userNamespaces } from './helpers/requirements';

const REPO = path.join(__dirname, '..');

/** What README.md's API section documents, and all the entry point exports. */
const TOP_LEVEL = [
  'BigIntStats',
  'Entry',
  'FileSystem',
  'Namespace',
  'OVERFLOW_ID',
  'STAT_FIELDS',
  'Session',
  'Stats',
  'UnshareFsError',
  'containers',
  'createNamespace',
  'docker',
  'enter',
  'host',
  'lstat',
  'podman',
  'readFile',
  'readdir',
  'readlink',
  'scanContainers',
  'stat',
  'walk',
  'walkBatches',
];

/** README.md's podman table, and PodmanError. */
const PODMAN = [
  'PodmanError',
  'container',
  'containers',
  'df',
  'diff',
  'enterContainer',
  'enterMerged',
  'enterStorage',
  'exportContainer',
  'exportLayer',
  'image',
  'images',
  'layerChain',
  'layers',
  'mountContainer',
  'mountImage',
  'pausePid',
  'pausePidFile',
  'storageConfig',
  'volume',
  'volumes',
  'enterVolume',
  'exportVolume',
  'importVolume',
];

/** README.md's Docker table, and DockerError: podman's names where the meaning is the same. */
const DOCKER = [
  'DockerError',
  'container',
  'containers',
  'daemonPid',
  'daemonPidFile',
  'diff',
  'enterContainer',
  'enterMerged',
  'enterStorage',
  'exportContainer',
  'exportLayer',
  'image',
  'images',
  'layerChain',
  'mountContainer',
  'mountImage',
  'storageConfig',
  'volume',
  'volumes',
  'enterVolume',
  'exportVolume',
  'importVolume',
];

const FILE_SYSTEM_METHODS = [
  'constructor',
  'cp',
  'copyFile',
  'walk',
  'walkBatches',
  'lstat',
  'stat',
  'readdir',
  'readlink',
  'xattrs',
  'diffLayers',
  'du',
  'exportTar',
  'exportDiff',
  'extractTar',
  'readFile',
  'createReadStream',
  'mkdir',
  'unlink',
  'rmdir',
  'mknod',
  'setXattr',
  'rename',
  'link',
  'symlink',
  'chmod',
  'chown',
  'lchown',
  'utimes',
  'lutimes',
  'truncate',
  'writeFile',
  'appendFile',
  'createWriteStream',
  'rm',
  'copyFromHost',
  'copyToHost',
  'access',
  'realpath',
  'statfs',
  'opendir',
  'mkdtemp',
  'open',
];
/** node's FileHandle methods the library has, and `fd`. */
const FILE_HANDLE_MEMBERS = [
  'constructor',
  'fd',
  'read',
  'write',
  'readFile',
  'writeFile',
  'truncate',
  'stat',
  'chmod',
  'chown',
  'sync',
  'datasync',
  'close',
];
/** node's Dir, without its Sync methods. */
const DIR_MEMBERS = ['constructor', 'read', 'close', 'entries'];
const SESSION_MEMBERS = [
  'constructor',
  'toHostUid',
  'toHostGid',
  'fromHostUid',
  'fromHostGid',
  'exec',
  'exit',
  'closed',
  'mounts',
  'whenClosed',
  'close',
];
const SESSION_FIELDS = ['targetPid', 'workerPid', 'joinedUserNamespace', 'uidMap', 'gidMap', 'root'];
const NAMESPACE_MEMBERS = ['constructor', 'enter', 'exec', 'mountOverlay', 'mountTmpfs', 'unmount', 'close'];
const NAMESPACE_FIELDS = ['pid', 'uidMap', 'gidMap', 'fullRange', 'ownUserNamespace'];
const FILE_TYPE_TESTS = ['isFile', 'isDirectory', 'isSymbolicLink', 'isFIFO', 'isSocket', 'isCharacterDevice', 'isBlockDevice'];

const sorted = (names: Iterable<string>): string[] => [...names].sort();
const ownNames = (object: object): string[] => sorted(Object.getOwnPropertyNames(object));

describe('exports', () => {
  test('the entry point exports the documented names', () => {
    expect(sorted(Object.keys(api))).toEqual(sorted(TOP_LEVEL));
  });

  test('podman exports the documented functions and PodmanError', () => {
    expect(sorted(Object.keys(podman))).toEqual(sorted(PODMAN));
  });

  test('docker exports the documented functions and DockerError', () => {
    expect(sorted(Object.keys(docker))).toEqual(sorted(DOCKER));
  });

  test('STAT_FIELDS cannot be changed under the protocol', () => {
    expect(Object.isFrozen(api.STAT_FIELDS)).toBe(true);
    expect(() => (api.STAT_FIELDS as unknown as string[]).reverse()).toThrow(TypeError);
  });

  describe('by package name, through an exports map', () => {
    let dir: string;
    beforeAll(() => {
      // No pack, no copy: node_modules/unshare-fs -> the repository.
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-exports-'));
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'unshare-fs'), 'dir');
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const node = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });

    test('require("unshare-fs") gives the documented names', () => {
      const run = node([
        '-e',
        'const u = require("unshare-fs"); console.log(JSON.stringify([Object.keys(u), Object.keys(u.podman), Object.keys(u.docker)]))',
      ]);
      expect(run.stderr).toBe('');
      const [names, podmanNames, dockerNames] = JSON.parse(run.stdout) as [string[], string[], string[]];
      expect(sorted(names)).toEqual(sorted(TOP_LEVEL));
      expect(sorted(podmanNames)).toEqual(sorted(PODMAN));
      expect(sorted(dockerNames)).toEqual(sorted(DOCKER));
    });

    test('import from "unshare-fs" gives the same names to ES modules', () => {
      const run = node(['--input-type=module', '-e', 'import * as u from "unshare-fs"; console.log(JSON.stringify(Object.keys(u)))']);
      expect(run.stderr).toBe('');
      // node adds `default` (and from Node 23 on `module.exports`) for a
      // CommonJS package, and shows the `__esModule` marker tsc gives every
      // CommonJS module.
      const names = (JSON.parse(run.stdout) as string[]).filter((name) => !['default', 'module.exports', '__esModule'].includes(name));
      expect(sorted(names)).toEqual(sorted(TOP_LEVEL));
    });

    test.each([
      'unshare-fs/dist/session',
      'unshare-fs/dist/session.js',
      'unshare-fs/dist/index',
      'unshare-fs/dist/podman/store',
      'unshare-fs/dist/docker/store',
      'unshare-fs/lib/channel',
    ])('require("%s") is refused', (specifier) => {
      const run = node(['-e', `require(${JSON.stringify(specifier)})`]);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    });

    test('package.json can still be read', () => {
      const run = node(['-e', 'console.log(require("unshare-fs/package.json").name)']);
      expect(run.stdout.trim()).toBe('unshare-fs');
    });
  });
});

describe('classes and objects hold no internals', () => {
  test('FileSystem has the file API only', () => {
    expect(ownNames(FileSystem.prototype)).toEqual(sorted(FILE_SYSTEM_METHODS));
    expect(Object.getOwnPropertySymbols(FileSystem.prototype)).toEqual([]);
  });

  test('a FileHandle and a Dir have their node members only, and no fields', async () => {
    const handle = await host.open(os.tmpdir());
    const dir = await host.opendir(os.tmpdir());
    try {
      expect(ownNames(Object.getPrototypeOf(handle) as object)).toEqual(sorted(FILE_HANDLE_MEMBERS));
      expect(Object.getOwnPropertySymbols(Object.getPrototypeOf(handle) as object)).toEqual([Symbol.asyncDispose]);
      expect(ownNames(handle)).toEqual([]);
      expect(ownNames(Object.getPrototypeOf(dir) as object)).toEqual(sorted(DIR_MEMBERS));
      expect(Object.getOwnPropertySymbols(Object.getPrototypeOf(dir) as object)).toEqual([Symbol.asyncIterator, Symbol.asyncDispose]);
      expect(ownNames(dir)).toEqual(['path']);
    } finally {
      await handle.close();
      await dir.close();
    }
  });

  test('host has no fields, and no members beyond FileSystem', () => {
    expect(ownNames(host)).toEqual([]);
    expect(Object.getOwnPropertySymbols(host)).toEqual([]);
    const hostClass = Object.getPrototypeOf(host) as object;
    expect(ownNames(hostClass)).toEqual(['constructor']);
    expect(Object.getPrototypeOf(hostClass)).toBe(FileSystem.prototype);
  });

  test('Session adds only the documented members', () => {
    expect(ownNames(Session.prototype)).toEqual(sorted(SESSION_MEMBERS));
    expect(Object.getOwnPropertySymbols(Session.prototype)).toEqual([Symbol.asyncDispose]);
    expect(Object.getPrototypeOf(Session.prototype)).toBe(FileSystem.prototype);
  });

  test('Namespace has the documented members', () => {
    expect(ownNames(Namespace.prototype)).toEqual(sorted(NAMESPACE_MEMBERS));
    expect(Object.getOwnPropertySymbols(Namespace.prototype)).toEqual([Symbol.asyncDispose]);
  });

  test('no class has static members', () => {
    for (const cls of [FileSystem, Session, Namespace, Entry]) {
      expect(ownNames(cls)).toEqual(['length', 'name', 'prototype']);
    }
  });

  test('Entry has its fields and the fs.Dirent tests', () => {
    expect(ownNames(Entry.prototype)).toEqual(sorted(['constructor', 'path', ...FILE_TYPE_TESTS]));
    expect(ownNames(new Entry('/a', 'b', '/a/b', 'file', 1, undefined))).toEqual(
      sorted(['parentPath', 'name', 'fullPath', 'type', 'depth', 'stats']),
    );
  });

  test('Stats and BigIntStats have the fs.Stats tests only (no typeBits helper)', () => {
    for (const cls of [Stats, BigIntStats]) {
      const methods = Object.getOwnPropertyNames(cls.prototype).concat(Object.getOwnPropertyNames(Object.getPrototypeOf(cls.prototype)));
      expect(methods).not.toContain('typeBits');
    }
  });

  test('sessions and namespaces come only from the library', () => {
    const NewSession = Session as unknown as new (...args: unknown[]) => unknown;
    const NewNamespace = Namespace as unknown as new (...args: unknown[]) => unknown;
    expect(() => new NewSession()).toThrow(TypeError);
    expect(
      () => new NewSession(Symbol('unshare-fs session'), 1, { pid: 1, fd: 0, joinedUserNamespace: false }, { uidMap: [], gidMap: [] }),
    ).toThrow(/Illegal constructor/);
    expect(() => new NewNamespace()).toThrow(TypeError);
    expect(() => new NewNamespace(Symbol('unshare-fs namespace'), 1, {}, { uidMap: [], gidMap: [] }, false)).toThrow(/Illegal constructor/);
  });

  test('a walk holds no reachable reference to its channel', async () => {
    const walk = host.walk('/');
    const walkBatches = host.walkBatches('/');
    try {
      expect(Object.getOwnPropertyNames(walk)).toEqual([]);
      expect(Object.getOwnPropertyNames(walkBatches)).toEqual([]);
    } finally {
      await walk.return?.();
      await walkBatches.return?.();
    }
  });

  test('a read stream holds no reachable reference to its channel', () => {
    const stream = host.createReadStream('/etc/hostname');
    try {
      expect(Object.getOwnPropertyNames(stream)).not.toEqual(expect.arrayContaining(['parts']));
      expect(Object.getOwnPropertyNames(stream)).not.toEqual(expect.arrayContaining(['request']));
    } finally {
      stream.destroy();
    }
  });
});

// -------------------------------------------------------------- arguments

type ErrorClass = typeof TypeError | typeof RangeError;
interface BadCall {
  call: string;
  run: () => unknown;
  error: ErrorClass;
  code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';
  /** The argument or option the message must name. */
  names: string;
}

const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const RANGE = 'ERR_OUT_OF_RANGE';

/** Whatever the call throws or rejects with; a call that succeeds fails the test. */
async function failureOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded');
}

function expectRefused(row: BadCall): () => Promise<void> {
  return async () => {
    const error = await failureOf(row.run);
    expect(error).toBeInstanceOf(row.error);
    expect(error).toMatchObject({ code: row.code });
    expect((error as Error).message).toContain(row.names);
    // What came is named too, except for an unknown key (the key is what came).
    if (!/^Unknown option/.test((error as Error).message)) expect((error as Error).message).toMatch(/received/);
  };
}

const bad = (call: string, run: () => unknown, error: ErrorClass, code: BadCall['code'], names: string): BadCall => ({
  call,
  run,
  error,
  code,
  names,
});
// never: assignable to any parameter, whichever overload is tried.
const any = <T = never>(value: unknown): T => value as T;

/** Bad arguments to every FileSystem method, for host paths and for a session alike. */
function fileSystemRows(fs: () => FileSystem): BadCall[] {
  const p = '/';
  return [
    bad('walk(p, { maxdepth: 1 })', () => fs().walk(p, any({ maxdepth: 1 })), TypeError, VALUE, 'maxdepth'),
    bad('walk(p, null)', () => fs().walk(p, any(null)), TypeError, TYPE, 'walk options'),
    bad('walk(42)', () => fs().walk(any(42)), TypeError, TYPE, 'root'),
    bad('walk(p, { maxDepth: -1 })', () => fs().walk(p, { maxDepth: -1 }), RangeError, RANGE, 'maxDepth'),
    bad("walk(p, { maxDepth: '3' })", () => fs().walk(p, any({ maxDepth: '3' })), TypeError, TYPE, 'maxDepth'),
    bad('walk(p, { threads: 17 })', () => fs().walk(p, { threads: 17 }), RangeError, RANGE, 'threads'),
    bad("walk(p, { threads: '2' })", () => fs().walk(p, any({ threads: '2' })), TypeError, TYPE, 'threads'),
    bad("walk(p, { stat: ['colour'] })", () => fs().walk(p, any({ stat: ['colour'] })), TypeError, VALUE, 'stat'),
    bad("walk(p, { stat: 'all' })", () => fs().walk(p, any({ stat: 'all' })), TypeError, TYPE, 'stat'),
    bad("walk(p, { onError: 'ignore' })", () => fs().walk(p, any({ onError: 'ignore' })), TypeError, VALUE, 'onError'),
    bad("walk(p, { signal: 'x' })", () => fs().walk(p, any({ signal: 'x' })), TypeError, TYPE, 'signal'),
    bad("walk(p, { encoding: 'hex' })", () => fs().walk(p, any({ encoding: 'hex' })), TypeError, VALUE, 'encoding'),
    bad('walk(p, { encoding: 1 })', () => fs().walk(p, any({ encoding: 1 })), TypeError, TYPE, 'encoding'),
    bad('walk(p, { oneFileSystem: 1 })', () => fs().walk(p, any({ oneFileSystem: 1 })), TypeError, TYPE, 'oneFileSystem'),
    bad("walk(p, { exclude: 'proc' })", () => fs().walk(p, any({ exclude: 'proc' })), TypeError, TYPE, 'exclude'),
    bad('walk(p, { exclude: [1] })', () => fs().walk(p, any({ exclude: [1] })), TypeError, TYPE, 'exclude'),
    bad("walk(p, { exclude: [''] })", () => fs().walk(p, { exclude: [''] }), TypeError, VALUE, 'exclude'),
    bad("walk(p, { exclude: ['a\\0b'] })", () => fs().walk(p, { exclude: ['a\0b'] }), TypeError, VALUE, 'exclude'),
    bad("walk(p, { exclude: ['/'] })", () => fs().walk(p, { exclude: ['/'] }), TypeError, VALUE, 'exclude'),
    bad('walk(p, { exclude: 4,096-byte pattern })', () => fs().walk(p, { exclude: ['x'.repeat(4096)] }), TypeError, VALUE, 'exclude'),
    bad('walk(p, { exclude: 257 patterns })', () => fs().walk(p, { exclude: Array(257).fill('x') }), RangeError, RANGE, 'exclude'),
    bad(
      'walk(p, { exclude: 20 x 4,000 bytes })',
      () => fs().walk(p, { exclude: Array(20).fill('x'.repeat(4000)) }),
      RangeError,
      RANGE,
      'exclude',
    ),
    bad("walk(p, { filter: 'x' })", () => fs().walk(p, any({ filter: 'x' })), TypeError, TYPE, 'filter'),
    bad('walkBatches(p, { depth: 1 })', () => fs().walkBatches(p, any({ depth: 1 })), TypeError, VALUE, 'depth'),
    bad("lstat(p, { bigint: 'yes' })", () => fs().lstat(p, any({ bigint: 'yes' })), TypeError, TYPE, 'bigint'),
    bad('lstat(p, { bigInt: true })', () => fs().lstat(p, any({ bigInt: true })), TypeError, VALUE, 'bigInt'),
    bad('lstat(null)', () => fs().lstat(any(null)), TypeError, TYPE, 'path'),
    bad("stat('a\\0b')", () => fs().stat('a\0b'), TypeError, VALUE, 'path'),
    bad("stat(p, 'bigint')", () => fs().stat(p, any('bigint')), TypeError, TYPE, 'stat options'),
    bad('readdir(p, { withFileTypes: 1 })', () => fs().readdir(p, any({ withFileTypes: 1 })), TypeError, TYPE, 'withFileTypes'),
    bad("readdir(p, { encoding: 'utf-9' })", () => fs().readdir(p, any({ encoding: 'utf-9' })), TypeError, VALUE, 'encoding'),
    bad("readdir(p, { recursive: 'yes' })", () => fs().readdir(p, any({ recursive: 'yes' })), TypeError, TYPE, 'recursive'),
    bad('readdir(p, { exclude: [] })', () => fs().readdir(p, any({ exclude: [] })), TypeError, VALUE, 'exclude'),
    bad('readlink(p, { encoding: 5 })', () => fs().readlink(p, any({ encoding: 5 })), TypeError, TYPE, 'encoding'),
    bad('access(p, 8)', () => fs().access(p, 8), RangeError, RANGE, 'mode'),
    bad("access(p, '4')", () => fs().access(p, any('4')), TypeError, TYPE, 'mode'),
    bad('realpath(p, { encoding: 5 })', () => fs().realpath(p, any({ encoding: 5 })), TypeError, TYPE, 'encoding'),
    bad("statfs(p, { bigint: 'yes' })", () => fs().statfs(p, any({ bigint: 'yes' })), TypeError, TYPE, 'bigint'),
    bad('opendir(p, { bufferSize: 0 })', () => fs().opendir(p, { bufferSize: 0 }), RangeError, RANGE, 'bufferSize'),
    bad("opendir(p, { encoding: 'hex' })", () => fs().opendir(p, any({ encoding: 'hex' })), TypeError, VALUE, 'encoding'),
    bad("mkdtemp(p, { encoding: 'utf-9' })", () => fs().mkdtemp(p, any({ encoding: 'utf-9' })), TypeError, VALUE, 'encoding'),
    bad('mkdtemp(42)', () => fs().mkdtemp(any(42)), TypeError, TYPE, 'prefix'),
    bad("open(p, 'rw')", () => fs().open(p, 'rw'), TypeError, VALUE, 'flags'),
    bad('open(p, O_PATH)', () => fs().open(p, 0o10000000), TypeError, VALUE, 'flags'),
    bad("open(p, 'r', 'rw')", () => fs().open(p, 'r', 'rw'), TypeError, VALUE, 'mode'),
    bad("readFile(p, { signal: 'x' })", () => fs().readFile(p, any({ signal: 'x' })), TypeError, TYPE, 'signal'),
    // node's readFile takes `flag`, its streams `flags`: the other spelling is unknown.
    bad("readFile(p, { flags: 'r' })", () => fs().readFile(p, any({ flags: 'r' })), TypeError, VALUE, 'flags'),
    bad("readFile(p, { flag: 'rw' })", () => fs().readFile(p, any({ flag: 'rw' })), TypeError, VALUE, 'flag'),
    bad('readFile(p, { flag: true })', () => fs().readFile(p, any({ flag: true })), TypeError, TYPE, 'flag'),
    bad('readFile(undefined)', () => fs().readFile(any(undefined)), TypeError, TYPE, 'path'),
    bad('createReadStream(p, { start: -1 })', () => fs().createReadStream(p, { start: -1 }), RangeError, RANGE, 'start'),
    bad(
      "createReadStream(p, { highWaterMark: '1' })",
      () => fs().createReadStream(p, any({ highWaterMark: '1' })),
      TypeError,
      TYPE,
      'highWaterMark',
    ),
    bad("createReadStream(p, { flag: 'r' })", () => fs().createReadStream(p, any({ flag: 'r' })), TypeError, VALUE, 'flag'),
    bad("createReadStream(p, { flags: 'w+' })", () => fs().createReadStream(p, any({ flags: 'w+' })), TypeError, VALUE, 'flags'),
    bad('createReadStream(p, { fd: 3 })', () => fs().createReadStream(p, any({ fd: 3 })), TypeError, VALUE, 'fd'),
    bad(
      "createReadStream(p, { encoding: 'utf-9' })",
      () => fs().createReadStream(p, any({ encoding: 'utf-9' })),
      TypeError,
      VALUE,
      'encoding',
    ),
    bad("createWriteStream(p, { start: '1' })", () => fs().createWriteStream(p, any({ start: '1' })), TypeError, TYPE, 'start'),
    bad("createWriteStream(p, { flags: 'r' })", () => fs().createWriteStream(p, any({ flags: 'r' })), TypeError, VALUE, 'flags'),
    bad('rm(p, { maxRetries: -1 })', () => fs().rm(p, { recursive: true, maxRetries: -1 }), RangeError, RANGE, 'maxRetries'),
    bad("writeFile(p, 'x', { flush: 1 })", () => fs().writeFile(p, 'x', any({ flush: 1 })), TypeError, TYPE, 'flush'),
  ];
}

describe('bad arguments', () => {
  describe('host', () => {
    test.each(fileSystemRows(() => host).map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
  });

  describe('top-level functions are host methods', () => {
    const rows = [
      bad('walk(p, { maxdepth: 1 })', () => api.walk('/', any({ maxdepth: 1 })), TypeError, VALUE, 'maxdepth'),
      bad('walkBatches(p, { maxDepth: 1.5 })', () => api.walkBatches('/', { maxDepth: 1.5 }), RangeError, RANGE, 'maxDepth'),
      bad("lstat(p, { bigint: 'yes' })", () => api.lstat('/', any({ bigint: 'yes' })), TypeError, TYPE, 'bigint'),
      bad('stat(1)', () => api.stat(any(1)), TypeError, TYPE, 'path'),
      bad('readdir(p, { withFiletypes: true })', () => api.readdir('/', any({ withFiletypes: true })), TypeError, VALUE, 'withFiletypes'),
      bad('readlink(p, null)', () => api.readlink('/', any(null)), TypeError, TYPE, 'readlink options'),
      bad("readFile(p, { signal: 'x' })", () => api.readFile('/', any({ signal: 'x' })), TypeError, TYPE, 'signal'),
    ];
    test.each(rows.map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
  });

  describe('createNamespace', () => {
    const range = { inside: 0, outside: 0, count: 1 };
    const rows = [
      bad('createNamespace(null)', () => createNamespace(any(null)), TypeError, TYPE, 'createNamespace options'),
      bad("createNamespace('x')", () => createNamespace(any('x')), TypeError, TYPE, 'createNamespace options'),
      bad("createNamespace({ uidMap: 'x' })", () => createNamespace(any({ uidMap: 'x' })), TypeError, TYPE, 'uidMap'),
      bad('createNamespace({ uidMap: [] })', () => createNamespace({ uidMap: [] }), RangeError, RANGE, 'uidMap'),
      bad(
        'createNamespace({ uidMap: 341 ranges })',
        () => createNamespace({ uidMap: new Array(341).fill(range) }),
        RangeError,
        RANGE,
        'uidMap',
      ),
      bad(
        'createNamespace({ uidMap: more than a page as written })',
        () => createNamespace({ uidMap: Array.from({ length: 200 }, (_, i) => ({ inside: 4e9 + i, outside: 4e9 + i, count: 1 })) }),
        RangeError,
        RANGE,
        'uidMap',
      ),
      bad('createNamespace({ gidMap: [null] })', () => createNamespace(any({ gidMap: [null] })), TypeError, TYPE, 'gidMap[0]'),
      bad(
        'createNamespace({ uidMap: [no count] })',
        () => createNamespace(any({ uidMap: [{ inside: 0, outside: 0 }] })),
        TypeError,
        TYPE,
        'uidMap[0].count',
      ),
      bad(
        'createNamespace({ uidMap: [an extra key] })',
        () => createNamespace(any({ uidMap: [{ ...range, length: 1 }] })),
        TypeError,
        VALUE,
        'length',
      ),
      bad(
        'createNamespace({ uidMap: [inside -1] })',
        () => createNamespace({ uidMap: [{ ...range, inside: -1 }] }),
        RangeError,
        RANGE,
        'uidMap[0].inside',
      ),
      bad(
        "createNamespace({ uidMap: [outside '0'] })",
        () => createNamespace(any({ uidMap: [{ ...range, outside: '0' }] })),
        TypeError,
        TYPE,
        'uidMap[0].outside',
      ),
      bad(
        'createNamespace({ uidMap: [count 0] })',
        () => createNamespace({ uidMap: [range, { ...range, count: 0 }] }),
        RangeError,
        RANGE,
        'uidMap[1].count',
      ),
      bad(
        'createNamespace({ uidMap: [a range past 2^32 - 1] })',
        () => createNamespace({ uidMap: [{ inside: 0, outside: 1, count: 0xffffffff }] }),
        RangeError,
        RANGE,
        'uidMap[0].count',
      ),
      bad(
        'createNamespace({ uidMap: [inside 2^32 - 1] })',
        () => createNamespace({ uidMap: [{ ...range, inside: 0xffffffff }] }),
        RangeError,
        RANGE,
        'uidMap[0].inside',
      ),
      bad("createNamespace({ subids: 'always' })", () => createNamespace(any({ subids: 'always' })), TypeError, VALUE, 'subids'),
      bad('createNamespace({ subids: true })', () => createNamespace(any({ subids: true })), TypeError, TYPE, 'subids'),
      bad(
        "createNamespace({ userNamespace: 'no' })",
        () => createNamespace(any({ userNamespace: 'no' })),
        TypeError,
        TYPE,
        'userNamespace',
      ),
      bad('createNamespace({ userNS: false })', () => createNamespace(any({ userNS: false })), TypeError, VALUE, 'userNS'),
    ];
    test.each(rows.map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
  });

  describe('enter', () => {
    const rows = [
      bad('enter(null)', () => enter(any(null)), TypeError, TYPE, 'options'),
      bad("enter({ pid: '1' })", () => enter(any({ pid: '1' })), TypeError, TYPE, 'pid'),
      bad('enter({ pid: 0 })', () => enter({ pid: 0 }), RangeError, RANGE, 'pid'),
      bad('enter({ pid, pidfile })', () => enter(any({ pid: process.pid, pidfile: '/x' })), TypeError, VALUE, 'pidfile'),
    ];
    test.each(rows.map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());

    const coded = [
      bad('enter({})', () => enter({}), TypeError, TYPE, 'pid'),
      bad('enter({ pid, pidFile })', () => enter({ pid: process.pid, pidFile: '/x' }), TypeError, VALUE, 'pidFile'),
      bad('enter({ pidFile: 5 })', () => enter(any({ pidFile: 5 })), TypeError, TYPE, 'pidFile'),
      bad("enter({ pid, root: 'relative' })", () => enter({ pid: process.pid, root: 'relative' }), TypeError, VALUE, 'root'),
    ];
    test.each(coded.map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
  });

  describe('podman', () => {
    const rows = [
      bad('storageConfig(null)', () => podman.storageConfig(any(null)), TypeError, TYPE, 'storageConfig options'),
      bad('storageConfig({ graphroot: p })', () => podman.storageConfig(any({ graphroot: '/x' })), TypeError, VALUE, 'graphroot'),
      bad('storageConfig({ uid: -1 })', () => podman.storageConfig({ uid: -1 }), RangeError, RANGE, 'uid'),
      bad("storageConfig({ uid: '0' })", () => podman.storageConfig(any({ uid: '0' })), TypeError, TYPE, 'uid'),
      bad("storageConfig({ env: 'x' })", () => podman.storageConfig(any({ env: 'x' })), TypeError, TYPE, 'env'),
      bad('storageConfig({ env: { HOME: 1 } })', () => podman.storageConfig(any({ env: { HOME: 1 } })), TypeError, TYPE, 'env.HOME'),
      bad("storageConfig({ home: '' })", () => podman.storageConfig({ home: '' }), TypeError, VALUE, 'home'),
      bad('storageConfig({ graphRoot: 5 })', () => podman.storageConfig(any({ graphRoot: 5 })), TypeError, TYPE, 'graphRoot'),
      bad('pausePid({ runtimedir: p })', () => podman.pausePid(any({ runtimedir: '/x' })), TypeError, VALUE, 'runtimedir'),
      bad('pausePidFile(5)', () => podman.pausePidFile(any(5)), TypeError, TYPE, 'pausePidFile options'),
      bad('containers({ root: p })', () => podman.containers(any({ root: '/' })), TypeError, VALUE, 'root'),
      bad('container(undefined)', () => podman.container(any(undefined)), TypeError, TYPE, 'nameOrIdPrefix'),
      bad("container('')", () => podman.container(''), TypeError, VALUE, 'nameOrIdPrefix'),
      bad("container('c', null)", () => podman.container('c', any(null)), TypeError, TYPE, 'container options'),
      bad('images([])', () => podman.images(any([])), TypeError, TYPE, 'images options'),
      bad('image(null)', () => podman.image(any(null)), TypeError, TYPE, 'ref'),
      bad("image('x', { uid: 1.5 })", () => podman.image('x', { uid: 1.5 }), RangeError, RANGE, 'uid'),
      bad('layers({ driver: p })', () => podman.layers(any({ driver: 'vfs' })), TypeError, VALUE, 'driver'),
      bad('layerChain(5)', () => podman.layerChain(any(5)), TypeError, TYPE, 'layerId'),
      bad('enterStorage(null)', () => podman.enterStorage(any(null)), TypeError, TYPE, 'enterStorage options'),
      bad("enterStorage({ root: 'relative' })", () => podman.enterStorage({ root: 'relative' }), TypeError, VALUE, 'root'),
      bad('enterMerged(null)', () => podman.enterMerged(any(null)), TypeError, TYPE, 'nameOrId'),
      bad("enterMerged('c', { root: p })", () => podman.enterMerged('c', any({ root: '/' })), TypeError, VALUE, 'root'),
      bad('enterContainer(undefined)', () => podman.enterContainer(any(undefined)), TypeError, TYPE, 'nameOrId'),
      bad("enterContainer('c', { rot: p })", () => podman.enterContainer('c', any({ rot: '/' })), TypeError, VALUE, 'rot'),
      bad('mountContainer({})', () => podman.mountContainer(any({})), TypeError, TYPE, 'nameOrId'),
      bad("mountImage('')", () => podman.mountImage(''), TypeError, VALUE, 'ref'),
      bad("mountImage('x', 'y')", () => podman.mountImage('x', any('y')), TypeError, TYPE, 'mountImage options'),
    ];
    test.each(rows.map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
  });

  describe('docker', () => {
    const rows: BadCall[] = [
      bad('storageConfig(null)', () => docker.storageConfig(any(null)), TypeError, TYPE, 'storageConfig options'),
      bad('storageConfig({ graphRoot: p })', () => docker.storageConfig(any({ graphRoot: '/x' })), TypeError, VALUE, 'graphRoot'),
      bad('storageConfig({ uid: -1 })', () => docker.storageConfig({ uid: -1 }), RangeError, RANGE, 'uid'),
      bad("storageConfig({ dataRoot: '' })", () => docker.storageConfig({ dataRoot: '' }), TypeError, VALUE, 'dataRoot'),
      bad('daemonPid({ pidFile: 5 })', () => docker.daemonPid(any({ pidFile: 5 })), TypeError, TYPE, 'pidFile'),
      bad('daemonPidFile(5)', () => docker.daemonPidFile(any(5)), TypeError, TYPE, 'daemonPidFile options'),
      bad('containers({ root: p })', () => docker.containers(any({ root: '/' })), TypeError, VALUE, 'root'),
      bad("container('')", () => docker.container(''), TypeError, VALUE, 'nameOrIdPrefix'),
      bad('image(null)', () => docker.image(any(null)), TypeError, TYPE, 'ref'),
      bad('layerChain(5)', () => docker.layerChain(any(5)), TypeError, TYPE, 'layerId'),
      bad("enterStorage({ root: 'relative' })", () => docker.enterStorage({ root: 'relative' }), TypeError, VALUE, 'root'),
      bad("enterMerged('c', { root: p })", () => docker.enterMerged('c', any({ root: '/' })), TypeError, VALUE, 'root'),
      bad('enterContainer(undefined)', () => docker.enterContainer(any(undefined)), TypeError, TYPE, 'nameOrId'),
      bad("mountImage('x', 'y')", () => docker.mountImage('x', any('y')), TypeError, TYPE, 'mountImage options'),
      bad("diff('c', { signal: 1 })", () => docker.diff('c', any({ signal: 1 })), TypeError, TYPE, 'signal'),
      bad("exportLayer('c', { xattrs: 1 })", () => docker.exportLayer('c', any({ xattrs: 1 })), TypeError, TYPE, 'xattrs'),
      bad('containers({ graphRoot: p }) over every engine', () => api.containers(any({ graphRoot: '/x' })), TypeError, VALUE, 'graphRoot'),
    ];
    test.each(rows.map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
  });

  test('functions that return promises reject, as fs.promises does; the rest throw', async () => {
    const promises = [
      api.readFile('/', any({ signal: 'x' })),
      api.lstat('/', any({ bigint: 'yes' })),
      createNamespace(any(null)),
      enter(any(null)),
      podman.enterStorage(any(null)),
      podman.mountImage(any(null)),
    ];
    for (const promise of promises) await expect(promise).rejects.toThrow(TypeError);
    expect(() => podman.image(any(null))).toThrow(TypeError);
    expect(() => api.walk('/', any({ maxdepth: 1 }))).toThrow(TypeError);
  });

  requires(userNamespaces).describe('a namespace and a session', () => {
    let ns: NamespaceType;
    let session: Session;
    beforeAll(async () => {
      ns = await createNamespace();
      session = await ns.enter();
    });
    afterAll(async () => ns?.close());

    test('own fields are the documented ones', () => {
      expect(sorted(Object.keys(ns))).toEqual(sorted(NAMESPACE_FIELDS));
      expect(Object.getOwnPropertySymbols(ns)).toEqual([]);
      expect(sorted(Object.keys(session))).toEqual(sorted(SESSION_FIELDS));
      expect(Object.getOwnPropertySymbols(session)).toEqual([]);
    });

    test("a namespace's id maps cannot be changed", () => {
      expect(Object.isFrozen(ns.uidMap)).toBe(true);
      expect(Object.isFrozen(ns.uidMap[0])).toBe(true);
      expect(Object.isFrozen(ns.gidMap[0])).toBe(true);
    });

    describe('session', () => {
      test.each(fileSystemRows(() => session).map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
      const rows = [
        bad('toHostUid(1.5)', () => session.toHostUid(1.5), RangeError, RANGE, 'uid'),
        bad('toHostUid(-1)', () => session.toHostUid(-1), RangeError, RANGE, 'uid'),
        bad("toHostUid('0')", () => session.toHostUid(any('0')), TypeError, TYPE, 'uid'),
        bad('toHostGid(2 ** 32)', () => session.toHostGid(2 ** 32), RangeError, RANGE, 'gid'),
      ];
      test.each(rows.map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
      test('toHostUid() with no uid', () =>
        expectRefused(bad('toHostUid()', () => any<() => number>(session.toHostUid.bind(session))(), TypeError, TYPE, 'uid'))());
    });

    describe('namespace', () => {
      const target = '/tmp';
      const rows = (): BadCall[] => [
        bad('mountOverlay()', () => any<() => Promise<void>>(ns.mountOverlay.bind(ns))(), TypeError, TYPE, 'mountOverlay options'),
        bad('mountOverlay(null)', () => ns.mountOverlay(any(null)), TypeError, TYPE, 'mountOverlay options'),
        bad("mountOverlay({ lowerDirs: 'x' })", () => ns.mountOverlay(any({ lowerDirs: '/x', target })), TypeError, TYPE, 'lowerDirs'),
        bad('mountOverlay({ lowerDirs: [] })', () => ns.mountOverlay({ lowerDirs: [], target }), TypeError, VALUE, 'lowerDirs'),
        bad(
          'mountOverlay({ lowerDirs: [Buffer] })',
          () => ns.mountOverlay(any({ lowerDirs: [Buffer.from('/x')], target })),
          TypeError,
          TYPE,
          'lowerDirs[0]',
        ),
        bad(
          "mountOverlay({ lowerDirs: ['a\\0b'] })",
          () => ns.mountOverlay({ lowerDirs: ['/x', 'a\0b'], target }),
          TypeError,
          VALUE,
          'lowerDirs[1]',
        ),
        bad('mountOverlay({ no target })', () => ns.mountOverlay(any({ lowerDirs: ['/x'] })), TypeError, TYPE, 'target'),
        bad("mountOverlay({ target: '' })", () => ns.mountOverlay({ lowerDirs: ['/x'], target: '' }), TypeError, VALUE, 'target'),
        bad(
          'mountOverlay({ upperDir, no workDir })',
          () => ns.mountOverlay({ lowerDirs: ['/x'], upperDir: '/u', target }),
          TypeError,
          TYPE,
          'workDir',
        ),
        bad(
          'mountOverlay({ workDir, no upperDir })',
          () => ns.mountOverlay({ lowerDirs: ['/x'], workDir: '/w', target }),
          TypeError,
          TYPE,
          'upperDir',
        ),
        bad(
          "mountOverlay({ readOnly: 'yes' })",
          () => ns.mountOverlay(any({ lowerDirs: ['/x'], target, readOnly: 'yes' })),
          TypeError,
          TYPE,
          'readOnly',
        ),
        bad(
          'mountOverlay({ lowerdirs })',
          () => ns.mountOverlay(any({ lowerdirs: ['/x'], lowerDirs: ['/x'], target })),
          TypeError,
          VALUE,
          'lowerdirs',
        ),
        bad("mountTmpfs('')", () => ns.mountTmpfs(''), TypeError, VALUE, 'target'),
        bad('mountTmpfs(5)', () => ns.mountTmpfs(any(5)), TypeError, TYPE, 'target'),
        bad('mountTmpfs(p, null)', () => ns.mountTmpfs(target, any(null)), TypeError, TYPE, 'mountTmpfs options'),
        bad("mountTmpfs(p, { size: '1m,uid=0' })", () => ns.mountTmpfs(target, { size: '1m,uid=0' }), TypeError, VALUE, 'size'),
        bad('mountTmpfs(p, { size: -1 })', () => ns.mountTmpfs(target, { size: -1 }), RangeError, RANGE, 'size'),
        bad('mountTmpfs(p, { size: true })', () => ns.mountTmpfs(target, any({ size: true })), TypeError, TYPE, 'size'),
        bad('mountTmpfs(p, { mode: 0o755 })', () => ns.mountTmpfs(target, any({ mode: 0o755 })), TypeError, VALUE, 'mode'),
        bad('unmount()', () => any<() => Promise<void>>(ns.unmount.bind(ns))(), TypeError, TYPE, 'target'),
        bad("unmount('a\\0b')", () => ns.unmount('a\0b'), TypeError, VALUE, 'target'),
        bad("exec('ls')", () => ns.exec(any('ls')), TypeError, TYPE, 'argv'),
        bad('exec([])', () => ns.exec([]), TypeError, VALUE, 'argv'),
        bad("exec(['ls', 1])", () => ns.exec(any(['ls', 1])), TypeError, TYPE, 'argv[1]'),
        bad("exec(['true\\0'])", () => ns.exec(['true\0']), TypeError, VALUE, 'argv[0]'),
      ];
      // The rows are made once the namespace is: `ns` is read when a row runs.
      test.each(rows().map((row) => [row.call, row] as const))('%s', (_call, row) => expectRefused(row)());
    });
  });
});

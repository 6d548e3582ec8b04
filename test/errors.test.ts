// The error builders: an errno error is the one node:fs throws for the same
// failure (taken from node:fs itself, not from the builder), and the
// library's own errors say what kind they are by their code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { UnshareFsError, cutShortError, errnoError, protocolError } from '../lib/core/errors';

/** What node:fs/promises rejects `call` with. */
async function nodeError(call: () => Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await call();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('node:fs did not fail');
}

describe('errnoError is the error node:fs gives', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-errors-'));
    fs.writeFileSync(path.join(dir, 'file'), 'x');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true }));

  test.each([
    ['ENOENT', 'lstat', () => path.join(dir, 'missing'), (p: string) => fs.promises.lstat(p)],
    ['ENOTDIR', 'scandir', () => path.join(dir, 'file'), (p: string) => fs.promises.readdir(p)],
    ['EEXIST', 'mkdir', () => path.join(dir, 'file'), (p: string) => fs.promises.mkdir(p)],
    ['EINVAL', 'rmdir', () => `${dir}/.`, (p: string) => fs.promises.rmdir(p)],
  ] as const)('%s in %s', async (code, syscall, target, call) => {
    const expected = await nodeError(() => call(target()));
    const built = errnoError(code, syscall, target());
    expect({ code: built.code, errno: built.errno, syscall: built.syscall, path: built.path, message: built.message }).toEqual({
      code: expected.code,
      errno: expected.errno,
      syscall: expected.syscall,
      path: expected.path,
      message: expected.message,
    });
  });
});

test("a protocol error is EPROTO and a cut-short one ECLOSED, both the library's own", () => {
  const protocol = protocolError('a frame of 3 bytes from the server');
  expect(protocol).toBeInstanceOf(UnshareFsError);
  expect(protocol).toMatchObject({ code: 'EPROTO', message: 'unshare-fs: a frame of 3 bytes from the server' });
  const cut = cutShortError('read', '/srv/file');
  expect(cut).toBeInstanceOf(UnshareFsError);
  expect(cut).toMatchObject({ code: 'ECLOSED', message: "unshare-fs: the read of '/srv/file' was cut short: the server is closing" });
  expect(cutShortError('walk').message).toBe('unshare-fs: the walk was cut short: the server is closing');
});

// A pid reaches the kernel as the kernel would take it, and a pid file is
// read without trusting what kind of file it is.
import { createNamespace, enter, type Namespace } from '../lib';
import { native } from '../lib/native';
import { removeTree, tempDir } from './helpers/tree';

let ns: Namespace;
let dir: string;

beforeAll(async () => {
  ns = await createNamespace();
  dir = tempDir();
});

afterAll(async () => {
  await ns?.close();
  if (dir) removeTree(dir);
});

describe('pids', () => {
  test('a pid beyond pid_t is out of range, not the pid its low 32 bits name', async () => {
    const wrapped = 2 ** 32 + ns.pid;
    await expect(enter({ pid: wrapped })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: 2 ** 31 })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: ns.pid + 0.5 })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: 0 })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await expect(enter({ pid: '1' as unknown as number })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    // The largest pid_t is a pid no process has.
    await expect(enter({ pid: 0x7fffffff })).rejects.toMatchObject({ code: 'ESRCH' });
  });

  test('the binding checks its pids too', () => {
    for (const pid of [2 ** 32 + ns.pid, ns.pid + 0.5, -1, 0, 2 ** 31, NaN]) {
      expect(() => native().spawnWorker(pid)).toThrow(expect.objectContaining({ name: 'RangeError' }));
      expect(() => native().spawnCommand(pid, ['true'])).toThrow(expect.objectContaining({ name: 'RangeError' }));
    }
    expect(() => native().reap(2 ** 32 + ns.pid, 0)).toThrow(expect.objectContaining({ name: 'RangeError' }));
  });
});

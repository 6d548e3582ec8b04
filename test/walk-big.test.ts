// Large directories, backpressure, and errors inside the tree.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, host, type FsError } from '../lib';
import { WALK_WINDOW, bufferedOf, type BatchIterator } from '../lib/wire/walk-stream';
import { counters, waitFor } from './helpers/counters';
import { removeTree, tempDir } from './helpers/tree';

const WIDE = 100000;
let root: string;

beforeAll(() => {
  root = tempDir();
  fs.chmodSync(root, 0o755);
  const wide = path.join(root, 'wide');
  fs.mkdirSync(wide);
  for (let i = 0; i < WIDE; i++) fs.closeSync(fs.openSync(path.join(wide, `f${i}`), 'w'));
});

afterAll(() => removeTree(root));

test('a directory of 100,000 entries is walked whole, each name once', async () => {
  const names = new Set<string>();
  let withStats = 0;
  for await (const batch of host.walkBatches(path.join(root, 'wide'), { stat: true })) {
    for (const entry of batch) {
      names.add(entry.name);
      if (entry.stats.isFile() && entry.stats.size === 0) withStats++;
    }
  }
  expect(names.size).toBe(WIDE);
  expect(withStats).toBe(WIDE);
  expect((await host.readdir(path.join(root, 'wide'))).length).toBe(WIDE);
});

test('a slow consumer stops the walker: no more than the credit window is buffered', async () => {
  const stream = host.walkBatches(path.join(root, 'wide'), { stat: true }) as unknown as BatchIterator;
  const first = await stream.next();
  expect(first.done).toBe(false);
  // The walker stops once it has sent its window: the server says its job
  // waits for credit.  Every batch it sent went out before that wait, so
  // before the counters' answer: what is buffered now is all there is.
  const stalled = await waitFor(host, (now) => now.creditWaits > 0);
  expect({ jobs: stalled.jobs, creditWaits: stalled.creditWaits }).toEqual({ jobs: 1, creditWaits: 1 });
  const buffered = bufferedOf(stream);
  expect(buffered + 1).toBe(WALK_WINDOW); // the window, less the batch taken
  // Still waiting, and nothing more came.
  expect((await counters(host)).creditWaits).toBe(1);
  expect(bufferedOf(stream)).toBe(buffered);
  let total = first.done ? 0 : first.value.length;
  for (;;) {
    const next = await stream.next();
    if (next.done) break;
    total += next.value.length;
    expect(bufferedOf(stream)).toBeLessThanOrEqual(WALK_WINDOW);
  }
  expect(total).toBe(WIDE);
});

test('walks sharing a channel at different paces each see every entry intact', async () => {
  // Reply chunks are reused once no batch in them is borrowed: two walks
  // holding batches of the same chunks for different times, with file reads
  // in between, must still decode exactly what the walker sent.
  const dir = path.join(root, 'wide');
  const text = 'x'.repeat(3000);
  fs.writeFileSync(path.join(root, 'text.txt'), text);
  const walkAll = async (pauseEvery: number): Promise<Map<string, number>> => {
    const seen = new Map<string, number>();
    let n = 0;
    for await (const entry of host.walk(dir, { stat: ['size', 'ino'] })) {
      seen.set(entry.name, entry.stats.ino);
      if (++n % pauseEvery === 0) {
        expect(await host.readFile(path.join(root, 'text.txt'), 'utf8')).toBe(text);
      }
    }
    return seen;
  };
  const [fast, slow] = await Promise.all([walkAll(20000), walkAll(2000)]);
  for (const seen of [fast, slow]) {
    expect(seen.size).toBe(WIDE);
    for (const i of [0, 1, 4242, WIDE - 1]) {
      expect(seen.get(`f${i}`)).toBe(fs.lstatSync(path.join(dir, `f${i}`)).ino);
    }
  }
});

describe('errors inside the tree', () => {
  // An unreadable directory: as an ordinary user a 0000 directory; as root,
  // root reads everything, so the walk runs in a namespace whose root is
  // the host's nobody.
  let locked: string;
  beforeAll(() => {
    locked = path.join(root, 'tree');
    fs.mkdirSync(path.join(locked, 'closed/inner'), { recursive: true });
    fs.writeFileSync(path.join(locked, 'closed/inner/secret'), 'x');
    fs.writeFileSync(path.join(locked, 'open.txt'), 'y');
    fs.chmodSync(path.join(locked, 'closed'), 0o000);
  });
  afterAll(() => fs.chmodSync(path.join(locked, 'closed'), 0o755));

  async function collect(onError: 'throw' | 'skip' | ((e: FsError) => void)): Promise<string[]> {
    const seen: string[] = [];
    if (process.geteuid!() !== 0) {
      for await (const entry of host.walk(locked, { onError })) seen.push(entry.name);
      return seen;
    }
    const ns = await createNamespace({ uidMap: [{ inside: 0, outside: 65534, count: 1 }] });
    try {
      const session = await ns.enter();
      for await (const entry of session.walk(locked, { onError })) seen.push(entry.name);
      return seen;
    } finally {
      await ns.close();
    }
  }

  test('by default the walk fails with the path of the directory', async () => {
    await expect(collect('throw')).rejects.toMatchObject({
      code: 'EACCES',
      syscall: 'scandir',
      path: path.join(locked, 'closed'),
    });
  });

  test('a callback hears of it and the walk goes on', async () => {
    const errors: FsError[] = [];
    const seen = await collect((e) => errors.push(e));
    expect(errors.map((e) => [e.code, e.path])).toEqual([['EACCES', path.join(locked, 'closed')]]);
    expect(seen.sort()).toEqual(['closed', 'open.txt']);
  });

  test("'skip' ignores it", async () => {
    expect((await collect('skip')).sort()).toEqual(['closed', 'open.txt']);
  });
});

// onProgress of the long jobs (exportTar, extractTar, du, walk) on a tree
// of tens of thousands of entries: the last call holds the totals find(1)
// and GNU du count, calls come at least 100 ms apart (measured here), and
// none comes once the job has settled.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

import { host } from '../lib';
import { removeTree, tempDir } from './helpers/tree';

const DIRS = 140;
const FILES_PER_DIR = 150;

/** Progress calls: when each came (performance.now()), and what it said. */
class Calls {
  readonly list: { at: number; entries: number; bytes: number }[] = [];
  settled = false;
  late = 0;
  readonly listener = (entries: number, bytes: number): void => {
    if (this.settled) this.late++;
    this.list.push({ at: performance.now(), entries, bytes });
  };

  get last(): { entries: number; bytes: number } {
    const { entries, bytes } = this.list[this.list.length - 1]!;
    return { entries, bytes };
  }

  /** Every call but the last (the totals, told at the end) at least `ms` after the one before. */
  gaps(): number[] {
    const at = this.list.slice(0, -1).map((c) => c.at);
    return at.slice(1).map((t, i) => t - at[i]!);
  }

  /** Counts never go down. */
  monotonic(): boolean {
    return this.list.every((c, i) => i === 0 || (c.entries >= this.list[i - 1]!.entries && c.bytes >= this.list[i - 1]!.bytes));
  }

  /** Marks the job settled, waits a while, and says how many calls came after. */
  async after(): Promise<number> {
    this.settled = true;
    await delay(300);
    return this.late;
  }
}

/**
 * find(1)'s count of entries under `dir` (`dir` itself with `withTop`) and
 * the sum of their sizes (`-type f` only with `filesOnly`), a hard-linked
 * file's once with `linksOnce` (as a tar holds its bytes, as du counts).
 */
function findTotals(
  dir: string,
  options: { withTop?: boolean; filesOnly?: boolean; linksOnce?: boolean } = {},
): { entries: number; bytes: number } {
  const args = [dir, ...(options.withTop ? [] : ['-mindepth', '1'])];
  const entries = execFileSync('find', [...args, '-printf', '.'], { encoding: 'utf8', maxBuffer: 1 << 26 }).length;
  const lines = execFileSync('find', [...args, ...(options.filesOnly ? ['-type', 'f'] : []), '-printf', '%i %s\n'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const pairs = lines
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ') as [string, string]);
  let bytes = 0;
  for (const [, size] of options.linksOnce ? new Map(pairs) : pairs) bytes += Number(size);
  return { entries, bytes };
}

/** A directory on tmpfs where there is one: 30,000 files made in a second, not a minute on a busy disk. */
function fastTempDir(prefix: string): string {
  return fs.existsSync('/dev/shm') ? fs.mkdtempSync(path.join('/dev/shm', prefix)) : tempDir(prefix);
}

let tree: string;

beforeAll(() => {
  tree = fastTempDir('unshare-fs-progress-');
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(tree, `d${d}`, 'sub');
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_DIR; f++) fs.writeFileSync(path.join(dir, `f${f}`), 'x'.repeat((d * 7 + f) % 700));
    fs.symlinkSync('sub/f0', path.join(tree, `d${d}`, 'link'));
  }
  fs.linkSync(path.join(tree, 'd0/sub/f1'), path.join(tree, 'hard'));
});

afterAll(() => removeTree(tree));

describe('onProgress', () => {
  test('the tree is large: tens of thousands of entries', () => {
    expect(findTotals(tree).entries).toBeGreaterThan(20000);
  });

  test('walk: entries yielded and the sizes of their stats, calls >= 100 ms apart, none after the end', async () => {
    const calls = new Calls();
    let yielded = 0;
    for await (const entry of host.walk(tree, { stat: ['size'], onProgress: calls.listener })) {
      void entry;
      // A slow consumer: the walk lasts long enough for calls along the way.
      if (++yielded % 2000 === 0) await delay(40);
    }
    expect(await calls.after()).toBe(0);
    expect(calls.last).toEqual(findTotals(tree));
    expect(calls.list.length).toBeGreaterThan(2);
    expect(Math.min(...calls.gaps())).toBeGreaterThanOrEqual(100);
    expect(calls.monotonic()).toBe(true);
  });

  test('walk: without size among the stats the bytes are 0; filter counts only what it keeps', async () => {
    const calls = new Calls();
    let kept = 0;
    for await (const entry of host.walk(tree, { filter: (e) => e.type === 'symlink', onProgress: calls.listener })) {
      void entry;
      kept++;
    }
    expect(await calls.after()).toBe(0);
    expect(calls.last).toEqual({ entries: DIRS, bytes: 0 });
    expect(kept).toBe(DIRS);
  });

  test('walkBatches tells progress as walk does', async () => {
    const calls = new Calls();
    for await (const batch of host.walkBatches(tree, { stat: true, onProgress: calls.listener })) void batch;
    expect(await calls.after()).toBe(0);
    expect(calls.last).toEqual(findTotals(tree));
  });

  test('a walk left early tells nothing more; a throwing onProgress ends the walk with its error', async () => {
    const calls = new Calls();
    for await (const entry of host.walk(tree, { onProgress: calls.listener })) {
      void entry;
      break;
    }
    expect(await calls.after()).toBe(0);
    const boom = new Error('boom');
    const walking = (async () => {
      for await (const entry of host.walk(tree, {
        onProgress: () => {
          throw boom;
        },
      }))
        void entry;
    })();
    await expect(walking).rejects.toBe(boom);
  });

  test('du: entries and apparent bytes, the last call equal to its result and to GNU du', async () => {
    const calls = new Calls();
    const usage = await host.du(tree, { onProgress: calls.listener });
    expect(await calls.after()).toBe(0);
    const apparent = Number(execFileSync('du', ['-s', '-b', tree], { encoding: 'utf8' }).split(/\s+/)[0]);
    expect(calls.last).toEqual({ entries: usage.entries, bytes: usage.apparentBytes });
    expect(usage.apparentBytes).toBe(apparent);
    expect(usage.entries).toBe(findTotals(tree, { withTop: true }).entries);
    expect(Math.min(...calls.gaps(), Infinity)).toBeGreaterThanOrEqual(100);
  });

  test('exportTar and extractTar: members and file bytes, as find counts the tree, calls >= 100 ms apart', async () => {
    const out = fastTempDir('unshare-fs-progress-out-');
    try {
      const exportCalls = new Calls();
      const stream = host.exportTar(tree, { onProgress: exportCalls.listener });
      const ended = new Promise((resolve) => stream.once('end', resolve));
      const extractCalls = new Calls();
      // The consumer is slow: the export runs for a while, and so does the extraction.
      async function* slowly(): AsyncGenerator<Buffer> {
        let n = 0;
        for await (const chunk of stream) {
          if (++n % 8 === 0) await delay(20);
          yield chunk as Buffer;
        }
      }
      const result = await host.extractTar(slowly(), out, { onProgress: extractCalls.listener });
      await ended;
      expect(await exportCalls.after()).toBe(0);
      expect(await extractCalls.after()).toBe(0);
      const totals = findTotals(tree, { filesOnly: true, linksOnce: true });
      expect(exportCalls.last).toEqual(totals);
      expect(extractCalls.last).toEqual(totals);
      expect(result).toEqual(totals);
      expect(findTotals(out, { filesOnly: true, linksOnce: true })).toEqual(totals);
      for (const calls of [exportCalls, extractCalls]) {
        expect(calls.list.length).toBeGreaterThan(2);
        expect(Math.min(...calls.gaps())).toBeGreaterThanOrEqual(100);
        expect(calls.monotonic()).toBe(true);
      }
    } finally {
      removeTree(out);
    }
  });

  test('a throwing onProgress ends an export (the stream errors) and an extraction', async () => {
    const boom = new Error('boom');
    const stream = host.exportTar(tree, {
      onProgress: () => {
        throw boom;
      },
    });
    await expect(
      (async () => {
        for await (const chunk of stream) void chunk;
      })(),
    ).rejects.toBe(boom);
    const out = fastTempDir('unshare-fs-progress-out-');
    try {
      const tar = host.exportTar(path.join(tree, 'd1'));
      const failing = host.extractTar(tar, out, {
        onProgress: () => {
          throw boom;
        },
      });
      await expect(failing).rejects.toBe(boom);
      tar.destroy();
    } finally {
      removeTree(out);
    }
  });

  test('onProgress must be a function', async () => {
    expect(() => host.exportTar(tree, { onProgress: 5 } as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => host.walk(tree, { onProgress: 'x' } as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    await expect(host.du(tree, { onProgress: {} } as object)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(host.extractTar((async function* () {})(), tree, { onProgress: 1 } as object)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });
});

// scanContainers() against GNU find per container, as `podman unshare find`
// (rootless) or find in `podman mount` (rootful) sees it: a running
// container with files added by `podman exec`, and a stopped one; the
// sessions it opens gone when it ends, is stopped early or aborted.
import { containers, scanContainers, type EngineContainer, type ScanBatch } from '../lib';
import { IMAGE, pod, podmanEnv, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { childPids } from './helpers/procs';
import { requires } from './helpers/requirements';
import { FIND_TYPE } from './helpers/tree';
import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { setTimeout } from 'node:timers/promises';
import * as vm from 'node:vm';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const DIST = path.resolve(__dirname, '../dist/index.js');
const execFileAsync = promisify(execFile);
const RUNNING = `unshare-fs-scan-running-${process.pid}`;
const STOPPED = `unshare-fs-scan-stopped-${process.pid}`;
const gate = requires(podmanImage);
const PRINTF = '%P %y %m %U %G %s\\n';
// 8,000 files of 196-byte names: about 40 walk batches with full stat.
const MANY_FILES = `mkdir /many && cd /many && seq 1 8000 | sed "s/$/-${'0'.repeat(190)}/" | xargs touch`;

/** GNU find's lines for a container's tree: its merged dir when it runs, its `podman mount` when not. */
function findLines(name: string, running: boolean, mergedDir: string): string[] {
  const find = running
    ? `find "$1" -mindepth 1 -printf '${PRINTF}'`
    : `m=$(podman mount "$0") && find "$m" -mindepth 1 -printf '${PRINTF}'; s=$?; podman umount "$0" >/dev/null; exit $s`;
  const argv = [...(ROOTFUL ? [] : ['podman', 'unshare']), 'sh', '-c', find, name, mergedDir];
  const out = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: podmanEnv(), maxBuffer: 1 << 28, cwd: '/' });
  return out.split('\n').filter((line) => line !== '');
}

/** The batches' entries as find's lines, per container name. */
function asFindLines(batches: ScanBatch[]): Map<string, string[]> {
  const lines = new Map<string, string[]>();
  for (const { container, root, entries } of batches) {
    const name = container.names[0]!;
    const list = lines.get(name) ?? [];
    lines.set(name, list);
    const prefix = root.endsWith('/') ? root.length : root.length + 1;
    for (const entry of entries) {
      const s = entry.stats!;
      const mode = (Number(s.mode) & 0o7777).toString(8);
      list.push(`${String(entry.fullPath).slice(prefix)} ${FIND_TYPE[entry.type]} ${mode} ${s.uid} ${s.gid} ${s.size}`);
    }
  }
  return lines;
}

async function collect(iterable: AsyncIterable<ScanBatch>): Promise<ScanBatch[]> {
  const batches: ScanBatch[] = [];
  for await (const batch of iterable) batches.push(batch);
  return batches;
}

gate.describe(`scanContainers against find per container (podman ${MODE}, uid ${UID})`, () => {
  let ours: EngineContainer[] = [];
  const before = new Set<number>();

  beforeAll(() => {
    for (const name of [RUNNING, STOPPED]) tryPod(['rm', '-f', '-t', '0', name]);
    pod(['run', '-d', '--network', 'none', '--name', RUNNING, IMAGE, 'sleep', '600']);
    // Owned by a subordinate id, in a 0700 dir: what a walk from the host would miss.
    pod([
      'exec',
      RUNNING,
      'sh',
      '-ec',
      'mkdir -p /scan/a/b && echo hi > /scan/a/b/f && ln -s f /scan/a/b/l && chown -R 1000:1000 /scan/a && chmod 700 /scan/a',
    ]);
    // More batches than a walk's credit window (32) in each: a walk frozen
    // in its worker then leaves the scan's promise of it pending.
    pod(['exec', RUNNING, 'sh', '-ec', MANY_FILES]);
    pod(['run', '-d', '--network', 'none', '--name', STOPPED, IMAGE, 'sleep', '600']);
    pod(['exec', STOPPED, 'sh', '-ec', MANY_FILES]);
    pod(['stop', '-t', '0', STOPPED]);
    ours = containers().filter((c) => c.engine === 'podman' && (c.names.includes(RUNNING) || c.names.includes(STOPPED)));
    for (const pid of childPids()) before.add(pid);
  });

  afterAll(() => {
    for (const name of [RUNNING, STOPPED]) tryPod(['rm', '-f', '-t', '0', name]);
  });

  /** Children of this process the scan left (sessions, namespace holders). */
  const left = (): number[] => childPids().filter((pid) => !before.has(pid));

  test('every entry and its stats as find sees them, running and stopped, one done batch each', async () => {
    expect(ours.map((c) => c.running).sort()).toEqual([false, true]);
    const batches = await collect(scanContainers({ containers: ours, walk: { stat: true } }));
    const got = asFindLines(batches);
    for (const c of ours) {
      const name = c.names[0]!;
      const expected = findLines(name, c.running, c.mergedDir).sort();
      expect(expected.length).toBeGreaterThan(100);
      expect(got.get(name)!.sort()).toEqual(expected);
      const done = batches.filter((b) => b.container.id === c.id && b.done);
      expect(done).toHaveLength(1);
      expect(done[0]!.entries).toHaveLength(0);
      // The done batch is that container's last.
      expect(batches.filter((b) => b.container.id === c.id).at(-1)).toBe(done[0]);
    }
    expect(got.get(RUNNING)).toContain('scan/a/b/f f 644 1000 1000 3');
    expect(left()).toEqual([]);
  });

  test('concurrency 1: one container walked after the other, its batches never mixed with the next', async () => {
    const batches = await collect(scanContainers({ containers: ours, concurrency: 1, walk: { stat: ['size'] } }));
    const order = batches.map((b) => b.container.id).filter((id, i, all) => i === 0 || all[i - 1] !== id);
    expect(order).toEqual(ours.map((c) => c.id));
    expect(left()).toEqual([]);
  });

  test('a consumer that stops early, or an abort, closes every session', async () => {
    for await (const batch of scanContainers({ containers: ours, walk: { stat: true } })) {
      if (batch.entries.length > 0) break;
    }
    expect(left()).toEqual([]);
    const controller = new AbortController();
    const aborted = (async () => {
      for await (const batch of scanContainers({ containers: ours, signal: controller.signal })) {
        if (batch.entries.length > 0) controller.abort();
      }
    })();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(left()).toEqual([]);
  });

  test('a walk that waits (its worker stopped) keeps none of the batches yielded meanwhile', async () => {
    // gc() for this test: the batches must be collectable, not merely unused.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const running = ours.find((c) => c.running)!;
    const stopped = ours.find((c) => !c.running)!;
    const frozen = new Set<number>();
    /** Stops the processes of the stopped container's mount (those that see it): its walk then waits. */
    const freeze = (): void => {
      for (const pid of left()) {
        if (frozen.has(pid)) continue;
        try {
          if (!fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes('unshare-fs-mount-')) continue;
        } catch {
          continue;
        }
        process.kill(pid, 'SIGSTOP');
        frozen.add(pid);
      }
    };
    const thaw = (): void => {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      frozen.clear();
    };
    // The running container's batches yielded since the stopped one's last.
    let since: WeakRef<object>[] = [];
    let alive: number | undefined;
    try {
      for await (const batch of scanContainers({ containers: [stopped, running], walk: { stat: true } })) {
        if (batch.container.id === stopped.id) {
          since = [];
          continue;
        }
        if (!batch.done) {
          since.push(new WeakRef(batch.entries));
          freeze();
          // A slow consumer: the running walk (its credit) cannot end before the mount is frozen.
          await setTimeout(5);
          continue;
        }
        expect(frozen.size).toBeGreaterThan(0);
        expect(since.length).toBeGreaterThan(2);
        gc();
        alive = since.filter((ref) => ref.deref() !== undefined).length;
        thaw();
      }
    } finally {
      thaw();
    }
    expect(alive).toBe(0);
    expect(left()).toEqual([]);
  });

  test('more walks at once than node allows an AbortSignal listeners: no warning', async () => {
    // In a node of its own: node warns on its real process, which jest's sandbox does not show.
    const script = `
      const { containers, scanContainers } = require(${JSON.stringify(DIST)});
      process.on('warning', (warning) => console.log('warning ' + warning.name));
      (async () => {
        const running = containers().find((c) => c.names.includes(${JSON.stringify(RUNNING)}));
        let done = 0;
        // One running container twelve times: twelve walks in its engine's one storage session.
        for await (const batch of scanContainers({ containers: Array(12).fill(running), concurrency: 12 })) if (batch.done) done++;
        console.log('done ' + done);
      })();`;
    const child = await execFileAsync(process.execPath, ['-e', script], { env: podmanEnv(), cwd: '/' });
    expect(child.stdout.trim().split('\n')).toEqual(['done 12']);
  });

  test('bad options throw when called, with node codes', () => {
    expect(() => scanContainers({ concurrency: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => scanContainers({ walk: { threads: 99 } })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => scanContainers({ walk: { signal: new AbortController().signal } as object })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => scanContainers({ bogus: 1 } as object)).toThrow(/bogus/);
  });
});

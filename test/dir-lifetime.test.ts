// What a Dir holds in the server, and when it lets go.  A Dir holds its
// directory open in the server, as node's holds an fd, and no request
// thread: any number of Dirs left unread (fewer than the session's 256
// handles) never keep the session from serving.  A recursive Dir is a walk:
// over a directory bigger than the walk's credit window, once its reader
// stops it holds a request thread (its walk waits for credit) and fds.
// Leaving `for await` early closes either, as node's Dir; one collected
// unclosed is closed, with node's warning.  The kernel's /proc/<worker>/fd
// counts the worker's fds, and the server's counters say what it holds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import { createNamespace, type Namespace, type Session } from '../lib';
import { counters, quiet, waitFor } from './helpers/counters';
import { requires, subuidRange } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

/** Names of 240 bytes: 12,000 of them make far more than the window's 32 batches of 64 KiB. */
const ENTRIES = 12000;
/** More Dirs than the server has request threads (server.cc's kMaxThreads, 32). */
const ABANDONED = 40;

const nsGate = process.geteuid!() === 0 ? requires() : requires(subuidRange);
let tree = '';
let big = '';
let ns: Namespace | undefined;
let session: Session | undefined;

/** The two kinds of Dir, and what each holds in the server while its reader is away (the fds over `before`). */
const KINDS = [
  { kind: 'a Dir', recursive: false, holds: { jobs: 0, creditWaits: 0 }, fds: (n: number, before: number) => n === before + 1 },
  { kind: 'a recursive Dir', recursive: true, holds: { jobs: 1, creditWaits: 1 }, fds: (n: number, before: number) => n > before },
];

/** The worker's open fds, as the kernel lists them. */
function workerFds(): number {
  return fs.readdirSync(`/proc/${session!.workerPid}/fd`).length;
}

/** gc(), without node's --expose-gc flag (jest starts the process). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

beforeAll(async () => {
  tree = tempDir('unshare-fs-dir-lifetime-');
  fs.chmodSync(tree, 0o755);
  fs.writeFileSync(path.join(tree, 'file.txt'), 'hello\n');
  big = path.join(tree, 'big');
  fs.mkdirSync(big);
  for (let i = 0; i < ENTRIES; i++) fs.closeSync(fs.openSync(path.join(big, `${i}-`.padEnd(240, 'x')), 'w'));
  if (nsGate.why === null) {
    ns = await createNamespace();
    session = await ns.enter();
  }
});

afterAll(async () => {
  await session?.close();
  await ns?.close();
  removeTree(tree);
});

nsGate.describe('a Dir lets go of what it holds in the server', () => {
  test.each(KINDS)('$kind: leaving for await early closes it, its fds closed', async ({ recursive, holds, fds }) => {
    await waitFor(session!, quiet);
    const before = workerFds();
    const dir = await session!.opendir(big, { recursive });
    let first: string | undefined;
    for await (const entry of dir) {
      // What the Dir holds while its reader is away.
      const now = await waitFor(session!, (c) => c.creditWaits === holds.creditWaits && c.jobs === holds.jobs);
      expect(now).toMatchObject(holds);
      expect(fds(workerFds(), before)).toBe(true);
      first = entry.name;
      break;
    }
    expect(fs.readdirSync(big)).toContain(first);
    expect(await waitFor(session!, quiet)).toMatchObject({ jobs: 0, creditWaits: 0 });
    expect(workerFds()).toBe(before);
    await expect(dir.close()).rejects.toMatchObject({ code: 'ERR_DIR_CLOSED' });
  });

  test.each(KINDS)(
    '$kind: collected unclosed, closed with node warning; more of them than threads, and the session serves',
    async ({ recursive }) => {
      const gc = collector();
      const warnings: string[] = [];
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error) => {
        warnings.push(String(warning));
      }) as typeof process.emitWarning);
      try {
        await waitFor(session!, quiet);
        const before = workerFds();
        for (let i = 0; i < ABANDONED; i++) {
          // Each Dir is read once and dropped.
          await (async () => {
            const dir = await session!.opendir(big, { recursive });
            expect(await dir.read()).not.toBeNull();
          })();
          gc();
        }
        // Collected until every Dir was closed and the server holds nothing.
        const after = await waitFor(session!, (now) => {
          gc();
          return warnings.length === ABANDONED && quiet(now);
        });
        expect(after).toMatchObject({ jobs: 0, creditWaits: 0, queued: 0 });
        // node's own message for a Dir it closes on garbage collection.
        expect(warnings).toEqual(Array(ABANDONED).fill('Closing directory handle on garbage collection'));
        await waitFor(session!, () => workerFds() === before);
        // Still served: a stat, and one more Dir read whole.
        expect((await session!.lstat(big)).ino).toBe(fs.lstatSync(big).ino);
        const names: string[] = [];
        for await (const entry of await session!.opendir(big, { recursive })) names.push(entry.name);
        expect(names.sort()).toEqual(fs.readdirSync(big).sort());
      } finally {
        emitWarning.mockRestore();
      }
      expect((await counters(session!)).jobs).toBe(0);
    },
  );

  test('Dirs left open and unread hold an fd each and no thread: more of them than threads, and the session serves', async () => {
    await waitFor(session!, quiet);
    const before = workerFds();
    const open = [];
    for (let i = 0; i < ABANDONED; i++) {
      const dir = await session!.opendir(big);
      expect(await dir.read()).not.toBeNull();
      open.push(dir);
    }
    // One fd each, as node's Dir; no job, no thread waiting.
    expect(workerFds()).toBe(before + ABANDONED);
    const held = await counters(session!);
    expect(held).toMatchObject({ jobs: 0, creditWaits: 0, queued: 0 });
    expect(held.threads).toBeLessThan(ABANDONED);
    // Served: a stream request (readFile), and one more Dir read whole, against node:fs.
    expect(await session!.readFile(path.join(tree, 'file.txt'), 'utf8')).toBe(fs.readFileSync(path.join(tree, 'file.txt'), 'utf8'));
    const names: string[] = [];
    for await (const entry of await session!.opendir(big)) names.push(entry.name);
    expect(names.sort()).toEqual(fs.readdirSync(big).sort());
    for (const dir of open) await dir.close();
    expect(workerFds()).toBe(before);
  });
});

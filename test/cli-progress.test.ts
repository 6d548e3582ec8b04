// The command line's progress line and Ctrl-C, in a real terminal (tmux):
// the line appears on stderr and updates during a find of a 50,000-entry
// tree, is absent when stderr is piped and with -q; Ctrl-C stops a find
// and says how far it got, and stops an `export -o` of a container with a
// GiB to write, leaving neither the file nor its temporary.  Expected
// counts come from GNU find; stdout goes to a reader that takes 64 KiB
// each 100 ms, so a find lasts seconds and every wait is derived from the
// size of its output.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BIN, builtCli, tool } from './helpers/cli';
import { IMAGE, graphDriverData, pod, podmanEnv, podmanImage, ROOTFUL, tryPod } from './helpers/podman';
import { requires } from './helpers/requirements';
import { Terminal, tmux } from './helpers/tmux';

const NODE = process.execPath;
/** What the export test's container holds: sixteen sparse files of 64 MiB. */
const GIB = 1 << 30;
/** The progress line of a verb: its label, then the entries done so far. */
const progressLine = (verb: string): RegExp => new RegExp(`^${verb}  ([\\d,]+) entries`, 'm');
const count = (text: string): number => Number(text.replace(/,/g, ''));
const exitOf = (screen: string): number | undefined => {
  const match = /^exit=(\d+)$/m.exec(screen);
  return match ? Number(match[1]) : undefined;
};

/** A reader of stdin that takes 64 KiB every 100 ms and ignores Ctrl-C (so the pipe stays open for the CLI). */
const SLOW_READER = `process.on('SIGINT', () => {});
process.stdin.on('data', () => { process.stdin.pause(); setTimeout(() => process.stdin.resume(), 100); });
`;

/** Makes `dirs` directories of `files` empty files each under `root`. */
function makeTree(root: string, dirs: number, files: number): void {
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, `d${d}`);
    fs.mkdirSync(dir);
    for (let f = 0; f < files; f++) fs.writeFileSync(path.join(dir, `f${f}`), '');
  }
}

const terminals: Terminal[] = [];
const terminal = (env?: NodeJS.ProcessEnv): Terminal => {
  const t = new Terminal(env);
  terminals.push(t);
  return t;
};
afterAll(() => {
  for (const t of terminals) t.close();
});

requires(builtCli, tmux).describe('progress and Ctrl-C on a terminal, host paths', () => {
  let dir: string;
  let tree: string;
  let slow: string;
  /** Entries below the tree's top, as GNU find counts them. */
  let entries: number;
  /** How long a find piped into the slow reader may take, at most: ten times its pace, and a minute. */
  let withinMs: number;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-progress-'));
    tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    makeTree(tree, 200, 250);
    slow = path.join(dir, 'slow.js');
    fs.writeFileSync(slow, SLOW_READER);
    const listing = tool(['find', tree, '-mindepth', '1']);
    entries = listing.toString().split('\n').length - 1;
    withinMs = 10 * Math.ceil(listing.length / 65536) * 100 + 60_000;
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('find shows entries, rate and elapsed time on stderr, updated as it goes, and clears the line at the end', async () => {
    expect(entries).toBe(50_200);
    const t = terminal();
    t.type(`${NODE} ${BIN} find ${tree} | ${NODE} ${slow}; echo "exit=\${PIPESTATUS[0]}"`);
    const first = await t.waitFor((s) => progressLine('find').exec(s)?.[1], 'the progress line', withinMs);
    // A later frame: more entries, with a rate and the elapsed time.
    const later = await t.waitFor(
      (s) => {
        const m = /^find {2}([\d,]+) entries {2}([\d,]+) entries\/s {2}(\d+:\d\d)$/m.exec(s);
        return m && count(m[1]!) > count(first) ? m : undefined;
      },
      'a later frame with a rate',
      withinMs,
    );
    expect(count(later[1]!)).toBeLessThanOrEqual(entries);
    const screen = await t.waitFor((s) => (exitOf(s) !== undefined ? s : undefined), 'the exit status', withinMs);
    expect(exitOf(screen)).toBe(0);
    expect(screen).not.toMatch(/entries/);
  });

  test('no progress line when stderr is not a terminal, nor with -q or --quiet', async () => {
    const stderrFile = path.join(dir, 'stderr.txt');
    for (const line of [
      `${NODE} ${BIN} find ${tree} 2>${stderrFile} | ${NODE} ${slow}; echo "exit=\${PIPESTATUS[0]}"`,
      `${NODE} ${BIN} -q find ${tree} | ${NODE} ${slow}; echo "exit=\${PIPESTATUS[0]}"`,
      `${NODE} ${BIN} find --quiet ${tree} | ${NODE} ${slow}; echo "exit=\${PIPESTATUS[0]}"`,
    ]) {
      const t = terminal();
      t.type(line);
      const screens: string[] = [];
      const status = await t.waitFor(exitOf, 'the exit status', withinMs, (s) => screens.push(s));
      expect(status).toBe(0);
      // The run lasted seconds, screens read every 20 ms: a line drawn ten times a second would be in some.
      expect(screens.length).toBeGreaterThan(10);
      expect(screens.filter((s) => /entries/.test(s))).toEqual([]);
      t.close();
    }
    expect(fs.readFileSync(stderrFile, 'utf8')).toBe('');
  });

  test('Ctrl-C stops a find, tells on stderr how many entries were done, and exits 130', async () => {
    const t = terminal();
    t.type(`${NODE} ${BIN} find ${tree} | ${NODE} ${slow}; echo "exit=\${PIPESTATUS[0]}"`);
    const shown = count(await t.waitFor((s) => progressLine('find').exec(s)?.[1], 'the progress line', withinMs));
    t.keys('C-c');
    const screen = await t.waitFor((s) => (exitOf(s) !== undefined ? s : undefined), 'the exit status', withinMs);
    expect(exitOf(screen)).toBe(130);
    const done = /^unshare-fs: interrupted after ([\d,]+) entries$/m.exec(screen);
    expect(done).not.toBeNull();
    // Stopped: what it did lies between what the line showed and the whole tree.
    expect(count(done![1]!)).toBeGreaterThanOrEqual(shown);
    expect(count(done![1]!)).toBeLessThan(entries);
    expect(screen).not.toMatch(progressLine('find'));
  });
});

requires(builtCli, tmux, podmanImage).describe('Ctrl-C during export -o on a terminal, podman', () => {
  const name = `unshare-fs-progress-${process.pid}`;
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-progress-export-'));
    pod(['create', '--network', 'none', '--name', name, IMAGE, 'true']);
    // Sparse files in the upper dir: a GiB of tar to write (seconds), made
    // in no time, through podman unshare rootless (the dir is the
    // container's root's).
    const big = path.join(graphDriverData(name).UpperDir, 'big');
    const make = `mkdir ${big} && for i in $(seq 16); do truncate -s 64M ${big}/f$i; done`;
    tool(ROOTFUL ? ['sh', '-c', make] : ['podman', 'unshare', 'sh', '-c', make], podmanEnv());
  });

  afterAll(() => {
    tryPod(['rm', '-f', '-t', '0', name]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('Ctrl-C during export -o of a GiB exits 130 and leaves neither the file nor a temporary', async () => {
    const file = path.join(dir, 'c.tar');
    const t = terminal(podmanEnv());
    t.type(`${NODE} ${BIN} export -o ${file} ${name}; echo "exit=$?"`);
    // The overall wait: a minute, and the GiB at 10 MB/s.
    const withinMs = 60_000 + GIB / 10_000;
    await t.waitFor((s) => /^export {2}[\d.]+ [kMG]?B/m.exec(s) ?? undefined, 'the progress line', withinMs);
    t.keys('C-c');
    const screen = await t.waitFor((s) => (exitOf(s) !== undefined ? s : undefined), 'the exit status', withinMs);
    expect(exitOf(screen)).toBe(130);
    expect(screen).toMatch(/^unshare-fs: interrupted after [\d.]+ [kMG]?B$/m);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

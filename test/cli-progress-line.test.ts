// The CLI's progress line and Ctrl-C handler in this process, where a
// clock and a terminal can be stood in for: what the line says, that it is
// drawn at most ten times a second however often a job reports, never on a
// stream that is not a terminal or when quiet, and that a second SIGINT
// exits at once (130) while the first only stops the run.  The real
// terminal is test/cli-progress.test.ts's.
import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';

import { handleInterrupts, interruptedLine } from '../lib/cli/interrupt';
import { Output } from '../lib/cli/output';
import { Progress } from '../lib/cli/progress';
import { BIN, builtCli } from './helpers/cli';
import { requires } from './helpers/requirements';

/** A stream that says it is a terminal 120 columns wide, keeping what is written to it. */
function fakeTerminal(isTTY = true): NodeJS.WriteStream & { writes: string[] } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { writes: string[] };
  stream.writes = [];
  Object.assign(stream, { isTTY, columns: 120 });
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stream.writes.push(String(chunk));
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  stream.resume();
  return stream;
}

test('the line gives the label, entries and bytes, the rate and the elapsed time', () => {
  let now = 1_000_000;
  const progress = new Progress({ stream: fakeTerminal(false), label: 'du', now: () => now });
  progress.add({ entries: 1 });
  expect(progress.line()).toBe('du  1 entry  0:00');
  now += 2_000;
  progress.add({ entries: 24_999, bytes: 2_500_000 });
  expect(progress.line()).toBe('du  25,000 entries, 2.5 MB  12,500 entries/s  0:02');
  progress.update({ entries: 1_234_567 });
  now += 3_600_000 + 61_000 - 2_000;
  expect(progress.line()).toBe('du  1,234,567 entries, 2.5 MB  337 entries/s  1:01:01');
  // Bytes alone (a tar): the rate is in bytes.
  let later = 0;
  const tar = new Progress({ stream: fakeTerminal(false), label: 'export', now: () => later });
  tar.add({ bytes: 1_000 });
  later = 4_000;
  tar.add({ bytes: 7_999_000 });
  expect(tar.line()).toBe('export  8.0 MB  2.0 MB/s  0:04');
  expect(tar.summary()).toBe('8.0 MB');
});

test("a job counter adds the library jobs' own counts, one job after another", () => {
  const progress = new Progress({ stream: fakeTerminal(false) });
  const first = progress.jobCounter();
  first(100);
  first(250);
  first(5); // the next TARGET's job, counting from 0 again
  first(40);
  expect(progress.entries).toBe(290);
  progress.jobCounter()(10);
  expect(progress.entries).toBe(300);
});

test('drawn at most ten times a second however often the job reports, and cleared by done()', async () => {
  const stream = fakeTerminal();
  const progress = new Progress({ stream, label: 'find' });
  const started = Date.now();
  while (Date.now() - started < 1_000) {
    progress.add({ entries: 1 });
    await new Promise((resolve) => setImmediate(resolve));
  }
  progress.done();
  const frames = stream.writes.filter((w) => w.startsWith('find  '));
  expect(progress.entries).toBeGreaterThan(100);
  expect(frames.length).toBeGreaterThanOrEqual(5);
  expect(frames.length).toBeLessThanOrEqual(12);
  // The last write clears the line (ESC [2K), and nothing follows done().
  expect(stream.writes[stream.writes.length - 1]).toContain('\x1b[2K');
  const count = stream.writes.length;
  progress.add({ entries: 1 });
  expect(stream.writes.length).toBe(count);
});

test('nothing is drawn on a stream that is not a terminal, nor when quiet; the counters are kept', async () => {
  const piped = fakeTerminal(false);
  const quiet = fakeTerminal();
  for (const progress of [new Progress({ stream: piped }), new Progress({ stream: quiet, quiet: true })]) {
    progress.add({ entries: 5, bytes: 10 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    progress.done();
    expect(progress.summary()).toBe('5 entries, 10 B');
  }
  expect(piped.writes).toEqual([]);
  expect(quiet.writes).toEqual([]);
});

test('the first SIGINT stops the run; a second exits at once with 130', () => {
  const out = new Output(new PassThrough());
  const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const stop = handleInterrupts(out);
  try {
    out.progress.add({ entries: 12_345 });
    process.emit('SIGINT', 'SIGINT');
    expect(out.interrupted).toBe(true);
    expect(out.closed.signal.aborted).toBe(true);
    expect(exit).not.toHaveBeenCalled();
    expect(interruptedLine(out)).toBe('unshare-fs: interrupted after 12,345 entries\n');
    process.emit('SIGINT', 'SIGINT');
    expect(exit).toHaveBeenCalledWith(130);
    expect(stderr).toHaveBeenCalledWith('unshare-fs: interrupted again after 12,345 entries: exiting at once\n');
  } finally {
    stop();
    exit.mockRestore();
    stderr.mockRestore();
  }
  expect(process.listenerCount('SIGINT')).toBe(0);
});

test("cp's copies report to the line: the entries and bytes find and stat count in the copy", async () => {
  const { cp } = await import('../lib/cli/cp');
  const { openTarget, parseTarget } = await import('../lib/cli/target');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-cp-progress-'));
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a'), Buffer.alloc(1000, 1));
    fs.writeFileSync(path.join(src, 'sub', 'b'), Buffer.alloc(70_000, 2));
    fs.symlinkSync('a', path.join(src, 'link'));
    const out = new Output(new PassThrough());
    const [from, to] = await Promise.all([
      openTarget(parseTarget(src), undefined),
      openTarget(parseTarget(path.join(dir, 'dst')), undefined),
    ]);
    try {
      await cp(from, to, { archive: true }, out);
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
    const copied = execFileSync('find', [path.join(dir, 'dst'), '-printf', '%y %s\n'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(out.progress.entries).toBe(copied.length);
    const fileBytes = copied.filter((line) => line.startsWith('f ')).reduce((sum, line) => sum + Number(line.slice(2)), 0);
    expect(fileBytes).toBe(71_000);
    expect(out.progress.bytes).toBe(fileBytes);
    out.progress.done();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

requires(builtCli).test('after Ctrl-C, a handle left holding the loop does not keep the program running', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-held-'));
  let child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  try {
    // A tree whose listing fills the pipe, and a preload that holds the loop forever.
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(dir, `d${d}`));
      for (let f = 0; f < 1000; f++) fs.writeFileSync(path.join(dir, `d${d}`, `f${f}`), '');
    }
    const preload = path.join(dir, 'hold.js');
    fs.writeFileSync(preload, 'setInterval(() => {}, 60_000);\n');
    child = spawn(process.execPath, ['--require', preload, BIN, 'find', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // The first output, then no more reading: the run is mid-walk, blocked on the pipe.
    const { stdout } = child;
    stdout.once('data', () => {
      stdout.pause();
      child?.kill('SIGINT');
      setTimeout(() => stdout.resume(), 200);
    });
    const status = await new Promise<number | null>((resolve) => child?.on('close', resolve));
    expect(status).toBe(130);
    expect(stderr).toMatch(/^unshare-fs: interrupted after [\d,]+ entries$/m);
    expect(stderr).toMatch(/^unshare-fs: still busy after the interruption \(.+\): exiting$/m);
  } finally {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

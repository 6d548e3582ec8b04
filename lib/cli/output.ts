// What the command line writes: stdout with backpressure, error lines on
// stderr, progress (./progress.ts), and the exit status as coreutils give it.
import { Progress } from './progress';

/** Exit statuses, as coreutils use them. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** A mistake in the command line itself: exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * An error's line on stderr, after `unshare-fs: `.  A node:fs-style error
 * keeps its message (`ENOENT: no such file or directory, lstat '/nope'`),
 * its path written as the TARGET was (`'contenedor1:/nope'`).
 */
export function errorLine(error: unknown, prefix = ''): string {
  if (!(error instanceof Error)) return String(error);
  const { path } = error as { path?: unknown };
  if (prefix !== '' && typeof path === 'string' && error.message.includes(`'${path}'`)) {
    return error.message.replace(`'${path}'`, `'${prefix}${path}'`);
  }
  if (prefix !== '' && Buffer.isBuffer(path)) {
    // A walk in buffer encoding: the message holds the path as utf8 already.
    const text = path.toString('utf8');
    if (error.message.includes(`'${text}'`)) return error.message.replace(`'${text}'`, `'${prefix}${text}'`);
  }
  return error.message;
}

/**
 * One `--json` line: what JSON.stringify writes for a flat record (undefined
 * values left out), but a bigint as its exact integer.  JSON.stringify
 * throws on a bigint, and Number() rounds past 2^53: an xino overlay's lower
 * layers have inodes of 2^63 + ino, and two files printed one inode.  JSON
 * allows any integer; a reader that parses into doubles (JSON.parse) rounds
 * it again, so the README tells how to read these fields exactly.  Keys are
 * the verbs' own field names, written as they are (JSON.stringify of each
 * key doubled the cost of a find --json line); values that are not numbers
 * go through JSON.stringify, so a hostile name cannot forge a field.
 */
export function jsonLine(record: Record<string, unknown>): string {
  let line = '{';
  let first = true;
  for (const key in record) {
    const value = record[key];
    if (value === undefined) continue;
    const text = typeof value === 'bigint' || (typeof value === 'number' && Number.isFinite(value)) ? String(value) : JSON.stringify(value);
    line += `${first ? '"' : ',"'}${key}":${text}`;
    first = false;
  }
  return `${line}}\n`;
}

/** The run's state: what it wrote, what failed. */
export class Output {
  /** The status to exit with so far. */
  status: number = EXIT.ok;
  #chunks: Buffer[] = [];
  /** Bytes queued as a latin1 string (one char a byte): cheap to append a line at a time. */
  #text = '';
  #size = 0;
  /**
   * Set when the run must stop producing: stdout's reader went away (EPIPE),
   * or the user interrupted (Ctrl-C: `interrupted`).  Verbs hand its signal
   * to the library's `signal` options, so the job stops in the server too.
   */
  readonly closed = new AbortController();
  /** Ctrl-C: the run was interrupted (exit 130). */
  interrupted = false;
  /** The run's progress line and counters. */
  readonly progress: Progress;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {
    this.progress = new Progress();
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.closed.abort();
      else throw error;
    });
  }

  /** Tells one error on stderr and marks the run as failed (exit 1), without ending it. */
  fail(error: unknown, prefix = ''): void {
    this.progress.clearLine();
    process.stderr.write(`unshare-fs: ${errorLine(error, prefix)}\n`);
    this.status = EXIT.failure;
  }

  /** Ctrl-C: stop the job (its signal aborts) and remember why. */
  interrupt(): void {
    this.interrupted = true;
    this.closed.abort();
  }

  /** Whether `error` is only the AbortError of a run that was stopped (EPIPE, Ctrl-C): nothing to tell. */
  stoppedBy(error: unknown): boolean {
    return this.closed.signal.aborted && (error as Error | undefined)?.name === 'AbortError';
  }

  /** Queues output (a string as UTF-8); call flush() (awaited) now and then to let the reader keep up. */
  write(data: string | Buffer): void {
    this.#takeText();
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  /** Queues bytes given as a latin1 string (one char a byte). */
  writeBytes(latin1: string): void {
    this.#text += latin1;
    this.#size += latin1.length;
  }

  /** Enough is queued for flush() to write it. */
  get full(): boolean {
    return this.#size >= 65536;
  }

  #takeText(): void {
    if (this.#text === '') return;
    this.#chunks.push(Buffer.from(this.#text, 'latin1'));
    this.#text = '';
  }

  /** Writes what is queued once it reaches 64 KiB (or always, with `force`), waiting for the reader when the pipe is full. */
  async flush(force = false): Promise<void> {
    if (this.#size === 0 || (!force && this.#size < 65536) || this.closed.signal.aborted) return;
    let written: boolean;
    if (this.#chunks.length === 0) {
      // Text alone (find, du): handed to the stream as latin1, which writes
      // it to a pipe or a terminal as it is, with no Buffer made here.
      written = this.stream.write(this.#text, 'latin1');
      this.#text = '';
    } else {
      this.#takeText();
      written = this.stream.write(Buffer.concat(this.#chunks, this.#size));
      this.#chunks = [];
    }
    this.#size = 0;
    if (!written) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.closed.signal.removeEventListener('abort', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.closed.signal.addEventListener('abort', done);
      });
    }
  }
}

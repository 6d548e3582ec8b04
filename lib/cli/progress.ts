// Progress on stderr for long work: one line, redrawn at most ten times a
// second by cli-progress, shown only when stderr is a terminal and the run
// is not quiet (`-q`).  The counters are kept in every case: an interrupted
// run tells what was done from them (./interrupt.ts).
//
// For a verb: the run's Output owns one (`out.progress`); report as the
// work goes and main clears the line at the end of the run.
//
//   out.progress.add({ entries: batch.length });          // counts done since the last call
//   out.progress.update({ entries: doneSoFar, bytes });   // the run's totals
//   fs.rm(path, { onProgress: out.progress.jobCounter() }) // a library job's own count, one job after another
//
// Nothing is drawn before the first report, so a verb that reports nothing
// shows nothing; `out.fail()` clears the line before its error line; main
// calls `done()` once the verb returns (a verb need not), which clears the
// line for good: reports after it only count.
import type { SingleBar } from 'cli-progress';

/**
 * cli-progress's SingleBar, loaded when a line is first drawn: most runs
 * (piped, `-q`, a short verb) draw none, and its twenty modules were a
 * tenth of a short command's start-up.
 */
function singleBar(): typeof SingleBar {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('cli-progress') as typeof import('cli-progress')).SingleBar;
}

/** What a job has done so far: entries (files, directories ...) and bytes. */
export interface Counts {
  entries?: number;
  bytes?: number;
}

/** 12345 as `12,345`, the same in any locale (tests read it back). */
export function grouped(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Bytes in decimal units, as `1.2 MB`: what the eye compares with a file manager's. */
export function byteSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Seconds as `0:07`, `12:30`, `1:02:03`. */
export function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export interface ProgressOptions {
  /** Where the line goes; stderr. */
  stream?: NodeJS.WriteStream;
  /** Never draw (`-q`): the counters are still kept. */
  quiet?: boolean;
  /** What the line starts with, e.g. the verb; settable until the first report. */
  label?: string;
  /** The clock, for tests. */
  now?: () => number;
}

/** A job's counters and, on a terminal, the line that shows them. */
export class Progress {
  entries = 0;
  bytes = 0;
  label: string;
  /** Never draw (`-q`); set before the first report. */
  quiet: boolean;
  // Asked for on first use: node makes process.stderr (a stream, and the
  // modules it needs) when it is first read, and a short run never shows a line.
  #stream: NodeJS.WriteStream | undefined;
  readonly #now: () => number;
  #started: number | undefined;
  #bar: SingleBar | undefined;
  #done = false;

  constructor(options: ProgressOptions = {}) {
    this.#stream = options.stream;
    this.quiet = options.quiet ?? false;
    this.label = options.label ?? '';
    this.#now = options.now ?? Date.now;
  }

  get #out(): NodeJS.WriteStream {
    return (this.#stream ??= process.stderr);
  }

  /** Whether a line is drawn at all: stderr a terminal, and not quiet. */
  get shown(): boolean {
    return !this.quiet && this.#out.isTTY === true;
  }

  /** Milliseconds since the first report (0 before it). */
  get elapsedMs(): number {
    return this.#started === undefined ? 0 : this.#now() - this.#started;
  }

  /** Adds what was done since the last report. */
  add(counts: Counts): void {
    this.entries += counts.entries ?? 0;
    this.bytes += counts.bytes ?? 0;
    this.#report();
  }

  /** Sets the totals (a job that counts for itself, like rm's onProgress). */
  update(counts: Counts): void {
    if (counts.entries !== undefined) this.entries = counts.entries;
    if (counts.bytes !== undefined) this.bytes = counts.bytes;
    this.#report();
  }

  /**
   * A job's `onProgress` (rm -r, chown -R): it tells the entries done so
   * far in that job; the job after it (the next TARGET) starts from 0
   * again, and adds to what the run did.
   */
  jobCounter(): (entries: number) => void {
    let told = 0;
    return (entries) => {
      this.add({ entries: entries >= told ? entries - told : entries });
      told = entries;
    };
  }

  /** Stops drawing for good and clears the line; the counters stay.  Idempotent. */
  done(): void {
    this.#done = true;
    this.#bar?.stop();
    this.#bar = undefined;
  }

  /** Clears the line so that a line of text can be written (the next frame draws it again). */
  clearLine(): void {
    if (!this.#bar) return;
    this.#out.write('\r\x1b[K');
    // cli-progress redraws only a changed line: make the next frame draw.
    (this.#bar as unknown as { lastDrawnString: string }).lastDrawnString = '';
  }

  /** `12,345 entries, 1.2 MB`: what was done, for the interrupted line. */
  summary(): string {
    const entries = `${grouped(this.entries)} ${this.entries === 1 ? 'entry' : 'entries'}`;
    if (this.bytes === 0) return entries;
    return this.entries === 0 ? byteSize(this.bytes) : `${entries}, ${byteSize(this.bytes)}`;
  }

  /** The line: label, counts, rate and elapsed time. */
  line(): string {
    const ms = this.elapsedMs;
    const seconds = ms / 1000;
    // The rate counts what the job is about: entries, or bytes for a job that counts only bytes.
    const rate =
      seconds < 0.5 ? '' : this.entries > 0 ? `${grouped(this.entries / seconds)} entries/s` : `${byteSize(this.bytes / seconds)}/s`;
    return [this.label, this.summary(), rate, clock(ms)].filter((part) => part !== '').join('  ');
  }

  #report(): void {
    this.#started ??= this.#now();
    if (this.#bar || this.#done || !this.shown) return;
    // The bar's own timer draws the line from the counters, ten times a
    // second at most: a report costs two additions, whatever its rate.
    this.#bar = new (singleBar())({
      stream: this.#out,
      format: () => this.line(),
      fps: 10,
      synchronousUpdate: false,
      clearOnComplete: true,
      hideCursor: true,
      linewrap: false,
    });
    this.#bar.start(0, 0);
  }
}

// Progress of a long job (a tar either way, du, a walk), told to the
// caller's onProgress as the counts grow: at most every PROGRESS_INTERVAL
// ms, and once more at the end, before the job's promise settles or its
// stream ends, so that the last call holds the totals.

import { invalid } from './checks';
import type { ProgressListener } from './options';

export type { ProgressListener, ProgressOptions } from './options';

/** Fewest milliseconds between two calls of a job's onProgress (the last one aside). */
export const PROGRESS_INTERVAL = 100;

/** A job's onProgress, checked; `what` names the call. */
export function checkProgress(value: unknown, what: string): ProgressListener | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalid(`${what} onProgress`, 'a function', value);
  return value as ProgressListener | undefined;
}

/**
 * Counts a job's entries and bytes and tells them to a listener, no more
 * often than every PROGRESS_INTERVAL ms (time is read once per add, so an
 * idle job costs nothing).  What the listener throws comes out of add()
 * and end(): the job stops there.
 */
export class ProgressTicker {
  entries = 0;
  bytes = 0;
  #last = performance.now();
  #ended = false;

  constructor(private readonly listener: ProgressListener) {}

  /** Adds to the counts; tells them when PROGRESS_INTERVAL has passed since the last call. */
  add(entries: number, bytes: number): void {
    this.entries += entries;
    this.bytes += bytes;
    if (performance.now() - this.#last >= PROGRESS_INTERVAL && !this.#ended) {
      this.listener(this.entries, this.bytes);
      // From the call's end: the listener's next call starts at least
      // PROGRESS_INTERVAL after this one did, as the listener measures it.
      this.#last = performance.now();
    }
  }

  /** Tells the totals, once: the job is done. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.listener(this.entries, this.bytes);
  }
}

/** A ticker for `listener`, or undefined without one (no job pays for progress nobody hears). */
export function progressTicker(listener: ProgressListener | undefined): ProgressTicker | undefined {
  return listener === undefined ? undefined : new ProgressTicker(listener);
}

/** What a copy resolves with: the entries (files, directories, symlinks) and file bytes it copied. */
export interface CopyProgress {
  /** Files, directories and symlinks copied. */
  entries: number;
  /** Bytes of file contents copied. */
  bytes: number;
}

/** A job's counts, kept for its result, and told to its listener (if any) through a ProgressTicker. */
export class Progress {
  readonly counts: CopyProgress = { entries: 0, bytes: 0 };
  readonly #ticker: ProgressTicker | undefined;

  constructor(listener: ProgressListener | undefined) {
    this.#ticker = progressTicker(listener);
  }

  add(entries: number, bytes: number): void {
    this.counts.entries += entries;
    this.counts.bytes += bytes;
    this.#ticker?.add(entries, bytes);
  }

  /** The last call, with the totals. */
  end(): void {
    this.#ticker?.end();
  }
}

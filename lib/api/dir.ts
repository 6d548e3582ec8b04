// node:fs/promises' Dir over a one-level walk: a directory's entries read
// in batches as they are asked for, never all held at once.
import type { Dirent } from '../core/options';

/**
 * Walks of Dirs collected unclosed: stopped in the server, with the warning
 * node gives when it closes a Dir on garbage collection.  A walk the
 * consumer stopped reading holds a request thread of the server (waiting
 * for credit once its window of batches is sent) and the directory's fd:
 * a program that forgets close() must not use up the session's threads.
 * The held value is the walk, never the Dir itself.
 */
const collected = new FinalizationRegistry<AsyncIterator<unknown>>((batches) => {
  process.emitWarning('Closing directory handle on garbage collection');
  try {
    batches.return?.()?.catch(() => undefined);
  } catch {
    // The session is closed, and its walks with it.
  }
});

/** The error node's Dir gives once closed. */
function dirClosed(): Error {
  return Object.assign(new Error('Directory handle was closed'), { code: 'ERR_DIR_CLOSED' });
}

/**
 * A directory open for reading, as node's fs.Dir: `read()` gives one
 * Dirent at a time (null at the end), `close()` stops the walk in the
 * server, and `for await` reads it all and closes it.  Entries are the
 * Dirents readdir's `withFileTypes` gives, in the server's order.  There
 * are no Sync methods: every read is a request.  A Dir collected unclosed
 * is closed, with node's warning; leaving `for await` early closes it.
 */
export class Dir<Name extends string | Buffer = string> implements AsyncIterable<Dirent<Name>> {
  /** The path as given to opendir(). */
  readonly path: string;
  readonly #batches: AsyncIterator<Dirent<Name>[]>;
  #held: Dirent<Name>[];
  #at = 0;
  #closed = false;

  /** @internal: made by FileSystem.opendir(), with the walk's first batch read. */
  constructor(path: string, batches: AsyncIterator<Dirent<Name>[]>, first: Dirent<Name>[]) {
    this.path = path;
    this.#batches = batches;
    this.#held = first;
    collected.register(this, batches, this);
  }

  /** The next entry, or null once every one was read. */
  async read(): Promise<Dirent<Name> | null> {
    if (this.#closed) throw dirClosed();
    while (this.#at >= this.#held.length) {
      const next = await this.#batches.next();
      if (next.done) return null;
      this.#held = next.value;
      this.#at = 0;
    }
    return this.#held[this.#at++]!;
  }

  /** Stops the walk in the server; a second close is ERR_DIR_CLOSED, as node's. */
  async close(): Promise<void> {
    if (this.#closed) throw dirClosed();
    this.#closed = true;
    this.#held = [];
    collected.unregister(this);
    await this.#batches.return?.();
  }

  /** Every entry not read yet; the directory is closed at the end or when the loop stops. */
  async *entries(): AsyncGenerator<Dirent<Name>, undefined, undefined> {
    try {
      for (let entry = await this.read(); entry !== null; entry = await this.read()) yield entry;
    } finally {
      if (!this.#closed) await this.close();
    }
    return undefined;
  }

  /** entries(), for `for await`. */
  [Symbol.asyncIterator](): AsyncGenerator<Dirent<Name>, undefined, undefined> {
    return this.entries();
  }

  /** close() unless closed, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) await this.close();
  }
}

// node:fs/promises' Dir: a directory's entries read in batches as they are
// asked for, never all held at once; from a directory the server holds
// open (as node's Dir holds an fd), or, recursive, from a walk.
import type { Channel } from '../wire/channel';
import { request } from '../wire/answer';
import { BatchDecoder, type DecodeOptions } from '../wire/decode';
import { encodeClose, encodeHandleReaddir } from '../wire/requests';
import type { Dirent } from '../core/options';

/** Where a Dir's entries come from: a batch at a time, an empty one at the end. */
export interface DirSource<Name extends string | Buffer> {
  next(): Promise<Dirent<Name>[]>;
  /** Lets go of what the server holds for the Dir. */
  close(): Promise<void>;
}

/**
 * A directory the server holds open (a handle opened with O_DIRECTORY):
 * each batch is one request, so between reads the Dir holds the fd and no
 * request thread, however long its reader is away.
 */
export function handleSource<Name extends string | Buffer>(channel: () => Channel, handle: number, decode: DecodeOptions): DirSource<Name> {
  const decoder = new BatchDecoder(decode);
  let ended = false;
  return {
    async next() {
      if (ended) return [];
      decoder.reset(await request(channel(), encodeHandleReaddir(handle)));
      const entries: Dirent<Name>[] = [];
      for (let entry = decoder.next(); entry !== undefined; entry = decoder.next()) entries.push(entry as Dirent<Name>);
      decoder.clear();
      ended = entries.length === 0;
      return entries;
    },
    async close() {
      await request(channel(), encodeClose(handle));
    },
  };
}

/** A walk's batches (a recursive Dir): close() stops the walk in the server. */
export function walkSource<Name extends string | Buffer>(batches: AsyncIterator<Dirent<Name>[]>): DirSource<Name> {
  return {
    async next() {
      const next = await batches.next();
      return next.done ? [] : next.value;
    },
    async close() {
      await batches.return?.();
    },
  };
}

/**
 * Sources of Dirs collected unclosed: closed, with the warning node gives
 * when it closes a Dir on garbage collection.  An unclosed Dir holds its
 * directory's fd in the server (one of the session's MAX_HANDLES), and a
 * recursive one a walk, which once its reader stops holds a request thread
 * and fds: a program that forgets close() must not use them up.  The held
 * value is the source, never the Dir itself.
 */
const collected = new FinalizationRegistry<DirSource<string | Buffer>>((source) => {
  process.emitWarning('Closing directory handle on garbage collection');
  try {
    source.close().catch(() => undefined);
  } catch {
    // The session is closed, and its directories with it.
  }
});

/** The error node's Dir gives once closed. */
function dirClosed(): Error {
  return Object.assign(new Error('Directory handle was closed'), { code: 'ERR_DIR_CLOSED' });
}

/**
 * A directory open for reading, as node's fs.Dir: `read()` gives one
 * Dirent at a time (null at the end), `close()` lets go of it in the
 * server, and `for await` reads it all and closes it.  Entries are the
 * Dirents readdir's `withFileTypes` gives, in the server's order.  There
 * are no Sync methods: every read is a request.  A Dir collected unclosed
 * is closed, with node's warning; leaving `for await` early closes it.
 */
export class Dir<Name extends string | Buffer = string> implements AsyncIterable<Dirent<Name>> {
  /** The path as given to opendir(). */
  readonly path: string;
  readonly #source: DirSource<Name>;
  #held: Dirent<Name>[];
  #at = 0;
  #ended = false;
  #closed = false;
  /** The read in progress: reads are answered in turn, as node's. */
  #reading: Promise<unknown> = Promise.resolve();

  /** @internal: made by FileSystem.opendir(), with the entries read already. */
  constructor(path: string, source: DirSource<Name>, first: Dirent<Name>[]) {
    this.path = path;
    this.#source = source;
    this.#held = first;
    collected.register(this, source as DirSource<string | Buffer>, this);
  }

  /** The next entry, or null once every one was read. */
  read(): Promise<Dirent<Name> | null> {
    if (this.#closed) return Promise.reject(dirClosed());
    const next = this.#reading.then(
      () => this.#next(),
      () => this.#next(),
    );
    this.#reading = next;
    return next;
  }

  async #next(): Promise<Dirent<Name> | null> {
    if (this.#closed) throw dirClosed();
    while (this.#at >= this.#held.length) {
      if (this.#ended) return null;
      const batch = await this.#source.next();
      this.#held = batch;
      this.#at = 0;
      if (batch.length === 0) this.#ended = true;
    }
    return this.#held[this.#at++]!;
  }

  /** Lets go of the directory in the server; a second close is ERR_DIR_CLOSED, as node's. */
  async close(): Promise<void> {
    if (this.#closed) throw dirClosed();
    this.#closed = true;
    this.#held = [];
    collected.unregister(this);
    await this.#source.close();
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

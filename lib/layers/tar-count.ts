// The members and file bytes of a tar stream, counted as its chunks go by
// (an export's progress): header blocks are read, bodies skipped.  The
// archive is the server's own (native/core/tar.cc), already bounded
// there; a block this counter cannot read only stops the counting (the
// stream's consumer reads the archive and judges it).
import { BLOCK } from './tar';

/** Where in a header the size field is (12 octal bytes) and the type flag. */
const SIZE_AT = 124;
const SIZE_BYTES = 12;
const TYPE_AT = 156;
/** Types that carry a body but are no member: pax ('x', 'g') and GNU long names ('L', 'K'). */
const EXTENDED = new Set(['x', 'g', 'L', 'K']);
/** Types whose body is the file's bytes. */
const FILE_TYPES = new Set(['0', '\0', '7']);

export class TarCounter {
  /** Members seen (an extended header is not one). */
  entries = 0;
  /** File bytes of those members. */
  bytes = 0;
  readonly #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  /** Body and padding bytes still to skip. */
  #skip = 0;
  /** The size a pax 'x' header gave the next member, when the ustar field cannot hold it. */
  #paxSize: number | undefined;
  /** An extended header's payload, kept only for 'x' (to read its size record). */
  #extended: Buffer[] | undefined;
  #extendedLeft = 0;
  #stopped = false;

  /**
   * Counts what `chunk` holds; returns the members and file bytes it
   * completed or carried (members are counted at their header, bytes as
   * they pass).
   */
  push(chunk: Buffer): { entries: number; bytes: number } {
    const before = { entries: this.entries, bytes: this.bytes };
    let at = 0;
    while (at < chunk.length && !this.#stopped) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        if (this.#extended !== undefined && this.#extendedLeft > 0) {
          const take = Math.min(n, this.#extendedLeft);
          this.#extended.push(chunk.subarray(at, at + take));
          this.#extendedLeft -= take;
          if (this.#extendedLeft === 0) this.#readPax(Buffer.concat(this.#extended));
        } else if (this.#fileLeft > 0) {
          const take = Math.min(n, this.#fileLeft);
          this.bytes += take;
          this.#fileLeft -= take;
        }
        this.#skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - this.#headerFill, chunk.length - at);
      chunk.copy(this.#header, this.#headerFill, at, at + n);
      this.#headerFill += n;
      at += n;
      if (this.#headerFill === BLOCK) {
        this.#headerFill = 0;
        this.#readHeader();
      }
    }
    return { entries: this.entries - before.entries, bytes: this.bytes - before.bytes };
  }

  /** File bytes of the current member still to pass. */
  #fileLeft = 0;

  #readHeader(): void {
    const header = this.#header;
    if (header.every((b) => b === 0)) return; // an end block
    const type = String.fromCharCode(header[TYPE_AT]!);
    const field = header.subarray(SIZE_AT, SIZE_AT + SIZE_BYTES);
    const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
    let size = /^[0-7]+$/.test(text) ? parseInt(text, 8) : text === '' ? 0 : NaN;
    if (Number.isNaN(size)) {
      this.#stopped = true;
      return;
    }
    if (EXTENDED.has(type)) {
      this.#extended = type === 'x' ? [] : undefined;
      this.#extendedLeft = type === 'x' ? size : 0;
      this.#skip = Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'x' && size === 0) this.#extended = undefined;
      return;
    }
    if (this.#paxSize !== undefined) size = this.#paxSize;
    this.#paxSize = undefined;
    this.#extended = undefined;
    this.entries++;
    const file = FILE_TYPES.has(type);
    this.#fileLeft = file ? size : 0;
    this.#skip = file ? Math.ceil(size / BLOCK) * BLOCK : 0;
  }

  /** A pax header's `size` record, for the member after it. */
  #readPax(payload: Buffer): void {
    this.#extended = undefined;
    const match = /(?:^|\n)[0-9]+ size=([0-9]+)\n/.exec(payload.toString('latin1'));
    if (match !== null) this.#paxSize = Number(match[1]);
  }
}

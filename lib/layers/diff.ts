// What an overlay's upper layer changed against the layers below it, with
// the rules containers/storage's overlay driver applies for `podman diff`
// (and Docker's for `docker diff`), read through a session, so that the
// layers are seen with the ids and permissions of the namespace that owns
// them.  The server classifies each entry of the upper layer
// (native/core/diff.h); here the directories above additions and
// deletions join them, and the whole is sorted.
import { protocolError } from '../core/errors';

/** How a path differs from the layers below. */
export type ChangeKind = 'added' | 'changed' | 'deleted';

/** One line of `podman diff`: `A`, `C` or `D` and a path as seen inside the container. */
export interface LayerChange {
  /** The changed path, absolute as in the container ('/etc/motd'). */
  readonly path: string;
  /** What happened to it: added, changed or deleted. */
  readonly kind: ChangeKind;
}

/**
 * Whose markers an overlay layer holds: the kernel's overlay ('overlay':
 * 0/0 character device whiteouts, trusted/user.overlay.opaque xattrs), or
 * fuse-overlayfs's, as containers/storage with a `mount_program` keeps
 * them ('fuse-overlayfs': besides those, `.wh.<name>` whiteouts, opaque
 * directories marked by `.wh..wh..opq` or user.fuseoverlayfs.opaque, and
 * every `.wh.` name its own).
 */
export type LayerFormat = 'overlay' | 'fuse-overlayfs';

/** The LayerFormat values. */
export const LAYER_FORMATS: readonly LayerFormat[] = ['overlay', 'fuse-overlayfs'];

/** Options of FileSystem#diffLayers. */
export interface DiffOptions {
  /** Stops the diff and its walk. */
  signal?: AbortSignal;
  /**
   * Whose markers the layers hold; default 'overlay'.  With
   * 'fuse-overlayfs' the changes are those containers/storage lists for a
   * mount_program (it compares the two mounted trees): an opaque directory
   * that a lower layer shows is a change, and each name it hides a deletion.
   */
  format?: LayerFormat;
}

const KIND_OF: Record<string, ChangeKind | undefined> = { A: 'added', C: 'changed', D: 'deleted' };

/** The directory of a path: '/' for '/a', '/a' for '/a/b'. */
function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/**
 * The changes in the server's change records, taken a data frame at a time
 * (a frame holds whole records, but for one longer than a frame), sorted
 * by path at the end: each record's path and kind, and every directory
 * above an addition or a deletion as changed (where it is not a change of
 * its own already).
 */
export class ChangeList {
  readonly #paths: string[] = [];
  readonly #kinds: ChangeKind[] = [];
  readonly #directories = new Set<string>();
  readonly #raising: string[] = [];
  readonly #raiseChanged: boolean;
  #malformed = false;
  /** The start of a record that goes on in the next frame (one longer than a frame). */
  #partial: Buffer | undefined;

  /**
   * `raiseChanged`: the directories above changes join too, not only those
   * above additions and deletions (containers/storage's diff of two mounted
   * trees, for fuse-overlayfs layers).
   */
  constructor(raiseChanged = false) {
    this.#raiseChanged = raiseChanged;
  }

  /** One data frame of records; false never (credit goes back at once). */
  data(frame: Buffer): boolean {
    let bytes = frame;
    if (this.#partial !== undefined) {
      bytes = Buffer.concat([this.#partial, frame]);
      this.#partial = undefined;
    }
    const end = bytes.lastIndexOf(0); // each record ends with a NUL
    if (end < bytes.length - 1) this.#partial = Buffer.from(bytes.subarray(end + 1));
    if (end < 0) return true;
    for (const part of bytes.toString('utf8', 0, end).split('\0')) {
      const kind = KIND_OF[part[0]!];
      const type = part[1];
      if (kind === undefined || (type !== 'd' && type !== '-') || part[2] !== '/') {
        this.#malformed = true;
        continue;
      }
      const path = part.slice(2);
      this.#paths.push(path);
      this.#kinds.push(kind);
      if (type === 'd') this.#directories.add(path);
      if (kind !== 'changed' || this.#raiseChanged) this.#raising.push(parentOf(path));
    }
    return true;
  }

  result(): LayerChange[] {
    if (this.#malformed || this.#partial !== undefined) throw protocolError('a malformed change record from the server');
    const paths = this.#paths;
    const kinds = this.#kinds;
    // The directories above additions and deletions.  `marked`: directories
    // whose ancestors are all in by now, where going up stops.
    const marked = new Set<string>(['/']);
    for (let dir of this.#raising) {
      while (!marked.has(dir)) {
        marked.add(dir);
        if (!this.#directories.has(dir)) {
          this.#directories.add(dir);
          paths.push(dir);
          kinds.push('changed');
        }
        dir = parentOf(dir);
      }
    }
    const changes = paths.map((path, i): LayerChange => ({ path, kind: kinds[i]! }));
    // The server's records come sorted (bytes compared); the directories
    // added here, and names whose UTF-16 order differs from their bytes',
    // are put in place.
    let sorted = true;
    for (let i = 1; i < changes.length && sorted; i++) sorted = changes[i - 1]!.path < changes[i]!.path;
    return sorted ? changes : changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

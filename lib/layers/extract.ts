// A tar unpacked through a session: every entry made with the ids, mode
// and mtime the archive names (as seen inside the namespace), so that a
// rootless user unpacks a layer as podman stores it.  The archive is the
// hostile side: nothing is written outside the destination.
//
// - A name is taken relative to the destination ('/' and '.' dropped);
//   a '..' component is an ETARPATH error, as is a hard link's target
//   with one.
// - The archive's symlinks are made last, after every other entry, so that
//   no entry is written through one of them; an entry under a name that
//   becomes a symlink is an ETARPATH error.  A directory on an entry's way
//   that is already there must be a directory, not a symlink (ETARPATH).
// - An existing entry of another kind at a name is replaced, as tar does.
// - A failure ends the extraction; the entries made before it stay, but a
//   file whose bytes did not all arrive (the archive ends or breaks in it,
//   an abort) is removed, never left short.
// - With `overlay`, OCI whiteouts become overlayfs's: `.wh.<name>` a
//   character device 0, 0 (which a user namespace may make; `<name>` '.',
//   '..' or empty is an ETARPATH error), `.wh..wh..opq`
//   the opaque xattr on its directory, in user.* (an overlay mounted with
//   userxattr, as Namespace.mountOverlay mounts in a user namespace) or
//   trusted.* (as rootful podman keeps its layers).
import { UnshareFsError, abortError } from '../core/errors';
import type { MkdirOptions, MknodOptions, OwnerOptions, SignalOptions, WriteData } from '../core/options';
import { progressTicker, type ProgressOptions } from '../core/progress';
import type { Stats } from '../core/stats';
import { readTar, type TarHeader } from './tar';

/**
 * Options of FileSystem#extractTar.  `onProgress` counts the entries made
 * and the file bytes written (as ExtractResult does; bytes as they go).
 */
export interface ExtractOptions extends ProgressOptions {
  /** Stops the extraction (the entries made so far stay; a file being written is removed). */
  signal?: AbortSignal;
  /** Turn OCI whiteouts into overlayfs's, with the opaque marker in this xattr namespace. */
  overlay?: 'user' | 'trusted';
}

/** What FileSystem#extractTar did. */
export interface ExtractResult {
  /** Entries made (whiteouts and opaque markers included). */
  entries: number;
  /** File bytes written. */
  bytes: number;
}

/** What extraction needs of a FileSystem. */
export interface ExtractTarget {
  lstat(path: Buffer, options: SignalOptions): Promise<Stats>;
  mkdir(path: Buffer, options: MkdirOptions): Promise<string | undefined>;
  writeFile(path: Buffer, data: WriteData, options: OwnerOptions & SignalOptions & { mode?: number; flag?: 'w' | 'wx' }): Promise<void>;
  chmod(path: Buffer, mode: number, options: SignalOptions): Promise<void>;
  lchown(path: Buffer, uid: number, gid: number, options: SignalOptions): Promise<void>;
  lutimes(path: Buffer, atime: number, mtime: number, options: SignalOptions): Promise<void>;
  link(existing: Buffer, path: Buffer, options: SignalOptions): Promise<void>;
  symlink(target: Buffer, path: Buffer, options: SignalOptions): Promise<void>;
  mknod(path: Buffer, options: MknodOptions): Promise<void>;
  setXattr(path: Buffer, name: string, value: Buffer | string, options: SignalOptions): Promise<void>;
  unlink(path: Buffer, options: SignalOptions): Promise<void>;
  rm(path: Buffer, options: { recursive: true; force: true; signal?: AbortSignal }): Promise<unknown>;
}

const SLASH = 0x2f;
const WHITEOUT = Buffer.from('.wh.');
const OPAQUE = Buffer.from('.wh..wh..opq');
const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

function pathError(message: string, name: Buffer): UnshareFsError {
  return new UnshareFsError('ETARPATH', `unshare-fs: tar member '${name.toString('utf8')}' ${message}`);
}

/** The components of a member's name: '/' and '.' dropped, '..' refused. */
function components(name: Buffer, what: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    if (i < name.length && name[i] !== SLASH) continue;
    const part = name.subarray(start, i);
    start = i + 1;
    if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
    if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) throw pathError('leads out of the destination (..)', what);
    out.push(part);
  }
  return out;
}

const join = (parts: Buffer[]): Buffer => Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('/'), p])));
const seconds = (h: TarHeader): number => h.mtime.seconds + h.mtime.nanoseconds / 1e9;

export async function extractTar(
  fs: ExtractTarget,
  source: AsyncIterable<Buffer | Uint8Array | string>,
  dir: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const { signal, overlay } = options;
  const ticker = progressTicker(options.onProgress);
  const top = Buffer.from(dir.replace(/\/+$/, '') || '/');
  const full = (parts: Buffer[]): Buffer =>
    parts.length === 0 ? top : Buffer.concat([top, top.length === 1 ? Buffer.alloc(0) : Buffer.from('/'), join(parts)]);
  const opts = { signal };

  const known = new Set<string>(); // directories made or checked, by relative name (latin1)
  const pendingLinks = new Map<string, TarHeader & { parts: Buffer[] }>();
  const directories: { path: Buffer; header: TarHeader }[] = [];
  let entries = 0;
  let bytes = 0;

  const key = (parts: Buffer[]): string => join(parts).toString('latin1');
  const made = (): void => {
    entries++;
    ticker?.add(1, 0);
  };
  /** A file's bytes from the archive, told to onProgress as they pass. */
  async function* counted(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      ticker!.add(0, chunk.length);
      yield chunk;
    }
  }

  const existing = async (path: Buffer): Promise<Stats | null> =>
    fs.lstat(path, opts).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });

  /**
   * Every directory above `parts` exists and is a directory, none of them a
   * symlink the archive will make (missing ones are made, unless `lookOnly`).
   */
  const prepareParents = async (parts: Buffer[], name: Buffer, lookOnly = false): Promise<void> => {
    for (let n = 1; n < parts.length; n++) {
      const sub = parts.slice(0, n);
      const k = key(sub);
      if (pendingLinks.has(k)) throw pathError('is under a symlink of the archive', name);
      if (known.has(k)) continue;
      const st = await existing(full(sub));
      if (st === null && lookOnly)
        throw pathError(`is a hard link to a name under '${join(sub).toString('utf8')}', which is not there`, name);
      if (st === null) await fs.mkdir(full(sub), { mode: 0o755, signal });
      else if (!st.isDirectory()) throw pathError(`is under '${join(sub).toString('utf8')}', which is not a directory`, name);
      known.add(k);
    }
  };

  /**
   * Clears the way for a new entry at `parts`: what is there goes, unless
   * it is a directory and `keepDirectory` (then its stats come back).
   */
  const clear = async (parts: Buffer[], keepDirectory: boolean): Promise<Stats | null> => {
    const path = full(parts);
    const st = await existing(path);
    if (st === null) return null;
    if (st.isDirectory()) {
      if (keepDirectory) return st;
      await fs.rm(path, { recursive: true, force: true, signal });
      // Directories checked under it are gone with it.
      const k = key(parts);
      for (const dir of known) if (dir === k || dir.startsWith(`${k}/`)) known.delete(dir);
    } else {
      await fs.unlink(path, opts);
    }
    return null;
  };

  for await (const entry of readTar(source)) {
    if (signal?.aborted) throw abortError(signal);
    const h = entry.header;
    let parts = components(h.name, h.name);
    if (parts.length === 0) continue; // the archive's './': the destination itself stays as it is
    const base = parts[parts.length - 1]!;
    if (overlay !== undefined && base.subarray(0, WHITEOUT.length).equals(WHITEOUT)) {
      // The name under the prefix is checked as any name is: '.wh...' would
      // otherwise clear the directory above the whiteout's.
      const hidden = base.subarray(WHITEOUT.length);
      if (!base.equals(OPAQUE) && (hidden.length === 0 || hidden.equals(DOT) || hidden.equals(DOTDOT))) {
        throw pathError('whites out no name of its own (., .. or nothing)', h.name);
      }
      await prepareParents(parts, h.name);
      if (base.equals(OPAQUE)) {
        await fs.setXattr(full(parts.slice(0, -1)), `${overlay}.overlay.opaque`, 'y', opts);
      } else {
        parts = [...parts.slice(0, -1), hidden];
        await clear(parts, false);
        await fs.mknod(full(parts), { type: 'char-device', mode: 0, uid: h.uid, gid: h.gid, signal });
      }
      made();
      continue;
    }
    await prepareParents(parts, h.name);
    const k = key(parts);
    pendingLinks.delete(k);
    const path = full(parts);
    const owner = { uid: h.uid, gid: h.gid };
    switch (h.type) {
      case 'directory': {
        const st = await clear(parts, true);
        if (st === null) await fs.mkdir(path, { mode: 0o700, ...owner, signal });
        else await fs.lchown(path, h.uid, h.gid, opts);
        await fs.chmod(path, h.mode, opts);
        known.add(k);
        directories.push({ path, header: h });
        break;
      }
      case 'file': {
        await clear(parts, false);
        try {
          await fs.writeFile(path, ticker ? counted(entry.body()) : entry.body(), { mode: 0o600, flag: 'wx', ...owner, signal });
        } catch (error) {
          // A file whose bytes did not all arrive (a truncated archive, an
          // abort) is not left looking whole.  EEXIST: the name is not ours.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await fs.unlink(path, {}).catch(() => undefined);
          throw error;
        }
        await fs.chmod(path, h.mode, opts); // after the chown, which clears set-id bits
        bytes += h.size;
        break;
      }
      case 'link': {
        const target = components(h.linkName ?? Buffer.alloc(0), h.name);
        if (target.length === 0) throw pathError('is a hard link to nothing', h.name);
        if (pendingLinks.has(key(target))) throw pathError('is a hard link to a symlink of the archive', h.name);
        // Its target's directories too: a symlink already there must not lead the link out.
        await prepareParents(target, h.name, true);
        await clear(parts, false);
        await fs.link(full(target), path, opts);
        made();
        continue; // the file's owner, mode and times are the target's
      }
      case 'symlink':
        await clear(parts, false);
        pendingLinks.set(k, { ...h, parts });
        continue;
      default: {
        await clear(parts, false);
        await fs.mknod(path, { type: h.type, mode: h.mode, major: h.devMajor ?? 0, minor: h.devMinor ?? 0, ...owner, signal });
        await fs.chmod(path, h.mode, opts);
      }
    }
    for (const [name, value] of h.xattrs ?? []) await fs.setXattr(path, name, value, opts);
    if (h.type !== 'directory') await fs.lutimes(path, seconds(h), seconds(h), opts);
    made();
  }

  for (const h of pendingLinks.values()) {
    const path = full(h.parts);
    await prepareParents(h.parts, h.name);
    await clear(h.parts, false);
    await fs.symlink(h.linkName ?? Buffer.alloc(0), path, opts);
    await fs.lchown(path, h.uid, h.gid, opts);
    await fs.lutimes(path, seconds(h), seconds(h), opts);
    made();
  }
  // Directory times last, the deepest first: making their entries changed them.
  for (const { path, header } of directories.reverse()) await fs.lutimes(path, seconds(header), seconds(header), opts);
  ticker?.end();
  return { entries, bytes };
}

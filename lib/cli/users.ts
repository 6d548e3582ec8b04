// User and group names as the target sees them: a container's own
// /etc/passwd and /etc/group (read through its session, so its symlinks stay
// inside it), the storage namespace's or the host's for the others.  These
// files are the container's: hostile input, read only when they are regular
// files of modest size, and parsed without trusting a line.
import type { FileSystem } from '../index';

/** More than any real passwd file; a bigger one is not read (ids stay numeric). */
const MAX_BYTES = 4 << 20;

/** Names by id, from the file's `name:x:id:...` lines (the first line of an id wins, as getpwuid's files lookup). */
async function namesById(fs: FileSystem, file: string): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  try {
    const st = await fs.lstat(file);
    if (!st.isFile() || st.size > MAX_BYTES) return names;
    const text = await fs.readFile(file, 'utf8');
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      const [name, , id] = fields;
      if (fields.length < 3 || !name || !/^\d{1,10}$/.test(id ?? '')) continue;
      // A name with a control character would print it raw: leave that id numeric.
      if (/[\p{Cc}]/u.test(name) || name.startsWith('+') || name.startsWith('-')) continue;
      const n = Number(id);
      if (!names.has(n)) names.set(n, name);
    }
  } catch {
    // No such file, or unreadable: numeric ids, as ls shows them.
  }
  return names;
}

/** The target's users and groups by id. */
export interface IdNames {
  user(uid: number): string | undefined;
  group(gid: number): string | undefined;
}

/** Reads the target file system's /etc/passwd and /etc/group. */
export async function readIdNames(fs: FileSystem): Promise<IdNames> {
  const [users, groups] = await Promise.all([namesById(fs, '/etc/passwd'), namesById(fs, '/etc/group')]);
  return { user: (uid) => users.get(uid), group: (gid) => groups.get(gid) };
}

/** No names at all (`-n`). */
export const NUMERIC: IdNames = { user: () => undefined, group: () => undefined };

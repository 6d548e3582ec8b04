// User and group names as the target sees them: a container's own
// /etc/passwd and /etc/group (read through its session, so its symlinks stay
// inside it), the storage namespace's or the host's for the others.  These
// files are the container's: hostile input, read only when they are regular
// files of modest size, and parsed without trusting a line.
import type { FileSystem } from '../index';

/** More than any real passwd file; a bigger one is not read (ids stay numeric). */
const MAX_BYTES = 4 << 20;

/** One `name:x:id:gid:...` line of passwd or group (gid: passwd's fourth field, NaN where there is none). */
interface Account {
  name: string;
  id: number;
  gid: number;
}

/** The file's well-formed lines, in order; none when it is missing, unreadable, not a regular file or too big. */
async function accounts(fs: FileSystem, file: string): Promise<Account[]> {
  const found: Account[] = [];
  try {
    const st = await fs.lstat(file);
    if (!st.isFile() || st.size > MAX_BYTES) return found;
    const text = await fs.readFile(file, 'utf8');
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      const [name, , id, gid] = fields;
      if (fields.length < 3 || !name || !/^\d{1,10}$/.test(id ?? '')) continue;
      // A name with a control character would print it raw: leave that id numeric.
      if (/[\p{Cc}]/u.test(name) || name.startsWith('+') || name.startsWith('-')) continue;
      found.push({ name, id: Number(id), gid: /^\d{1,10}$/.test(gid ?? '') ? Number(gid) : NaN });
    }
  } catch {
    // No such file, or unreadable: numeric ids, as ls shows them.
  }
  return found;
}

/** Names by id, from the file's `name:x:id:...` lines (the first line of an id wins, as getpwuid's files lookup). */
async function namesById(fs: FileSystem, file: string): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  for (const { name, id } of await accounts(fs, file)) if (!names.has(id)) names.set(id, name);
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

/** The target's users and groups by name (chown's OWNER). */
export interface IdsByName {
  /** A user's uid and login group (NaN when its line has none). */
  user(name: string): { uid: number; gid: number } | undefined;
  group(name: string): number | undefined;
}

/** Reads the target file system's /etc/passwd and /etc/group by name (the first line of a name wins, as getpwnam's files lookup). */
export async function readIdsByName(fs: FileSystem): Promise<IdsByName> {
  const [users, groups] = await Promise.all([accounts(fs, '/etc/passwd'), accounts(fs, '/etc/group')]);
  const byUser = new Map<string, { uid: number; gid: number }>();
  for (const a of users) if (!byUser.has(a.name)) byUser.set(a.name, { uid: a.id, gid: a.gid });
  const byGroup = new Map<string, number>();
  for (const a of groups) if (!byGroup.has(a.name)) byGroup.set(a.name, a.id);
  return { user: (name) => byUser.get(name), group: (name) => byGroup.get(name) };
}

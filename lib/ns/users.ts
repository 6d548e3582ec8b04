/**
 * passwd lookups, in one place: every name or home the library needs for a
 * uid comes from here, never from os.userInfo() (which throws a bare
 * `uv_os_get_passwd returned ENOENT` for a uid without an entry).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

import { UnshareFsError } from '../core/errors';

export interface PasswdEntry {
  name: string;
  uid: number;
  home: string;
}

/**
 * The passwd entry of `uid`: /etc/passwd, else, for this process' own uid,
 * what NSS gives (LDAP, sssd); null when it has none.
 */
export function passwdEntry(uid: number): PasswdEntry | null {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      // name:password:uid:gid:gecos:home:shell
      const [name, , uidField, , , home] = line.split(':');
      if (name !== undefined && home !== undefined && uidField !== '' && Number(uidField) === uid) return { name, uid, home };
    }
  } catch {
    // no passwd file: NSS may still know
  }
  if (typeof process.geteuid === 'function' && uid === process.geteuid()) {
    try {
      const info = os.userInfo();
      return { name: info.username, uid, home: info.homedir };
    } catch {
      // no entry anywhere
    }
  }
  return null;
}

/** passwdEntry(uid), or ENOPASSWD saying what needed the entry. */
export function requirePasswdEntry(uid: number, why: string): PasswdEntry {
  const entry = passwdEntry(uid);
  if (entry) return entry;
  throw new UnshareFsError('ENOPASSWD', `unshare-fs: uid ${uid} has no passwd entry (/etc/passwd or NSS), needed for ${why}`);
}

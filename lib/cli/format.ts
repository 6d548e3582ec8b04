// Modes, times and sizes written as coreutils and findutils write them.
import type { BigIntStats, EntryType } from '../index';

const S_IFMT = 0o170000;

/** Each file type by st_mode's type bits: the library's name for it, `ls -l`'s letter, and find's (`-type`, `-printf %y`). */
const FILE_TYPES: readonly { bits: number; type: EntryType; ls: string; find: string }[] = [
  { bits: 0o100000, type: 'file', ls: '-', find: 'f' },
  { bits: 0o040000, type: 'directory', ls: 'd', find: 'd' },
  { bits: 0o120000, type: 'symlink', ls: 'l', find: 'l' },
  { bits: 0o060000, type: 'block-device', ls: 'b', find: 'b' },
  { bits: 0o020000, type: 'char-device', ls: 'c', find: 'c' },
  { bits: 0o010000, type: 'fifo', ls: 'p', find: 'p' },
  { bits: 0o140000, type: 'socket', ls: 's', find: 's' },
];
const fileType = (mode: number): (typeof FILE_TYPES)[number] | undefined => FILE_TYPES.find((t) => t.bits === (mode & S_IFMT));

/** The library's entry type of a mode ('unknown' for type bits no file type has). */
export const entryType = (mode: number): EntryType => fileType(mode)?.type ?? 'unknown';

/** The entry type of find's `-type` letter (f d l b c p s), or undefined. */
export const typeOfFindLetter = (letter: string): EntryType | undefined => FILE_TYPES.find((t) => t.find === letter)?.type;

/** `find -printf %y`: f d l b c p s, or U. */
export const findType = (mode: number): string => fileType(mode)?.find ?? 'U';

/** A character or block device, whose rdev ls and stat print. */
export const isDevice = (mode: number): boolean => entryType(mode).endsWith('-device');

/** `ls -l`'s ten characters: `drwxr-xr-x`, with s/S, t/T for the set-id and sticky bits. */
export function modeString(mode: number): string {
  const bit = (mask: number, ch: string): string => (mode & mask ? ch : '-');
  const special = (exec: number, flag: number, set: string, unset: string): string =>
    mode & flag ? (mode & exec ? set : unset) : bit(exec, 'x');
  return (
    (fileType(mode)?.ls ?? '?') +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    special(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    special(0o001, 0o1000, 't', 'T')
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Half of a Gregorian year, in ms: what GNU ls calls recent. */
const SIX_MONTHS_MS = (31556952 / 2) * 1000;

/**
 * `ls -l`'s time in the C locale and the local time zone: `Dec  7 13:05`
 * for the last six months, else `Jan  1  2020` (as GNU ls decides it).
 */
export function lsTime(mtimeMs: number, nowMs: number): string {
  const d = new Date(mtimeMs);
  const day = String(d.getDate()).padStart(2, ' ');
  const recent = mtimeMs > nowMs - SIX_MONTHS_MS && mtimeMs <= nowMs;
  const tail = recent
    ? `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
    : ` ${d.getFullYear()}`.padStart(5, ' ');
  return `${MONTHS[d.getMonth()]} ${day} ${tail}`;
}

/** `find -printf %T@`: seconds since the epoch and ten fractional digits (nine of the nanoseconds and a 0, as GNU find prints them). */
export function epochSeconds(stats: BigIntStats): string {
  const ns = stats.mtimeNs;
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  return `${sign}${abs / 1_000_000_000n}.${String(abs % 1_000_000_000n).padStart(9, '0')}0`;
}

const UNITS = ['K', 'M', 'G', 'T', 'P', 'E'];

/**
 * A byte count as `du -h` shows it: powers of 1024, rounded up, one decimal
 * below 10 (`4.0K`, `12K`, `1.5M`), bytes below 1 KiB as a plain number.
 */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return String(bytes);
  let unit = 0;
  let value = bytes / 1024;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (value < 10) {
    const tenths = Math.ceil(value * 10 - 1e-9) / 10;
    if (tenths < 10) return `${tenths.toFixed(1)}${UNITS[unit]}`;
  }
  const whole = Math.ceil(value - 1e-9);
  if (whole >= 1024 && unit < UNITS.length - 1) return `1.0${UNITS[unit + 1]}`;
  return `${whole}${UNITS[unit]}`;
}

/** Blocks of 1 KiB, rounded up, as du and `ls -l`'s total count them from st_blocks (512-byte units). */
export const kibibytes = (blocks512: number): number => Math.ceil(blocks512 / 2);

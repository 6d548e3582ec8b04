// Pids as the kernel takes them, and pid files read as hostile input: a pid
// file may sit where someone else can put a FIFO (a read that never ends
// blocks the event loop), a device (/dev/zero fills memory) or a huge file.
import * as fs from 'node:fs';

import { UnshareFsError } from '../core/errors';

/**
 * The largest pid_t.  Any positive pid_t is a well-formed pid: one above
 * the kernel's PID_MAX_LIMIT (4194304) is a process that does not exist
 * (ESRCH, as kill(2) and pidfd_open(2) answer), not a malformed argument,
 * and the limit is the kernel's to raise.  Beyond it a number would be cut
 * to another pid on its way to the kernel.
 */
export const PID_MAX = 0x7fffffff;

/** Room for any pid and blanks around it; podman writes "1234". */
export const PID_FILE_MAX_BYTES = 64;

type CodedError<E extends Error> = E & { code: string };

/** Throws unless `pid` is a positive pid_t, as node's own checks throw. */
export function checkPid(pid: unknown, name = 'pid'): asserts pid is number {
  if (typeof pid !== 'number') {
    const error = new TypeError(`Expected a positive integer for ${name} but received ${typeof pid}`) as CodedError<TypeError>;
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX) {
    const error = new RangeError(
      `Expected a positive integer for ${name} (at most ${PID_MAX}) but received ${pid}`,
    ) as CodedError<RangeError>;
    error.code = 'ERR_OUT_OF_RANGE';
    throw error;
  }
}

function badPidFile(file: string, why: string): UnshareFsError {
  return Object.assign(new UnshareFsError('EBADPIDFILE', `unshare-fs: ${file} ${why}`), { path: file });
}

function kindOf(stats: fs.Stats): string {
  if (stats.isDirectory()) return 'directory';
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  if (stats.isSocket()) return 'socket';
  return 'file of unknown type';
}

/**
 * The bytes of a regular file of at most `maxBytes`, read without blocking:
 * `bad(why)` is thrown for anything else (a FIFO, a device, a directory) or
 * anything longer.  Errors of open(2) (ENOENT, EACCES) are node's own.
 */
export function readBoundedFile(file: string, maxBytes: number, bad: (why: string) => Error): Buffer {
  // O_NONBLOCK: opening a FIFO does not wait for a writer; O_NOCTTY: a
  // terminal does not become ours.  libuv adds O_CLOEXEC to every open.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    return readBoundedFd(fd, maxBytes, bad);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * readBoundedFile of a file already open (O_NONBLOCK, as readBoundedFile
 * opens it): the caller opened it its own way, and closes it.
 */
export function readBoundedFd(fd: number, maxBytes: number, bad: (why: string) => Error): Buffer {
  const stats = fs.fstatSync(fd);
  if (!stats.isFile()) throw bad(`is a ${kindOf(stats)}, not a regular file`);
  // Chunks of the size fstat gave and a byte more (a file that grows is still bounded).
  const chunk = Buffer.alloc(Math.min(Math.max(stats.size + 1, 64), maxBytes + 1));
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw bad(`is longer than ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks, total);
}

/**
 * The text of a small regular file, read without blocking: EBADPIDFILE
 * for anything else or anything longer than PID_FILE_MAX_BYTES.  Errors of
 * open(2) (ENOENT, EACCES) are node's own.
 */
export function readPidFileText(file: string): string {
  return readBoundedFile(file, PID_FILE_MAX_BYTES, (why) =>
    badPidFile(file, `${why}${why.startsWith('is longer') ? ': no pid file is' : ' holding a pid'}`),
  ).toString('utf8');
}

/** The pid a pid file holds (blanks around it allowed), or EBADPIDFILE. */
export function readPidFile(file: string): number {
  const text = readPidFileText(file).trim();
  const pid = Number(text);
  if (!/^\d+$/.test(text) || pid < 1 || pid > PID_MAX) {
    // Never quoted: the file may be anyone's, linked to anything.
    throw badPidFile(file, `holds no pid (${Buffer.byteLength(text)} bytes that are not a decimal pid)`);
  }
  return pid;
}

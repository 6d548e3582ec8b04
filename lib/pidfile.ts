// Pids as the kernel takes them.

/**
 * The largest pid_t.  Any positive pid_t is a well-formed pid: one above
 * the kernel's PID_MAX_LIMIT (4194304) is a process that does not exist
 * (ESRCH, as kill(2) and pidfd_open(2) answer), not a malformed argument,
 * and the limit is the kernel's to raise.  Beyond it a number would be cut
 * to another pid on its way to the kernel.
 */
export const PID_MAX = 0x7fffffff;

type CodedError<E extends Error> = E & { code: string };

/** Throws unless `pid` is a positive pid_t, as node's own checks throw. */
export function checkPid(pid: unknown, name = 'pid'): asserts pid is number {
  if (typeof pid !== 'number') {
    const error = new TypeError(`Expected a positive integer for ${name} but received ${typeof pid}`) as CodedError<TypeError>;
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX) {
    const error = new RangeError(`Expected a positive integer for ${name} (at most ${PID_MAX}) but received ${pid}`) as CodedError<RangeError>;
    error.code = 'ERR_OUT_OF_RANGE';
    throw error;
  }
}

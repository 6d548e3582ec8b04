// NODE_DEBUG=unshare-fs: what the library does at its seams (joining a
// namespace, the engine files discovery reads, each request's start and
// end), on stderr through util.debuglog.  Every call site checks
// `debug.enabled` first, so that without it nothing is formatted or
// measured: a request costs one property read more.
import { debuglog } from 'node:util';

/** util.debuglog('unshare-fs'): prints only when NODE_DEBUG names unshare-fs. */
export const debug = debuglog('unshare-fs');

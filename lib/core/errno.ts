// Errno numbers by name, as node has them for this platform: never written
// by hand (os.constants.errno is Linux's own table here).
import { constants } from 'node:os';

/** An errno name node knows: 'ENOENT', 'EINVAL' … */
export type ErrnoName = keyof typeof constants.errno;

/** The errno numbers (positive), by name. */
export const ERRNO: Readonly<Record<ErrnoName, number>> = constants.errno;

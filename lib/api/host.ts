// Host paths, served by a thread of this process over the same protocol as
// the namespace worker.  The server refuses what only a namespace worker
// does (mount, set-root).
import { Channel, socketTransport } from '../wire/channel';
import { UnshareFsError } from '../core/errors';
import { FileSystem, resolverFrom } from './filesystem';
import { native, nativeError } from '../wire/native';
import { identity } from '../core/stats';

let current: Channel | undefined;

/** The channel to the host server, started again if its thread ever ended. */
function hostChannel(): Channel {
  if (current?.isOpen) return current;
  let fd: number;
  try {
    fd = native().startHostServer();
  } catch (error) {
    throw nativeError(error); // no thread to be had: EAGAIN, pthread_create
  }
  current = new Channel(
    socketTransport(fd),
    (cause) => new UnshareFsError('ECLOSED', 'unshare-fs: the host server thread closed its socket', { cause }),
  );
  return current;
}

class HostFileSystem extends FileSystem {}

/** The host's own files, walked and read by the native walker in this process. */
export const host: FileSystem = new HostFileSystem({
  channel: hostChannel,
  resolvePath: resolverFrom(() => process.cwd()),
  mapUid: identity,
  mapGid: identity,
  unmapUid: identity,
  unmapGid: identity,
});

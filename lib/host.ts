// Host paths, served by a thread of this process over the same protocol as
// the namespace worker.
import { Channel } from './channel';
import { UnshareFsError } from './errors';
import { FileSystem, resolverFrom } from './filesystem';
import { native } from './native';

class HostFileSystem extends FileSystem {
  private current: Channel | undefined;
  protected resolvePath = resolverFrom(() => process.cwd());

  protected channel(): Channel {
    if (this.current?.isOpen) return this.current;
    const fd = native().startHostServer();
    const channel = new Channel(
      fd,
      (cause) => new UnshareFsError('ECLOSED', 'unshare-fs: the host server thread closed its socket', { cause }),
    );
    this.current = channel;
    return channel;
  }
}

/** The host's own files, walked and read by the native walker in this process. */
export const host: FileSystem = new HostFileSystem();

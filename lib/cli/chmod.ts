// unshare-fs chmod: GNU chmod's MODE (./mode.ts) over the library's chmod;
// -R walks the tree in the target's server and changes each entry.
import { modeString } from './format';
import type { Output } from './output';
import { applyMode, type Mode } from './mode';
import type { Target } from './target';

/**
 * The umask symbolic modes without a who leave alone: this process's, as
 * chmod run in the same shell (or through `podman unshare`) would use.
 */
export function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

/**
 * Changes the mode of one target as GNU chmod does: the target itself is
 * followed when it is a symlink (a link's own mode means nothing on
 * Linux); with -R, the tree under a directory is walked and every entry
 * but a symlink changed (chmod skips the links it meets), an entry that
 * cannot be changed told while the rest goes on (exit 1).  Each entry's
 * new mode is computed from the mode the walk read; the change itself is
 * by path, resolved in the target's root like every path of its session
 * (a link swapped in meanwhile is followed, but never out of the target).
 */
export async function chmod(target: Target, mode: Mode, options: { recursive?: boolean }, out: Output): Promise<void> {
  const { fs } = target;
  const umask = mode.usesUmask ? currentUmask() : 0;
  const signal = out.closed.signal;
  /** Changes one file from mode `old`; tells a surprise of the umask (`-w`) as GNU chmod does. */
  const change = async (file: string | Buffer, old: number, isDirectory: boolean): Promise<void> => {
    const bits = applyMode(mode, old, isDirectory, umask);
    await fs.chmod(file, bits, { signal });
    if (!mode.diagnoseSurprises) return;
    const naive = applyMode(mode, old, isDirectory, 0);
    if ((bits & ~naive) === 0) return;
    const shown = `${target.prefix}${Buffer.isBuffer(file) ? file.toString() : file}`;
    out.fail(new Error(`${shown}: new permissions are ${modeString(bits).slice(1)}, not ${modeString(naive).slice(1)}`));
  };
  const top = await fs.stat(target.path);
  await change(target.path, top.mode, top.isDirectory());
  if (!options.recursive || !top.isDirectory()) return;
  for await (const batch of fs.walkBatches(target.path, {
    encoding: 'buffer',
    stat: ['mode'],
    signal,
    onError: (error) => out.fail(error, target.prefix),
  })) {
    // One batch's changes in flight together: the session pipelines its requests.
    const changes = batch
      .filter((entry) => entry.type !== 'symlink' && entry.stats)
      .map(async (entry) => {
        try {
          await change(entry.fullPath, entry.stats.mode, entry.type === 'directory');
        } catch (error) {
          if ((error as Error).name !== 'AbortError') out.fail(error, target.prefix);
        }
      });
    await Promise.all(changes);
    signal.throwIfAborted();
  }
}

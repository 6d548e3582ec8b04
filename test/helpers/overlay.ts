// A container-like overlay in a namespace the library makes: two lower
// layers and an upper one; a whiteout, an opaque directory, a file shadowed
// by the upper layer, and a 0700 directory owned by uid 1000 inside.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, type CreateNamespaceOptions, type Namespace } from '../../lib';
import { tempDir } from './tree';

export interface OverlayFixture {
  ns: Namespace;
  base: string;
  merged: string;
  upper: string;
  lowerDirs: string[];
}

/** As root the map mirrors rootless podman's: 0 -> 0, 1.. -> 100000.. */
export const ROOT_TEST_MAP = [
  { inside: 0, outside: 0, count: 1 },
  { inside: 1, outside: 100000, count: 65536 },
];

export async function overlayFixture(options?: CreateNamespaceOptions): Promise<OverlayFixture> {
  const base = tempDir('unshare-fs-overlay-');
  fs.chmodSync(base, 0o755);
  const dir = (name: string): string => {
    const p = path.join(base, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };
  const bottom = dir('layers/bottom');
  const middle = dir('layers/middle');
  const upper = dir('upper');
  const work = dir('work');
  const merged = dir('merged');
  const write = (layer: string, rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(layer, rel)), { recursive: true });
    fs.writeFileSync(path.join(layer, rel), text);
  };
  write(bottom, 'etc/os-release', 'NAME=fixture\n');
  write(bottom, 'gone.txt', 'deleted in the upper layer\n');
  write(bottom, 'opt/old/stale', 'hidden by an opaque directory\n');
  write(bottom, 'shadowed.txt', 'bottom\n');
  write(middle, 'bin/tool', '#!/bin/sh\n');
  write(middle, 'shadowed.txt', 'middle\n');
  write(upper, 'shadowed.txt', 'upper\n');
  fs.symlinkSync('/etc/os-release', path.join(middle, 'etc-link'));

  const ns = await createNamespace(
    options ?? (process.geteuid!() === 0 ? { uidMap: ROOT_TEST_MAP } : { subids: 'require' }),
  );
  try {
    await ns.mountOverlay({ lowerDirs: [middle, bottom], upperDir: upper, workDir: work, target: merged });
    // Changes made through the overlay, as a container's would be: the
    // kernel writes the whiteout and the opaque marker itself.
    const status = await ns.exec([
      'sh',
      '-ec',
      `cd "${merged}"
       rm gone.txt
       rm -r opt/old && mkdir opt/old && echo fresh > opt/old/new
       mkdir -p home/user/private
       echo secret > home/user/private/key
       chown -R 1000:1000 home/user
       chmod 0700 home/user/private
       chmod 0600 home/user/private/key`,
    ]);
    if (status.code !== 0) throw new Error(`fixture setup inside the namespace failed: ${JSON.stringify(status)}`);
  } catch (error) {
    await ns.close();
    throw error;
  }
  return { ns, base, merged, upper, lowerDirs: [middle, bottom] };
}

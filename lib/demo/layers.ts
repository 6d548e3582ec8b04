// The embedded default: two generated image layers and an upper layer,
// stacked with overlay in a namespace of the library's own, and changed the
// way a running container changes its files.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Namespace } from '../ns/namespace';

export interface DemoOverlay {
  base: string;
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  mergedDir: string;
  /** False when the namespace maps one id only: then nothing is owned by uid 1000. */
  hasUser1000: boolean;
}

function write(layer: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(layer, rel)), { recursive: true });
  fs.writeFileSync(path.join(layer, rel), text);
}

/** Generates the layers under `base` and mounts them in `ns`. */
export async function mountDemoOverlay(ns: Namespace, base: string): Promise<DemoOverlay> {
  const dir = (name: string): string => {
    const p = path.join(base, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };
  const bottom = dir('layers/bottom');
  const middle = dir('layers/middle');
  const upperDir = dir('upper');
  const workDir = dir('work');
  const mergedDir = dir('merged');
  write(bottom, 'etc/os-release', 'NAME="unshare-fs demo"\nID=demo\n');
  write(bottom, 'etc/hostname', 'contenedor1\n');
  write(bottom, 'gone.txt', 'deleted in the upper layer\n');
  write(bottom, 'opt/old/stale', 'hidden by an opaque directory\n');
  write(bottom, 'shadowed.txt', 'bottom\n');
  write(middle, 'bin/tool', '#!/bin/sh\necho tool\n');
  fs.chmodSync(path.join(middle, 'bin/tool'), 0o755);
  write(middle, 'shadowed.txt', 'middle\n');
  write(upperDir, 'shadowed.txt', 'upper\n');
  fs.symlinkSync('/etc/os-release', path.join(middle, 'etc-link'));

  await ns.mountOverlay({ lowerDirs: [middle, bottom], upperDir, workDir, target: mergedDir });
  // Changes made through the overlay, as a container's would be: the kernel
  // writes the whiteout and the opaque directory itself.
  const hasUser1000 = ns.fullRange;
  const script = [
    `cd '${mergedDir.replace(/'/g, `'\\''`)}'`,
    'rm gone.txt',
    'rm -r opt/old && mkdir opt/old && echo fresh > opt/old/new',
    'mkdir -p home/user/private',
    'echo secret > home/user/private/key',
  ];
  if (hasUser1000) script.push('chown -R 1000:1000 home/user');
  script.push('chmod 0700 home/user/private', 'chmod 0600 home/user/private/key');
  const status = await ns.exec(['sh', '-ec', script.join('\n')]);
  if (status.code !== 0) {
    throw new Error(`unshare-fs demo: changing the overlay inside the namespace failed (${JSON.stringify(status)})`);
  }
  return { base, lowerDirs: [middle, bottom], upperDir, workDir, mergedDir, hasUser1000 };
}

// A container-like overlay in a namespace the library makes: the demo's
// layers (lib/demo/layers.ts), so the tests check what the README shows.
import * as fs from 'node:fs';

import { createNamespace, type CreateNamespaceOptions, type Namespace } from '../../lib';
import { mountDemoOverlay, type DemoOverlay } from '../../lib/demo/layers';
import { removeTree, tempDir } from './tree';

export interface OverlayFixture extends DemoOverlay {
  ns: Namespace;
  /** Removes the layers (from inside: they hold files of subordinate ids) and closes the namespace. */
  dispose(): Promise<void>;
}

/** As root the map mirrors rootless podman's: 0 -> 0, 1.. -> 100000.. */
export const ROOT_TEST_MAP = [
  { inside: 0, outside: 0, count: 1 },
  { inside: 1, outside: 100000, count: 65536 },
];

export async function overlayFixture(options?: CreateNamespaceOptions): Promise<OverlayFixture> {
  const base = tempDir('unshare-fs-overlay-');
  fs.chmodSync(base, 0o755);
  const ns = await createNamespace(options ?? (process.geteuid!() === 0 ? { uidMap: ROOT_TEST_MAP } : { subids: 'require' }));
  try {
    const overlay = await mountDemoOverlay(ns, base);
    const dispose = async (): Promise<void> => {
      await ns.unmount(overlay.mergedDir);
      await ns.exec(['rm', '-rf', base]);
      await ns.close();
      removeTree(base);
    };
    return { ns, ...overlay, dispose };
  } catch (error) {
    await ns.close();
    throw error;
  }
}

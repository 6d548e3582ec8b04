// Tests that run node as another uid (setpriv --reuid) load the library from
// a copy every uid can read: the checkout may live in a 0700 home (root's,
// a `mktemp -d`), where that uid cannot reach its dist/.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { removeTree, tempDir } from './tree';

const CHECKOUT = path.join(__dirname, '..', '..');

/** The addon these tests load: UNSHARE_FS_ADDON (the sanitizer build, a prebuild) or the local build. */
function addonFile(): string {
  const override = process.env.UNSHARE_FS_ADDON;
  if (override) return path.resolve(override);
  const built = path.join(CHECKOUT, 'build', 'Release', 'unshare_fs.node');
  if (!fs.existsSync(built)) throw new Error(`no addon at ${built}: run npm run build:native`);
  return built;
}

export interface PackageCopy {
  /** The copy's root: dist/, package.json, build/Release, node_modules and `extra`, each where the checkout has it. */
  dir: string;
  /** Its dist/index.js, for require(). */
  lib: string;
  /** Removes the copy, and fails when anything is left of it. */
  remove(): void;
}

/**
 * Copies what `require('<copy>/dist')` needs (dist/, package.json, the
 * addon the tests use as build/Release/unshare_fs.node, the runtime
 * dependencies) and `extra` (checkout-relative files, e.g. a fixture, put
 * at the same relative place) into a fresh directory under the temp dir,
 * readable and searchable by every uid.
 */
export function readableCopy(extra: string[] = []): PackageCopy {
  const dir = tempDir('unshare-fs-copy-');
  const copy = (from: string, to = from): void => {
    fs.cpSync(path.join(CHECKOUT, from), path.join(dir, to), { recursive: true });
  };
  copy('dist');
  copy('package.json');
  for (const dependency of Object.keys(
    (JSON.parse(fs.readFileSync(path.join(CHECKOUT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies,
  )) {
    if (fs.existsSync(path.join(CHECKOUT, 'node_modules', dependency))) copy(path.join('node_modules', dependency));
  }
  fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(addonFile(), path.join(dir, 'build', 'Release', 'unshare_fs.node'));
  for (const file of extra) copy(file);
  // The temp dir's own mode is 0700 (mkdtemp); its contents keep the
  // checkout's modes, which a umask of 077 may have made private too.
  const open = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    fs.chmodSync(p, st.mode | (st.isDirectory() || st.mode & 0o100 ? 0o555 : 0o444));
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) open(path.join(p, name));
  };
  open(dir);
  return {
    dir,
    lib: path.join(dir, 'dist', 'index.js'),
    remove() {
      removeTree(dir);
    },
  };
}

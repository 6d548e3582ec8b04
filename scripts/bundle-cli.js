// After tsc (npm run build:ts): the command line, package.json's bin
// dist/cli/main.js, made one file with the dist/ modules it reaches (its
// verbs and the library's entry, dist/index.js, with what that loads), by
// esbuild from tsc's own output.  Node resolved, read and wrapped about 110
// files to run `unshare-fs ls`: that was most of a short command's start-up
// (issue 23's `ls` within 2x of `podman unshare ls`).  The sources are
// unchanged: lib/cli/ imports nothing but the package entry
// (scripts/check-layers.js), and each verb's module, and the library, still
// run only when a verb needs them (esbuild keeps a lazily required module
// lazy).  The npm dependencies (commander, cli-progress, smol-toml,
// node-gyp-build) stay outside, loaded from node_modules as before, when
// they are needed; the addon is found from dist/cli/ as from dist/wire/ (two
// levels below the package).  The other dist/cli/ files are removed: nothing
// loads them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const cliDir = path.join(__dirname, '..', 'dist', 'cli');
const main = path.join(cliDir, 'main.js');
const { dependencies } = require('../package.json');

const result = esbuild.buildSync({
  entryPoints: [main],
  outfile: main,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: Object.keys(dependencies),
  logLevel: 'warning',
  metafile: true,
});
const bundled = Object.keys(result.metafile.inputs);
for (const name of fs.readdirSync(cliDir)) {
  if (name !== 'main.js') fs.rmSync(path.join(cliDir, name), { recursive: true });
}
console.log(`dist/cli/main.js: ${bundled.length} modules in one file, ${fs.statSync(main).size} bytes`);

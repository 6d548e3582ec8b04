// After tsc (npm run build:ts): the command line, package.json's bin
// dist/cli/main.js, made one file with the dist/ modules it reaches (its
// verbs and the library's entry, dist/index.js, with what that loads), by
// esbuild from tsc's own output.  Node resolved, read and wrapped about 110
// files to run `unshare-fs ls`: that was most of a short command's start-up
// (issue 23's `ls` within 2x of `podman unshare ls`).  The sources are
// unchanged: lib/cli/ imports nothing but the package entry
// (scripts/check-layers.js), and each verb's module, and the library, still
// run only when a verb needs them (esbuild keeps a lazily required module
// lazy).  Most npm dependencies are bundled too (BUNDLED); cli-progress
// stays outside, loaded from node_modules when needed; the addon is found from
// dist/cli/ as from dist/wire/ (two levels below the package).  The other
// dist/cli/ files are removed but bin.js, the bin that runs main.js from
// V8's code cache, which scripts/cli-cache.js then makes for this node.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const cliDir = path.join(__dirname, '..', 'dist', 'cli');
const main = path.join(cliDir, 'main.js');
const { dependencies } = require('../package.json');

// Dependencies bundled, so that node resolves none of them at start: what
// every run loads (commander), every run that touches a file
// (node-gyp-build, which finds the addon) and every run on a podman
// container (smol-toml, for storage.conf).  cli-progress, loaded only for a
// progress line on a terminal, stays in node_modules.
const BUNDLED = new Set(['commander', 'node-gyp-build', 'smol-toml']);

// commander requires node:child_process at its top, for subcommands that are
// programs of their own (this command line has none): node:child_process and
// node:net, which it loads, were 5 ms of each start.  commander gets it on
// first use instead.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}commander${path.sep}`) ? { path: 'child_process', namespace: 'lazy' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, name) => (m ??= require('node:child_process'))[name] });",
      loader: 'js',
    }));
  },
};

async function bundle() {
  const result = await esbuild.build({
    entryPoints: [main],
    outfile: main,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: Object.keys(dependencies).filter((name) => !BUNDLED.has(name)),
    logLevel: 'warning',
    metafile: true,
    plugins: [lazyChildProcess],
    // Whitespace and comments out (names kept, so a stack trace still says
    // which function): 760 KB -> 500 KB, all ASCII, which node reads and V8
    // checks against its code cache at each start (about 3 ms less).
    minifyWhitespace: true,
    charset: 'ascii',
  });
  const bundled = Object.keys(result.metafile.inputs);
  for (const name of fs.readdirSync(cliDir)) {
    if (name !== 'main.js' && name !== 'bin.js') fs.rmSync(path.join(cliDir, name), { recursive: true });
  }
  console.log(`dist/cli/main.js: ${bundled.length} modules in one file, ${fs.statSync(main).size} bytes`);
  // The code cache, for this node: one line on stderr.
  spawnSync(process.execPath, [path.join(__dirname, 'cli-cache.js')], { stdio: 'inherit' });
}

bundle().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

// Makes dist/cli/main.cache, V8's code cache of the command line
// (dist/cli/main.js) for the node that runs this script: lib/cli/bin.ts runs
// main.js from it, which saves most of compiling main.js at each start.
// Run by scripts/bundle-cli.js (npm run build:ts) and scripts/install.js
// (npm install of the package): the cache is made where the package is,
// by the node that installs it; the tarball holds none.
//
// The cache holds what V8 compiled by the time it is written: the file's
// top level, and then every function the run called.  So this runs a few
// host-path verbs first, as a short command would run them: start-up, the
// library's entry, the addon, the host's server.  They run in a child of
// this script (`--run`), whose output is discarded but for its last line.
// Best effort: a verb that fails (no addon yet) leaves what it compiled, and
// no cache at all is no error: main.js is then compiled at each start, as
// without one.  Exit status: 0.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const binFile = path.join(root, 'dist', 'cli', 'bin.js');

async function main() {
  if (!fs.existsSync(binFile)) return 'no dist/cli/bin.js (build:ts makes it)';
  const bin = require(binFile);
  fs.rmSync(bin.CACHE, { force: true });
  const compiled = bin.compile(false);
  const cli = bin.run(compiled);
  const cliDir = path.dirname(binFile);
  for (const argv of [
    ['ls', '-l', cliDir],
    ['find', cliDir, '--printf', '%p %s\\n'],
    ['du', '-s', cliDir],
    ['stat', binFile],
  ]) {
    await cli.main(argv);
  }
  bin.writeCache(compiled);
  return `${path.relative(root, bin.CACHE)}: ${fs.statSync(bin.CACHE).size} bytes for node ${process.version}`;
}

if (process.argv[2] === '--run') {
  main().then(
    (said) => process.stderr.write(`${said}\n`),
    (error) => process.stderr.write(`no command-line code cache: ${error.message}\n`),
  );
} else {
  const child = spawnSync(process.execPath, [__filename, '--run'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  console.error(child.stderr.trim().split('\n').pop() || `no command-line code cache: status ${child.status}, signal ${child.signal}`);
}

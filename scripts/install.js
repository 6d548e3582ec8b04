// npm install hook.  In an installed package: keep the prebuild from
// prebuilds/ when one fits this machine and loads (node-gyp-build's bin tests
// that), else build the addon from source with node-gyp, and when that build
// fails say what to install.  In a checkout of the repository (tsconfig.json
// is there, the tarball has none) always build from source, so that the tests
// run the addon of these sources rather than an older prebuild.
// Then, in an installed package, the command line's code cache for this
// node (scripts/cli-cache.js; a checkout makes it in build:ts, after this).
// Machines of this project's kind ship Node's headers in /usr/include/node
// and have no network to download them; root's npm is configured with
// nodedir=/usr, an ordinary user's is not.  Use the local headers when npm
// was told nothing else, so `npm ci` works for both.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = { ...process.env };
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h') && process.execPath.startsWith('/usr/')) {
  env.npm_config_nodedir = '/usr';
}
const checkout = fs.existsSync(path.join(root, 'tsconfig.json'));
if (checkout) env.npm_config_build_from_source = 'true';
const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { stdio: 'inherit', env, cwd: root });
if (result.status !== 0) {
  console.error(
    [
      '',
      `unshare-fs: building the native addon from source failed (see above); it was built because ${reason()}.`,
      'A source build needs python3, make, a C++20 compiler (g++; CI builds with g++ 12 of Debian 12) and Node.js headers:',
      '  Debian/Ubuntu: apt-get install python3 make g++',
      '  Alpine:        apk add python3 make g++',
      '  Fedora/RHEL:   dnf install python3 make gcc-c++',
      'then run `npm rebuild unshare-fs`.  Node.js headers are downloaded by node-gyp unless',
      'npm_config_nodedir names a directory holding include/node (e.g. /usr with a distribution Node).',
      '',
    ].join('\n'),
  );
}
if (result.status === 0 && !checkout) {
  spawnSync(process.execPath, [path.join(__dirname, 'cli-cache.js')], { stdio: 'inherit' });
}
process.exit(result.status ?? 1);

function reason() {
  if (env.npm_config_build_from_source === 'true') return 'a source build was asked for (--build-from-source, or a checkout)';
  const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  return `no prebuild in prebuilds/ fits this machine (${process.platform}-${process.arch}, ${libc}) or loads on it`;
}

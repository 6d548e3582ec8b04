// npm install hook: load a prebuild, or build the addon with node-gyp.
// Machines of this project's kind ship Node's headers in /usr/include/node
// and have no network to download them; root's npm is configured with
// nodedir=/usr, an ordinary user's is not.  Use the local headers when npm
// was told nothing else, so `npm ci` works for both.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const env = { ...process.env };
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h') && process.execPath.startsWith('/usr/')) {
  env.npm_config_nodedir = '/usr';
}
const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { stdio: 'inherit', env });
process.exit(result.status ?? 1);

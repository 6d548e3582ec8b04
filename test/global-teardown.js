// jest's globalTeardown (jest.config.js): what this run started of podman's
// or Docker's test scenario (the notes in the run's directory, see
// test/global-setup.js), it stops, so `npm test` leaves no container running
// that was not running before it.  The scenario that .ci/run starts is not
// the run's, and stays.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SCRIPTS = path.join(__dirname, '..', 'scripts');

module.exports = async function globalTeardown() {
  const dir = process.env.UNSHARE_FS_RUN_DIR;
  if (!dir) return;
  let failed = '';
  for (const engine of ['podman', 'docker']) {
    const note = path.join(dir, `started-${engine}`);
    if (!fs.existsSync(note)) continue;
    const user = fs.readFileSync(note, 'utf8').trim();
    const r = spawnSync('bash', [path.join(SCRIPTS, `${engine}-scenario.sh`), 'stop', user], { cwd: '/', encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) failed += `${engine}-scenario.sh stop ${user} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}\n`;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  delete process.env.UNSHARE_FS_RUN_DIR;
  if (failed) throw new Error(`stopping the scenarios this run started: ${failed}`);
};

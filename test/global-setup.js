// jest's globalSetup (jest.config.js): a directory for the run, where the
// helpers that start podman's or Docker's test scenario leave a note
// (test/helpers/podman.ts, docker.ts), for test/global-teardown.js.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  process.env.UNSHARE_FS_RUN_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-run-'));
};

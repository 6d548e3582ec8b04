// A user + mount namespace of our own, with two layers stacked read-only by
// overlay in it, walked from a session inside:
//   node examples/namespace.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createNamespace } = require('unshare-fs');

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'namespace-example-'));
  for (const [layer, file] of [['base', 'etc/os-release'], ['top', 'app/main.js']]) {
    fs.mkdirSync(path.join(dir, layer, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(dir, layer, file), `${layer}\n`);
  }
  fs.mkdirSync(path.join(dir, 'merged'));

  const ns = await createNamespace();
  try {
    await ns.mountOverlay({ lowerDirs: [path.join(dir, 'top'), path.join(dir, 'base')], target: path.join(dir, 'merged'), readOnly: true });
    const session = await ns.enter();
    try {
      for await (const entry of session.walk(path.join(dir, 'merged'), { stat: true })) {
        console.log(entry.type, entry.stats.uid, entry.name);
      }
    } finally {
      await session.close();
    }
  } finally {
    await ns.close(); // the mount goes with the namespace
    fs.rmSync(dir, { recursive: true });
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

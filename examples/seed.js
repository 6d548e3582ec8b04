// The seed scenario from Node: list the top of contenedor1 and contenedor2
// from inside podman's namespaces, with the owner as the container sees it
// and as the host sees it.  Run the containers first (README, "The seed
// scenario"), then: node examples/seed.js
'use strict';
const { podman } = require('..');

async function main() {
  const session = await podman.enterStorage();
  try {
    for (const name of ['contenedor1', 'contenedor2']) {
      const { mergedDir } = podman.container(name);
      console.log(`${name}: ${mergedDir}`);
      for await (const entry of session.walk(mergedDir, { stat: true, maxDepth: 1 })) {
        const { uid, hostUid, size } = entry.stats;
        console.log(`  ${entry.type.padEnd(9)} uid ${String(uid).padStart(5)} (host ${String(hostUid).padStart(6)}) ${String(size).padStart(6)} ${entry.name}`);
      }
    }
  } finally {
    await session.close();
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

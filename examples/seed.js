// The seed scenario from Node: list the top of contenedor1 and contenedor2
// from inside podman's namespaces, with the owner as the container sees it
// and as the host sees it.  Run the containers first, then:
//   node examples/seed.js
'use strict';
const { podman } = require('unshare-fs');

async function main() {
  const session = await podman.enterStorage(); // the pause process's namespaces (rootful: the host's)
  try {
    for (const name of ['contenedor1', 'contenedor2']) {
      const { mergedDir } = podman.container(name);
      for await (const entry of session.walk(mergedDir, { stat: true, maxDepth: 1 })) {
        console.log(name, entry.stats.uid, entry.stats.hostUid, entry.name);
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

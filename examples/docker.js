// Docker's containers from Node, rootless or rootful, read as the containers
// see them: set up Docker and its scenario first (README, "Docker"), then:
//   node examples/docker.js [CONTAINER]
'use strict';
const { containers, docker } = require('unshare-fs');

async function main() {
  // Every engine the user has, podman's and Docker's, one row per container.
  for (const c of containers()) {
    console.log(`${c.engine} ${c.names[0]} ${c.running ? `pid ${c.pid}` : 'stopped'} ${c.upperDir}`);
  }

  // Paths resolved inside the container's merged dir, in the namespaces
  // dockerd mounts it in (rootless: RootlessKit's), uids as the container has them.
  const name = process.argv[2] || 'dcontenedor1';
  const merged = await docker.enterMerged(name);
  try {
    for await (const { fullPath, stats } of merged.walk('/home', { stat: true })) {
      console.log(`${stats.uid}:${stats.gid} ${(stats.mode & 0o7777).toString(8)} (host ${stats.hostUid}) ${fullPath}`);
    }
    console.log(await merged.readFile('/home/user/private/secret.txt', 'utf8'));
  } finally {
    await merged.close();
  }

  // What it changed, as docker diff lists it.
  for (const { kind, path } of await docker.diff(name)) console.log(kind, path);

  // A stopped container's layers, mounted read-only by the library: no daemon.
  const stopped = await docker.mountContainer('dstopped');
  try {
    console.log((await stopped.session.readdir('/data')).join(' '));
  } finally {
    await stopped.close();
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

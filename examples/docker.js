// Docker's containers from Node, rootless or rootful, read as the containers
// see them: set up Docker and its scenario first (README, "Docker"), then:
//   node examples/docker.js [CONTAINER [STOPPED [DIR]]]
// (defaults: the scenario's dcontenedor1 and dstopped, /home)
'use strict';
const { containers, docker } = require('unshare-fs');

async function main() {
  const [name = 'dcontenedor1', stoppedName = 'dstopped', dir = '/home'] = process.argv.slice(2);
  // Every engine the user has, podman's and Docker's, one row per container.
  for (const c of containers()) {
    console.log(`${c.engine} ${c.names[0]} ${c.running ? `pid ${c.pid}` : 'stopped'} ${c.upperDir}`);
  }

  // Paths resolved inside the container's merged dir, in the namespaces
  // dockerd mounts it in (rootless: RootlessKit's), uids as the container has them.
  const merged = await docker.enterMerged(name);
  try {
    let firstFile;
    for await (const { fullPath, stats, type } of merged.walk(dir, { stat: true })) {
      console.log(`${stats.uid}:${stats.gid} ${(stats.mode & 0o7777).toString(8)} (host ${stats.hostUid}) ${fullPath}`);
      if (type === 'file') firstFile ??= fullPath;
    }
    if (firstFile) console.log(`${firstFile}: ${await merged.readFile(firstFile, 'utf8')}`);
  } finally {
    await merged.close();
  }

  // What it changed, as docker diff lists it.
  for (const { kind, path } of await docker.diff(name)) console.log(kind, path);

  // A stopped container's layers, mounted read-only by the library: no daemon.
  const stopped = await docker.mountContainer(stoppedName);
  try {
    console.log((await stopped.session.readdir('/')).join(' '));
  } finally {
    await stopped.close();
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

// Cleaning up and fixing ownership without `podman unshare`: remove a volume
// a container filled, chown a directory to the container's uid 1000, write a
// file into a running container with the owner a program there expects, and
// copy a host directory in, like `podman cp`:
//   node examples/cleanup.js VOLUME SHARED SITE [CONTAINER]   (default: contenedor1)
'use strict';
const { podman } = require('unshare-fs');

async function main() {
  const [volume, shared, site, container = 'contenedor1'] = process.argv.slice(2);
  if (!site) throw new Error('usage: node examples/cleanup.js VOLUME SHARED SITE [CONTAINER]');

  const storage = await podman.enterStorage(); // where `podman unshare` runs
  try {
    // A volume the container filled (`podman run -v VOLUME:/data ...`): gone,
    // whatever subordinate ids own its files on the host.
    const { entries } = await storage.rm(volume, { recursive: true });
    console.log(`removed ${volume}: ${entries} entries`);
    // A directory handed to the container's uid 1000 (ids as the container sees them).
    await storage.chown(shared, 1000, 1000, { recursive: true });
    console.log(`${shared} now belongs to ${(await storage.lstat(shared)).uid} in the container`);
  } finally {
    await storage.close();
  }

  // Into a running container, paths resolved inside it.
  const c1 = await podman.enterMerged(container);
  try {
    await c1.mkdir('/home/user/.config', { recursive: true, uid: 1000, gid: 1000 });
    await c1.writeFile('/home/user/.config/app.conf', 'key = value\n', { uid: 1000, gid: 1000, mode: 0o600 });
    const copied = await c1.copyFromHost(site, '/tmp/site', { recursive: true });
    console.log(`copied ${copied.entries} entries to /tmp/site`);
  } finally {
    await c1.close();
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

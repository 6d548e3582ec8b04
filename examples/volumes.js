// A volume a rootless container filled, handled without `podman unshare`:
// who uses it, a backup tar (what `podman volume export` writes), its files
// handed to the container's uid 1000, emptied, and restored from the backup:
//   node examples/volumes.js VOLUME BACKUP.tar
'use strict';
const fs = require('node:fs');
const { pipeline } = require('node:stream/promises');
const { podman } = require('unshare-fs');

async function main() {
  const [name, backup] = process.argv.slice(2);
  if (!backup) throw new Error('usage: node examples/volumes.js VOLUME BACKUP.tar');
  const { mountPoint, containers } = podman.volume(name);
  const users = containers === null ? 'unknown' : containers.length; // null: no libpod database to say
  console.log(`${name}: ${mountPoint}, used by ${users} container(s)`);
  await pipeline(podman.exportVolume(name), fs.createWriteStream(backup));

  const volume = await podman.enterVolume(name); // '/' is the volume, ids as containers see them
  try {
    const { entries } = await volume.chown('/', 1000, 1000, { recursive: true });
    console.log(`chowned ${entries} entries to 1000:1000`);
    for (const entry of await volume.readdir('/')) await volume.rm(`/${entry}`, { recursive: true });
    console.log(`emptied: ${(await volume.readdir('/')).length} entries left`);
  } finally {
    await volume.close();
  }

  const restored = await podman.importVolume(name, fs.createReadStream(backup));
  console.log(`restored ${restored.entries} entries from ${backup}`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

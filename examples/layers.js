// podman diff, podman export and an image's layers unpacked with their
// owners, without podman: run the seed scenario's containers first, then
//   node examples/layers.js [IMAGE]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const { createNamespace, podman } = require('unshare-fs');

async function main() {
  const image = process.argv[2] || 'localhost/unshare-fs-test';
  for (const { kind, path: changed } of await podman.diff('contenedor1')) {
    console.log(kind[0].toUpperCase(), changed); // A /data/hello.txt, C /home ...
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layers-'));
  const storage = await podman.enterStorage(); // where podman's layers are readable
  const ns = await createNamespace(); // the user's subordinate ids, as podman maps them
  const inside = await ns.enter();
  try {
    // podman export, as a stream (running or stopped; ids as the container sees them).
    await pipeline(podman.exportContainer('contenedor1'), fs.createWriteStream(path.join(dir, 'c1.tar')));
    console.log(`c1.tar: ${fs.statSync(path.join(dir, 'c1.tar')).size} bytes`);

    // The image's layers, unpacked in a namespace of our own and stacked again.
    const copies = [];
    for (const [i, layer] of podman.layerChain(podman.image(image).layer).entries()) {
      copies.push(path.join(dir, `layer${i}`));
      fs.mkdirSync(copies[i]);
      // OCI whiteouts become overlayfs's, in user.* xattrs (an overlay in a user namespace).
      await inside.extractTar(storage.exportDiff(layer), copies[i], { overlay: 'user' });
    }
    // An empty layer at the bottom: a read-only overlay needs two lower layers.
    copies.push(path.join(dir, 'empty'));
    fs.mkdirSync(copies[copies.length - 1]);
    fs.mkdirSync(path.join(dir, 'merged'));
    await ns.mountOverlay({ lowerDirs: copies, target: path.join(dir, 'merged'), readOnly: true });
    const home = await inside.lstat(path.join(dir, 'merged', 'home', 'user'));
    console.log(`the image's /home/user: uid ${home.uid} in the namespace, ${home.hostUid} on the host`);
    await ns.unmount(path.join(dir, 'merged'));

    console.log(await storage.du(podman.container('contenedor1').mergedDir)); // { entries, apparentBytes, allocatedBytes }
    console.log((await podman.df()).containers.length, 'containers in podman system df -v');
  } finally {
    // The unpacked files belong to subordinate ids: removed where those are mapped.
    await inside.rm(dir, { recursive: true }).catch(() => undefined);
    await inside.close();
    await ns.close();
    await storage.close();
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

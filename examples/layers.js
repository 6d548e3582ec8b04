// podman diff, podman export and an image's layers unpacked with their
// owners, without podman: run the seed scenario's containers first, then
//   node examples/layers.js [CONTAINER [IMAGE [PATH]]]
// (defaults: contenedor1, localhost/unshare-fs-test, /)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const { createNamespace, podman } = require('unshare-fs');

async function main() {
  const [container = 'contenedor1', image = 'localhost/unshare-fs-test', inImage = '/'] = process.argv.slice(2);
  for (const { kind, path: changed } of await podman.diff(container)) {
    console.log(kind[0].toUpperCase(), changed); // A /data/hello.txt, C /home ...
  }

  const undo = []; // what to release, newest first: every step runs, every failure is told
  try {
    const storage = await podman.enterStorage(); // where podman's layers are readable
    undo.unshift(() => storage.close());
    const ns = await createNamespace(); // the user's subordinate ids, as podman maps them
    undo.unshift(() => ns.close());
    const inside = await ns.enter();
    undo.unshift(() => inside.close());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layers-'));
    // The unpacked files belong to subordinate ids: removed where those are mapped.
    undo.unshift(() => inside.rm(dir, { recursive: true }));

    // podman export, as a stream (running or stopped; ids as the container sees them).
    await pipeline(podman.exportContainer(container), fs.createWriteStream(path.join(dir, 'c1.tar')));
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
    const merged = path.join(dir, 'merged');
    fs.mkdirSync(merged);
    await ns.mountOverlay({ lowerDirs: copies, target: merged, readOnly: true });
    undo.unshift(() => ns.unmount(merged));
    const st = await inside.lstat(path.join(merged, inImage));
    console.log(`the image's ${inImage}: uid ${st.uid} in the namespace, ${st.hostUid} on the host`);

    console.log(await storage.du(podman.container(container).mergedDir)); // { entries, apparentBytes, allocatedBytes }
    console.log((await podman.df()).containers.length, 'containers in podman system df -v');
  } finally {
    for (const step of undo) {
      try {
        await step();
      } catch (error) {
        console.error(`cleaning up: ${error instanceof Error ? error.message : error}`);
        process.exitCode = 1;
      }
    }
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

// Layers out of podman and back: an image built locally (`podman build`,
// RUN steps that add, change, chown, delete, make a directory opaque, link
// and make a FIFO), each of its layers exported with exportDiff through
// podman's storage session, unpacked with extractTar into a namespace of
// the library's own, stacked there with mountOverlay: the stack walks
// equal to the image as podman.mountImage shows it, owners included.
// Rootless as an ordinary user, rootful as root.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, podman, type FileSystem, type Session } from '../lib';
import { ROOT_TEST_MAP } from './helpers/overlay';
import { pod, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const TAG = `localhost/unshare-fs-layers-${process.pid}`;
const gate = requires(podmanImage);

const CONTAINERFILE = `FROM localhost/unshare-fs-test
RUN mkdir -p /app/data && echo one > /app/data/a && echo x > /app/rm-me && chown -R 1000:1000 /app/data && ln -s data/a /app/link
RUN rm /app/rm-me && echo two >> /app/data/a && rm /etc/motd && chmod 0700 /app/data && chmod 4755 /bin/busybox
RUN rm -rf /home && mkdir -p /home/new && echo n > /home/new/f && ln /app/data/a /app/hard && mkfifo /app/fifo
`;

/** name -> type, ids, mode, size, link target, content hash: what two views of one tree agree on. */
async function describe(fs: FileSystem, root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const entry of fs.walk(root, { stat: true })) {
    const st = entry.stats;
    const name = entry.fullPath.slice(root === '/' ? 1 : root.length + 1);
    const link = entry.isSymbolicLink() ? await fs.readlink(entry.fullPath) : '';
    const hash = entry.isFile()
      ? createHash('sha256')
          .update(await fs.readFile(entry.fullPath))
          .digest('hex')
          .slice(0, 16)
      : '';
    out.set(name, [entry.type, st.uid, st.gid, (st.mode & 0o7777).toString(8), entry.isFile() ? st.size : 0, link, hash].join(' '));
  }
  return out;
}

gate.describe(`podman layers exported and unpacked by the library (${MODE}, uid ${UID})`, () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir('unshare-fs-layers-');
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'Containerfile'), CONTAINERFILE);
    pod(['build', '-q', '--network', 'none', '-t', TAG, '-f', path.join(dir, 'Containerfile'), dir]);
  });

  afterAll(() => {
    tryPod(['rmi', '-f', TAG]);
    if (dir) removeTree(dir);
  });

  test('exportDiff of every layer, extractTar into our own namespace, mountOverlay: the image, owners included', async () => {
    const layers = podman.layerChain(podman.image(TAG).layer);
    expect(layers.length).toBe(4);
    const ns = await createNamespace(ROOTFUL ? { uidMap: ROOT_TEST_MAP } : { subids: 'require' });
    const storage = await podman.enterStorage();
    let inside: Session | undefined;
    const mounted = await podman.mountImage(TAG);
    const merged = path.join(dir, 'merged');
    try {
      inside = await ns.enter();
      const copies: string[] = [];
      for (const [i, layer] of layers.entries()) {
        const copy = path.join(dir, `layer${i}`);
        fs.mkdirSync(copy);
        const result = await inside.extractTar(storage.exportDiff(layer), copy, { overlay: 'user' });
        expect(result.entries).toBeGreaterThan(0);
        copies.push(copy);
      }
      // The top layer made /home opaque and deleted /etc/motd: as overlayfs keeps them.
      expect((await inside.xattrs(path.join(copies[0]!, 'home'))).get('user.overlay.opaque')?.toString()).toBe('y');
      const whiteout = await inside.lstat(path.join(copies[1]!, 'etc/motd'));
      expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);

      fs.mkdirSync(merged);
      await ns.mountOverlay({ lowerDirs: copies, target: merged });
      const ours = await describe(inside, merged);
      const podmans = await describe(mounted.session, '/');
      expect(ours.get('app/data/a')).toMatch(/^file 1000 1000 644 8 /);
      expect(ours.get('app/data')).toMatch(/^directory 1000 1000 700 /);
      expect(ours.get('bin/busybox')).toMatch(/^file 0 0 4755 /);
      expect(ours.has('etc/motd')).toBe(false);
      expect(ours.has('home/user')).toBe(false);
      expect(ours.get('app/fifo')).toMatch(/^fifo /);
      expect(ours).toEqual(podmans);
      await ns.unmount(merged);
    } finally {
      await inside?.close();
      await mounted.close();
      await storage.close();
      // The copies hold files of subordinate ids: removed from inside.
      await ns.exec([
        'rm',
        '-rf',
        ...fs
          .readdirSync(dir)
          .filter((n) => n.startsWith('layer'))
          .map((n) => path.join(dir, n)),
      ]);
      await ns.close();
    }
  });
});

// podman.exportContainer against `podman export` of the same container,
// running and stopped: every entry's name, type, ids, mode, size, link
// target and content hash; the library's tar imported by `podman import`
// gives an image whose container exports the same tar; exportLayer of a
// changed container carries its deletions and opaque directory as OCI
// whiteouts.  Rootless as an ordinary user, rootful as root.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';

import { podman } from '../lib';
import { ensureScenario, IMAGE, pod, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';
import { removeTree, tempDir } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const NAME = `unshare-fs-export-${process.pid}`;
const IMPORTED = `localhost/unshare-fs-imported-${process.pid}`;
const gate = requires(podmanImage);

gate.describe(`podman.exportContainer equals podman export (${MODE}, uid ${UID})`, () => {
  let dir: string;

  beforeAll(() => {
    ensureScenario();
    dir = tempDir('unshare-fs-podman-export-');
    fs.chmodSync(dir, 0o777);
    pod(['run', '-d', '--network', 'none', '--name', NAME, IMAGE, 'sleep', '600']);
    pod([
      'exec',
      NAME,
      '/bin/sh',
      '-ec',
      'rm /etc/motd; rm -r /home && mkdir -p /home/other && echo hi > /home/other/f; ln /bin/busybox /bin/hard-busybox; mkfifo /tmp/fifo',
    ]);
  });

  afterAll(() => {
    tryPod(['rm', '-f', '-t', '0', `${NAME}-imported`]);
    tryPod(['rm', '-f', '-t', '0', NAME]);
    tryPod(['rmi', '-f', IMPORTED]);
    if (dir) removeTree(dir);
  });

  /** `podman export`'s entries (podman writes to a file: it cannot open a socket as /dev/stdout). */
  async function podmanExport(name: string): Promise<Map<string, string>> {
    const file = path.join(dir, `${name}.tar`);
    pod(['export', '-o', file, name]);
    return tarEntries(fs.createReadStream(file));
  }

  test('the seed scenario containers, running', async () => {
    for (const name of ['contenedor1', 'contenedor2']) {
      const mine = await tarEntries(podman.exportContainer(name));
      expect(mine.size).toBeGreaterThan(300);
      expect(mine.get('data/user-dir/owned-by-user')).toMatch(/^file 1000 1000 644 /);
      expect(mine).toEqual(await podmanExport(name));
    }
  });

  test('a changed container, running: hard links, a FIFO, deletions', async () => {
    const mine = await tarEntries(podman.exportContainer(NAME));
    // Through a rootless overlay the two names show two inode numbers: two
    // files, for podman as for the library; the layer below keeps the link.
    expect(mine.get('bin/hard-busybox')).toMatch(ROOTFUL ? /^link .* bin\/busybox / : /^file 0 0 755 1982256 /);
    expect(mine.get('tmp/fifo')).toMatch(/^fifo /);
    expect(mine.has('etc/motd')).toBe(false);
    expect(mine).toEqual(await podmanExport(NAME));
  });

  test('exportLayer: the changes as an OCI layer, with whiteouts for the deleted and the opaque', async () => {
    const layer = await tarEntries(podman.exportLayer(NAME));
    expect(layer.get('etc/.wh.motd')).toMatch(/^file /);
    expect(layer.get('home/.wh..wh..opq')).toMatch(/^file /);
    expect(layer.get('home/other/f')).toMatch(/^file 0 0 644 3 /);
    // Linking copied busybox up: both names are in the layer, the file once.
    expect([...layer.keys()].filter((name) => name.startsWith('bin/'))).toEqual(['bin/busybox', 'bin/hard-busybox']);
    expect(layer.get('bin/hard-busybox')).toMatch(/^link .* bin\/busybox /);
  });

  test('the same container stopped: read through its layers mounted by the library', async () => {
    pod(['stop', '-t', '0', NAME]);
    expect(tryPod(['inspect', '--format', '{{.State.Running}}', NAME]).out).toBe('false');
    const mine = await tarEntries(podman.exportContainer(NAME));
    expect(mine).toEqual(await podmanExport(NAME));
  });

  test("podman import of the library's tar gives an image whose container exports the same tar", async () => {
    const file = path.join(dir, 'library.tar');
    await pipeline(podman.exportContainer('contenedor1'), fs.createWriteStream(file));
    pod(['import', '-q', file, IMPORTED]);
    pod(['create', '-q', '--name', `${NAME}-imported`, IMPORTED, 'true']);
    expect(await podmanExport(`${NAME}-imported`)).toEqual(await tarEntries(fs.createReadStream(file)));
  });

  test('unknown containers and bad options fail clearly', async () => {
    await expect(tarEntries(podman.exportContainer('no-such-container'))).rejects.toMatchObject({ code: 'ENOCONTAINER' });
    expect(() => podman.exportContainer(NAME, { xattrs: 'yes' } as object)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    const controller = new AbortController();
    controller.abort();
    await expect(tarEntries(podman.exportContainer(NAME, { signal: controller.signal }))).rejects.toMatchObject({ name: 'AbortError' });
  });
});

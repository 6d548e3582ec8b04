// podman.df against `podman system df -v` itself, with a second image
// built on the test image (so that a layer is shared) and a container of
// this file's own with files written into it and into a volume: the two
// images' SIZE, SHARED SIZE, UNIQUE SIZE and CONTAINERS, the container's
// SIZE, the volume's SIZE, as podman prints them.  Only these: other test files make and change images and
// containers at the same time.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { podman } from '../lib';
import { dfTable, ensureScenario, humanSize, pod, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const TAG = `localhost/unshare-fs-df-${process.pid}`;
const NAME = `unshare-fs-df-${process.pid}`;
const VOLUME = `unshare-fs-df-${process.pid}`;
const gate = requires(podmanImage);

/**
 * `podman system df -v`.  podman-hostile.test.ts (run beside this file)
 * keeps a container with a chain of directories past PATH_MAX, where
 * podman's own walk of each container fails ("file name too long") while
 * that container exists: waited out, a second at a time.
 */
function podmanDf(): string {
  for (let attempt = 1; ; attempt++) {
    try {
      return pod(['system', 'df', '-v']);
    } catch (error) {
      if (!/file name too long/.test(String(error)) || attempt === 600) throw error;
      execFileSync('sleep', ['1']);
    }
  }
}

gate.describe(`podman.df equals podman system df -v (${MODE}, uid ${UID})`, () => {
  let dir: string;

  beforeAll(() => {
    ensureScenario();
    dir = tempDir('unshare-fs-df-');
    fs.writeFileSync(
      path.join(dir, 'Containerfile'),
      'FROM localhost/unshare-fs-test\nRUN head -c 100000 /bin/busybox > /big && echo x > /small\n',
    );
    pod(['build', '-q', '--network', 'none', '-t', TAG, '-f', path.join(dir, 'Containerfile'), dir]);
    pod(['run', '-d', '--network', 'none', '--name', NAME, '-v', `${VOLUME}:/vol`, TAG, 'sleep', '600']);
    pod([
      'exec',
      NAME,
      '/bin/sh',
      '-ec',
      'mkdir -p /w/d && echo hello > /w/a && head -c 5000 /big > /w/d/b && ln /w/a /w/hard && ln -s a /w/link && rm /small',
    ]);
    // In the volume: owned by a uid of the container, a hard link, a symlink.
    pod([
      'exec',
      NAME,
      '/bin/sh',
      '-ec',
      'mkdir -p /vol/d && head -c 3000 /big > /vol/d/f && echo hi > /vol/a && ln /vol/a /vol/h && ln -s abcdefgh /vol/s && chown -R 1000:1000 /vol/d && chmod 700 /vol/d',
    ]);
  });

  afterAll(() => {
    tryPod(['rm', '-f', '-t', '0', NAME]);
    tryPod(['volume', 'rm', '-f', VOLUME]);
    tryPod(['rmi', '-f', TAG]);
    if (dir) removeTree(dir);
  });

  test('images, containers and volumes, as podman prints them', async () => {
    const usage = await podman.df();
    const text = podmanDf();
    const images = dfTable(text, 'Images space usage');
    const containers = dfTable(text, 'Containers space usage');
    // REPOSITORY TAG IMAGE-ID CREATED SIZE SHARED UNIQUE CONTAINERS
    const built = usage.images.find((i) => i.names.includes(`${TAG}:latest`))!;
    const base = usage.images.find((i) => i.names.includes('localhost/unshare-fs-test:latest'))!;
    const mine = usage.containers.find((c) => c.names.includes(NAME))!;
    const theirImages = new Map(images.map((r) => [r[2], [r[4], r[5], r[6]]]));
    for (const img of [built, base]) {
      expect([humanSize(img.size), humanSize(img.sharedSize), humanSize(img.uniqueSize)]).toEqual(theirImages.get(img.id.slice(0, 12)));
    }
    expect(built.containers).toBe(1);
    expect(images.find((r) => r[2] === built.id.slice(0, 12))?.[7]).toBe('1');
    expect(built.sharedSize).toBe(base.size); // its parent image, below it
    expect(base.uniqueSize).toBe(0); // other images stand on all of it
    // CONTAINER-ID IMAGE COMMAND LOCAL-VOLUMES SIZE CREATED STATUS NAMES
    const theirContainers = new Map(containers.map((r) => [r[0], r[4]]));
    expect(humanSize(mine.size)).toBe(theirContainers.get(mine.id.slice(0, 12)));
    // hello, 5000 bytes, the link's 1 (the hard link once, the deleted file
    // nothing), and what podman puts there (the /etc/mtab link, empty files).
    expect(mine.size).toBeGreaterThanOrEqual(6 + 5000 + 1);
    expect(mine.size).toBeLessThan(6 + 5000 + 1 + 100);
    // VOLUME-NAME LINKS SIZE: each name of a hard-linked file counts, as
    // podman counts them (3000 + 3 + 3 + 8).
    const volume = usage.volumes.find((v) => v.name === VOLUME)!;
    expect(volume.size).toBe(3000 + 3 + 3 + 8);
    expect(humanSize(volume.size)).toBe(dfTable(text, 'Local Volumes space usage').find((r) => r[0] === VOLUME)?.[2]);
    expect(volume.mountPoint.endsWith(`/volumes/${VOLUME}/_data`)).toBe(true);
    // Each layer counts the images standing on it.
    expect(usage.layers.find((l) => l.id === podman.image('localhost/unshare-fs-test').layer)?.images).toBeGreaterThanOrEqual(2);
  });
});

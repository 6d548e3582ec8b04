// podman.df against `podman system df -v` itself, with a second image
// built on the test image (so that a layer is shared) and the seed
// scenario's containers: every image's SIZE, SHARED SIZE, UNIQUE SIZE and
// CONTAINERS, every container's SIZE, as podman prints them.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { podman } from '../lib';
import { ensureScenario, pod, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const TAG = `localhost/unshare-fs-df-${process.pid}`;
const gate = requires(podmanImage);

/** podman's sizes: SI units, four significant digits (go-units HumanSizeWithPrecision). */
function human(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/** The rows of one table of `podman system df -v`, split on runs of 2+ spaces. */
function table(text: string, title: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(title));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 3)) {
    if (line.trim() === '') break;
    rows.push(line.trim().split(/\s{2,}/));
  }
  return rows;
}

gate.describe(`podman.df equals podman system df -v (${MODE}, uid ${UID})`, () => {
  let dir: string;

  beforeAll(() => {
    ensureScenario();
    dir = tempDir('unshare-fs-df-');
    fs.writeFileSync(path.join(dir, 'Containerfile'), 'FROM localhost/unshare-fs-test\nRUN head -c 100000 /bin/busybox > /big && echo x > /small\n');
    pod(['build', '-q', '--network', 'none', '-t', TAG, '-f', path.join(dir, 'Containerfile'), dir]);
  });

  afterAll(() => {
    tryPod(['rmi', '-f', TAG]);
    if (dir) removeTree(dir);
  });

  test('images and containers, as podman prints them', async () => {
    const usage = await podman.df();
    const text = pod(['system', 'df', '-v']);
    const images = table(text, 'Images space usage');
    const containers = table(text, 'Containers space usage');
    // REPOSITORY TAG IMAGE-ID CREATED SIZE SHARED UNIQUE CONTAINERS
    const theirImages = new Map(images.map((r) => [r[2], [r[4], r[5], r[6], r[7]]]));
    const ourImages = new Map(usage.images.map((i) => [i.id.slice(0, 12), [human(i.size), human(i.sharedSize), human(i.uniqueSize), String(i.containers)]]));
    expect(ourImages).toEqual(theirImages);
    const built = usage.images.find((i) => i.names.includes(`${TAG}:latest`))!;
    expect(built.sharedSize).toBeGreaterThan(2000000); // the test image's layer, below both
    // CONTAINER-ID IMAGE COMMAND LOCAL-VOLUMES SIZE CREATED STATUS NAMES
    const theirContainers = new Map(containers.map((r) => [r[0], r[4]]));
    const ourContainers = new Map(usage.containers.map((c) => [c.id.slice(0, 12), human(c.size)]));
    expect(ourContainers).toEqual(theirContainers);
    expect(usage.containers.find((c) => c.names.includes('contenedor1'))!.size).toBeGreaterThan(100);
    // Each layer counts the images standing on it.
    const base = podman.image('localhost/unshare-fs-test').layer;
    expect(usage.layers.find((l) => l.id === base)?.images).toBe(2);
  });
});

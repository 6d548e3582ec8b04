// podman.diff against `podman diff` itself: a container changed by `podman
// exec` (files added, changed, deleted from the image, a directory removed
// and made again, so opaque, a symlink replaced, a mode changed), running
// and after it stopped; and an image.  Rootless as an ordinary user (user.*
// markers, whiteouts made in a user namespace), rootful as root (trusted.*).
import { podman, type LayerChange } from '../lib';
import { IMAGE, pod, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const NAME = `unshare-fs-diff-${process.pid}`;
const gate = requires(podmanImage);

const CHANGES = `
  echo new > /new.txt
  echo 'x:x:5:5::/:/bin/sh' >> /etc/passwd
  rm /etc/motd
  mkdir -p /usr/local/lib/app && echo 1 > /usr/local/lib/app/conf
  rm -r /home && mkdir -p /home/other && echo hi > /home/other/f
  ln -sf /bin/true /bin/cmp
  chmod 0700 /tmp
`;

const KIND: Record<string, LayerChange['kind']> = { A: 'added', C: 'changed', D: 'deleted' };

/** `podman diff`'s lines as the library's changes, sorted the same way. */
function podmanDiff(ref: string): LayerChange[] {
  return pod(['diff', ref])
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => ({ path: line.slice(2), kind: KIND[line[0]!]! }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

gate.describe(`podman.diff equals podman diff (${MODE}, uid ${UID})`, () => {
  beforeAll(() => {
    pod(['run', '-d', '--network', 'none', '--name', NAME, IMAGE, 'sleep', '600']);
    pod(['exec', NAME, '/bin/sh', '-ec', CHANGES]);
  });

  afterAll(() => {
    tryPod(['rm', '-f', '-t', '0', NAME]);
  });

  test('a running container', async () => {
    const expected = podmanDiff(NAME);
    // Each kind of change is there, so the comparison covers them all.
    expect(expected).toEqual(
      expect.arrayContaining([
        { path: '/new.txt', kind: 'added' },
        { path: '/etc/passwd', kind: 'changed' },
        { path: '/etc/motd', kind: 'deleted' },
        { path: '/usr/local/lib/app/conf', kind: 'added' },
        { path: '/home/other/f', kind: 'added' },
        { path: '/bin/cmp', kind: 'changed' },
        { path: '/tmp', kind: 'changed' },
      ]),
    );
    expect(await podman.diff(NAME)).toEqual(expected);
  });

  test('the same container stopped, by id prefix', async () => {
    pod(['stop', '-t', '0', NAME]);
    const id = pod(['inspect', '--format', '{{.Id}}', NAME]).trim();
    expect(await podman.diff(id.slice(0, 12))).toEqual(podmanDiff(NAME));
  });

  test('an image: its top layer against the layers below (one layer here: all of it added)', async () => {
    const changes = await podman.diff(IMAGE);
    expect(changes.length).toBeGreaterThan(100);
    expect(changes).toEqual(podmanDiff(IMAGE));
  });

  test('unknown names and bad options fail clearly', async () => {
    await expect(podman.diff('no-such-container-or-image')).rejects.toMatchObject({ code: 'ENOCONTAINER' });
    await expect(podman.diff(NAME, { bogus: true } as object)).rejects.toThrow(/bogus/);
    const controller = new AbortController();
    controller.abort();
    await expect(podman.diff(NAME, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

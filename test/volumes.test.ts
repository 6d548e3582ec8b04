// podman.volumes()/volume() against `podman volume inspect` and `podman ps
// --filter volume=`; a volume a container filled (files of its uid 1000, a
// 0700 dir, symlinks) reached through enterVolume with the ids the
// container sees, chowned and removed through it as the container then sees
// it; exportVolume against `podman volume export` entry by entry;
// importVolume of that tar into a fresh volume exports the same.  The same
// for Docker where this user's daemon runs, against `docker volume inspect`
// and the documented `docker run --volumes-from ... tar` backup.  Rootless,
// enterVolume also without the engine's process (a runtime dir it never
// ran in).  Rootless as an ordinary user, rootful as root.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { docker, podman } from '../lib';
import { dk, dockerImage, IMAGE as DOCKER_IMAGE, tryDk } from './helpers/docker';
import { IMAGE, pod, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';
import { removeTree, tempDir } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';

/**
 * What the engine's own commands (`run`: podman's or docker's) say of VOLUME:
 * `volume inspect`, the containers `ps --filter volume=` finds, and every
 * name `volume ls` lists (sorted).
 */
function engineSays(run: (args: string[]) => string): {
  volume: { name: string; mountPoint: string; driver: string; labels: Record<string, string>; containers: string[] };
  createdAt: string;
  names: string[];
} {
  const [inspected] = JSON.parse(run(['volume', 'inspect', VOLUME])) as {
    Name: string;
    Mountpoint: string;
    Driver: string;
    Labels: Record<string, string>;
    CreatedAt: string;
  }[];
  const lines = (args: string[]): string[] => run(args).trim().split('\n').filter(Boolean).sort();
  return {
    volume: {
      name: inspected!.Name,
      mountPoint: inspected!.Mountpoint,
      driver: inspected!.Driver,
      labels: inspected!.Labels,
      containers: lines(['ps', '-a', '--no-trunc', '--filter', `volume=${VOLUME}`, '--format', '{{.ID}}']),
    },
    createdAt: inspected!.CreatedAt,
    names: lines(['volume', 'ls', '--format', '{{.Name}}']),
  };
}
const VOLUME = `unshare-fs-vol-${process.pid}`;
const COPY = `${VOLUME}-copy`;
const USER = `${VOLUME}-user`;

/** What the container writes into the volume: its uid 1000's files, a 0700 dir, symlinks in and out, a hard link, a FIFO. */
const FILL = [
  'echo top > /data/top.txt',
  'mkdir -p /data/home/user/private',
  'echo secret > /data/home/user/private/secret.txt',
  'chmod 700 /data/home/user/private',
  'chmod 600 /data/home/user/private/secret.txt',
  'chown -R 1000:1000 /data/home/user',
  'ln -s home/user/private/secret.txt /data/relative-link',
  'ln -s /etc/passwd /data/absolute-link',
  'ln /data/top.txt /data/hard-link',
  'mkfifo -m 620 /data/fifo',
].join(' && ');

/** Every path under the volume as a container mounting it at /data sees it: name, uid, gid, mode, type. */
const LIST = 'find /data | sort | while read f; do stat -c "%n %u %g %a %F" "$f"; done';

describe(`podman volumes (${MODE}, uid ${UID})`, () => {
  const gate = requires(podmanImage);
  let dir: string;

  /** What a container that mounts `volume` at /data sees in it. */
  function containerView(volume: string): string[] {
    return pod(['run', '--rm', '--network', 'none', '-v', `${volume}:/data`, IMAGE, 'sh', '-c', LIST])
      .trim()
      .split('\n');
  }

  /** `podman volume export`'s entries (to a file: it cannot write to a pipe jest reads as a socket). */
  async function podmanExport(volume: string): Promise<Map<string, string>> {
    const file = path.join(dir, `${volume}.tar`);
    pod(['volume', 'export', '-o', file, volume]);
    return tarEntries(fs.createReadStream(file));
  }

  beforeAll(() => {
    if (gate.why !== null) return;
    dir = tempDir('unshare-fs-volumes-');
    fs.chmodSync(dir, 0o777);
    pod(['volume', 'create', '--label', 'purpose=unshare-fs-test', VOLUME]);
    pod(['run', '--rm', '--network', 'none', '-v', `${VOLUME}:/data`, IMAGE, 'sh', '-ec', FILL]);
    pod(['create', '--network', 'none', '--name', USER, '-v', `${VOLUME}:/data`, IMAGE, 'true']);
  });

  afterAll(() => {
    if (gate.why !== null) return;
    tryPod(['rm', '-f', '-t', '0', USER]);
    tryPod(['volume', 'rm', '-f', VOLUME, COPY]);
    if (dir) removeTree(dir);
  });

  gate.test('volumes() and volume(): what podman volume inspect and ps --filter volume= say', () => {
    const said = engineSays(pod);
    const v = podman.volume(VOLUME);
    expect(v).toEqual({ ...said.volume, createdAt: expect.any(String) });
    expect(v.containers).toHaveLength(1);
    expect(Date.parse(v.createdAt!)).toBe(Date.parse(said.createdAt));
    expect(podman.volumes().find((found) => found.name === VOLUME)).toEqual(v);
    expect(podman.volumes().map((found) => found.name)).toEqual(said.names);
  });

  gate.test('volume() of a name podman does not have: ENOVOLUME', () => {
    expect(() => podman.volume(`${VOLUME}-none`)).toThrow(expect.objectContaining({ code: 'ENOVOLUME', name: 'PodmanError' }));
    expect(() => podman.volume('../volumes')).toThrow(expect.objectContaining({ code: 'ENOVOLUME' }));
  });

  gate.test('enterVolume: every file with the ids, mode and type the container sees; links stay inside', async () => {
    const expected = containerView(VOLUME);
    expect(expected).toContain('/data/home/user/private 1000 1000 700 directory');
    const session = await podman.enterVolume(VOLUME);
    try {
      const TYPES: Record<string, string> = { file: 'regular file', directory: 'directory', symlink: 'symbolic link', fifo: 'fifo' };
      const seen: string[] = [];
      for (const line of expected) {
        const name = line.split(' ')[0]!;
        const st = await session.lstat(name.slice('/data'.length) || '/');
        const type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : 'file';
        seen.push(`${name} ${st.uid} ${st.gid} ${(st.mode & 0o7777).toString(8)} ${TYPES[type]}`);
      }
      expect(seen).toEqual(expected);
      expect(await session.readFile('/relative-link', 'utf8')).toBe('secret\n');
      // '/etc/passwd' resolves inside the volume, where there is none.
      await expect(session.readFile('/absolute-link')).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await session.close();
    }
  });

  gate.test('exportVolume equals podman volume export, entry by entry', async () => {
    const mine = await tarEntries(podman.exportVolume(VOLUME));
    expect(mine.get('home/user/private/secret.txt')).toMatch(/^file 1000 1000 600 7 /);
    expect(mine.get('absolute-link')).toMatch(/^symlink 0 0 777 0 \/etc\/passwd /);
    expect(mine).toEqual(await podmanExport(VOLUME));
  });

  gate.test('importVolume of that tar into a fresh volume: podman volume export of it is the same', async () => {
    pod(['volume', 'create', COPY]);
    const told: Record<string, [number, number]> = {};
    const result = await podman.importVolume(
      COPY,
      podman.exportVolume(VOLUME, { onProgress: (entries, bytes) => (told.exported = [entries, bytes]) }),
      { onProgress: (entries, bytes) => (told.imported = [entries, bytes]) },
    );
    expect(result.entries).toBe((await podmanExport(VOLUME)).size);
    // The last progress of each holds its totals: the tar's members, the entries made.
    expect(told).toEqual({ exported: [result.entries, result.bytes], imported: [result.entries, result.bytes] });
    expect(await podmanExport(COPY)).toEqual(await podmanExport(VOLUME));
    expect(containerView(COPY)).toEqual(containerView(VOLUME).map((line) => line));
  });

  gate.test("chown -R and rm -r through enterVolume: what the container sees after, where the host user's own rm fails", async () => {
    const mountPoint = podman.volume(COPY).mountPoint;
    // The problem: on the host the 0700 dir belongs to a subordinate id.
    if (!ROOTFUL) {
      expect(() => fs.rmSync(path.join(mountPoint, 'home'), { recursive: true })).toThrow(expect.objectContaining({ code: 'EACCES' }));
    }
    const session = await podman.enterVolume(COPY);
    try {
      const chowned = await session.chown('/', 2000, 3000, { recursive: true });
      const afterChown = containerView(COPY);
      expect(chowned.entries).toBe(afterChown.length);
      expect(afterChown.filter((line) => line.split(' ').slice(1, 3).join(' ') !== '2000 3000')).toEqual([]);
      const removed = await session.rm('/home', { recursive: true });
      expect(removed.entries).toBe(afterChown.filter((line) => line.startsWith('/data/home')).length);
    } finally {
      await session.close();
    }
    expect(containerView(COPY).filter((line) => line.startsWith('/data/home'))).toEqual([]);
    expect(containerView(COPY)).toContain('/data/top.txt 2000 3000 644 regular file');
  });

  // Rootless only (defined only then: a skip is a failure in CI's root runs).
  if (!ROOTFUL)
    gate.test(
      'enterVolume with no pause process (a runtime dir podman never ran in): the same ids, in a namespace of our own',
      async () => {
        const runtimeDir = tempDir('unshare-fs-no-pause-');
        try {
          await expect(podman.enterStorage({ runtimeDir })).rejects.toMatchObject({ code: 'ENOPODMAN' });
          const session = await podman.enterVolume(VOLUME, { runtimeDir });
          try {
            expect(await session.readFile('/home/user/private/secret.txt', 'utf8')).toBe('secret\n');
            expect((await session.lstat('/home/user/private')).uid).toBe(1000);
            await session.writeFile('/written.txt', 'x', { uid: 1000, gid: 1000, mode: 0o640 });
            expect(containerView(VOLUME)).toContain('/data/written.txt 1000 1000 640 regular file');
            await session.rm('/written.txt');
          } finally {
            await session.close();
          }
        } finally {
          removeTree(runtimeDir);
        }
      },
    );

  gate.test('argument checks: a name, a tar source', async () => {
    expect(() => podman.volume(1 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    await expect(podman.importVolume(VOLUME, 'x' as unknown as AsyncIterable<Buffer>)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });
});

describe(`Docker volumes (${MODE}, uid ${UID})`, () => {
  const gate = requires(dockerImage);
  let dir: string;

  beforeAll(() => {
    if (gate.why !== null) return;
    dir = tempDir('unshare-fs-docker-volumes-');
    fs.chmodSync(dir, 0o777);
    dk(['volume', 'create', '--label', 'purpose=unshare-fs-test', VOLUME]);
    dk(['run', '--rm', '--network', 'none', '-v', `${VOLUME}:/data`, DOCKER_IMAGE, 'sh', '-ec', FILL]);
    dk(['create', '--network', 'none', '--name', USER, '-v', `${VOLUME}:/data`, DOCKER_IMAGE, 'true']);
  });

  afterAll(() => {
    if (gate.why !== null) return;
    tryDk(['rm', '-f', USER]);
    tryDk(['volume', 'rm', '-f', VOLUME, COPY]);
    if (dir) removeTree(dir);
  });

  /** What a container that mounts `volume` at /data sees in it. */
  function containerView(volume: string): string[] {
    return dk(['run', '--rm', '--network', 'none', '-v', `${volume}:/data`, DOCKER_IMAGE, 'sh', '-c', LIST])
      .trim()
      .split('\n');
  }

  /**
   * Docker's documented backup: `docker run --rm --volumes-from C -v
   * DIR:/backup busybox tar cf /backup/x.tar ...`, with the test image's
   * busybox tar, of the volume's root ('.').
   */
  async function dockerBackup(volume: string): Promise<Map<string, string>> {
    const file = `${volume}.tar`;
    const user = `${volume}-backup`;
    dk(['create', '--network', 'none', '--name', user, '-v', `${volume}:/data`, DOCKER_IMAGE, 'true']);
    try {
      dk([
        'run',
        '--rm',
        '--network',
        'none',
        '--volumes-from',
        user,
        '-v',
        `${dir}:/backup`,
        DOCKER_IMAGE,
        'tar',
        '-cf',
        `/backup/${file}`,
        '-C',
        '/data',
        '.',
      ]);
    } finally {
      tryDk(['rm', '-f', user]);
    }
    const entries = await tarEntries(fs.createReadStream(path.join(dir, file)));
    // Its names, and its hard links' targets, less the './' of `tar -C /data .`; no entry for '.' itself.
    return new Map(
      [...entries]
        .filter(([name]) => name !== '.' && name !== './')
        .map(([name, line]) => [name.replace(/^\.\//, ''), line.replace(/^(link( \S+){4} )\.\//, '$1')]),
    );
  }

  gate.test('volumes() and volume(): what docker volume inspect and ps --filter volume= say', () => {
    const said = engineSays(dk);
    const v = docker.volume(VOLUME);
    expect(v).toEqual({ ...said.volume, createdAt: expect.any(String) });
    expect(Math.floor(Date.parse(v.createdAt!) / 1000)).toBe(Date.parse(said.createdAt) / 1000);
    expect(docker.volumes().map((found) => found.name)).toEqual(said.names);
    expect(() => docker.volume(`${VOLUME}-none`)).toThrow(expect.objectContaining({ code: 'ENOVOLUME', name: 'DockerError' }));
  });

  gate.test('exportVolume equals the documented --volumes-from tar backup; importVolume round-trips it', async () => {
    const mine = await tarEntries(docker.exportVolume(VOLUME));
    expect(mine.get('home/user/private/secret.txt')).toMatch(/^file 1000 1000 600 7 /);
    expect(mine).toEqual(await dockerBackup(VOLUME));
    dk(['volume', 'create', COPY]);
    await docker.importVolume(COPY, docker.exportVolume(VOLUME));
    expect(containerView(COPY)).toEqual(containerView(VOLUME));
  });

  gate.test("chown -R and rm -r through enterVolume: what the container sees after, where the host user's own rm fails", async () => {
    if (!ROOTFUL) {
      const home = path.join(docker.volume(COPY).mountPoint, 'home');
      expect(() => fs.rmSync(home, { recursive: true })).toThrow(expect.objectContaining({ code: 'EACCES' }));
    }
    const session = await docker.enterVolume(COPY);
    try {
      await session.chown('/', 2000, 3000, { recursive: true });
      expect(containerView(COPY).filter((line) => line.split(' ').slice(1, 3).join(' ') !== '2000 3000')).toEqual([]);
      await session.rm('/home', { recursive: true });
    } finally {
      await session.close();
    }
    expect(containerView(COPY).filter((line) => line.startsWith('/data/home'))).toEqual([]);
  });

  // Rootless only (defined only then: a skip is a failure in CI's root runs).
  if (!ROOTFUL)
    gate.test('enterVolume with no dockerd (a runtime dir it never ran in): the same ids, in a namespace of our own', async () => {
      const runtimeDir = tempDir('unshare-fs-no-dockerd-');
      try {
        await expect(docker.enterStorage({ runtimeDir })).rejects.toMatchObject({ code: 'ENODOCKER' });
        const session = await docker.enterVolume(VOLUME, { runtimeDir });
        try {
          expect((await session.lstat('/home/user/private/secret.txt')).uid).toBe(1000);
          await session.writeFile('/written.txt', 'x', { uid: 1000, gid: 1000, mode: 0o640 });
          expect(containerView(VOLUME)).toContain('/data/written.txt 1000 1000 640 regular file');
          await session.rm('/written.txt');
        } finally {
          await session.close();
        }
      } finally {
        removeTree(runtimeDir);
      }
    });
});

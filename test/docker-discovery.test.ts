// Docker discovery on data roots made here, file by file, as dockerd 20.10
// lays out overlay2 (see lib/docker/store.ts): no Docker needed. The real
// thing is held to `docker inspect` in docker.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { containers, docker, podman } from '../lib';
import { requires, userNamespaces, which } from './helpers/requirements';
import { thrown } from './helpers/thrown';

const UID = process.getuid ? process.getuid() : 0;
const hex = (c: string): string => c.repeat(64);

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

const chainOf = (parent: string, diffId: string): string => `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;

/**
 * A data root with a two-layer image `app:1` and three containers: `web`
 * running (our own pid stands in for its init), `old` stopped, and `ab…`
 * sharing an id prefix with `web`.
 */
function makeDataRoot(root: string) {
  const ov = path.join(root, 'overlay2');
  const img = path.join(root, 'image', 'overlay2');
  const layer = (id: string, short: string, lower: string | null): void => {
    fs.mkdirSync(path.join(ov, id, 'diff'), { recursive: true });
    write(path.join(ov, id, 'link'), short);
    fs.mkdirSync(path.join(ov, 'l'), { recursive: true });
    fs.symlinkSync(`../${id}/diff`, path.join(ov, 'l', short));
    if (lower !== null) write(path.join(ov, id, 'lower'), lower);
  };
  const base = hex('1');
  const top = hex('2');
  layer(base, 'BASESHORT', null);
  layer(top, 'TOPSHORT', 'l/BASESHORT');
  const baseDiffId = `sha256:${hex('d')}`;
  const topDiffId = `sha256:${hex('e')}`;
  const diffIds = [baseDiffId, topDiffId];
  const chain = [baseDiffId, chainOf(baseDiffId, topDiffId)] as const;
  const imageId = hex('9');
  write(
    path.join(img, 'imagedb', 'content', 'sha256', imageId),
    JSON.stringify({ created: '2024-05-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
  write(path.join(img, 'layerdb', 'sha256', chain[0].slice(7), 'cache-id'), base);
  write(path.join(img, 'layerdb', 'sha256', chain[0].slice(7), 'size'), '100');
  write(path.join(img, 'layerdb', 'sha256', chain[1].slice(7), 'cache-id'), top);
  write(path.join(img, 'layerdb', 'sha256', chain[1].slice(7), 'size'), '23');
  write(
    path.join(img, 'repositories.json'),
    JSON.stringify({ Repositories: { app: { 'app:1': `sha256:${imageId}`, 'app@sha256:abc': `sha256:${imageId}` } } }),
  );

  const container = (id: string, name: string, running: boolean, pid: number): string => {
    const mount = `${id.slice(0, 8)}${hex('7').slice(8)}`;
    layer(`${mount}-init`, `INIT${id.slice(0, 4)}`, 'l/TOPSHORT:l/BASESHORT');
    layer(mount, `RW${id.slice(0, 4)}`, `l/INIT${id.slice(0, 4)}:l/TOPSHORT:l/BASESHORT`);
    write(path.join(img, 'layerdb', 'mounts', id, 'mount-id'), mount);
    write(path.join(img, 'layerdb', 'mounts', id, 'init-id'), `${mount}-init`);
    write(path.join(img, 'layerdb', 'mounts', id, 'parent'), chain[1]);
    write(
      path.join(root, 'containers', id, 'config.v2.json'),
      JSON.stringify({
        ID: id,
        Name: `/${name}`,
        Image: `sha256:${imageId}`,
        Created: '2024-05-02T00:00:00Z',
        Driver: 'overlay2',
        Config: { Image: 'app:1' },
        State: { Running: running, Pid: pid },
      }),
    );
    return mount;
  };
  const web = `abc1${hex('3').slice(4)}`;
  const old = hex('4');
  const other = `abc2${hex('5').slice(4)}`;
  const webMount = container(web, 'web', true, process.pid);
  container(old, 'old', false, 0);
  // Says it runs, but its pid is dead: dockerd died with it.
  const dead = spawnSync('true').pid;
  container(other, 'other', true, dead);
  // Being created: a directory with no record yet.
  fs.mkdirSync(path.join(root, 'containers', hex('6')), { recursive: true });
  return {
    ov,
    base,
    top,
    imageId,
    chain,
    web,
    old,
    other,
    webMount,
    opts: { uid: UID, dataRoot: root, pidFile: path.join(root, 'docker.pid') },
  };
}

describe('docker.storageConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-docker-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes the rootless defaults from XDG_* and HOME, the rootful ones from /etc and /var', () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/4242', XDG_DATA_HOME: '/data/home', XDG_CONFIG_HOME: path.join(dir, 'cfg') };
    expect(docker.storageConfig({ uid: 4242, env, home: '/home/x' })).toEqual({
      uid: 4242,
      rootless: true,
      dataRoot: '/data/home/docker',
      driver: 'overlay2',
      configFile: null,
      runtimeDir: '/run/user/4242',
      pidFile: '/run/user/4242/docker.pid',
    });
    expect(docker.storageConfig({ uid: 4242, env: {}, home: '/home/x' })).toMatchObject({
      dataRoot: '/home/x/.local/share/docker',
      runtimeDir: '/run/user/4242',
    });
    expect(docker.storageConfig({ uid: 0, daemonConfig: path.join(dir, 'none.json') })).toMatchObject({
      rootless: false,
      dataRoot: '/var/lib/docker',
      pidFile: '/var/run/docker.pid',
      runtimeDir: null,
    });
  });

  it('reads data-root, storage-driver and pidfile from the daemon.json of the user', () => {
    const file = path.join(dir, 'cfg', 'docker', 'daemon.json');
    write(file, JSON.stringify({ 'data-root': '/srv/docker', 'storage-driver': 'btrfs', pidfile: '/srv/d.pid', debug: true }));
    const cfg = docker.storageConfig({ uid: 4242, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg') }, home: '/home/x' });
    expect(cfg).toMatchObject({ dataRoot: '/srv/docker', driver: 'btrfs', pidFile: '/srv/d.pid', configFile: file });
    // Only overlay2, fuse-overlayfs and vfs layouts are understood.
    expect(codeOf(() => docker.containers({ uid: 4242, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg') }, home: '/home/x' }))).toBe(
      'EDOCKERDRIVER',
    );
  });

  it('is EDOCKERSTORAGE for a daemon.json that is not a JSON object, or has a key of the wrong type', () => {
    const file = path.join(dir, 'daemon.json');
    for (const text of ['{ not json', '[1, 2]', '{"data-root": 42}']) {
      write(file, text);
      expect(codeOf(() => docker.storageConfig({ uid: 4242, daemonConfig: file }))).toBe('EDOCKERSTORAGE');
    }
  });

  it('detects the driver from the image dir dockerd made', () => {
    fs.mkdirSync(path.join(dir, 'image', 'vfs'), { recursive: true });
    expect(docker.storageConfig({ uid: 4242, dataRoot: dir, daemonConfig: path.join(dir, 'none.json') }).driver).toBe('vfs');
  });

  it('refuses unknown options and arguments of the wrong type', () => {
    expect(() => docker.storageConfig({ dataroot: dir } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => docker.storageConfig({ uid: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => docker.container(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('docker containers, images and chains on a made data root', () => {
  let dir: string;
  let s: ReturnType<typeof makeDataRoot>;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-docker-'));
    s = makeDataRoot(dir);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists containers with their layers, lower chain, state and pid', () => {
    const all = docker.containers(s.opts);
    expect(all.map((c) => c.names[0]).sort()).toEqual(['old', 'other', 'web']);
    const web = docker.container('web', s.opts);
    const d = (id: string): string => path.join(s.ov, id, 'diff');
    expect(web).toEqual({
      id: s.web,
      names: ['web'],
      image: s.imageId,
      imageName: 'app:1',
      layer: s.webMount,
      initLayer: `${s.webMount}-init`,
      created: '2024-05-02T00:00:00Z',
      mergedDir: path.join(s.ov, s.webMount, 'merged'),
      upperDir: d(s.webMount),
      workDir: path.join(s.ov, s.webMount, 'work'),
      lowerDirs: [d(`${s.webMount}-init`), d(s.top), d(s.base)],
      running: true,
      mounted: true,
      mountPoint: path.join(s.ov, s.webMount, 'merged'),
      pid: process.pid,
    });
    expect(docker.container('old', s.opts)).toMatchObject({ running: false, mounted: false, mountPoint: null, pid: null });
    // Recorded as running, but its pid is dead.
    expect(docker.container('other', s.opts)).toMatchObject({ running: false, pid: null });
  });

  it('finds a container by name (with or without /), id, or unique prefix; ambiguous prefixes name their candidates', () => {
    expect(docker.container('/web', s.opts).id).toBe(s.web);
    expect(docker.container(s.old, s.opts).names).toEqual(['old']);
    expect(docker.container('abc1', s.opts).id).toBe(s.web);
    let error: docker.DockerError | undefined;
    try {
      docker.container('abc', s.opts);
    } catch (e) {
      error = e as docker.DockerError;
    }
    expect(error).toBeInstanceOf(docker.DockerError);
    expect(error).toMatchObject({ code: 'EDOCKERAMBIGUOUS', name: 'DockerError' });
    expect([...error!.candidates!].sort()).toEqual([s.web, s.other].sort());
    expect(codeOf(() => docker.container('zzz', s.opts))).toBe('ENOCONTAINER');
    expect(codeOf(() => docker.container('', s.opts))).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('lists images with names, chain ids, top layer and size; finds them by name, id or prefix', () => {
    expect(docker.images(s.opts)).toEqual([
      { id: s.imageId, names: ['app:1'], layer: s.top, chainIds: s.chain, created: '2024-05-01T00:00:00Z', size: 123 },
    ]);
    expect(docker.image('app:1', s.opts).id).toBe(s.imageId);
    expect(docker.image(`sha256:${s.imageId}`, s.opts).id).toBe(s.imageId);
    expect(docker.image('999', s.opts).id).toBe(s.imageId);
    expect(codeOf(() => docker.image('app', s.opts))).toBe('ENOIMAGE'); // app:latest
    expect(docker.layerChain(s.top, s.opts)).toEqual([path.join(s.ov, s.top, 'diff'), path.join(s.ov, s.base, 'diff')]);
    expect(docker.layerChain(s.base, s.opts)).toEqual([path.join(s.ov, s.base, 'diff')]);
    for (const bad of ['..', 'l/../x', hex('f')]) expect(codeOf(() => docker.layerChain(bad, s.opts))).toBe('ENOLAYER');
  });

  /** docker.containers(), with the records it left out. */
  const listing = (opts = s.opts): { names: string[]; errors: docker.DockerError[] } => {
    const errors: docker.DockerError[] = [];
    const names = docker
      .containers({ ...opts, onError: (error) => errors.push(error) })
      .map((c) => c.names[0]!)
      .sort();
    return { names, errors };
  };

  it('a record that is not JSON is left out and reported (EDOCKERSTORAGE, its path, no content quoted); asked for, it is that error', () => {
    const file = path.join(dir, 'containers', s.old, 'config.v2.json');
    const good = fs.readFileSync(file, 'utf8');
    try {
      write(file, '{"ID": "sekrit-token-in-the-record');
      const { names, errors } = listing();
      expect(names).toEqual(['other', 'web']);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'EDOCKERSTORAGE', path: file });
      expect(errors[0]!.message).not.toContain('sekrit');
      expect(errors[0]!.cause).toBeUndefined();
      const asked = thrown(() => docker.container(s.old, s.opts));
      expect(asked).toMatchObject({ code: 'EDOCKERSTORAGE', path: file });
      // Without onError, a process warning tells of it.
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        expect(
          docker
            .containers(s.opts)
            .map((c) => c.names[0])
            .sort(),
        ).toEqual(['other', 'web']);
        expect(emitWarning.mock.calls).toEqual([[expect.stringContaining(file), { type: 'DockerWarning', code: 'EDOCKERSTORAGE' }]]);
      } finally {
        emitWarning.mockRestore();
      }
    } finally {
      write(file, good);
    }
  });

  it('records are opened without following a symlink: a record linked to a secret is neither read nor quoted', () => {
    const file = path.join(dir, 'containers', s.old, 'config.v2.json');
    const good = fs.readFileSync(file, 'utf8');
    const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-docker-secret-'));
    const recordDir = path.join(dir, 'containers', s.old);
    const savedDir = `${recordDir}.saved`;
    try {
      // A file the attacker cannot read, shaped like /etc/shadow.
      const shadow = path.join(secrets, 'shadow');
      fs.writeFileSync(shadow, 'root:*:20209:0:99999:7:::\n', { mode: 0o600 });
      fs.rmSync(file);
      fs.symlinkSync(shadow, file);
      let { names, errors } = listing();
      expect(names).toEqual(['other', 'web']);
      expect(errors.map((e) => [e.code, e.path])).toEqual([['EDOCKERSTORAGE', file]]);
      expect(errors[0]!.message).not.toContain('root:');
      expect(errors[0]!.message).toContain('symlink');
      // A linked record that would parse: were it followed, 'leaked' would be listed.
      const json = path.join(secrets, 'record.json');
      fs.writeFileSync(json, JSON.stringify({ ID: s.old, Name: '/leaked', State: {} }));
      fs.rmSync(file);
      fs.symlinkSync(json, file);
      ({ names, errors } = listing());
      expect(names).toEqual(['other', 'web']);
      expect(errors).toHaveLength(1);
      // A link on the way: the container's dir itself.
      fs.rmSync(file);
      fs.writeFileSync(file, good);
      fs.renameSync(recordDir, savedDir);
      fs.mkdirSync(path.join(secrets, 'dir'));
      fs.copyFileSync(json, path.join(secrets, 'dir', 'config.v2.json'));
      fs.symlinkSync(path.join(secrets, 'dir'), recordDir);
      ({ names, errors } = listing());
      expect(names).toEqual(['other', 'web']);
      expect(errors.map((e) => e.code)).toEqual(['EDOCKERSTORAGE']);
    } finally {
      if (fs.existsSync(savedDir)) {
        fs.rmSync(recordDir, { force: true });
        fs.renameSync(savedDir, recordDir);
      }
      fs.rmSync(file, { force: true });
      write(file, good);
      fs.rmSync(secrets, { recursive: true, force: true });
    }
  });

  it('overlay2 lower dirs are resolved beneath the data root: a layer dir or diff that is a symlink out is refused, the container left out', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-docker-outside-'));
    fs.mkdirSync(path.join(outside, 'diff'));
    fs.writeFileSync(path.join(outside, 'diff', 'planted'), 'outside');
    // lower -> l/EVIL -> ../<evil>/diff, and overlay2/<evil> is a symlink out of the data root.
    const evil = hex('b');
    const rw = hex('c');
    fs.symlinkSync(outside, path.join(s.ov, evil));
    fs.symlinkSync(`../${evil}/diff`, path.join(s.ov, 'l', 'EVIL'));
    fs.mkdirSync(path.join(s.ov, rw, 'diff'), { recursive: true });
    write(path.join(s.ov, rw, 'lower'), 'l/EVIL:l/BASESHORT');
    const id = hex('d');
    write(
      path.join(dir, 'containers', id, 'config.v2.json'),
      JSON.stringify({ ID: id, Name: '/evil', Image: `sha256:${s.imageId}`, State: {} }),
    );
    write(path.join(dir, 'image', 'overlay2', 'layerdb', 'mounts', id, 'mount-id'), rw);
    try {
      const lowerFile = path.join(s.ov, rw, 'lower');
      expect(thrown(() => docker.layerChain(rw, s.opts))).toMatchObject({ code: 'EDOCKERSTORAGE', path: lowerFile });
      const { names, errors } = listing();
      expect(names).toEqual(['old', 'other', 'web']);
      expect(errors.map((e) => [e.code, e.path])).toEqual([['EDOCKERSTORAGE', lowerFile]]);
      // Asked for by id or by name it is its error (as podman's), and nothing is mounted;
      // asked for, another container is read as ever (its layers alone are read).
      expect(thrown(() => docker.container(id, s.opts))).toMatchObject({ code: 'EDOCKERSTORAGE' });
      expect(thrown(() => docker.container('evil', s.opts))).toMatchObject({ code: 'EDOCKERSTORAGE', path: lowerFile });
      expect(docker.container('web', s.opts).id).toBe(s.web);
      await expect(docker.mountContainer(id, s.opts)).rejects.toMatchObject({ code: 'EDOCKERSTORAGE' });
      // The same with the entry written as <dir>/diff, and with diff itself the link.
      write(lowerFile, `${evil}/diff`);
      expect(thrown(() => docker.layerChain(rw, s.opts))).toMatchObject({ code: 'EDOCKERSTORAGE' });
      fs.rmSync(path.join(s.ov, evil));
      fs.mkdirSync(path.join(s.ov, evil));
      fs.symlinkSync(path.join(outside, 'diff'), path.join(s.ov, evil, 'diff'));
      write(lowerFile, 'l/EVIL');
      expect(thrown(() => docker.layerChain(rw, s.opts))).toMatchObject({ code: 'EDOCKERSTORAGE' });
      // The container's own layer dir a symlink out.
      fs.rmSync(path.join(s.ov, rw), { recursive: true });
      fs.symlinkSync(outside, path.join(s.ov, rw));
      expect(thrown(() => docker.layerChain(rw, s.opts))).toMatchObject({ code: 'EDOCKERSTORAGE' });
      // A link the engine's way, to a real layer: accepted.
      fs.rmSync(path.join(s.ov, rw));
      fs.mkdirSync(path.join(s.ov, rw, 'diff'), { recursive: true });
      write(lowerFile, 'l/TOPSHORT:l/BASESHORT');
      expect(docker.layerChain(rw, s.opts)).toEqual([
        path.join(s.ov, rw, 'diff'),
        path.join(s.ov, s.top, 'diff'),
        path.join(s.ov, s.base, 'diff'),
      ]);
      expect(listing().names).toEqual(['evil', 'old', 'other', 'web']);
    } finally {
      fs.rmSync(path.join(dir, 'containers', id), { recursive: true, force: true });
      fs.rmSync(path.join(dir, 'image', 'overlay2', 'layerdb', 'mounts', id), { recursive: true, force: true });
      fs.rmSync(path.join(s.ov, rw), { recursive: true, force: true });
      fs.rmSync(path.join(s.ov, evil), { recursive: true, force: true });
      fs.rmSync(path.join(s.ov, 'l', 'EVIL'), { force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('hostile records: a mount-id that is no layer name is not followed; a lower link out of overlay2 is refused', () => {
    const id = hex('8');
    write(path.join(dir, 'containers', id, 'config.v2.json'), JSON.stringify({ ID: id, Name: '/evil', Image: 'sha256:x', State: {} }));
    write(path.join(dir, 'image', 'overlay2', 'layerdb', 'mounts', id, 'mount-id'), '../../../../etc');
    try {
      expect(
        docker
          .containers(s.opts)
          .map((c) => c.names[0])
          .sort(),
      ).toEqual(['old', 'other', 'web']);
      expect(codeOf(() => docker.container('evil', s.opts))).toBe('ENOCONTAINER');
    } finally {
      fs.rmSync(path.join(dir, 'containers', id), { recursive: true });
      fs.rmSync(path.join(dir, 'image', 'overlay2', 'layerdb', 'mounts', id), { recursive: true });
    }
    // A layer whose lower file names a link planted to lead out of overlay2.
    const planted = hex('a');
    fs.mkdirSync(path.join(s.ov, planted, 'diff'), { recursive: true });
    fs.symlinkSync('/etc', path.join(s.ov, 'l', 'PLANTED'));
    write(path.join(s.ov, planted, 'lower'), 'l/PLANTED:l/BASESHORT');
    try {
      let error: docker.DockerError | undefined;
      try {
        docker.layerChain(planted, s.opts);
      } catch (e) {
        error = e as docker.DockerError;
      }
      expect(error).toMatchObject({ code: 'EDOCKERSTORAGE', path: path.join(s.ov, planted, 'lower') });
      expect(error?.message).toContain('outside');
      write(path.join(s.ov, planted, 'lower'), '../../..:l/BASESHORT');
      expect(codeOf(() => docker.layerChain(planted, s.opts))).toBe('EDOCKERSTORAGE');
    } finally {
      fs.rmSync(path.join(s.ov, planted), { recursive: true });
      fs.rmSync(path.join(s.ov, 'l', 'PLANTED'));
    }
  });

  it('hostile files: a FIFO, a device or a huge file where a record should be is EDOCKERSTORAGE, never waited on', () => {
    const file = path.join(dir, 'containers', s.old, 'config.v2.json');
    const good = fs.readFileSync(file);
    const repositories = path.join(dir, 'image', 'overlay2', 'repositories.json');
    const goodRepositories = fs.readFileSync(repositories);
    try {
      fs.rmSync(file);
      spawnSync('mkfifo', [file]);
      // The one record is left out (and reported); the listing stands.
      const { names, errors } = listing();
      expect(names).toEqual(['other', 'web']);
      expect(errors.map((e) => [e.code, e.path])).toEqual([['EDOCKERSTORAGE', file]]);
      expect(codeOf(() => docker.container(s.old, s.opts))).toBe('EDOCKERSTORAGE');
      fs.rmSync(repositories);
      fs.symlinkSync('/dev/zero', repositories);
      expect(codeOf(() => docker.images(s.opts))).toBe('EDOCKERSTORAGE');
      fs.rmSync(repositories);
      // A sparse file past the bound: refused before it is read.
      fs.writeFileSync(repositories, '');
      fs.truncateSync(repositories, (256 << 20) + 1);
      expect(codeOf(() => docker.images(s.opts))).toBe('EDOCKERSTORAGE');
      // daemon.json and podman's storage.conf the same way (one reader).
      const fifo = path.join(dir, 'fifo.json');
      spawnSync('mkfifo', [fifo]);
      expect(codeOf(() => docker.storageConfig({ uid: 4242, daemonConfig: fifo }))).toBe('EDOCKERSTORAGE');
      expect(codeOf(() => podman.storageConfig({ uid: 4242, storageConf: fifo }))).toBe('EPODMANSTORAGE');
      fs.rmSync(fifo);
    } finally {
      fs.rmSync(file, { force: true });
      fs.writeFileSync(file, good);
      fs.rmSync(repositories, { force: true });
      fs.writeFileSync(repositories, goodRepositories);
    }
  });

  it('an empty data root has no containers and no images', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-docker-empty-'));
    try {
      expect(docker.containers({ dataRoot: empty })).toEqual([]);
      expect(docker.images({ dataRoot: path.join(empty, 'missing') })).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('containers() over every engine', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-engines-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A user whose podman cannot be read (the btrfs driver) and whose Docker data root holds web, old and other. */
  const user = () => {
    const env = {
      STORAGE_DRIVER: 'btrfs',
      XDG_DATA_HOME: path.join(dir, 'data'),
      XDG_CONFIG_HOME: path.join(dir, 'cfg'),
      XDG_RUNTIME_DIR: path.join(dir, 'run'),
    };
    makeDataRoot(path.join(dir, 'data', 'docker'));
    return { uid: 4242, home: dir, env };
  };

  it("one engine that cannot be read does not hide the other's containers: its error goes to onError", () => {
    const opts = user();
    expect(codeOf(() => podman.containers(opts))).toBe('EPODMANDRIVER');
    const told: string[] = [];
    const rows = containers({ ...opts, onError: (error) => told.push(error.code) });
    expect(told).toEqual(['EPODMANDRIVER']);
    expect(rows.map((r) => `${r.engine} ${r.names[0]}`).sort()).toEqual(['docker old', 'docker other', 'docker web']);
  });

  it('without onError the error is a process warning; what onError throws stops the listing', () => {
    const opts = user();
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(containers(opts)).toHaveLength(3);
      expect(emitWarning.mock.calls).toEqual([
        [expect.stringContaining("storage driver is 'btrfs'"), { type: 'PodmanWarning', code: 'EPODMANDRIVER' }],
      ]);
    } finally {
      emitWarning.mockRestore();
    }
    const stop = new Error('stop');
    let calls = 0;
    expect(() =>
      containers({
        ...opts,
        onError: () => {
          calls++;
          throw stop;
        },
      }),
    ).toThrow(stop);
    expect(calls).toBe(1);
    expect(codeOf(() => containers({ ...opts, onError: 'skip' as unknown as () => void }))).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('docker.daemonPid', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-docker-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    child?.kill('SIGKILL');
    child = undefined;
  });
  const pidFile = (): string => path.join(dir, 'docker.pid');
  const opts = (): { uid: number; runtimeDir: string; daemonConfig: string } => ({
    uid: UID,
    runtimeDir: dir,
    daemonConfig: path.join(dir, 'none.json'),
  });

  it('is ENODOCKER without a pid file', () => {
    expect(docker.daemonPidFile({ uid: 4242, runtimeDir: dir, daemonConfig: path.join(dir, 'none.json') })).toBe(pidFile());
    expect(codeOf(() => docker.daemonPid({ uid: 4242, runtimeDir: dir, daemonConfig: path.join(dir, 'none.json') }))).toBe('ENODOCKER');
  });

  it('is EDOCKERSTALE for a dead pid, a process that is not dockerd, garbage, or a FIFO', () => {
    const o = { ...opts(), uid: 4242, pidFile: pidFile() };
    write(pidFile(), String(spawnSync('true').pid));
    expect(codeOf(() => docker.daemonPid(o))).toBe('EDOCKERSTALE');
    write(pidFile(), String(process.pid));
    expect(codeOf(() => docker.daemonPid(o))).toBe('EDOCKERSTALE');
    write(pidFile(), 'dockerd\n');
    expect(codeOf(() => docker.daemonPid(o))).toBe('EDOCKERSTALE');
    // What the file holds is never quoted: it may be a link to a secret.
    write(pidFile(), 'root:sekrit-hash:19000:0:99999:7:::\n');
    expect(() => docker.daemonPid(o)).toThrow(
      expect.objectContaining({ code: 'EDOCKERSTALE', message: expect.not.stringContaining('sekrit') }),
    );
    fs.rmSync(pidFile());
    spawnSync('mkfifo', [pidFile()]);
    expect(codeOf(() => docker.daemonPid(o))).toBe('EDOCKERSTALE');
  });

  const spawnFake = async (argv: string[]): Promise<ChildProcess> => {
    const [command, ...args] = argv;
    if (command === undefined) throw new Error('spawnFake: empty argv');
    const started = spawn(command, args, { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      started.once('spawn', () => resolve());
      started.once('error', reject);
    });
    return started;
  };

  requires(userNamespaces).it(
    "takes a live dockerd of the user; rootless, only one in a user namespace other than the host's",
    async () => {
      // A copy of sleep named dockerd: in a user namespace of its own (as
      // RootlessKit's), then in the host's.
      const fake = path.join(dir, 'dockerd');
      fs.copyFileSync(which('sleep') ?? '/bin/sleep', fake);
      fs.chmodSync(fake, 0o755);
      child = await spawnFake(['unshare', '--user', '--map-root-user', fake, '60']);
      write(pidFile(), `${child.pid}\n`);
      // unshare execs the fake: same pid, once it has.
      for (let i = 0; i < 100 && fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() !== 'dockerd'; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(docker.daemonPid({ uid: UID, pidFile: pidFile() })).toBe(child.pid);
      // Another user's is not this user's daemon.
      // (Its settings named too: uid+1 may be a real user whose own are not ours to read.)
      expect(codeOf(() => docker.daemonPid({ ...opts(), dataRoot: dir, uid: UID + 1, pidFile: pidFile() }))).toBe('EDOCKERSTALE');
      child.kill('SIGKILL');
      child = await spawnFake([fake, '60']);
      write(pidFile(), `${child.pid}\n`);
      if (UID === 0) {
        // Rootful dockerd runs in the host's namespaces.
        expect(docker.daemonPid({ uid: 0, pidFile: pidFile() })).toBe(child.pid);
      } else {
        // A rootless one there is not RootlessKit's.
        expect(codeOf(() => docker.daemonPid({ uid: UID, pidFile: pidFile() }))).toBe('EDOCKERSTALE');
      }
    },
  );
});

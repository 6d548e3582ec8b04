// End-to-end against real Docker: rootless (RootlessKit + dockerd-rootless.sh)
// when the tests run as an ordinary user, rootful as root. Needs
// scripts/docker-setup.sh for this user (the daemon and the image
// unshare-fs-test); the scenario (scripts/docker-scenario.sh: dcontenedor1 and
// dcontenedor2 running, dstopped stopped) is started here when it is not up.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { containers as allContainers, docker, type BigIntStats, type Entry, type FileSystem, type Session } from '../lib';
import {
  dk,
  dockerImage,
  ensureScenario,
  IMAGE,
  inspectContainer,
  inspectImage,
  ROOTFUL,
  RUNNING,
  RUNTIME_DIR,
  STOPPED,
  UID,
} from './helpers/docker';
import { codeOf } from './helpers/podman';
import { requirement, requires, testUser, testUserInfo } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';
import { FIND_TYPE, findRows, walkRows, type Row } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const STAT_TYPE: Record<string, string> = {
  directory: 'd',
  'regular file': 'f',
  'regular empty file': 'f',
  'symbolic link': 'l',
  fifo: 'p',
  socket: 's',
  'character special file': 'c',
  'block special file': 'b',
};
const KIND: Record<string, string> = { A: 'added', C: 'changed', D: 'deleted' };
const ALL = [...RUNNING, STOPPED];

async function rowsOf(fsApi: FileSystem, dir: string, options: { oneFileSystem?: boolean } = {}): Promise<Row[]> {
  return walkRows(
    fsApi.walk(dir, { stat: true, bigint: true, encoding: 'utf8', ...options }) as AsyncIterable<Entry<string, BigIntStats>>,
    dir,
    (p) => fsApi.readlink(p),
  );
}

/** find -printf in Docker's storage namespaces: Docker's own documented nsenter rootless, plain find rootful. */
function nsenterFind(dir: string): Row[] {
  if (ROOTFUL) return findRows(dir);
  const pid = fs.readFileSync(path.join(RUNTIME_DIR, 'docker.pid'), 'utf8').trim();
  return findRows(dir, ['nsenter', '-U', '--preserve-credentials', '-m', '-t', pid, '--']);
}

/** `docker export` of a container, as tar lines. */
async function dockerExport(name: string): Promise<Map<string, string>> {
  const file = path.join(fs.mkdtempSync('/tmp/unshare-fs-docker-export-'), 'out.tar');
  fs.chmodSync(path.dirname(file), 0o755);
  try {
    dk(['export', '-o', file, name]);
    return await tarEntries(fs.createReadStream(file));
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

const gate = requires(dockerImage);

/** Root's view of the test user's rootless Docker: their daemon and scenario running. */
const userDocker = requirement('userDocker', () => {
  const user = testUserInfo();
  try {
    const c = docker.container('dcontenedor1', { uid: user.uid });
    return c.running || `dcontenedor1 of ${user.name} is not running (scripts/docker-scenario.sh start ${user.name})`;
  } catch (error) {
    return `no rootless Docker scenario for ${user.name} (scripts/docker-setup.sh ${user.name}; scripts/docker-scenario.sh start ${user.name}): ${(error as Error).message}`;
  }
});
/** As root: another user's rootless Docker; as that user: root's, which must be refused. */
const otherSide = ROOTFUL ? requires(dockerImage, testUser, userDocker) : gate;

gate.describe(`docker end-to-end (${MODE}, uid ${UID})`, () => {
  let storage: Session;

  beforeAll(async () => {
    ensureScenario();
    storage = await docker.enterStorage();
  });

  afterAll(async () => {
    await storage?.close();
  });

  test('storageConfig and daemonPid equal docker info and the daemon pid file', () => {
    const cfg = docker.storageConfig();
    expect(cfg.dataRoot).toBe(dk(['info', '--format', '{{.DockerRootDir}}']).trim());
    expect(cfg.driver).toBe(dk(['info', '--format', '{{.Driver}}']).trim());
    expect(cfg.rootless).toBe(!ROOTFUL);
    const pid = docker.daemonPid();
    expect(String(pid)).toBe(fs.readFileSync(docker.daemonPidFile(), 'utf8').trim());
    expect(fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('dockerd');
  });

  describe.each(ALL)('%s', (name) => {
    test('discovery equals docker inspect: merged, upper, work and lower dirs, pid, image, name', () => {
      const theirs = inspectContainer(name);
      const c = docker.container(name);
      const data = theirs.GraphDriver.Data;
      expect(c.id).toBe(theirs.Id);
      expect(c.names).toEqual([String(theirs.Name).replace(/^\//, '')]);
      expect(c.mergedDir).toBe(data.MergedDir);
      expect(c.upperDir).toBe(data.UpperDir);
      expect(c.workDir).toBe(data.WorkDir);
      expect(c.lowerDirs).toEqual(data.LowerDir!.split(':'));
      expect(c.running).toBe(theirs.State.Running);
      expect(c.pid).toBe(theirs.State.Running ? theirs.State.Pid : null);
      expect(`sha256:${c.image}`).toBe(theirs.Image);
      expect(c.imageName).toBe(theirs.Config.Image);
      expect(docker.layerChain(c.layer)).toEqual([c.upperDir, ...c.lowerDirs]);
      expect(docker.container(c.id.slice(0, 12)).id).toBe(c.id);
      expect(docker.container(`/${name}`).id).toBe(c.id);
    });

    test('diff equals docker diff', async () => {
      const theirs = dk(['diff', name])
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ kind: KIND[line.charAt(0)], path: line.slice(2) }))
        .sort((a, b) => (a.path < b.path ? -1 : 1));
      const ours = (await docker.diff(name)).map((change) => ({ kind: change.kind, path: change.path }));
      expect(ours.length).toBeGreaterThan(5);
      expect(ours).toEqual(theirs);
    });

    test('exportContainer equals docker export, entry by entry', async () => {
      const theirs = await dockerExport(name);
      const ours = await tarEntries(docker.exportContainer(name));
      expect(ours.size).toBeGreaterThan(250);
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [entry, line] of theirs) expect(`${entry} ${ours.get(entry)}`).toBe(`${entry} ${line}`);
    });
  });

  describe.each(RUNNING)('%s (running)', (name) => {
    test('every entry walked in mergedDir through enterStorage equals nsenter find -printf, entry by entry', async () => {
      const dir = docker.container(name).mergedDir;
      const ours = await rowsOf(storage, dir);
      const theirs = nsenterFind(dir);
      console.log(`${MODE} ${name}: ${ours.length} entries walked, ${theirs.length} from ${ROOTFUL ? 'find' : 'nsenter find'}`);
      expect(ours.length).toBeGreaterThan(250);
      expect(ours.length).toBe(theirs.length);
      for (let i = 0; i < ours.length; i++) expect(ours[i]).toEqual(theirs[i]);
      expect(ours.find((r) => r.path === 'home/user/private')).toMatchObject({ type: 'd', mode: '700', uid: 1000, gid: 1000 });
      expect(ours.find((r) => r.path === 'data/link-to-hello')).toMatchObject({ type: 'l', target: 'hello.txt' });
    });

    test('enterContainer sees what docker exec sees', async () => {
      // busybox's find has no -printf: its stat prints the same fields.
      const script = 'find / -xdev \\( -path /proc -o -path /sys \\) -prune -o -exec stat -c "%n|%F|%u|%g|%a" {} +';
      const theirs = dk(['exec', name, '/bin/sh', '-c', script])
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [p, type, uid, gid, mode] = l.split('|');
          if (type === undefined || mode === undefined) throw new Error(`stat printed a line without 5 fields: ${l}`);
          return `${p} ${STAT_TYPE[type] ?? type} ${uid} ${gid} ${mode}`;
        });
      const session = await docker.enterContainer(name);
      try {
        const lines: string[] = [];
        for await (const e of session.walk('/', { stat: true, oneFileSystem: true, encoding: 'utf8' })) {
          if (e.fullPath === '/proc' || e.fullPath === '/sys' || e.fullPath.startsWith('/proc/') || e.fullPath.startsWith('/sys/'))
            continue;
          const type = FIND_TYPE[e.type] ?? '?';
          lines.push(`${e.fullPath} ${type} ${e.stats.uid} ${e.stats.gid} ${(Number(e.stats.mode) & 0o7777).toString(8)}`);
        }
        lines.push(`/ d 0 0 ${((await session.lstat('/')).mode & 0o7777).toString(8)}`);
        expect(lines.length).toBeGreaterThan(250);
        expect(lines.sort()).toEqual([...theirs].sort());
        expect(await session.readFile('/data/hello.txt', 'utf8')).toBe(`hello from ${name}\n`);
        expect(await session.readFile('/data/hello.txt', 'utf8')).toBe(dk(['exec', name, 'cat', '/data/hello.txt']));
      } finally {
        await session.close();
      }
    });

    test('the 0700 dir of uid 1000 is read through the library, not through plain host access', async () => {
      const c = docker.container(name);
      const session = await docker.enterMerged(name);
      try {
        const st = await session.lstat('/home/user/private');
        expect(st.uid).toBe(1000);
        expect(st.mode & 0o7777).toBe(0o700);
        expect(await session.readFile('/home/user/private/secret.txt', 'utf8')).toBe(`user secret of ${name}\n`);
      } finally {
        await session.close();
      }
      if (!ROOTFUL) {
        const upper = path.join(c.upperDir, 'home/user/private');
        expect(() => fs.readdirSync(upper)).toThrow(expect.objectContaining({ code: 'EACCES' }));
        expect(fs.statSync(upper).uid).toBe(storage.toHostUid(1000));
        expect(storage.toHostUid(1000)).not.toBe(1000);
        // The merged dir is mounted only in RootlessKit's namespace.
        expect(fs.readdirSync(c.mergedDir)).toEqual([]);
      }
    });
  });

  test('mountContainer of the stopped container works without the daemon, and equals docker export', async () => {
    const c = docker.container(STOPPED);
    expect(c.running).toBe(false);
    await expect(codeOf(docker.enterMerged(STOPPED))).resolves.toBe('ECONTAINERSTOPPED');
    await expect(codeOf(docker.enterContainer(STOPPED))).resolves.toBe('ECONTAINERSTOPPED');
    // A pid file that names no daemon: nothing here may need one.
    const noDaemon = { pidFile: '/nonexistent/docker.pid' };
    const mounted = await docker.mountContainer(STOPPED, noDaemon);
    try {
      expect(mounted.layers).toEqual([c.upperDir, ...c.lowerDirs]);
      expect(await mounted.session.readFile('/home/user/private/secret.txt', 'utf8')).toBe(`user secret of ${STOPPED}\n`);
      const rows = await rowsOf(mounted.session, '/');
      const theirs = await dockerExport(STOPPED);
      expect(rows.map((r) => r.path)).toEqual([...theirs.keys()].sort());
      for (const r of rows) {
        const line = (theirs.get(r.path) ?? '').split(' ');
        expect(`${r.path} ${r.uid} ${r.gid} ${r.mode}`).toBe(`${r.path} ${line[1]} ${line[2]} ${line[3]}`);
      }
    } finally {
      await mounted.close();
    }
    expect(fs.existsSync(mounted.target)).toBe(false);
  });

  test('mountImage stacks the image layers without the daemon: the image part of a created container', async () => {
    const img = docker.image(IMAGE);
    const theirs = inspectImage(IMAGE);
    expect(`sha256:${img.id}`).toBe(theirs.Id);
    expect(img.names).toEqual(theirs.RepoTags);
    expect(docker.layerChain(img.layer)).toEqual([
      theirs.GraphDriver.Data.UpperDir,
      ...(theirs.GraphDriver.Data.LowerDir ? theirs.GraphDriver.Data.LowerDir.split(':') : []),
    ]);
    expect(img.size).toBe(theirs.Size);
    const c = docker.container(STOPPED);
    expect(c.image).toBe(img.id);
    const mounted = await docker.mountImage(IMAGE, { pidFile: '/nonexistent/docker.pid' });
    try {
      expect(await mounted.session.readFile('/etc/motd', 'utf8')).toBe('hello from the image layer\n');
      const rows = await rowsOf(mounted.session, '/');
      // What the stopped container shows that the image does not: its init
      // layer's files and its own changes.
      const exported = await dockerExport(STOPPED);
      const changed = new Set((await docker.diff(STOPPED)).map((ch) => ch.path.slice(1)));
      const [initDir] = c.lowerDirs;
      if (initDir === undefined) throw new Error(`${STOPPED} has no lower dirs: its init layer is missing`);
      const init = new Set((await rowsOf(storage, initDir)).map((r) => r.path));
      for (const r of rows) {
        if (changed.has(r.path) || init.has(r.path)) continue;
        const line = exported.get(r.path);
        expect(`${r.path} ${line?.split(' ').slice(1, 4).join(' ')}`).toBe(`${r.path} ${r.uid} ${r.gid} ${r.mode}`);
      }
      expect(rows.length).toBeGreaterThan(250);
    } finally {
      await mounted.close();
    }
  });

  test('errors: no such container or image, a stopped container entered, options checked', async () => {
    expect(() => docker.container('no-such-container')).toThrow(expect.objectContaining({ code: 'ENOCONTAINER', name: 'DockerError' }));
    expect(() => docker.image('no-such-image')).toThrow(expect.objectContaining({ code: 'ENOIMAGE' }));
    await expect(codeOf(docker.diff('no-such-container'))).resolves.toBe('ENOCONTAINER');
    await expect(tarEntries(docker.exportContainer('no-such-container'))).rejects.toMatchObject({ code: 'ENOCONTAINER' });
    expect(() => docker.containers({ dataroot: '/x' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  test('the engine-neutral containers() lists these as docker rows', () => {
    const rows = allContainers().filter((r) => r.engine === 'docker');
    for (const name of ALL) {
      const c = docker.container(name);
      const row = rows.find((r) => r.id === c.id)!;
      expect(row).toEqual({
        engine: 'docker',
        rootless: !ROOTFUL,
        id: c.id,
        names: c.names,
        image: c.image,
        imageName: c.imageName,
        running: c.running,
        pid: c.pid,
        mergedDir: c.mergedDir,
        upperDir: c.upperDir,
        workDir: c.workDir,
        lowerDirs: c.lowerDirs,
      });
    }
    expect(rows.length).toBe(docker.containers().length);
  });
});

otherSide.describe(ROOTFUL ? "root reads the test user's rootless Docker" : "an ordinary user and rootful Docker's storage", () => {
  test(
    ROOTFUL
      ? 'discovery, a session in its RootlessKit namespaces and a mount of its stopped container, with its id maps'
      : 'is refused with EDOCKERACCESS, naming the owner',
    async () => {
      if (!ROOTFUL) {
        if (fs.existsSync('/var/lib/docker')) {
          let error: unknown;
          try {
            docker.containers({ uid: 0 });
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(docker.DockerError);
          expect(error).toMatchObject({ code: 'EDOCKERACCESS' });
          expect((error as Error).message).toMatch(/belongs to uid 0/);
        }
        await expect(codeOf(docker.enterStorage({ uid: 0 }))).resolves.toBe('EDOCKERACCESS');
        await expect(codeOf(docker.mountContainer(STOPPED, { dataRoot: '/var/lib/docker', uid: 0 }))).resolves.toBe('EDOCKERACCESS');
        return;
      }
      const user = testUserInfo();
      const as = { uid: user.uid };
      const cfg = docker.storageConfig(as);
      expect(cfg).toMatchObject({
        rootless: true,
        dataRoot: path.join(user.home, '.local/share/docker'),
        pidFile: `/run/user/${user.uid}/docker.pid`,
      });
      const pid = docker.daemonPid(as);
      expect(fs.readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(fs.readlinkSync('/proc/self/ns/user'));
      const running = docker.container('dcontenedor1', as);
      const session = await docker.enterMerged('dcontenedor1', as);
      try {
        expect(await session.readFile('/home/user/private/secret.txt', 'utf8')).toBe('user secret of dcontenedor1\n');
        expect((await session.lstat('/home/user/private')).uid).toBe(1000);
        // The container's 1000 is the user's subordinate id on the host.
        expect(fs.statSync(path.join(running.upperDir, 'home/user/private')).uid).toBe(session.toHostUid(1000));
      } finally {
        await session.close();
      }
      const mounted = await docker.mountContainer(STOPPED, as);
      try {
        const st = await mounted.session.lstat('/home/user/private/secret.txt');
        expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1000, 0o600]);
        expect(await mounted.session.readFile('/home/user/private/secret.txt', 'utf8')).toBe(`user secret of ${STOPPED}\n`);
        // The daemon's own id maps (RootlessKit's), read while it runs.
        const daemonSide = await docker.enterStorage(as);
        expect(mounted.namespace.uidMap).toEqual(daemonSide.uidMap);
        expect(mounted.namespace.uidMap.length).toBe(2);
        await daemonSide.close();
      } finally {
        await mounted.close();
      }
    },
  );
});

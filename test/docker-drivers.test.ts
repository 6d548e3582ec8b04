// Docker's fuse-overlayfs and vfs storage drivers against real Docker: a
// dockerd of its own for each driver (scripts/docker-driver.sh: its own data
// root, exec root, pid file and socket; rootless through RootlessKit as an
// ordinary user, rootful as root), started here and removed with its
// containers afterwards; the daemons of scripts/docker-setup.sh are not
// touched.  In each, a running and a stopped container changed by
// `docker exec` (a 0700 dir of uid 1000 added, a file deleted, a directory
// removed and made again) against Docker's own commands: discovery against
// `docker inspect` and `docker ps`, docker.diff against `docker diff`,
// exportContainer, walks and mountContainer against `docker export`,
// mountImage against `docker export` of a created container, exportLayer
// against the layer `docker commit` writes (`docker save`).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { docker, type BigIntStats, type Entry, type FileSystem, type LayerChange } from '../lib';
import { dockerImage, IMAGE, ROOTFUL, UID, type ContainerInspect, type GraphDriverData } from './helpers/docker';
import { fuseOverlayfs, requirement, requires, type Requirement } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';
import { walkRows, type Row } from './helpers/tree';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const SCRIPT = path.join(__dirname, '..', 'scripts', 'docker-driver.sh');
const USER = ROOTFUL ? 'root' : execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
const RUNNING = 'ddrv-running';
const STOPPED = 'ddrv-stopped';
const KIND: Record<string, LayerChange['kind']> = { A: 'added', C: 'changed', D: 'deleted' };
const byPath = <T extends { path: string }>(a: T, b: T): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

// /usr holds bin/ and sbin/ in the image: made again with bin/ only, it is
// opaque, /usr/sbin is gone.  /tmp/gone leaves a whiteout over nothing.
const ROOT_CHANGES = `
  mkdir -m 0700 /newdir && chown 1000:1000 /newdir
  rm /etc/motd
  rm -rf /usr && mkdir -p /usr/bin && echo tool > /usr/bin/tool
  mkdir /tmp/gone && rm -r /tmp/gone
  mkdir -p /data/sub && echo data > /data/sub/f && ln -s sub/f /data/link
`;
const USER_CHANGES = 'echo secret > /newdir/s && chmod 0600 /newdir/s';

/** dockerd-rootless.sh and RootlessKit, for an ordinary user's daemon. */
const rootlessKit: Requirement = ROOTFUL
  ? requirement('rootful', () => true)
  : requirement('rootlesskit', () => {
      if (!fs.existsSync('/usr/share/docker.io/contrib/dockerd-rootless.sh'))
        return 'dockerd-rootless.sh not installed (Debian package docker.io)';
      return fs.existsSync('/usr/bin/rootlesskit') || 'rootlesskit not installed (Debian package rootlesskit)';
    });
const dockerd = requirement(
  'dockerd',
  () => fs.existsSync('/usr/sbin/dockerd') || '/usr/sbin/dockerd not installed (Debian package docker.io)',
);

async function rowsOf(fsApi: FileSystem, dir: string): Promise<Row[]> {
  return walkRows(fsApi.walk(dir, { stat: true, bigint: true, encoding: 'utf8' }) as AsyncIterable<Entry<string, BigIntStats>>, dir, (p) =>
    fsApi.readlink(p),
  );
}

/** Each entry's path, ids and mode, as `docker export`'s lines (tarEntries) and a walk's rows give them. */
const exportIds = (entries: Map<string, string>): string[] =>
  [...entries].map(([name, line]) => `${name.replace(/\/$/, '')} ${line.split(' ').slice(1, 4).join(' ')}`).sort();
const rowIds = (rows: Row[]): string[] => rows.map((r) => `${r.path} ${r.uid} ${r.gid} ${r.mode}`).sort();

describe.each(['fuse-overlayfs', 'vfs'])(`docker with the %s driver (${MODE}, uid ${UID})`, (driver) => {
  const gate = requires(dockerImage, dockerd, rootlessKit, ...(driver === 'fuse-overlayfs' ? [fuseOverlayfs] : []));
  gate.describe('a dockerd of its own', () => {
    let base: string;
    let options: docker.DockerOptions;

    /** docker against this daemon: its stdout, throwing with its stderr. */
    function dk(args: string[]): string {
      try {
        return execFileSync('/usr/bin/docker', args, {
          cwd: '/',
          encoding: 'utf8',
          env: { ...process.env, DOCKER_HOST: `unix://${base}/run/docker.sock` },
          maxBuffer: 1 << 28,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        const e = error as Error & { stderr?: string };
        e.message = `docker ${args.join(' ')} failed: ${String(e.stderr ?? '').trim() || e.message}`;
        throw e;
      }
    }

    /** `docker export` of a container, as tar lines. */
    async function dockerExport(name: string): Promise<Map<string, string>> {
      const dir = fs.mkdtempSync('/tmp/unshare-fs-ddrv-export-');
      try {
        dk(['export', '-o', path.join(dir, 'out.tar'), name]);
        return await tarEntries(fs.createReadStream(path.join(dir, 'out.tar')));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }

    function dockerDiff(name: string): LayerChange[] {
      return dk(['diff', name])
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ path: line.slice(2), kind: KIND[line[0]!]! }))
        .sort(byPath);
    }

    beforeAll(() => {
      base = execFileSync('bash', [SCRIPT, 'start', USER, driver], {
        cwd: '/',
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim();
      options = ROOTFUL ? { daemonConfig: `${base}/daemon.json` } : { daemonConfig: `${base}/daemon.json`, runtimeDir: `${base}/run` };
      for (const name of [RUNNING, STOPPED]) {
        dk(['rm', '-f', name]);
        dk(['run', '-d', '--network', 'none', '--name', name, IMAGE, 'sleep', '600']);
        dk(['exec', name, '/bin/sh', '-ec', ROOT_CHANGES]);
        dk(['exec', '--user', '1000', name, '/bin/sh', '-ec', USER_CHANGES]);
      }
      dk(['stop', '-t', '0', STOPPED]);
    });

    afterAll(() => {
      execFileSync('bash', [SCRIPT, 'stop', USER, driver], { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    });

    test('storageConfig, daemonPid, containers() and images() equal docker info, ps and inspect', () => {
      const cfg = docker.storageConfig(options);
      expect(cfg.driver).toBe(driver);
      expect(cfg.driver).toBe(dk(['info', '--format', '{{.Driver}}']).trim());
      expect(cfg.dataRoot).toBe(dk(['info', '--format', '{{.DockerRootDir}}']).trim());
      expect(cfg.rootless).toBe(!ROOTFUL);
      expect(String(docker.daemonPid(options))).toBe(fs.readFileSync(`${base}/run/docker.pid`, 'utf8').trim());
      const ids = dk(['ps', '-a', '--no-trunc', '--format', '{{.ID}}']).split('\n').filter(Boolean).sort();
      expect(
        docker
          .containers(options)
          .map((c) => c.id)
          .sort(),
      ).toEqual(ids);
      const imageIds = dk(['images', '-q', '--no-trunc']).split('\n').filter(Boolean);
      expect(docker.images(options).map((i) => `sha256:${i.id}`)).toEqual([...new Set(imageIds)]);
      expect(docker.image(IMAGE, options).names).toEqual([`${IMAGE}:latest`]);
    });

    test.each([RUNNING, STOPPED])('%s: discovery equals docker inspect', (name) => {
      const [theirs] = JSON.parse(dk(['inspect', name])) as (ContainerInspect & {
        GraphDriver: { Name: string; Data: GraphDriverData | null };
      })[];
      if (theirs === undefined) throw new Error(`docker inspect ${name} printed nothing`);
      const c = docker.container(name, options);
      expect(c.id).toBe(theirs.Id);
      expect(c.running).toBe(theirs.State.Running);
      expect(c.pid).toBe(theirs.State.Running ? theirs.State.Pid : null);
      expect(`sha256:${c.image}`).toBe(theirs.Image);
      expect(theirs.GraphDriver.Name).toBe(driver);
      const chain = docker.layerChain(c.layer, options);
      if (driver === 'vfs') {
        // Docker says nothing of vfs dirs (GraphDriver.Data is null): the
        // layer dir is the container's root, its parent the init layer.
        expect(theirs.GraphDriver.Data).toBeNull();
        expect(c.mergedDir).toBe(path.join(base, 'data', 'vfs', 'dir', c.layer));
        expect(c.upperDir).toBe(c.mergedDir);
        expect(chain.slice(0, 2)).toEqual([c.mergedDir, `${c.mergedDir}-init`]);
        expect(chain).toHaveLength(3);
      } else {
        const data = theirs.GraphDriver.Data;
        expect(c.mergedDir).toBe(data.MergedDir);
        expect(c.upperDir).toBe(data.UpperDir);
        expect(c.workDir).toBe(data.WorkDir);
        expect(c.lowerDirs).toEqual(data.LowerDir!.split(':'));
        expect(chain).toEqual([c.upperDir, ...c.lowerDirs]);
      }
    });

    test.each([RUNNING, STOPPED])('%s: diff equals docker diff', async (name) => {
      const theirs = dockerDiff(name);
      expect(theirs).toEqual(
        expect.arrayContaining([
          { path: '/newdir', kind: 'added' },
          { path: '/newdir/s', kind: 'added' },
          { path: '/etc/motd', kind: 'deleted' },
          { path: '/usr/sbin', kind: 'deleted' },
          { path: '/usr/bin/tool', kind: 'added' },
        ]),
      );
      expect(await docker.diff(name, options)).toEqual(theirs);
    });

    test.each([RUNNING, STOPPED])('%s: exportContainer equals docker export, entry by entry', async (name) => {
      const theirs = await dockerExport(name);
      const ours = await tarEntries(docker.exportContainer(name, options));
      expect(ours.size).toBeGreaterThan(250);
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [entry, line] of theirs) expect(`${entry} ${ours.get(entry)}`).toBe(`${entry} ${line}`);
    });

    test('exportLayer: the layer docker commit writes, up to how deletions are marked; vfs refused', async () => {
      if (driver === 'vfs') {
        await expect(tarEntries(docker.exportLayer(RUNNING, options))).rejects.toMatchObject({ code: 'EDOCKERDRIVER' });
        return;
      }
      // docker commit's layer (Docker's naive diff of the mounted trees)
      // marks each deleted name with its own `.wh.` entry; ours marks a
      // directory made again as opaque (`.wh..wh..opq`), as the upper dir
      // says, and keeps a whiteout fuse-overlayfs left over nothing.
      const image = `ddrv-committed-${process.pid}`;
      dk(['commit', RUNNING, image]);
      const dir = fs.mkdtempSync('/tmp/unshare-fs-ddrv-save-');
      let theirs: Map<string, string>;
      try {
        dk(['save', '-o', path.join(dir, 'image.tar'), image]);
        execFileSync('tar', ['-xf', path.join(dir, 'image.tar'), '-C', dir]);
        const [manifest] = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
        theirs = await tarEntries(fs.createReadStream(path.join(dir, manifest!.Layers.at(-1)!)));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        dk(['rmi', image]);
      }
      const ours = await tarEntries(docker.exportLayer(RUNNING, options));
      // Names without the trailing '/' of directories (Docker writes it).
      const bare = (entries: Map<string, string>): Map<string, string> =>
        new Map([...entries].map(([name, line]) => [name.replace(/\/$/, ''), line]));
      const whiteout = (name: string): boolean => path.basename(name).startsWith('.wh.');
      const [mine, committed] = [bare(ours), bare(theirs)];
      // A directory of ours alone that holds whiteouts only (/tmp, for /tmp/gone).
      const whiteoutsOnly = (dir: string): boolean =>
        !committed.has(dir) &&
        mine.get(dir)?.startsWith('directory ') === true &&
        [...mine.keys()].filter((n) => n.startsWith(`${dir}/`)).every(whiteout);
      const files = (entries: Map<string, string>): string[] =>
        [...entries].filter(([name]) => !whiteout(name) && !whiteoutsOnly(name)).map(([name, line]) => `${name} ${line}`);
      expect(files(mine).sort()).toEqual(files(committed).sort());
      // Every deletion docker diff lists is a whiteout of ours, or under an opaque directory of ours.
      for (const change of dockerDiff(RUNNING).filter((c) => c.kind === 'deleted')) {
        const name = change.path.slice(1);
        const marked =
          mine.has(path.join(path.dirname(name), `.wh.${path.basename(name)}`)) || mine.has(path.join(path.dirname(name), '.wh..wh..opq'));
        expect(`${change.path} ${marked}`).toBe(`${change.path} true`);
      }
      expect(committed.has('usr/.wh.sbin')).toBe(true);
      expect(mine.has('usr/.wh..wh..opq')).toBe(true);
    });

    test('the running container walked through enterMerged equals docker export, and its 0700 dir of uid 1000 is read', async () => {
      const session = await docker.enterMerged(RUNNING, options);
      try {
        const rows = await rowsOf(session, '/');
        expect(rowIds(rows)).toEqual(exportIds(await dockerExport(RUNNING)));
        expect(rows.find((r) => r.path === 'newdir')).toMatchObject({ type: 'd', mode: '700', uid: 1000, gid: 1000 });
        expect(await session.readFile('/newdir/s', 'utf8')).toBe('secret\n');
      } finally {
        await session.close();
      }
    });

    test('mountContainer of the stopped container equals docker export, without the daemon', async () => {
      const mounted = await docker.mountContainer(STOPPED, { ...options, pidFile: '/nonexistent/docker.pid' });
      try {
        expect(await mounted.session.readFile('/newdir/s', 'utf8')).toBe('secret\n');
        expect(rowIds(await rowsOf(mounted.session, '/'))).toEqual(exportIds(await dockerExport(STOPPED)));
      } finally {
        await mounted.close();
      }
      expect(fs.existsSync(mounted.target)).toBe(false);
    });

    test('mountImage equals docker export of a container created from it, less its init layer', async () => {
      const created = dk(['create', '--network', 'none', IMAGE]).trim();
      try {
        const theirs = await dockerExport(created);
        // What Docker's init layer adds to every container (`docker diff` of a created one lists nothing).
        const init = ['.dockerenv', 'dev/console', 'dev/pts', 'dev/shm', 'etc/hostname', 'etc/hosts', 'etc/mtab', 'etc/resolv.conf'];
        for (const name of [...theirs.keys()]) if (init.includes(name.replace(/\/$/, ''))) theirs.delete(name);
        const mounted = await docker.mountImage(IMAGE, options);
        try {
          expect(await mounted.session.readFile('/etc/motd', 'utf8')).toBe('hello from the image layer\n');
          const ours = rowIds(await rowsOf(mounted.session, '/')).filter((line) => !init.includes(line.split(' ')[0]!));
          expect(ours).toEqual(exportIds(theirs));
        } finally {
          await mounted.close();
        }
      } finally {
        dk(['rm', created]);
      }
    });
  });
});

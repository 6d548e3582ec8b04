// The command line against real Docker (rootless as an ordinary user,
// rootful as root), held to Docker's own view: find -printf, ls -ln and du
// of the container's merged dir in Docker's storage namespaces (nsenter
// into RootlessKit's, as Docker documents it, rootless; plain tools
// rootful), `docker exec cat`, `docker inspect` for ps, `docker diff` and
// `docker export`; the write verbs on a Docker volume against the same
// tools in its namespace, and the volume verbs against `docker volume`.  Uses the scenario of scripts/docker-scenario.sh
// (dcontenedor1, dstopped), and a container and a volume of each engine
// by one name, which it removes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import { BIN, builtCli, cli, sortedLines, tool } from './helpers/cli';
import {
  dk,
  dockerEnv,
  dockerImage,
  ensureScenario,
  IMAGE as DOCKER_IMAGE,
  inspectContainer,
  ROOTFUL,
  RUNTIME_DIR,
  STOPPED,
  tryDk,
  UID,
} from './helpers/docker';
import { IMAGE as PODMAN_IMAGE, pod, podmanEnv, podmanImage, tryPod } from './helpers/podman';
import { requires } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const NAME = 'dcontenedor1';
const FORMAT = '%P|%y|%m|%U|%G|%s|%n|%i|%l|%T@\\0';

/** A command in Docker's storage namespaces. */
function inStorage(argv: string[]): Buffer {
  if (ROOTFUL) return tool(argv, dockerEnv());
  const pid = fs.readFileSync(path.join(RUNTIME_DIR, 'docker.pid'), 'utf8').trim();
  return tool(['nsenter', '-U', '--preserve-credentials', '-m', '-t', pid, '--', ...argv], dockerEnv());
}

const gate = requires(builtCli, dockerImage);
const bothGate = requires(builtCli, dockerImage, podmanImage);
const SHARED = `unshare-fs-cli-both-${process.pid}`;
/** Docker volumes the write and volume verbs' test fills, changes, copies and empties. */
const DVOLUME = `unshare-fs-cli-dvolume-${process.pid}`;
const DCOPY = `unshare-fs-cli-dcopy-${process.pid}`;
/** Two identical trees, a and b, of several owners, with links and a FIFO: one for us, one for coreutils. */
const TWIN_TREES =
  'for t in a b; do mkdir -p /data/$t/d/e && echo hi > /data/$t/d/e/f && echo x > /data/$t/top && ln -s /etc/passwd /data/$t/link && ' +
  'ln -s ../top /data/$t/d/rel && mkfifo /data/$t/fifo && chown -R 1000:1000 /data/$t/d && chown -h 2000:3000 /data/$t/top /data/$t/link && ' +
  'chmod 0700 /data/$t/d && chmod 0640 /data/$t/top; done';

gate.describe(`unshare-fs against Docker (${MODE}, uid ${UID})`, () => {
  const run = (args: string[]): ReturnType<typeof cli> => cli(args, dockerEnv());
  let merged: string;

  beforeAll(() => {
    ensureScenario();
    merged = inspectContainer(NAME).GraphDriver.Data.MergedDir!;
  });

  afterAll(() => {
    for (const v of [DVOLUME, DCOPY]) tryDk(['volume', 'rm', '-f', v]);
  });

  test('find --printf, ls -ln and du -s of a container equal the same tools on its merged dir', () => {
    const below = (lines: string[]): string[] => lines.filter((line) => !line.startsWith('|'));
    const ours = run(['find', `${NAME}:/`, '--printf', FORMAT]);
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    const theirs = sortedLines(inStorage(['find', merged, '-printf', FORMAT]), '\0');
    expect(theirs.length).toBeGreaterThan(250);
    expect(below(sortedLines(ours.stdout, '\0'))).toEqual(below(theirs));
    expect(run(['ls', '-ln', `${NAME}:/home/user`]).stdout.toString()).toBe(
      inStorage(['ls', '-ln', '--quoting-style=shell-escape', `${merged}/home/user`]).toString(),
    );
    expect(
      run(['du', '-s', `${NAME}:/`])
        .stdout.toString()
        .split('\t')[0],
    ).toBe(inStorage(['du', '-s', merged]).toString().split('\t')[0]);
    // storage: with --engine docker is Docker's namespace.
    const named = '%p|%U|%G\\0';
    expect(sortedLines(run(['--engine', 'docker', 'find', `storage:${merged}/data`, '--printf', named]).stdout, '\0')).toEqual(
      sortedLines(inStorage(['find', `${merged}/data`, '-printf', named]), '\0'),
    );
  });

  test('diff lists what docker diff lists, the stopped container too', () => {
    for (const container of [NAME, STOPPED]) {
      const theirs = dk(['diff', container]);
      const ours = run(['--engine', 'docker', 'diff', container]);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      expect(sortedLines(ours.stdout)).toEqual(sortedLines(theirs));
      expect(ours.stdout.toString().split('\n').length).toBe(theirs.split('\n').length);
    }
    expect(dk(['diff', NAME]).split('\n').length).toBeGreaterThan(3);
  });

  test("export's tar holds docker export's entries, the stopped container too", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-dexport-'));
    try {
      for (const container of [NAME, STOPPED]) {
        const tar = path.join(dir, `${container}.tar`);
        dk(['export', '-o', tar, container]);
        const theirs = await tarEntries(fs.createReadStream(tar));
        expect(theirs.size).toBeGreaterThan(100);
        const ours = run(['--engine', 'docker', 'export', container]);
        expect(ours.stderr).toBe('');
        expect(ours.status).toBe(0);
        expect(await tarEntries(Readable.from([ours.stdout]))).toEqual(theirs);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a Docker volume: chown -R, chmod -R and rm -r equal the same tools in its namespace; volume ls, export, import and rm', () => {
    dk(['volume', 'create', DVOLUME]);
    dk(['run', '--rm', '--network', 'none', '-v', `${DVOLUME}:/data`, DOCKER_IMAGE, 'sh', '-c', TWIN_TREES]);
    const mountPoint = dk(['volume', 'inspect', '--format', '{{.Mountpoint}}', DVOLUME]).trim();
    const tree = (dir: string): string[] => sortedLines(inStorage(['find', dir, '-mindepth', '1', '-printf', '%U %G %m %y %s %P %l\n']));
    expect(tree(`${mountPoint}/a`)).toEqual(tree(`${mountPoint}/b`));
    for (const [verb, ...args] of [
      ['chown', '-R', '1234:5678'],
      ['chmod', '-R', 'u+rwX,g-w,o='],
    ] as const) {
      const ours = run(['--engine', 'docker', verb, ...args, `volume:${DVOLUME}:/a`]);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      inStorage([verb, ...args, `${mountPoint}/b`]);
      expect(tree(`${mountPoint}/a`)).toEqual(tree(`${mountPoint}/b`));
    }
    expect(tree(`${mountPoint}/a`).filter((l) => /^1234 5678 700 d \d+ d $/.test(l))).toHaveLength(1);

    const rows = run(['--engine', 'docker', 'volume', 'ls', '--json'])
      .stdout.toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { engine: string; name: string; driver: string | null });
    expect(sortedLines(rows.map((r) => `${r.engine} ${r.name} ${r.driver}`).join('\n'))).toEqual(
      sortedLines(dk(['volume', 'ls', '--format', 'docker {{.Name}} {{.Driver}}'])),
    );

    // Exported, then imported into another volume: the same files, owners and modes.
    const tar = run(['--engine', 'docker', 'volume', 'export', DVOLUME]);
    expect(tar.stderr).toBe('');
    expect(tar.status).toBe(0);
    dk(['volume', 'create', DCOPY]);
    const imported = spawnSync(process.execPath, [BIN, '--engine', 'docker', 'volume', 'import', DCOPY], {
      env: dockerEnv(),
      input: tar.stdout,
    });
    expect(imported.stderr.toString()).toBe('');
    expect(imported.status).toBe(0);
    const copy = dk(['volume', 'inspect', '--format', '{{.Mountpoint}}', DCOPY]).trim();
    expect(tree(copy)).toEqual(tree(mountPoint));
    expect(tree(copy).length).toBe(16);

    const removed = run(['--engine', 'docker', 'rm', '-r', `volume:${DVOLUME}:/a`]);
    expect(removed.stderr).toBe('');
    expect(removed.status).toBe(0);
    inStorage(['rm', '-r', `${mountPoint}/b`]);
    expect(tree(mountPoint)).toEqual([]);
    const emptied = run(['--engine', 'docker', 'volume', 'rm', DCOPY]);
    expect(emptied.stderr).toBe('');
    expect(emptied.status).toBe(0);
    expect(tree(copy)).toEqual([]);
    dk(['volume', 'rm', DCOPY]);
  });

  test('cat equals docker exec cat; ps equals docker inspect, the stopped container included', () => {
    const file = '/home/user/private/secret.txt';
    expect(run(['cat', `${NAME}:${file}`]).stdout.toString()).toBe(dk(['exec', NAME, 'cat', file]));
    const rows = run(['--engine', 'docker', 'ps', '--json'])
      .stdout.toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.every((r) => r.engine === 'docker')).toBe(true);
    const running = inspectContainer(NAME);
    const driver = dk(['inspect', '--format', '{{.GraphDriver.Name}}', NAME]).trim();
    expect(rows).toContainEqual({
      engine: 'docker',
      name: NAME,
      id: running.Id,
      state: 'running',
      pid: running.State.Pid,
      driver,
      mergedDir: running.GraphDriver.Data.MergedDir,
    });
    const stopped = inspectContainer(STOPPED);
    expect(stopped.State.Running).toBe(false);
    expect(rows).toContainEqual(expect.objectContaining({ name: STOPPED, id: stopped.Id, state: 'stopped', pid: null }));
  });
});

bothGate.describe(`unshare-fs with a name both engines have (${MODE})`, () => {
  afterAll(() => {
    tryPod(['rm', '-f', '-t', '0', SHARED]);
    tryDk(['rm', '-f', SHARED]);
    tryPod(['volume', 'rm', '-f', SHARED]);
    tryDk(['volume', 'rm', '-f', SHARED]);
  });

  test("a usage error (exit 2) says to choose with --engine; with it, each engine's container is read", () => {
    pod(['create', '--network', 'none', '--name', SHARED, PODMAN_IMAGE, 'true']);
    dk(['create', '--network', 'none', '--name', SHARED, DOCKER_IMAGE, 'true']);
    // Both engines' variables: podman's XDG_RUNTIME_DIR is Docker's too.
    const env = { ...podmanEnv(), ...dockerEnv() };
    const either = cli(['ls', `${SHARED}:/`], env);
    expect(either.stderr).toBe(
      `unshare-fs: '${SHARED}' names a container of podman and of docker: say which with --engine podman|docker\nTry 'unshare-fs --help' for more information.\n`,
    );
    expect(either.status).toBe(2);
    for (const engine of ['podman', 'docker']) {
      const one = cli(['--engine', engine, 'find', `${SHARED}:/etc`, '--maxdepth', '1', '--json'], env);
      expect(one.stderr).toBe('');
      expect(one.status).toBe(0);
      expect(one.stdout.toString()).toContain('"path":"/etc/passwd"');
    }
  });

  test("a volume both engines have: exit 2 without --engine; with it, each engine's volume is read", () => {
    const env = { ...podmanEnv(), ...dockerEnv() };
    pod(['volume', 'create', SHARED]);
    dk(['volume', 'create', SHARED]);
    pod(['run', '--rm', '--network', 'none', '-v', `${SHARED}:/data`, PODMAN_IMAGE, 'sh', '-c', 'echo p > /data/podman']);
    dk(['run', '--rm', '--network', 'none', '-v', `${SHARED}:/data`, DOCKER_IMAGE, 'sh', '-c', 'echo d > /data/docker']);
    const either = cli(['ls', `volume:${SHARED}:/`], env);
    expect(either.stderr).toBe(
      `unshare-fs: '${SHARED}' names a volume of podman and of docker: say which with --engine podman|docker\nTry 'unshare-fs --help' for more information.\n`,
    );
    expect(either.status).toBe(2);
    expect(cli(['--engine', 'podman', 'ls', `volume:${SHARED}:/`], env).stdout.toString()).toBe('podman\n');
    expect(cli(['--engine', 'docker', 'ls', `volume:${SHARED}:/`], env).stdout.toString()).toBe('docker\n');
  });
});

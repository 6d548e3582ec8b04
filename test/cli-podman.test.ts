// The command line against real podman (rootless as an ordinary user,
// rootful as root), held to podman's own view: `podman unshare ls -ln`,
// `find -printf` and `du` of the container's merged dir (plain tools
// rootful), `podman exec cat`, `podman inspect`, `podman mount` of a
// container that never ran, the kernel's uid_map for the host's ids,
// `podman diff` and `podman export`; the write verbs against `podman
// unshare rm/chown/chmod` of a twin tree, the volume verbs against `podman
// volume ls/inspect/export/import`.  Uses the seed scenario
// (scripts/podman-scenario.sh: contenedor1, started here when it is not
// running), and created containers and volumes it removes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import { BIN, cli, builtCli, sortedLines, tool } from './helpers/cli';
import { ensureScenario, graphDriverData, IMAGE, pod, podmanEnv, podmanImage, ROOTFUL, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { tarEntries } from './helpers/tar-list';

const MODE = ROOTFUL ? 'rootful' : 'rootless';
const NAME = 'contenedor1';
const CREATED = `unshare-fs-cli-created-${process.pid}`;
const VOLUME = `unshare-fs-cli-volume-${process.pid}`;
/** Volumes the write verbs' tests fill, change and empty. */
const WRITE_VOLUME = `unshare-fs-cli-write-${process.pid}`;
const USED_VOLUME = `unshare-fs-cli-used-${process.pid}`;
const EMPTIED_VOLUME = `unshare-fs-cli-emptied-${process.pid}`;
const COMPLETED_VOLUME = `unshare-fs-cli-completed-${process.pid}`;
const OURS_VOLUME = `unshare-fs-cli-ours-${process.pid}`;
const THEIRS_VOLUME = `unshare-fs-cli-theirs-${process.pid}`;
const USER_OF_VOLUME = `unshare-fs-cli-user-${process.pid}`;
/** Two identical trees, a and b, of several owners, with links and a FIFO: one for us, one for coreutils. */
const TWIN_TREES =
  'for t in a b; do mkdir -p /data/$t/d/e && echo hi > /data/$t/d/e/f && echo x > /data/$t/top && ln -s /etc/passwd /data/$t/link && ' +
  'ln -s ../top /data/$t/d/rel && mkfifo /data/$t/fifo && chown -R 1000:1000 /data/$t/d && chown -h 2000:3000 /data/$t/top /data/$t/link && ' +
  'chmod 0700 /data/$t/d && chmod 0640 /data/$t/top; done';
const FORMAT = '%P|%y|%m|%U|%G|%s|%n|%i|%l|%T@\\0';

/** A command as podman's namespaces see it: through `podman unshare` rootless, as it is rootful. */
function inStorage(argv: string[]): Buffer {
  return tool(ROOTFUL ? argv : ['podman', 'unshare', ...argv], podmanEnv());
}

/** The id the host sees for `id`, by the namespace's uid_map as the kernel gives it. */
function hostId(id: number, map: string): number {
  for (const line of map.trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number) as [number, number, number];
    if (id >= inside && id < inside + count) return outside + (id - inside);
  }
  throw new Error(`${id} is not mapped by ${map}`);
}

const gate = requires(builtCli, podmanImage);

gate.describe(`unshare-fs against podman (${MODE}, uid ${UID})`, () => {
  const env = podmanEnv();
  const run = (args: string[]): ReturnType<typeof cli> => cli(args, env);
  let merged: string;

  beforeAll(() => {
    ensureScenario();
    merged = graphDriverData(NAME).MergedDir!;
  });

  afterAll(() => {
    tryPod(['rm', '-f', '-t', '0', CREATED]);
    tryPod(['rm', '-f', '-t', '0', USER_OF_VOLUME]);
    for (const v of [VOLUME, WRITE_VOLUME, USED_VOLUME, EMPTIED_VOLUME, COMPLETED_VOLUME, OURS_VOLUME, THEIRS_VOLUME])
      tryPod(['volume', 'rm', '-f', v]);
  });

  test('ls -ln of a container path and of its storage path equal podman unshare ls -ln', () => {
    for (const [args, dir] of [
      [['ls', '-ln', `${NAME}:/home/user`], `${merged}/home/user`],
      [['ls', '-lan', `${NAME}:/data`], `${merged}/data`],
      [['ls', '-ln', `storage:${merged}/data/tree`], `${merged}/data/tree`],
      [['ls', `${NAME}:/data`], `${merged}/data`],
    ] as const) {
      const ours = run([...args]);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      const flags = args.length === 3 ? [args[1]] : ['-1'];
      expect(ours.stdout.toString()).toBe(inStorage(['ls', ...flags, '--quoting-style=shell-escape', dir]).toString());
    }
  });

  test("ls -l names owners from the container's own /etc/passwd and /etc/group; --host-ids by the kernel's uid_map", () => {
    const passwd = pod(['exec', NAME, 'cat', '/etc/passwd']);
    const user = passwd
      .split('\n')
      .find((line) => line.split(':')[2] === '1000')
      ?.split(':')[0];
    expect(user).toBeDefined();
    const line = run(['ls', '-l', `${NAME}:/home/user`])
      .stdout.toString()
      .split('\n')
      .find((l) => l.endsWith(' private'));
    expect(line?.split(/\s+/)[2]).toBe(user);
    const rows = run(['ls', '--json', '--host-ids', `${NAME}:/home/user`])
      .stdout.toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; uid: number; user?: string; hostUid: number; hostGid: number });
    const priv = rows.find((r) => r.name === 'private')!;
    const uidMap = ROOTFUL ? '0 0 4294967295' : pod(['unshare', 'cat', '/proc/self/uid_map']);
    expect(priv).toMatchObject({ uid: 1000, user, hostUid: hostId(1000, uidMap) });
  });

  test('find --printf over the whole container equals podman unshare find -printf, entry by entry', () => {
    const ours = run(['find', `${NAME}:/`, '--printf', FORMAT]);
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    // The start point's own line: its times change with every exec into the container.
    const below = (lines: string[]): string[] => lines.filter((line) => !line.startsWith('|'));
    const theirs = sortedLines(inStorage(['find', merged, '-printf', FORMAT]), '\0');
    expect(theirs.length).toBeGreaterThan(250);
    expect(below(sortedLines(ours.stdout, '\0'))).toEqual(below(theirs));
    expect(sortedLines(ours.stdout, '\0').length).toBe(theirs.length);
    // Through storage:, %p and the names of %u/%g are the namespace's (its /etc/passwd is the host's).
    const named = '%p|%u|%g\\0';
    expect(sortedLines(run(['find', `storage:${merged}/data`, '--printf', named]).stdout, '\0')).toEqual(
      sortedLines(inStorage(['find', `${merged}/data`, '-printf', named]), '\0'),
    );
  });

  test('du and du -s equal podman unshare du', () => {
    expect(sortedLines(run(['du', `storage:${merged}`]).stdout)).toEqual(sortedLines(inStorage(['du', merged])));
    const ours = run(['du', '-s', `${NAME}:/`])
      .stdout.toString()
      .split('\t')[0];
    expect(ours).toBe(inStorage(['du', '-s', merged]).toString().split('\t')[0]);
  });

  test('cat of a 0700 directory of uid 1000 equals podman exec cat', () => {
    const file = '/home/user/private/secret.txt';
    const ours = run(['cat', `${NAME}:${file}`]);
    expect(ours.status).toBe(0);
    expect(ours.stdout.toString()).toBe(pod(['exec', NAME, 'cat', file]));
  });

  test('errors name the target as written; exit 1', () => {
    const missing = run(['find', `${NAME}:/nope`]);
    expect(missing.stderr).toBe(`unshare-fs: ENOENT: no such file or directory, lstat '${NAME}:/nope'\n`);
    expect(missing.status).toBe(1);
    const noContainer = run(['ls', 'no-such-container-here:/']);
    expect(noContainer.stderr).toBe('unshare-fs: no such container: no-such-container-here\n');
    expect(noContainer.status).toBe(1);
  });

  test('a volume a container filled: ls -ln and find --printf equal podman unshare ls/find of its mount point', () => {
    pod(['volume', 'create', VOLUME]);
    pod([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${VOLUME}:/data`,
      IMAGE,
      'sh',
      '-c',
      'mkdir -p /data/d/e && echo hi > /data/d/e/f && chown -R 1000:1000 /data/d && ln -s /etc/passwd /data/link && mkfifo /data/fifo && chmod 0700 /data/d',
    ]);
    const mountPoint = pod(['volume', 'inspect', '--format', '{{.Mountpoint}}', VOLUME]).trim();
    for (const [args, dir] of [
      [['ls', '-ln', `volume:${VOLUME}:/`], mountPoint],
      [['ls', '-ln', `volume:${VOLUME}:/d/e`], `${mountPoint}/d/e`],
    ] as const) {
      const ours = run([...args]);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      expect(ours.stdout.toString()).toBe(inStorage(['ls', '-ln', '--quoting-style=shell-escape', dir]).toString());
    }
    const ours = run(['find', `volume:${VOLUME}:/`, '--printf', FORMAT]);
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    const theirs = sortedLines(inStorage(['find', mountPoint, '-printf', FORMAT]), '\0');
    expect(theirs.length).toBe(6);
    expect(sortedLines(ours.stdout, '\0')).toEqual(theirs);
    // The volume's files are its own: an absolute symlink is not followed out of it.
    const escaped = run(['cat', `volume:${VOLUME}:/link`]);
    expect(escaped.stderr).toBe(`unshare-fs: ENOENT: no such file or directory, stat 'volume:${VOLUME}:/link'\n`);
    expect(escaped.status).toBe(1);
    const none = run(['ls', `volume:${VOLUME}-none:/`]);
    expect(none.stderr).toMatch(new RegExp(`^unshare-fs: no such volume: ${VOLUME}-none(;.*)?\n$`));
    expect(none.status).toBe(1);
  });

  test('diff equals podman diff, line for line (ours sorted by path); --json the same changes', () => {
    const theirs = pod(['diff', NAME]);
    expect(theirs.split('\n').length).toBeGreaterThan(3);
    const ours = run(['diff', NAME]);
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    const lines = ours.stdout.toString().split('\n').slice(0, -1);
    expect([...lines].sort()).toEqual(sortedLines(theirs));
    expect(lines.map((l) => l.slice(2))).toEqual(lines.map((l) => l.slice(2)).sort());
    const json = ours.stdout.length === 0 ? [] : run(['diff', '--json', NAME]).stdout.toString().trim().split('\n');
    const letters = { added: 'A', changed: 'C', deleted: 'D' } as Record<string, string>;
    expect(json.map((l) => JSON.parse(l) as { kind: string; path: string }).map((c) => `${letters[c.kind]} ${c.path}`)).toEqual(lines);
    const none = run(['diff', 'no-such-container-here']);
    expect(none.stderr).toBe('unshare-fs: no such container: no-such-container-here\n');
    expect(none.status).toBe(1);
  });

  test("export's tar, to stdout and with -o, holds podman export's entries; never to a terminal", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-export-'));
    try {
      pod(['export', '-o', path.join(dir, 'podman.tar'), NAME]);
      const theirs = await tarEntries(fs.createReadStream(path.join(dir, 'podman.tar')));
      expect(theirs.size).toBeGreaterThan(250);
      const piped = run(['export', NAME]);
      expect(piped.stderr).toBe('');
      expect(piped.status).toBe(0);
      expect(await tarEntries(Readable.from([piped.stdout]))).toEqual(theirs);

      const file = path.join(dir, 'ours.tar');
      const written = run(['export', '-o', file, NAME]);
      expect(written.stderr).toBe('');
      expect(written.status).toBe(0);
      expect(written.stdout.length).toBe(0);
      expect(await tarEntries(fs.createReadStream(file))).toEqual(theirs);
      // Complete or absent: no temporary file is left beside it, and a failed export writes nothing.
      expect(fs.readdirSync(dir).sort()).toEqual(['ours.tar', 'podman.tar']);
      const failed = run(['export', '-o', path.join(dir, 'never.tar'), 'no-such-container-here']);
      expect(failed.stderr).toBe('unshare-fs: no such container: no-such-container-here\n');
      expect(failed.status).toBe(1);
      expect(fs.readdirSync(dir).sort()).toEqual(['ours.tar', 'podman.tar']);

      // On a terminal (script(1) gives it one), as podman: refused, exit 2, nothing written.
      const tty = tool(['script', '-qec', `${process.execPath} ${BIN} export ${NAME}; echo "status=$?"`, '/dev/null'], env).toString();
      expect(tty).toMatch(/^unshare-fs: refusing to write a tar to a terminal[^\n]*\r?\nTry[^\n]*\r?\nstatus=2\r?\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ps lists what podman inspect says; a created container is read from its layers, as podman mount shows them', () => {
    pod(['create', '--network', 'none', '--name', CREATED, IMAGE, 'true']);
    const rows = run(['ps', '--json'])
      .stdout.toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const [id, pid, driver, mergedDir] = pod([
      'inspect',
      '--format',
      '{{.Id}}|{{.State.Pid}}|{{.GraphDriver.Name}}|{{.GraphDriver.Data.MergedDir}}',
      NAME,
    ])
      .trim()
      .split('|');
    expect(rows).toContainEqual({ engine: 'podman', name: NAME, id, state: 'running', pid: Number(pid), driver, mergedDir });
    const createdId = pod(['inspect', '--format', '{{.Id}}', CREATED]).trim();
    expect(rows).toContainEqual(expect.objectContaining({ engine: 'podman', name: CREATED, id: createdId, state: 'stopped', pid: null }));
    const table = run(['ps']).stdout.toString();
    expect(table).toMatch(new RegExp(`^podman +${NAME} +${id!.slice(0, 12)} +running +${pid} +${driver} +${mergedDir}$`, 'm'));

    const format = '%P|%y|%m|%U|%G|%s|%l\\0';
    const ours = run(['find', `${CREATED}:/etc`, '--printf', format]);
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    const script = `m=$(podman mount ${CREATED}) && find "$m/etc" -printf '${format}'; s=$?; podman umount ${CREATED} >/dev/null; exit $s`;
    const theirs = inStorage(['sh', '-c', script]);
    expect(sortedLines(ours.stdout, '\0')).toEqual(sortedLines(theirs, '\0'));
    expect(sortedLines(theirs, '\0').length).toBeGreaterThan(5);
  });

  test('rm -r, chown -R and chmod -R in a volume a container filled equal podman unshare rm, chown and chmod of a twin tree', () => {
    pod(['volume', 'create', WRITE_VOLUME]);
    pod(['run', '--rm', '--network', 'none', '-v', `${WRITE_VOLUME}:/data`, IMAGE, 'sh', '-c', TWIN_TREES]);
    const mountPoint = pod(['volume', 'inspect', '--format', '{{.Mountpoint}}', WRITE_VOLUME]).trim();
    const tree = (t: string): string[] => sortedLines(inStorage(['find', `${mountPoint}/${t}`, '-printf', '%U %G %m %y %P\\n']));
    expect(tree('a')).toEqual(tree('b'));
    expect(tree('a')).toContain('1000 1000 700 d d');
    const both = (ours: string[], theirs: string[]): void => {
      const run = cli(ours, env);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      inStorage(theirs);
      if (theirs[0] !== 'rm') expect(tree('a')).toEqual(tree('b'));
    };
    both(['chown', '-R', '1234:5678', `volume:${WRITE_VOLUME}:/a/d`], ['chown', '-R', '1234:5678', `${mountPoint}/b/d`]);
    expect(tree('a')).toContain('1234 5678 700 d d');
    both(['chown', ':4242', `volume:${WRITE_VOLUME}:/a/top`], ['chown', ':4242', `${mountPoint}/b/top`]);
    both(['chmod', '-R', 'u+rwX,g-w,o=', `volume:${WRITE_VOLUME}:/a`], ['chmod', '-R', 'u+rwX,g-w,o=', `${mountPoint}/b`]);
    both(['chmod', '2751', `volume:${WRITE_VOLUME}:/a/d`], ['chmod', '2751', `${mountPoint}/b/d`]);
    // Files of subordinate ids: removed as the container would remove them.
    both(['rm', '-r', `volume:${WRITE_VOLUME}:/a`], ['rm', '-r', `${mountPoint}/b`]);
    expect(inStorage(['ls', '-A', mountPoint]).toString()).toBe('');
    // A target's '/' is refused, as rm's --preserve-root.
    pod(['run', '--rm', '--network', 'none', '-v', `${WRITE_VOLUME}:/data`, IMAGE, 'sh', '-c', 'touch /data/kept']);
    const root = cli(['rm', '-rf', `volume:${WRITE_VOLUME}:/`], env);
    expect(root.status).toBe(1);
    expect(root.stderr).toMatch(/^unshare-fs: it is dangerous to operate recursively on 'volume:[^']*:\/' \(same as '\/'\)/);
    expect(inStorage(['ls', '-A', mountPoint]).toString()).toBe('kept\n');
  });

  test("chown takes names from the container's own /etc/passwd and /etc/group, as chown run in it does", () => {
    pod(['exec', NAME, 'sh', '-c', 'rm -rf /tmp/cli-chown && mkdir -p /tmp/cli-chown/ours/x /tmp/cli-chown/theirs/x']);
    const line = pod(['exec', NAME, 'cat', '/etc/passwd'])
      .split('\n')
      .find((l) => l.split(':')[2] === '1000')!;
    const user = line.split(':')[0]!;
    const run = cli(['chown', '-R', `${user}:`, `${NAME}:/tmp/cli-chown/ours`], env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    pod(['exec', NAME, 'chown', '-R', `${user}:`, '/tmp/cli-chown/theirs']);
    const owners = (dir: string): string =>
      pod(['exec', NAME, 'sh', '-c', `cd /tmp/cli-chown/${dir} && find . -exec stat -c '%u %g %U %n' {} +`]);
    expect(owners('ours')).toBe(owners('theirs'));
    expect(owners('ours')).toContain(`1000 ${line.split(':')[3]} ${user} ./x`);
    const unknown = cli(['chown', 'no-such-user-here', `${NAME}:/tmp/cli-chown/ours`], env);
    expect(unknown.stderr).toBe(`unshare-fs: invalid user: 'no-such-user-here' (not in ${NAME}:/etc/passwd)\n`);
    expect(unknown.status).toBe(1);
    pod(['exec', NAME, 'rm', '-rf', '/tmp/cli-chown']);
  });

  test('volume ls, inspect, export and import agree with podman volume ls, inspect, export and import', async () => {
    pod(['volume', 'create', USED_VOLUME]);
    pod(['run', '--rm', '--network', 'none', '-v', `${USED_VOLUME}:/data`, IMAGE, 'sh', '-c', TWIN_TREES]);
    const ls = cli(['volume', 'ls', '--json'], env);
    expect(ls.stderr).toBe('');
    expect(ls.status).toBe(0);
    const rows = ls.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { engine: string; name: string; driver: string | null; mountPoint: string });
    const theirs = sortedLines(pod(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}']));
    expect(
      sortedLines(
        rows
          .filter((r) => r.engine === 'podman')
          .map((r) => `${r.name} ${r.driver}`)
          .join('\n'),
      ),
    ).toEqual(theirs);
    expect(cli(['volume', 'ls'], env).stdout.toString()).toMatch(new RegExp(`^podman +local +${USED_VOLUME}$`, 'm'));
    const [inspected] = JSON.parse(cli(['volume', 'inspect', USED_VOLUME], env).stdout.toString()) as {
      name: string;
      mountPoint: string;
    }[];
    const mountPoint = pod(['volume', 'inspect', '--format', '{{.Mountpoint}}', USED_VOLUME]).trim();
    expect(inspected).toMatchObject({ engine: 'podman', name: USED_VOLUME, driver: 'local', mountPoint });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-volume-'));
    try {
      const podmanTar = path.join(dir, 'podman.tar');
      pod(['volume', 'export', '-o', podmanTar, USED_VOLUME]);
      const entries = await tarEntries(fs.createReadStream(podmanTar));
      expect(entries.size).toBeGreaterThan(15);
      const piped = cli(['volume', 'export', USED_VOLUME], env);
      expect(piped.stderr).toBe('');
      expect(piped.status).toBe(0);
      expect(await tarEntries(Readable.from([piped.stdout]))).toEqual(entries);
      const file = path.join(dir, 'ours.tar');
      expect(cli(['volume', 'export', '-o', file, USED_VOLUME], env).status).toBe(0);
      expect(await tarEntries(fs.createReadStream(file))).toEqual(entries);

      // The same tar imported by us and by podman: the same files, owners and modes.
      pod(['volume', 'create', OURS_VOLUME]);
      pod(['volume', 'create', THEIRS_VOLUME]);
      const imported = cli(['volume', 'import', '-i', podmanTar, OURS_VOLUME], env);
      expect(imported.stderr).toBe('');
      expect(imported.status).toBe(0);
      pod(['volume', 'import', THEIRS_VOLUME, podmanTar]);
      const files = (volume: string): string[] => {
        const at = pod(['volume', 'inspect', '--format', '{{.Mountpoint}}', volume]).trim();
        return sortedLines(inStorage(['find', at, '-mindepth', '1', '-printf', '%U %G %m %y %s %T@ %P %l\\n']));
      };
      expect(files(THEIRS_VOLUME).length).toBeGreaterThan(15);
      expect(files(OURS_VOLUME)).toEqual(files(THEIRS_VOLUME));
      // From stdin too, over what is there.
      const again = spawnSync(process.execPath, [BIN, 'volume', 'import', OURS_VOLUME], { env, input: fs.readFileSync(podmanTar) });
      expect(again.stderr.toString()).toBe('');
      expect(again.status).toBe(0);
      expect(files(OURS_VOLUME)).toEqual(files(THEIRS_VOLUME));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const none = cli(['volume', 'export', `${USED_VOLUME}-none`], env);
    expect(none.stderr).toMatch(new RegExp(`^unshare-fs: no such volume: ${USED_VOLUME}-none(;.*)?\n$`));
    expect(none.status).toBe(1);
  });

  test("volume rm empties a volume of subordinate ids' files, refused while a container uses it; podman volume rm then removes it", () => {
    pod(['volume', 'create', EMPTIED_VOLUME]);
    pod(['run', '--rm', '--network', 'none', '-v', `${EMPTIED_VOLUME}:/data`, IMAGE, 'sh', '-c', TWIN_TREES]);
    pod(['create', '--network', 'none', '--name', USER_OF_VOLUME, '-v', `${EMPTIED_VOLUME}:/data`, IMAGE, 'true']);
    const mountPoint = pod(['volume', 'inspect', '--format', '{{.Mountpoint}}', EMPTIED_VOLUME]).trim();
    const count = (): number => sortedLines(inStorage(['find', mountPoint, '-mindepth', '1'])).length;
    expect(count()).toBe(16);
    const id = pod(['inspect', '--format', '{{.Id}}', USER_OF_VOLUME]).trim();
    const refused = cli(['volume', 'rm', EMPTIED_VOLUME], env);
    expect(refused.stderr).toBe(
      `unshare-fs: volume ${EMPTIED_VOLUME} is being used by the following container(s): ${id.slice(0, 12)}: not emptied (--force empties it)\n`,
    );
    expect(refused.status).toBe(1);
    expect(count()).toBe(16);
    const forced = cli(['volume', 'rm', '-f', EMPTIED_VOLUME], env);
    expect(forced.stderr).toBe('');
    expect(forced.status).toBe(0);
    expect(count()).toBe(0);
    // The record is podman's and stays, empty, until podman removes it.
    expect(pod(['volume', 'inspect', '--format', '{{.Name}}', EMPTIED_VOLUME]).trim()).toBe(EMPTIED_VOLUME);
    pod(['rm', USER_OF_VOLUME]);
    pod(['volume', 'rm', EMPTIED_VOLUME]);
    expect(tryPod(['volume', 'inspect', EMPTIED_VOLUME]).ok).toBe(false);
  });

  test('the bash completion script completes container and volume names, as ps --json and volume ls --json give them', () => {
    pod(['volume', 'create', COMPLETED_VOLUME]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-completion-'));
    try {
      const file = path.join(dir, 'completion.bash');
      fs.writeFileSync(file, cli(['completion', 'bash'], env).stdout);
      const complete = (...words: string[]): string[] => {
        const r = spawnSync(
          'bash',
          [
            '-c',
            `source '${file}'; unshare-fs() { '${process.execPath}' '${BIN}' "$@"; }; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _unshare_fs; printf '%s\\n' "\${COMPREPLY[@]}"`,
          ],
          { env, encoding: 'utf8' },
        );
        expect(r.stderr).toBe('');
        return r.stdout.split('\n').filter(Boolean).sort();
      };
      expect(complete('unshare-fs', 'ls', NAME.slice(0, -1))).toContain(`${NAME}:`);
      expect(complete('unshare-fs', 'diff', NAME.slice(0, -1))).toContain(NAME);
      expect(complete('unshare-fs', 'volume', 'rm', COMPLETED_VOLUME.slice(0, -2))).toEqual([COMPLETED_VOLUME]);
      expect(complete('unshare-fs', 'ls', `volume:${COMPLETED_VOLUME.slice(0, -2)}`)).toEqual([`volume:${COMPLETED_VOLUME}:`]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The command line's write verbs on host paths, end to end (the built bin
// in a process of its own), held to GNU coreutils on twin trees: chmod's
// octal and symbolic modes (umask included; the mode arithmetic against
// GNU chmod over a grid, in this process) and chmod -R, rm's rules and
// exit statuses, chown (names from /etc/passwd; -R and -h as root), the
// bash completion script run by bash, and each new verb's help.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { applyMode, parseMode } from '../lib/cli/mode';
import { BIN, builtCli, cli, tool } from './helpers/cli';
import { requires } from './helpers/requirements';

const gate = requires(builtCli);

/** A GNU tool's exit status (it may fail: that is what is compared). */
function gnuStatus(argv: string[]): number | null {
  return spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, LC_ALL: 'C.UTF-8' } }).status;
}

/** `find -printf` of a tree, sorted: what the comparisons read. */
function listing(dir: string, format: string): string[] {
  return tool(['find', dir, '-printf', format]).toString().split('\n').filter(Boolean).sort();
}

/** Files and directories in the modes a chmod meets: set-id bits, none, all. */
const ITEMS: [string, 'file' | 'dir', number][] = [
  ['f644', 'file', 0o644],
  ['f755', 'file', 0o755],
  ['f600', 'file', 0o600],
  ['f000', 'file', 0o000],
  ['f751', 'file', 0o751],
  ['f4755', 'file', 0o4755],
  ['d755', 'dir', 0o755],
  ['d700', 'dir', 0o700],
  ['d2755', 'dir', 0o2755],
  ['d1777', 'dir', 0o1777],
];

/** Makes ITEMS in `dir` (modes set after creation: the umask does not touch them). */
function makeItems(dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return ITEMS.map(([name, kind, mode]) => {
    const file = path.join(dir, name);
    if (kind === 'dir') fs.mkdirSync(file);
    else fs.writeFileSync(file, 'x');
    fs.chmodSync(file, mode);
    return file;
  });
}

const modeOf = (file: string): string => (fs.lstatSync(file).mode & 0o7777).toString(8);

gate.describe('unshare-fs rm, chown, chmod and completion on host paths', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-write-'));
  });

  afterAll(() => {
    if (dir) {
      // A 0000 directory a test left: readable again, then removed.
      spawnSync('chmod', ['-R', 'u+rwx', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("parseMode and applyMode give each file GNU chmod's mode: 34 modes, 10 files, two umasks", () => {
    // The modes GNU chmod gives, read back after one shell ran all of them.
    const MODES = [
      '755',
      '0644',
      '4755',
      '2755',
      '1777',
      '00755',
      '0',
      'u+x',
      'g-w',
      'o=r',
      'a+X',
      'u+rwX,go-w',
      '+x',
      '-w',
      '=r',
      '+X',
      'g=u',
      'go=u-w',
      'o+t',
      'u+s,g+s',
      'ug=rw,o=',
      'a-x+X',
      'u=rwx,g=rx,o=',
      'g-s',
      '=',
      '+',
      'a+',
      '-x',
      '-rw',
      'u=g',
      'o=u,g+o',
      '=rwxs',
      'ugo-s',
      'a=,u+t',
    ];
    for (const umask of [0o022, 0o077]) {
      const root = path.join(dir, `modes-${umask.toString(8)}`);
      const sets = MODES.map((_, i) => makeItems(path.join(root, String(i))));
      const script = MODES.map((mode, i) => `chmod -- '${mode}' ${sets[i]!.join(' ')}`).join('; ');
      tool(['sh', '-c', `umask ${umask.toString(8)}; ${script}`]);
      MODES.forEach((mode, i) => {
        const compiled = parseMode(mode);
        const ours = ITEMS.map(([, kind, old]) => applyMode(compiled, old, kind === 'dir', umask).toString(8));
        expect({ mode, umask, modes: ours }).toEqual({ mode, umask, modes: sets[i]!.map(modeOf) });
      });
    }
  });

  test("chmod MODE as a command gives GNU chmod's modes and status; '-w' tells a umask's surprise as GNU does", () => {
    let i = 0;
    for (const mode of ['2755', 'u+rwX,go-w', 'g=u', '-w']) {
      const ours = makeItems(path.join(dir, `chmod-${i}`, 'ours'));
      const gnu = makeItems(path.join(dir, `chmod-${i++}`, 'gnu'));
      // The same umask for both, and MODE as an option where it is one.
      const umask022 = (argv: string[]): ReturnType<typeof spawnSync> =>
        spawnSync('sh', ['-c', 'umask 022; exec "$@"', 'sh', ...argv], { env: { ...process.env, LC_ALL: 'C.UTF-8' }, encoding: 'utf8' });
      const theirs = umask022(['chmod', mode, ...gnu]);
      const ran = umask022([process.execPath, BIN, 'chmod', mode, ...ours]);
      const run = { status: ran.status, stderr: String(ran.stderr) };
      expect({ mode, status: run.status }).toEqual({ mode, status: theirs.status });
      expect({ mode, modes: ours.map(modeOf) }).toEqual({ mode, modes: gnu.map(modeOf) });
      // GNU: "chmod: FILE: new permissions are r-xrwxrwt, not r-xr-xr-t".
      const told = (text: string, base: string): string[] =>
        [...text.matchAll(/: (\S+): (new permissions are .*)/g)].map((m) => `${path.relative(base, m[1]!)} ${m[2]}`);
      const expected = told(String(theirs.stderr), path.dirname(gnu[0]!));
      expect(told(run.stderr, path.dirname(ours[0]!))).toEqual(expected);
      expect(expected.length > 0).toBe(mode === '-w');
    }
  });

  test('chmod: an invalid mode is a usage error (2) before anything changes; a missing file costs 1, the others change', () => {
    const [file] = makeItems(path.join(dir, 'chmod-bad'));
    for (const mode of ['u+q', '8755', 'z=r', 'u', '77777', ',u+x', 'u+x,']) {
      expect(gnuStatus(['chmod', mode, file!])).not.toBe(0);
      const run = cli(['chmod', mode, file!]);
      expect({ mode, status: run.status, stderr: run.stderr }).toEqual({
        mode,
        status: 2,
        stderr: `unshare-fs: invalid mode: '${mode}'\nTry 'unshare-fs --help' for more information.\n`,
      });
      expect(modeOf(file!)).toBe('644');
    }
    const missing = path.join(dir, 'chmod-bad', 'nope');
    const run = cli(['chmod', '600', missing, file!]);
    expect(run.stderr).toBe(`unshare-fs: ENOENT: no such file or directory, stat '${missing}'\n`);
    expect(run.status).toBe(1);
    expect(modeOf(file!)).toBe('600');
  });

  test('chmod -R equals GNU chmod -R: symlinks inside are neither followed nor changed', () => {
    const make = (root: string): void => {
      fs.mkdirSync(path.join(root, 'tree', 'a', 'b'), { recursive: true });
      fs.mkdirSync(path.join(root, 'outside'));
      fs.writeFileSync(path.join(root, 'outside', 'file'), 'x');
      fs.chmodSync(path.join(root, 'outside', 'file'), 0o600);
      fs.writeFileSync(path.join(root, 'tree', 'a', 'exec'), 'x');
      fs.chmodSync(path.join(root, 'tree', 'a', 'exec'), 0o744);
      fs.writeFileSync(path.join(root, 'tree', 'a', 'b', 'plain'), 'x');
      fs.chmodSync(path.join(root, 'tree', 'a', 'b', 'plain'), 0o664);
      fs.symlinkSync('../../outside', path.join(root, 'tree', 'a', 'dirlink'));
      fs.symlinkSync('../../outside/file', path.join(root, 'tree', 'a', 'filelink'));
    };
    for (const mode of ['u+rwX,go-w,o+X', '700', 'a=rX']) {
      const root = path.join(dir, `chmod-R-${mode.replace(/\W/g, '_')}`);
      make(path.join(root, 'ours'));
      make(path.join(root, 'gnu'));
      expect(gnuStatus(['chmod', '-R', mode, path.join(root, 'gnu', 'tree')])).toBe(0);
      const run = cli(['chmod', '-R', mode, path.join(root, 'ours', 'tree')]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const theirs = listing(path.join(root, 'gnu'), '%m %y %P\n');
      expect(listing(path.join(root, 'ours'), '%m %y %P\n')).toEqual(theirs);
      expect(theirs).toContain('600 f outside/file');
    }
  });

  test("rm's rules and statuses equal GNU rm's, operand by operand", () => {
    const make = (root: string): void => {
      fs.mkdirSync(path.join(root, 'd', 'e'), { recursive: true });
      fs.writeFileSync(path.join(root, 'd', 'e', 'f'), 'x');
      fs.writeFileSync(path.join(root, 'f1'), 'x');
      fs.writeFileSync(path.join(root, 'f2'), 'x');
      fs.mkdirSync(path.join(root, 'outside'));
      fs.writeFileSync(path.join(root, 'outside', 'kept'), 'x');
      fs.symlinkSync('outside', path.join(root, 'link'));
      fs.mkdirSync(path.join(root, 'tree', 'x', 'y'), { recursive: true });
      fs.symlinkSync('../../outside', path.join(root, 'tree', 'x', 'out'));
      fs.writeFileSync(path.join(root, 'tree', 'x', 'y', 'z'), 'x');
    };
    const cases: [string[], number][] = [
      [['f1', 'd', 'f2'], 1], // a directory without -r: told, the files removed
      [['nope'], 1],
      [['-f', 'nope', 'f1'], 0],
      [['-f'], 0],
      [['-r', 'd/.'], 1],
      [['-r', 'd/..'], 1],
      [['link'], 0], // the link, not what it names
      [['-r', 'tree'], 0], // a link inside is removed, not followed
      [['-R', 'd'], 0],
      [['-rf', 'nope', 'd/e'], 0],
    ];
    let i = 0;
    for (const [args, expected] of cases) {
      const root = path.join(dir, `rm-${i++}`);
      make(path.join(root, 'ours'));
      make(path.join(root, 'gnu'));
      const operands = (base: string): string[] => args.map((a) => (a.startsWith('-') ? a : `${root}/${base}/${a}`));
      expect({ args, status: gnuStatus(['rm', ...operands('gnu')]) }).toEqual({ args, status: expected });
      const run = cli(['rm', ...operands('ours')]);
      expect({ args, status: run.status }).toEqual({ args, status: expected });
      expect(run.stderr === '').toBe(expected === 0);
      expect(listing(path.join(root, 'ours'), '%y %P\n')).toEqual(listing(path.join(root, 'gnu'), '%y %P\n'));
    }
    // No operand: a usage error (GNU rm says so with 1; ours is the CLI's 2).
    expect(gnuStatus(['rm'])).toBe(1);
    expect(cli(['rm']).status).toBe(2);
  });

  if (process.geteuid!() !== 0) {
    test('rm -r goes on past what it cannot remove, as GNU rm: exit 1, the same entries left', () => {
      const make = (root: string): void => {
        fs.mkdirSync(path.join(root, 'tree', 'locked'), { recursive: true });
        fs.mkdirSync(path.join(root, 'tree', 'open'));
        fs.writeFileSync(path.join(root, 'tree', 'locked', 'stays'), 'x');
        fs.writeFileSync(path.join(root, 'tree', 'open', 'goes'), 'x');
        fs.chmodSync(path.join(root, 'tree', 'locked'), 0o555);
      };
      const root = path.join(dir, 'rm-partial');
      make(path.join(root, 'ours'));
      make(path.join(root, 'gnu'));
      expect(gnuStatus(['rm', '-r', path.join(root, 'gnu', 'tree')])).toBe(1);
      const run = cli(['rm', '-r', path.join(root, 'ours', 'tree')]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^unshare-fs: EACCES: permission denied, [a-z]+ '[^']*\/ours\/tree\/locked\/stays'\n/);
      expect(listing(path.join(root, 'ours'), '%y %P\n')).toEqual(listing(path.join(root, 'gnu'), '%y %P\n'));
      expect(listing(path.join(root, 'ours'), '%y %P\n')).toContain('f tree/locked/stays');
    });
  }

  test("chown USER: takes the user's id and login group from /etc/passwd; an unknown name costs 1", () => {
    const file = path.join(dir, 'chown-name');
    fs.writeFileSync(file, 'x');
    const me = os.userInfo();
    const run = cli(['chown', `${me.username}:`, file]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const gid = Number(tool(['id', '-g', me.username]).toString());
    expect(tool(['stat', '-c', '%u %g', file]).toString()).toBe(`${me.uid} ${gid}\n`);
    const unknown = cli(['chown', 'no-such-user-here', file]);
    expect(unknown.stderr).toBe("unshare-fs: invalid user: 'no-such-user-here' (not in /etc/passwd)\n");
    expect(unknown.status).toBe(1);
    expect(gnuStatus(['chown', 'no-such-user-here', file])).toBe(1);
    expect(cli(['chown', '', file]).status).toBe(2);
  });

  if (process.geteuid!() === 0) {
    test('chown -R, chown and chown -h equal GNU chown on twin trees (as root)', () => {
      const make = (root: string): void => {
        fs.mkdirSync(path.join(root, 'tree', 'a'), { recursive: true });
        fs.mkdirSync(path.join(root, 'outside'));
        fs.writeFileSync(path.join(root, 'outside', 'file'), 'x');
        fs.writeFileSync(path.join(root, 'tree', 'a', 'file'), 'x');
        fs.symlinkSync('../../outside', path.join(root, 'tree', 'a', 'dirlink'));
        fs.symlinkSync('outside/file', path.join(root, 'filelink'));
        fs.symlinkSync('outside', path.join(root, 'toplink'));
      };
      const cases: string[][] = [
        ['-R', '1234:5678', 'tree'],
        ['-R', '4321', 'toplink'], // -R -P: the link itself
        ['root:', 'tree/a/file'], // root's login group
        ['3333:4444', 'filelink'], // followed
        ['-h', '5555:6666', 'filelink'], // not followed
        [':7777', 'tree/a'],
        ['+0:+0', 'tree'],
      ];
      let i = 0;
      for (const args of cases) {
        const root = path.join(dir, `chown-${i++}`);
        make(path.join(root, 'ours'));
        make(path.join(root, 'gnu'));
        fs.lchownSync(path.join(root, 'gnu', 'tree', 'a', 'file'), 1, 1);
        fs.lchownSync(path.join(root, 'ours', 'tree', 'a', 'file'), 1, 1);
        const last = args.length - 1;
        const withRoot = (base: string): string[] => args.map((a, j) => (j === last ? path.join(root, base, a) : a));
        expect({ args, status: gnuStatus(['chown', ...withRoot('gnu')]) }).toEqual({ args, status: 0 });
        const run = cli(['chown', ...withRoot('ours')]);
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        expect(listing(path.join(root, 'ours'), '%U %G %y %P\n')).toEqual(listing(path.join(root, 'gnu'), '%U %G %y %P\n'));
      }
    });
  }

  test('the bash completion script completes verbs, options, subcommands, option values and files, as bash runs it', () => {
    const script = cli(['completion', 'bash']);
    expect(script.status).toBe(0);
    const file = path.join(dir, 'completion.bash');
    fs.writeFileSync(file, script.stdout);
    fs.writeFileSync(path.join(dir, 'completion-target'), '');
    // `unshare-fs` as the script calls it: the built bin.
    const complete = (words: string[], line?: string): string => {
      const set = line === undefined ? `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}` : '';
      const lineVars = line === undefined ? '' : `COMP_LINE='${line}'; COMP_POINT=${line.length}; COMP_WORDS=(x); COMP_CWORD=0`;
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source '${file}'; unshare-fs() { '${process.execPath}' '${BIN}' "$@"; }; cd '${dir}'; ${set}${lineVars}; _unshare_fs; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      return r.stdout.split('\n').filter(Boolean).sort().join(' ');
    };
    expect(complete(['unshare-fs', 'l'])).toBe('ls');
    expect(complete(['unshare-fs', 'c'])).toBe('cat chmod chown completion cp');
    expect(complete(['unshare-fs', 'volume', 'i'])).toBe('import inspect');
    expect(complete(['unshare-fs', 'rm', '--f'])).toBe('--force');
    expect(complete(['unshare-fs', 'chown', '-'])).toBe('--help --no-dereference --recursive -R -h');
    expect(complete(['unshare-fs', '--engine', 'd'])).toBe('docker');
    expect(complete(['unshare-fs', '--engine', 'docker', 'vol'])).toBe('volume');
    expect(complete(['unshare-fs', 'completion', ''])).toBe('bash');
    expect(complete(['unshare-fs', 'help', 'vo'])).toBe('volume');
    expect(complete(['unshare-fs', 'find', '--name', 'comp'])).toBe('');
    expect(complete(['unshare-fs', 'chmod', '-R', 'u+x', 'completion-t'])).toBe('completion-target');
    expect(complete(['unshare-fs', 'ls', 'stor'])).toBe('storage:');
    expect(complete(['unshare-fs', 'volume', 'export', '-o', 'completion-t'])).toBe('completion-target');
    // From readline's line, which it splits at ':' too: what is replaced is after the last ':'.
    expect(complete([], `unshare-fs ls storage:${dir}/completion-t`)).toBe(`${dir}/completion-target`);
    expect(cli(['completion', 'zsh']).status).toBe(2);
  });

  test('each write verb has help with examples', () => {
    for (const verb of [
      ['rm'],
      ['chown'],
      ['chmod'],
      ['volume'],
      ['volume', 'ls'],
      ['volume', 'inspect'],
      ['volume', 'rm'],
      ['volume', 'export'],
      ['volume', 'import'],
      ['completion'],
    ]) {
      const help = cli([...verb, '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout.toString()).toMatch(new RegExp(`^Usage: unshare-fs ${verb.join(' ')} [^]*\nExamples:\n  `));
    }
    expect(cli(['volume', 'rm', '--help']).stdout.toString()).toContain("The volume itself is the\nengine's record");
  });
});

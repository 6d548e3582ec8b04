// The command line on host paths, end to end (the built bin in a process of
// its own), held to GNU coreutils and findutils on the same trees: ls and
// its quoting of hostile names, find -printf, du, cat, stat against
// node:fs, --json round trips of names that are not UTF-8, exit statuses
// and error lines, help; inode numbers past 2^53 (an xino overlay) as GNU
// find and stat print them.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { createNamespace, type Namespace } from '../lib';
import { BIN, builtCli, cli, sortedLines, tool } from './helpers/cli';
import { command, requires, userNamespaces } from './helpers/requirements';
import { removeTree, tempDir, XINO_OVERLAY_SCRIPT } from './helpers/tree';

const script = command('script', 'bsdutils');
const gate = requires(builtCli);
const ttyGate = requires(builtCli, script);

/** Names a container could hold: control characters, escapes, bytes that are not UTF-8, shell characters. */
const HOSTILE: Buffer[] = [
  'plain',
  'a b',
  "it's",
  "a'$b",
  'a"b',
  'a*b',
  '#hash',
  '~tilde',
  'a{b}',
  'é',
  'n\nl',
  '\nleading',
  't\tb',
  'esc\x1b[31mred',
  'del\x7f',
  'c1\u0085',
  "q'\tz",
  // Printable ASCII around ls's plain/quoted line (names.ts's fast path).
  'a#b~',
  '%+,-.:@]_{}',
  'x=y',
  '[x',
  'a\\b',
  '^c',
  '`c|d',
].map((s) => Buffer.from(s));
HOSTILE.push(Buffer.from([0x62, 0x61, 0x64, 0xff]), Buffer.from([0x6f, 0x76, 0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]));

/** Every directive the CLI knows that GNU find prints the same way. */
const FORMAT = '%p|%P|%f|%h|%d|%s|%m|%M|%y|%n|%i|%u|%g|%U|%G|%l|%T@\\0';

gate.describe('unshare-fs on host paths', () => {
  let dir: string;
  let hostile: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-cli-'));
    hostile = path.join(dir, 'hostile');
    fs.mkdirSync(hostile);
    const base = Buffer.from(`${hostile}/`);
    for (const name of HOSTILE) fs.writeFileSync(Buffer.concat([base, name]), name);
    fs.symlinkSync(Buffer.from('tar\nget\x1b'), Buffer.concat([base, Buffer.from('li\nnk')]));
    fs.mkdirSync(Buffer.concat([base, Buffer.from('sub\x1bdir')]));
    fs.writeFileSync(Buffer.concat([base, Buffer.from('sub\x1bdir/deeper\xff', 'latin1')]), 'x'.repeat(5000));
    fs.mkdirSync(path.join(dir, 'tree', 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'tree', 'a', 'file'), Buffer.alloc(70_000, 1));
    fs.writeFileSync(path.join(dir, 'tree', 'a', 'b', 'small'), 'small');
    fs.linkSync(path.join(dir, 'tree', 'a', 'file'), path.join(dir, 'tree', 'a', 'hardlink'));
    fs.symlinkSync('file', path.join(dir, 'tree', 'a', 'link'));
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('ls, ls -ln and ls -l equal GNU ls with its terminal quoting, hostile names included', () => {
    for (const flags of [[], ['-n'], ['-l'], ['-la']]) {
      const ours = cli(['ls', ...flags, hostile]);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      const gnu = tool(['ls', ...(flags.length ? flags : ['-1']), '--quoting-style=shell-escape', hostile]);
      expect(ours.stdout.toString('latin1')).toBe(gnu.toString('latin1'));
    }
    // What the quoting is for: no control character reaches the terminal.
    const shown = cli(['ls', '-l', hostile]).stdout.toString('latin1');
    expect([...shown].filter((ch) => ch !== '\n' && (ch < ' ' || ch === '\x7f'))).toEqual([]);
    expect(shown).toContain("'n'$'\\n''l'");
  });

  test('find --printf equals GNU find -printf on every directive, byte for byte', () => {
    // Roots with ./ and // are not the paths the host's walk gives (it
    // resolves them): the root is kept as written, as GNU find keeps it
    // (and %f keeps one of the slashes that end it).
    // Relative ones run from dir, with and without slashes after the name
    // (%h of a root with none before it is '.').
    const roots: [string, string][] = [
      [hostile, '/'],
      [`${hostile}/`, '/'],
      [path.join(dir, 'tree'), '/'],
      [`${dir}/./tree`, '/'],
      [`${dir}//tree//`, '/'],
      ['tree', dir],
      ['tree/', dir],
      ['tree//', dir],
      ['./tree', dir],
    ];
    for (const [root, cwd] of roots) {
      const ours = cli(['find', root, '--printf', FORMAT], process.env, cwd);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      const gnu = tool(['find', root, '-printf', FORMAT], process.env, cwd);
      expect(sortedLines(ours.stdout, '\0')).toEqual(sortedLines(gnu, '\0'));
      expect(sortedLines(ours.stdout, '\0').length).toBeGreaterThan(3);
    }
  });

  test('find --maxdepth, --type, --name and plain output equal find; --exclude prunes', () => {
    const tree = path.join(dir, 'tree');
    const cases: [string[], string[]][] = [
      [
        ['--maxdepth', '1'],
        ['-maxdepth', '1'],
      ],
      [
        ['--maxdepth', '0'],
        ['-maxdepth', '0'],
      ],
      [
        ['--type', 'f,l'],
        ['-type', 'f,l'],
      ],
      [
        ['--type', 'd', '--type', 'l'],
        ['-type', 'd,l'],
      ],
      [
        ['--name', '*i[ln]k'],
        ['-name', '*i[ln]k'],
      ],
      [
        ['--name', '?'],
        ['-name', '?'],
      ],
    ];
    for (const [ours, gnu] of cases) {
      const run = cli(['find', tree, ...ours]);
      expect(run.status).toBe(0);
      expect(sortedLines(run.stdout)).toEqual(sortedLines(tool(['find', tree, ...gnu])));
    }
    const pruned = cli(['find', tree, '--exclude', 'b']);
    expect(sortedLines(pruned.stdout)).toEqual(sortedLines(tool(['find', tree, '-name', 'b', '-prune', '-o', '-print'])));
    // Piped, names go out raw as find writes them (find -print0 for the newlines).
    const raw = cli(['find', hostile, '--print0']);
    expect(sortedLines(raw.stdout, '\0')).toEqual(sortedLines(tool(['find', hostile, '-print0']), '\0'));
  });

  ttyGate.test("on a terminal, find shows control characters as '?', as GNU find does", () => {
    // script(1) gives both a pty for stdout.
    const onTty = (cmd: string): string =>
      spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, LC_ALL: 'C.UTF-8' }, encoding: 'latin1' }).stdout;
    // -q: stderr is the pty too, and the progress line is not what this compares (test/cli-progress.test.ts).
    const ours = onTty(`${process.execPath} ${BIN} -q find ${hostile}`);
    const gnu = onTty(`find ${hostile}`);
    expect(sortedLines(ours, '\r\n')).toEqual(sortedLines(gnu, '\r\n'));
    expect(ours).toContain('?[31mred');
    expect(ours).not.toContain('\x1b');
  });

  test('find streams: stalled by its reader mid-walk, it holds no more of a 50,000-entry tree than of a small one', async () => {
    // A reader that stops after the first chunk: the CLI fills the pipe and
    // waits.  Were it to hold the entries (collect, then print), the first
    // chunk would come only after the whole walk, with every entry in
    // memory; streaming, it is blocked after a few batches whatever the
    // tree.  So its memory while blocked must not grow with the tree.
    const small = path.join(dir, 'small');
    fs.mkdirSync(small);
    for (let i = 0; i < 6000; i++) fs.writeFileSync(path.join(small, `f${i}`), '');
    const format = `%p ${'x'.repeat(200)}\\n`;
    const vm = (pid: number, key: string): number =>
      Number(new RegExp(`${key}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    const cpuTicks = (pid: number): number => {
      // (The output of each tree is megabytes: more than a pipe and a paused reader hold, so the process is still there.)
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]);
    };
    const stalled = async (root: string): Promise<{ rssKb: number; lines: number }> => {
      const child = spawn(process.execPath, [BIN, 'find', root, '--printf', format], { stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve) => child.stdout.once('data', (d: Buffer) => (chunks.push(d), resolve())));
      child.stdout.pause();
      // Blocked: its CPU time stops moving.
      for (let last = -1; ; ) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const now = cpuTicks(child.pid!);
        if (now === last) break;
        last = now;
      }
      const rssKb = vm(child.pid!, 'VmRSS');
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.stdout.resume();
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(status).toBe(0);
      return { rssKb, lines: Buffer.concat(chunks).toString('latin1').split('\n').length - 1 };
    };
    const few = await stalled(small);
    // /usr/lib: tens of thousands of entries, readable by any user (/usr has root-only directories).
    const many = await stalled('/usr/lib');
    const gnuCount = sortedLines(tool(['find', '/usr/lib', '-printf', '.\\n'])).length;
    console.log(`stalled find: ${few.lines} entries, ${few.rssKb} KiB; ${many.lines} entries of /usr/lib, ${many.rssKb} KiB`);
    expect(few.lines).toBe(6001);
    expect(many.lines).toBeGreaterThan(50_000);
    expect(many.lines).toBe(gnuCount);
    // 8 MiB for 50,000 more entries: 160 bytes an entry, less than holding an entry's path, name and their Buffers costs.
    expect(many.rssKb - few.rssKb).toBeLessThan(8 * 1024);
  });

  test('du, du -s, du -h, du -sh, du --json equal GNU du (a hard link counted once)', () => {
    for (const root of [path.join(dir, 'tree'), hostile]) {
      for (const flags of [[], ['-s'], ['-h'], ['-sh'], ['-x'], ['-sx']]) {
        const ours = cli(['du', ...flags, root]);
        expect(ours.stderr).toBe('');
        expect(ours.status).toBe(0);
        expect(sortedLines(ours.stdout)).toEqual(sortedLines(tool(['du', ...flags, root])));
      }
      // --json: each directory's bytes (du -B1) and KiB, its path as bytes where it is not UTF-8.
      const json = cli(['du', '--json', root])
        .stdout.toString()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { path: string; pathBase64?: string; bytes: number; kib: number })
        .map((r) => `${r.bytes}\t${(r.pathBase64 ? Buffer.from(r.pathBase64, 'base64') : Buffer.from(r.path)).toString('latin1')}`);
      expect(json.sort()).toEqual(sortedLines(tool(['du', '-B1', root])));
      const total = JSON.parse(cli(['du', '-s', '--json', root]).stdout.toString()) as { bytes: number };
      expect(`${total.bytes}`).toBe(tool(['du', '-s', '-B1', root]).toString().split('\t')[0]);
    }
  });

  test('--json: one object a line; names that are not UTF-8 come back byte for byte from nameBase64/pathBase64', () => {
    const listed = cli(['ls', '-a', '--json', hostile]);
    expect(listed.status).toBe(0);
    const rows = listed.stdout
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { name: string; nameBase64?: string; mode: number; size: number; uid: number; type: string });
    const bytesOf = (r: { name: string; nameBase64?: string }): Buffer =>
      r.nameBase64 ? Buffer.from(r.nameBase64, 'base64') : Buffer.from(r.name);
    const expected = ['.', '..', ...fs.readdirSync(hostile, { encoding: 'buffer' }).map((b) => b.toString('latin1'))].sort();
    expect(rows.map((r) => bytesOf(r).toString('latin1')).sort()).toEqual(expected);
    for (const r of rows) {
      const st = fs.lstatSync(Buffer.concat([Buffer.from(`${hostile}/`), bytesOf(r)]));
      expect({ mode: r.mode, size: r.size, uid: r.uid }).toEqual({ mode: st.mode, size: st.size, uid: st.uid });
      expect(r.nameBase64 !== undefined).toBe(Buffer.from(r.name).compare(bytesOf(r)) !== 0);
    }
    const found = cli(['find', hostile, '--json']);
    const paths = found.stdout
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { path: string; pathBase64?: string; target?: string; type: string; mode: number });
    const gnu = sortedLines(tool(['find', hostile, '-print0']), '\0');
    expect(paths.map((p) => (p.pathBase64 ? Buffer.from(p.pathBase64, 'base64') : Buffer.from(p.path)).toString('latin1')).sort()).toEqual(
      gnu,
    );
    expect(paths.find((p) => p.type === 'symlink')?.target).toBe('tar\nget\x1b');
  });

  test("cat writes the bytes, and leaves a FIFO unread; stat shows GNU stat's layout, --json node:fs's lstat", () => {
    const file = path.join(dir, 'tree', 'a', 'file');
    expect(cli(['cat', file]).stdout.equals(fs.readFileSync(file))).toBe(true);
    // A FIFO (a container can plant one where a file was) would hold cat until written to.
    const fifo = path.join(dir, 'fifo');
    tool(['mkfifo', fifo]);
    const past = cli(['cat', fifo, file]);
    expect(past.stderr).toBe(`unshare-fs: '${fifo}' is not a regular file: not read\n`);
    expect(past.stdout.equals(fs.readFileSync(file))).toBe(true);
    expect(past.status).toBe(1);
    // GNU stat's layout, less its Birth line (no birth time here) and with ours's Host line.
    for (const target of [file, path.join(dir, 'tree', 'a')]) {
      const shown = cli(['stat', target]).stdout.toString().split('\n');
      expect(shown.filter((line) => !line.startsWith('  Host: '))).toEqual(
        tool(['stat', target])
          .toString()
          .split('\n')
          .filter((line) => !line.startsWith(' Birth: ')),
      );
      expect(shown).toContain(`  Host: Uid: ${fs.lstatSync(target).uid}   Gid: ${fs.lstatSync(target).gid}`);
    }
    const stat = JSON.parse(cli(['stat', '--json', file]).stdout.toString()) as Record<string, unknown>;
    const st = fs.lstatSync(file, { bigint: true });
    expect(stat).toMatchObject({
      mode: Number(st.mode),
      nlink: Number(st.nlink),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: Number(st.size),
      ino: Number(st.ino),
      mtimeNs: String(st.mtimeNs),
      type: 'regular file',
    });
  });

  test('exit statuses and error lines as coreutils: 0, 1 for a failure that lets the rest go on, 2 for usage', () => {
    const missing = path.join(dir, 'nope');
    const find = cli(['find', missing]);
    expect(find.status).toBe(1);
    expect(find.stderr).toBe(`unshare-fs: ENOENT: no such file or directory, lstat '${missing}'\n`);
    // cat goes on past a missing file, as cat does, and says so in its status.
    const file = path.join(dir, 'tree', 'a', 'b', 'small');
    const partial = cli(['cat', missing, file]);
    expect(partial.stdout.toString()).toBe('small');
    expect(partial.stderr).toMatch(/^unshare-fs: ENOENT: no such file or directory, \w+ '.*nope'\n$/);
    expect(partial.status).toBe(1);
    for (const args of [
      ['ls', '--no-such-option', dir],
      ['find', dir, '--printf', '%Z'],
      ['find', dir, '--type', 'x'],
      ['find', dir, '--maxdepth', '-1'],
      ['ls', 'volume::/x'],
      ['ls', 'storage:relative'],
      ['no-such-verb'],
      [],
    ]) {
      const run = cli(args);
      expect({ args, status: run.status }).toEqual({ args, status: 2 });
      expect(run.stderr).toMatch(/^(unshare-fs: |Usage: unshare-fs)/);
      expect(run.stdout.length).toBe(0);
    }
  });

  test('--help and VERB --help exit 0 with examples', () => {
    const top = cli(['--help']);
    expect(top.status).toBe(0);
    for (const verb of ['ps', 'ls', 'find', 'du', 'cat', 'stat', 'diff', 'export', 'rm', 'chown', 'chmod', 'volume']) {
      expect(top.stdout.toString()).toContain(`  ${verb} `);
      const help = cli([verb, '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout.toString()).toMatch(new RegExp(`Usage: unshare-fs ${verb}[^]*Examples:\\n  unshare-fs `));
    }
    // README's Command line section lists the verbs --help lists, no more, no fewer.
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Command line\n'), readme.indexOf('\n## ', readme.indexOf('\n## Command line\n') + 1));
    const documented = [...section.matchAll(/^\| `(\w+)/gm)].map((m) => m[1]).sort();
    const listed = [...top.stdout.toString().matchAll(/^ {2}(\w+)(?: [[<]| {2,}\S)/gm)].map((m) => m[1]).filter((v) => v !== 'help');
    expect(documented).toEqual(listed.sort());
    expect(documented).toEqual([
      'cat',
      'chmod',
      'chown',
      'completion',
      'cp',
      'diff',
      'du',
      'export',
      'find',
      'ls',
      'ps',
      'rm',
      'stat',
      'volume',
    ]);
    expect(cli(['--version']).stdout.toString().trim()).toBe(
      (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version,
    );
  });
});

requires(builtCli, userNamespaces).describe('unshare-fs on an overlay with xino=on', () => {
  // xino puts the layer's fsid in st_ino's top bits: a lower layer's inodes
  // are 2^63 + ino, where doubles are 2048 apart (du.test.ts builds the same
  // overlay). The overlay is mounted only in a namespace of our own, so the
  // command line runs there, beside GNU find and stat, on the same files.
  let ns: Namespace | undefined;
  let base: string;
  let merged: string;
  let runs = 0;

  /** Runs argv in the namespace; its stdout, after checking it exited 0 and wrote nothing on stderr. */
  const inside = async (argv: string[]): Promise<string> => {
    const out = path.join(base, `out${runs++}`);
    const status = await ns!.exec(['sh', '-c', '"$@" > "$0" 2> "$0.err"', out, ...argv]);
    expect({ argv, status, stderr: fs.readFileSync(`${out}.err`, 'utf8') }).toEqual({
      argv,
      status: { code: 0, signal: null },
      stderr: '',
    });
    return fs.readFileSync(out, 'latin1');
  };
  const ours = (args: string[]): Promise<string> => inside([process.execPath, BIN, ...args]);
  /** `path ino` lines, sorted (walk order is not find's). */
  const sorted = (text: string): string[] => text.split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    base = tempDir('unshare-fs-cli-xino-');
    fs.chmodSync(base, 0o755);
    merged = path.join(base, 'm');
    ns = await createNamespace();
    const script = XINO_OVERLAY_SCRIPT.join('\n');
    expect(await ns.exec(['sh', '-c', script, base])).toEqual({ code: 0, signal: null });
  });

  afterAll(async () => {
    await ns?.close(); // the tmpfs and overlay mounts go with the namespace
    if (base) removeTree(base);
  });

  test('the case at hand: lower inodes past 2^53, distinct, one double', async () => {
    const [f, p] = (await inside(['stat', '-c', '%i', `${merged}/f`, `${merged}/p`])).trim().split('\n').map(BigInt);
    expect(f! >= 1n << 53n && p! >= 1n << 53n && f !== p).toBe(true);
    expect(Number(f)).toBe(Number(p));
  });

  test("find --printf '%i' and --json's ino (and size) are GNU find -printf's, byte for byte", async () => {
    const format = '%p %i %s\\n';
    const gnu = sorted(await inside(['find', merged, '-printf', format]));
    expect(gnu.length).toBe(8);
    expect(sorted(await ours(['find', merged, '--printf', format]))).toEqual(gnu);
    // %i alone: the format asks the walk for ino only.
    expect(sorted(await ours(['find', merged, '--printf', '%i\\n']))).toEqual(sorted(await inside(['find', merged, '-printf', '%i\\n'])));
    // --json: valid JSON, the numbers as the kernel's decimal text.
    const lines = (await ours(['find', merged, '--json'])).split('\n').filter(Boolean);
    const json = lines.map((line) => {
      const { path: found } = JSON.parse(line) as { path: string };
      return `${found} ${/"ino":(\d+)[,}]/.exec(line)![1]} ${/"size":(\d+)[,}]/.exec(line)![1]}`;
    });
    expect(json.sort()).toEqual(gnu);
  });

  test('a size past 2^53 (a sparse file on the tmpfs) prints exact: ls -ln, ls --json, find %s', async () => {
    const dir = path.join(base, 'u', 'sparse');
    await inside(['sh', '-c', 'mkdir "$0" && truncate -s 9007199254740993 "$0/big" && echo small > "$0/small"', dir]);
    expect(await ours(['ls', '-ln', dir])).toBe(await inside(['env', 'LC_ALL=C.UTF-8', 'ls', '-ln', dir]));
    const format = '%p %s\\n';
    const gnu = sorted(await inside(['find', dir, '-printf', format]));
    expect(gnu).toContain(`${dir}/big 9007199254740993`);
    expect(sorted(await ours(['find', dir, '--printf', format]))).toEqual(gnu);
    const json = (await ours(['ls', '--json', dir])).split('\n').filter(Boolean);
    expect(json.map((line) => /"size":(\d+)[,}]/.exec(line)![1])).toEqual(['9007199254740993', '6']);
  });

  test('du -x and du -sx leave a mount point out, as GNU du -x does; du and du -s count it', async () => {
    const dir = path.join(base, 'u', 'mounts');
    const setup = 'mkdir -p "$0/a" "$0/mnt" && echo hi > "$0/a/f" && mount -t tmpfs t "$0/mnt" && head -c 9000 /dev/zero > "$0/mnt/big"';
    await inside(['sh', '-c', setup, dir]);
    for (const flags of [['-x'], ['-sx'], [], ['-s']]) {
      const gnu = sorted(await inside(['du', ...flags, dir]));
      expect([flags, sorted(await ours(['du', ...flags, dir]))]).toEqual([flags, gnu]);
    }
    expect(sorted(await inside(['du', dir]))).toContain(`12\t${dir}/mnt`);
    expect((await ours(['du', '-x', dir])).includes('/mnt')).toBe(false);
  });

  const statFiles = (): string[] => ['f', 'p', 'h', 'd/e', ''].map((name) => path.join(merged, name));

  test("stat prints GNU stat's layout: an inode of 19 digits, two spaces, Links", async () => {
    const files = statFiles();
    // Less GNU's Birth line (no birth time here) and ours's Host line.
    const shown = (await ours(['stat', ...files])).split('\n').filter((line) => !line.startsWith('  Host: '));
    const gnu = (await inside(['stat', ...files])).split('\n').filter((line) => !line.startsWith(' Birth: '));
    expect(shown).toEqual(gnu);
    expect(gnu.filter((line) => /Inode: \d{19} {2}Links/.test(line)).length).toBe(3);
  });

  test("stat --json's ino, dev, rdev, size and blocks are GNU stat -c's", async () => {
    const files = statFiles();
    const json = (await ours(['stat', '--json', ...files])).split('\n').filter(Boolean);
    const numbers = json.map((line) => {
      JSON.parse(line);
      return ['ino', 'dev', 'rdev', 'size', 'blocks'].map((key) => new RegExp(`"${key}":(\\d+)[,}]`).exec(line)![1]).join(' ');
    });
    expect(numbers).toEqual((await inside(['stat', '-c', '%i %d %r %s %b', ...files])).split('\n').filter(Boolean));
  });
});

// unshare-fs, the command line: the library's public API (the package entry,
// nothing of lib/'s inside) behind verbs that read like coreutils'.  Each verb
// opens its TARGET (./target.ts), does its work in a file of its own, and
// leaves the exit status in the run's Output: 0, 1 when something failed
// along the way, 2 for a command line that cannot be run.
import * as fsNode from 'node:fs';
import * as path from 'node:path';

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import type { TreeOptions } from '../index';

import type { FindOptions } from './find';
import { handleInterrupts, interruptedLine } from './interrupt';
import type { LsOptions } from './ls';
import { EXIT, Output, UsageError } from './output';
import type { EngineName, Target } from './target';

// Each verb's module, and the library behind ./target, are loaded when a
// verb runs, not when the program starts: a process runs one verb, and
// loading the others' modules (and the library, for --help or a usage
// error) was most of a short command's time.
const lazy =
  <M, K extends keyof M>(load: () => Promise<M>, name: K) =>
  async (
    ...args: M[K] extends (...a: infer A) => unknown ? A : never
  ): Promise<Awaited<M[K] extends (...a: never[]) => infer R ? R : never>> =>
    ((await load())[name] as (...a: unknown[]) => Promise<never>)(...args);
const cat = lazy(() => import('./cat'), 'cat');
const chmod = lazy(() => import('./chmod'), 'chmod');
const chown = lazy(() => import('./chown'), 'chown');
const cp = lazy(() => import('./cp'), 'cp');
const diff = lazy(() => import('./diff'), 'diff');
const du = lazy(() => import('./du'), 'du');
const exportContainer = lazy(() => import('./export'), 'exportContainer');
const find = lazy(() => import('./find'), 'find');
const ls = lazy(() => import('./ls'), 'ls');
const ps = lazy(() => import('./ps'), 'ps');
const rm = lazy(() => import('./rm'), 'rm');
const stat = lazy(() => import('./stat'), 'stat');
const volumeVerbs = (): Promise<typeof import('./volume')> => import('./volume');

const TARGETS = `
TARGET is one of:
  CONTAINER:/path     a container of any engine, by name or id (its files as it
                      sees them; a stopped one's layers are mounted read-only)
  storage:/abs/path   a path in the engine's storage namespaces (what
                      \`podman unshare\` sees)
  volume:NAME:/path   a volume of any engine (ids as its containers see them)
  /path, ./path       a host path (also any path with no ':')`;

/** The version of the package this file came with. */
function version(): string {
  const file = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(fsNode.readFileSync(file, 'utf8')) as { version: string }).version;
}

const nonNegative = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
};
/** The one place the tree jobs' progress is told (rm -r, chown -R, volume rm): the run's progress line. */
const progress = (out: Output): TreeOptions['onProgress'] => out.progress.jobCounter();

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/**
 * Runs one verb over its targets: opens each, runs `work` on it, closes it.
 * A failure on one target is told and costs that target (exit 1); a usage
 * error ends the run (exit 2).
 */
async function over(texts: string[], engine: EngineName | undefined, out: Output, work: (target: Target) => Promise<void>): Promise<void> {
  const { openTarget, parseTarget, targetPrefix } = await import('./target');
  const specs = texts.map(parseTarget);
  for (const spec of specs) {
    if (out.closed.signal.aborted) return;
    const prefix = targetPrefix(spec);
    let target: Target | undefined;
    try {
      target = await openTarget(spec, engine);
      await work(target);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      if (out.stoppedBy(error)) return;
      out.fail(error, prefix);
    } finally {
      await target?.close();
    }
  }
  await out.flush(true);
}

/** The program, with its verbs; `out` receives what they write. */
export function program(out: Output): Command {
  const cli = new Command('unshare-fs');
  cli
    .description('Read the files of rootless and rootful containers with the owners they see, without podman unshare.')
    .helpOption('--help', 'show help')
    .version(version(), '--version', 'show the version')
    .addOption(
      new Option(
        '--engine <engine>',
        'which engine a CONTAINER or volume name means when both have one, and whose storage: it is (default podman)',
      ).choices(['podman', 'docker']),
    )
    .option('-q, --quiet', 'no progress line on stderr (it is shown only when stderr is a terminal)')
    .hook('preAction', (_program, verb) => {
      out.progress.quiet = verb.optsWithGlobals<{ quiet?: boolean }>().quiet === true;
      out.progress.label = verb.name();
    })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`unshare-fs: ${text.replace(/^error: /, '')}`) })
    .addHelpText(
      'after',
      `${TARGETS}

Long work (find, du, export, rm -r, chown -R, volume rm) shows its progress
on stderr when stderr is a terminal: entries, bytes, rate, elapsed time.
Ctrl-C stops the job, says what was done, and exits 130 (a second Ctrl-C
exits at once).

Exit status: 0 if all went well, 1 if something failed (the rest was done),
2 for a command line that cannot be run, 130 when interrupted.

Examples:
  unshare-fs ps
  unshare-fs ls -l contenedor1:/home/user
  unshare-fs find contenedor1:/etc --name '*.conf' --printf '%M %u %s %p\\n'
  unshare-fs du -sh storage:/home/me/.local/share/containers/storage
  unshare-fs cat contenedor1:/etc/os-release
  unshare-fs cp contenedor1:/data/hello.txt /tmp
  unshare-fs diff contenedor1
  unshare-fs export -o c1.tar contenedor1
  unshare-fs ls -ln volume:mydata:/
  unshare-fs rm -r contenedor1:/tmp/cache
  unshare-fs chown -R 1000:1000 volume:mydata:/home
  unshare-fs chmod -R u+rwX,go-w contenedor1:/srv
  unshare-fs volume ls
  eval "$(unshare-fs completion bash)"`,
    );
  const engineOf = (cmd: Command): EngineName | undefined => cmd.optsWithGlobals<{ engine?: EngineName }>().engine;

  cli
    .command('ps')
    .description('list the containers of every engine: engine, name, id, state, pid, storage driver, merged dir')
    .option('--json', 'one JSON object a line: engine, name, id, state, pid, driver, mergedDir')
    .addHelpText('after', '\nExamples:\n  unshare-fs ps\n  unshare-fs --engine docker ps --json')
    .action(async (opts: { json?: boolean }, cmd: Command) => ps({ ...opts, engine: engineOf(cmd) }, out));

  cli
    .command('ls')
    .description('list a directory, owners as the container sees them (names from its own /etc/passwd and /etc/group)')
    .argument('<target>', 'what to list (see unshare-fs --help for TARGET)')
    .option('-l', 'long listing, as ls -l')
    .option('-a', 'include names starting with ., and . and ..')
    .option('-n', 'numeric user and group ids (implies -l)')
    .option('--host-ids', "add the owner's uid and gid as the host sees them (implies -l)")
    .option(
      '--json',
      'one JSON object a line: name, type, mode, nlink, uid, gid, user, group, size, blocks, mtimeMs, target, rdev, hostUid, hostGid',
    )
    .addHelpText(
      'after',
      "\nNames are quoted as GNU ls quotes them on a terminal (control characters as $'\\n').\n\nExamples:\n  unshare-fs ls -l contenedor1:/home\n  unshare-fs ls -ln --host-ids contenedor1:/home/user\n  unshare-fs ls -a --json /tmp",
    )
    .action(async (target: string, opts: { l?: boolean; a?: boolean; n?: boolean; hostIds?: boolean; json?: boolean }, cmd: Command) => {
      const options: LsOptions = { long: opts.l, all: opts.a, numeric: opts.n, hostIds: opts.hostIds, json: opts.json };
      await over([target], engineOf(cmd), out, (t) => ls(t, options, out));
    });

  cli
    .command('find')
    .description('walk a tree, as GNU find prints it; streamed, whatever its size')
    .argument('<target>', 'where to start (see unshare-fs --help for TARGET)')
    .option('--maxdepth <n>', 'descend at most n levels (0: the start point only)', nonNegative)
    .option('--type <types>', 'only these types, as find -type: f d l b c p s, comma-separated or repeated', collect)
    .option('--name <glob>', "only files whose last name matches the glob (fnmatch; '*' matches a leading dot)")
    .option(
      '--exclude <glob>',
      'leave out what matches, and never open it (a name, or a path from the start point with a /); repeatable',
      collect,
    )
    .option(
      '--printf <format>',
      "print each file with find's directives: %p %P %f %h %d %s %m %M %y %n %i %u %g %U %G %l %T@ %% and \\n \\t \\0 \\\\ \\NNN",
    )
    .option('--print0', 'end each path with a NUL instead of a newline')
    .option('--json', 'one JSON object a line: path, type, depth, mode, nlink, uid, gid, size, ino, mtimeNs, target')
    .addHelpText(
      'after',
      "\nOn a terminal, control characters in names print as '?' (as find does); piped, names are written as they are.\n\nExamples:\n  unshare-fs find contenedor1:/etc --type f --name '*.conf'\n  unshare-fs find contenedor1:/ --exclude /proc --printf '%m %U %G %s %p\\n'\n  unshare-fs find storage:/home/me/.local/share/containers/storage/volumes --maxdepth 2 --json",
    )
    .action(async (target: string, opts: FindOptions, cmd: Command) => {
      (await import('./find')).checkFindOptions(opts);
      await over([target], engineOf(cmd), out, (t) => find(t, opts, out));
    });

  cli
    .command('du')
    .description('disk usage in KiB, as GNU du counts it (hard links once)')
    .argument('<target>', 'the tree to measure (see unshare-fs --help for TARGET)')
    .option('-s, --summarize', 'only the total')
    .option('-h, --human-readable', 'sizes as 4.0K, 12M, 1.5G')
    .option('-x, --one-file-system', 'do not cross into other file systems')
    .option('--json', 'one JSON object a line: path, bytes, kib')
    .addHelpText(
      'after',
      '\nExamples:\n  unshare-fs du -sh contenedor1:/\n  unshare-fs du -x storage:/home/me/.local/share/containers/storage/volumes',
    )
    .action(
      async (
        target: string,
        opts: { summarize?: boolean; humanReadable?: boolean; oneFileSystem?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const options = { summarize: opts.summarize, human: opts.humanReadable, oneFileSystem: opts.oneFileSystem, json: opts.json };
        await over([target], engineOf(cmd), out, (t) => du(t, options, out));
      },
    );

  cli
    .command('cat')
    .description('write files to stdout (regular files only)')
    .argument('<targets...>', 'the files (see unshare-fs --help for TARGET)')
    .addHelpText('after', '\nExamples:\n  unshare-fs cat contenedor1:/etc/passwd\n  unshare-fs cat contenedor1:/var/log/app.log > app.log')
    .action(async (targets: string[], _opts: unknown, cmd: Command) => over(targets, engineOf(cmd), out, (t) => cat(t, out)));

  cli
    .command('cp')
    .description("copy between the host, containers and volumes, with podman cp's rules")
    .argument('<src>', 'what to copy (see unshare-fs --help for TARGET); ending in /. copies what the directory holds')
    .argument('<dst>', 'where: an existing directory receives SRC under its own name')
    .option(
      '-a, --archive <bool>',
      "what is copied into a container belongs to its user (true) or keeps the source's owners (false)",
      'true',
    )
    .addHelpText(
      'after',
      '\nDirectories are copied whole; an existing file is replaced, an existing directory is\nmerged into; a directory never replaces a file nor a file a directory.\n\nExamples:\n  unshare-fs cp contenedor1:/data/hello.txt /tmp\n  unshare-fs cp ./site contenedor1:/var/www\n  unshare-fs cp contenedor1:/etc/. ./etc-copy\n  unshare-fs cp contenedor1:/data volume:backup:/',
    )
    .action(async (srcText: string, dstText: string, opts: { archive: string }, cmd: Command) => {
      if (opts.archive !== 'true' && opts.archive !== 'false') throw new UsageError(`--archive takes true or false, not '${opts.archive}'`);
      const { openTarget, parseTarget, targetPrefix } = await import('./target');
      const [srcSpec, dstSpec] = [parseTarget(srcText), parseTarget(dstText)];
      const engine = engineOf(cmd);
      let src: Target | undefined;
      let dst: Target | undefined;
      try {
        src = await openTarget(srcSpec, engine);
        dst = await openTarget(dstSpec, engine);
        await cp(src, dst, { archive: opts.archive === 'true' }, out);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        // The side the failing path is on, as the user wrote it.
        const at = (error as { path?: unknown }).path;
        const onSource = typeof at === 'string' && src !== undefined && at.startsWith(src.path.replace(/\/?\.?$/, ''));
        out.fail(error, onSource || dst === undefined ? targetPrefix(srcSpec) : targetPrefix(dstSpec));
      } finally {
        await src?.close();
        await dst?.close();
      }
    });

  cli
    .command('diff')
    .description('what a container changed against its image, as podman diff prints it (A added, C changed, D deleted)')
    .argument('<container>', 'a container of any engine, by name or id, running or not')
    .option('--json', 'one JSON object a line: kind (added, changed, deleted), path')
    .addHelpText('after', '\nExamples:\n  unshare-fs diff contenedor1\n  unshare-fs --engine docker diff --json dcontenedor1')
    .action(async (container: string, opts: { json?: boolean }, cmd: Command) => {
      try {
        await diff(container, { json: opts.json, engine: engineOf(cmd) }, out);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        if (!out.stoppedBy(error)) out.fail(error);
      }
    });

  cli
    .command('export')
    .description("a container's files as a tar, what podman export writes (ids as the container sees them)")
    .argument('<container>', 'a container of any engine, by name or id, running or not')
    .option('-o, --output <file>', 'write the tar to this file, which appears only once the tar is complete (default: stdout)')
    .addHelpText(
      'after',
      '\nA tar is not written to a terminal: redirect stdout or use -o.\n\nExamples:\n  unshare-fs export contenedor1 > c1.tar\n  unshare-fs export -o c1.tar contenedor1',
    )
    .action(async (container: string, opts: { output?: string }, cmd: Command) => {
      try {
        await exportContainer(container, { output: opts.output, engine: engineOf(cmd) }, out);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        if (!out.stoppedBy(error)) out.fail(error);
      }
    });

  cli
    .command('stat')
    .description("show a file's status (lstat), owners as the container sees them and as the host does")
    .argument('<targets...>', 'the files (see unshare-fs --help for TARGET)')
    .option(
      '--json',
      'one JSON object a line: path, type, mode, nlink, uid, gid, user, group, hostUid, hostGid, size, blocks, ino, dev, rdev, atimeNs, mtimeNs, ctimeNs',
    )
    .addHelpText('after', '\nExamples:\n  unshare-fs stat contenedor1:/home/user/private\n  unshare-fs stat --json contenedor1:/etc/passwd')
    .action(async (targets: string[], opts: { json?: boolean }, cmd: Command) =>
      over(targets, engineOf(cmd), out, (t) => stat(t, opts, out)),
    );

  cli
    .command('rm')
    .description("remove files, or with -r directories and what is under them, as the target's owners would (coreutils rm's rules)")
    .argument('[targets...]', 'what to remove (see unshare-fs --help for TARGET)')
    .option('-r, --recursive', 'remove directories and everything under them (symlinks removed, never followed; mount points left alone)')
    .addOption(new Option('-R', 'the same as -r').hideHelp())
    .option('-f, --force', 'a missing file is no error; no TARGET is no error')
    .addHelpText(
      'after',
      "\nAs rm, '.' and '..' are refused, and so is a target's '/' (a container's root, a volume's):\nto empty a volume use `unshare-fs volume rm NAME`.  With -r, what cannot be removed is\ntold and the rest is removed (exit 1).\n\nExamples:\n  unshare-fs rm -r contenedor1:/tmp/cache\n  unshare-fs rm -rf volume:mydata:/old storage:/home/me/.local/share/containers/storage/volumes/v/_data/x",
    )
    .action(async (targets: string[], opts: { recursive?: boolean; R?: boolean; force?: boolean }, cmd: Command) => {
      if (targets.length === 0) {
        if (opts.force) return;
        throw new UsageError('rm: missing operand');
      }
      const options = { recursive: opts.recursive || opts.R, force: opts.force, onProgress: progress(out) };
      await over(targets, engineOf(cmd), out, (t) => rm(t, options, out));
    });

  cli
    .command('chown')
    .description('change the owner of files, ids as the container sees them (names from its own /etc/passwd and /etc/group)')
    .argument('<owner>', 'USER, USER:GROUP, USER: (the login group), :GROUP; names or numbers (+N: a number)')
    .argument('<targets...>', 'the files (see unshare-fs --help for TARGET)')
    .option('-R, --recursive', 'everything under a directory too; symlinks are changed themselves, never followed (chown -R -P)')
    .option('-h, --no-dereference', 'change a symlink itself, not the file it names')
    .addHelpText(
      'after',
      "\nIds are the target's: 1000 in a rootless container is the host's subordinate id it maps to\n(see unshare-fs stat).  A name is looked up in the target's /etc/passwd and /etc/group first,\nthen taken as a number.\n\nExamples:\n  unshare-fs chown -R 1000:1000 contenedor1:/home/user\n  unshare-fs chown www-data: contenedor1:/var/www/index.html\n  unshare-fs chown -R 0:0 volume:mydata:/",
    )
    .action(async (owner: string, targets: string[], opts: { recursive?: boolean; dereference?: boolean }, cmd: Command) => {
      const spec = (await import('./chown')).parseOwner(owner);
      const options = { recursive: opts.recursive, noDereference: opts.dereference === false, onProgress: progress(out) };
      await over(targets, engineOf(cmd), out, (t) => chown(t, spec, options, out));
    });

  cli
    .command('chmod')
    .description("change files' mode bits, as GNU chmod: octal (755) or symbolic (u+x,g-w,o=r,a+X)")
    .argument('<mode>', 'octal, or [ugoa]*[-+=][rwxXst]*|[ugo], comma-separated')
    .argument('<targets...>', 'the files (see unshare-fs --help for TARGET)')
    .option('-R, --recursive', 'everything under a directory too; symlinks met inside are not followed nor changed')
    .allowUnknownOption() // `chmod -w FILE`: a MODE may start with '-'
    .addHelpText(
      'after',
      '\nA symbolic MODE without u, g, o or a leaves the bits of the umask alone, as chmod does.\nA symlink given as TARGET is followed.\n\nExamples:\n  unshare-fs chmod 0700 contenedor1:/home/user/private\n  unshare-fs chmod -R u+rwX,go-rwx volume:mydata:/secrets\n  unshare-fs chmod -w contenedor1:/etc/app.conf',
    )
    .action(async (mode: string, targets: string[], opts: { recursive?: boolean }, cmd: Command) => {
      const compiled = (await import('./mode')).parseMode(mode);
      await over(targets, engineOf(cmd), out, (t) => chmod(t, compiled, opts, out));
    });

  const volume = cli
    .command('volume')
    .description("podman's and Docker's volumes: list, inspect, empty, export and import them, ids as their containers see them")
    .addHelpText(
      'after',
      '\nA volume of either engine, by name (--engine when both have one).\n\nExamples:\n  unshare-fs volume ls\n  unshare-fs volume inspect mydata\n  unshare-fs volume rm mydata && podman volume rm mydata\n  unshare-fs volume export mydata > mydata.tar\n  unshare-fs volume import mydata < mydata.tar',
    );
  volume
    .command('ls')
    .description('list the volumes of every engine: engine, driver, name')
    .option('--json', 'one JSON object a line: engine, name, driver, mountPoint, createdAt, labels, containers')
    .addHelpText('after', '\nExamples:\n  unshare-fs volume ls\n  unshare-fs --engine docker volume ls --json')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      (await volumeVerbs()).volumeLs({ json: opts.json, engine: engineOf(cmd) }, out),
    );
  volume
    .command('inspect')
    .description("the volumes as one JSON array (volume ls --json's fields)")
    .argument('<names...>', 'volume names')
    .addHelpText('after', '\nExamples:\n  unshare-fs volume inspect mydata')
    .action(async (names: string[], _opts: unknown, cmd: Command) =>
      (await volumeVerbs()).volumeInspect(names, { engine: engineOf(cmd) }, out),
    );
  volume
    .command('rm')
    .description("empty volumes: remove every file in them, whoever's they are; the engine's record of each stays")
    .argument('<names...>', 'volume names')
    .option('-f, --force', 'empty a volume even while containers use it')
    .addHelpText(
      'after',
      "\nA rootless container leaves files of subordinate ids in a volume, which its user cannot remove\nfrom the host: this removes them, as the containers see them.  The volume itself is the\nengine's record (podman's database, Docker's metadata.db), written only by the engine: it\nstays, empty, and `podman volume rm NAME` (or docker's) removes it.  Refused while a container,\nrunning or not, uses the volume, as podman volume rm refuses (-f empties it anyway; where\nthe engine's files do not say who uses it, it is emptied).\n\nExamples:\n  unshare-fs volume rm mydata && podman volume rm mydata\n  unshare-fs volume rm -f mydata",
    )
    .action(async (names: string[], opts: { force?: boolean }, cmd: Command) =>
      (await volumeVerbs()).volumeRm(names, { force: opts.force, engine: engineOf(cmd), onProgress: progress(out) }, out),
    );
  volume
    .command('export')
    .description("a volume's files as a tar, what podman volume export writes (ids as its containers see them)")
    .argument('<name>', 'a volume name')
    .option('-o, --output <file>', 'write the tar to this file, which appears only once the tar is complete (default: stdout)')
    .addHelpText('after', '\nExamples:\n  unshare-fs volume export mydata > mydata.tar\n  unshare-fs volume export -o mydata.tar mydata')
    .action(async (name: string, opts: { output?: string }, cmd: Command) => {
      try {
        await (await volumeVerbs()).volumeExport(name, { output: opts.output, engine: engineOf(cmd) }, out);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        out.fail(error);
      }
    });
  volume
    .command('import')
    .description('unpack a tar into a volume, over what is there, as podman volume import (ids, modes and times as the tar says)')
    .argument('<name>', 'a volume name')
    .option('-i, --input <file>', 'read the tar from this file (default: stdin)')
    .addHelpText('after', '\nExamples:\n  unshare-fs volume import mydata < mydata.tar\n  unshare-fs volume import -i mydata.tar mydata')
    .action(async (name: string, opts: { input?: string }, cmd: Command) => {
      try {
        await (await volumeVerbs()).volumeImport(name, { input: opts.input, engine: engineOf(cmd) }, out);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        out.fail(error);
      }
    });

  cli
    .command('completion')
    .description('print a shell completion script (bash): verbs, options, container and volume names')
    .argument('<shell>', 'bash')
    .addHelpText(
      'after',
      '\nExamples:\n  source <(unshare-fs completion bash)\n  unshare-fs completion bash > ~/.local/share/bash-completion/completions/unshare-fs',
    )
    .action(async (shell: string) => {
      if (shell !== 'bash') throw new UsageError(`completion: no script for '${shell}' (bash)`);
      out.write((await import('./completion')).bashCompletion(cli));
    });

  return cli;
}

/** Parses argv and runs; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const out = new Output();
  const cli = program(out);
  const stopHandling = handleInterrupts(out);
  try {
    if (argv.length === 0) {
      cli.outputHelp({ error: true });
      return EXIT.usage;
    }
    await cli.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`unshare-fs: ${error.message}\nTry 'unshare-fs --help' for more information.\n`);
      return EXIT.usage;
    }
    if (!out.stoppedBy(error)) out.fail(error);
  } finally {
    out.progress.done();
    stopHandling();
  }
  if (out.interrupted) {
    process.stderr.write(interruptedLine(out));
    return EXIT.interrupted;
  }
  await out.flush(true);
  return out.status;
}

/**
 * Ends the run with `status`.  The job has stopped and unwound, and the
 * program ends when nothing holds node's loop.  Should something still hold
 * it after Ctrl-C (it should not; seen once under heavy load), Ctrl-C must
 * still end the program: a timer that holds nothing itself exits after a
 * grace, naming what did.
 */
export function finish(status: number): void {
  process.exitCode = status;
  if (status !== EXIT.interrupted) return;
  setTimeout(() => {
    const held = process.getActiveResourcesInfo();
    process.stderr.write(`unshare-fs: still busy after the interruption (${held.join(', ')}): exiting\n`);
    process.exit(status);
  }, 2000).unref();
}

// Run as a file of its own (package.json's bin is ./bin.ts, which runs this one from V8's code cache).
if (require.main === module) void main(process.argv.slice(2)).then(finish);

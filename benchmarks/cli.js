'use strict';
// The cli section: the `unshare-fs` command line (package.json's bin) against
// `podman unshare` running GNU tools, whole processes both, start-up
// included (issue 23): find --printf, du -s, rm -r of a volume's tree and
// ls -l of a small directory, on a container made for the run with a
// 50,000-entry tree. Its description is in sections.js and README.md
// ("Cli section").

const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ensureFixture } = require('./fixtures');
const { loadLibrary } = require('./library');
const { podmanHere } = require('./inside');
const { ms1, x2, line, spawnTimed, run, renderColumns, formatCount, target, formatTargets, progress } = require('./measure');

const CLI = { image: process.env.UNSHARE_FS_BENCH_IMAGE || 'localhost/unshare-fs-test', name: 'unshare-fs-bench-cli',
  volume: 'unshare-fs-bench-cli-rm', fixture: 'cli-50000', entries: 50_000, dataDir: 'data', lsDir: 'etc', owner: 1000,
  printf: '%p %s\\n' };

/** The command line under test: package.json's bin, run by this node. */
const CLI_BIN = path.join(__dirname, '..', require('../package.json').bin['unshare-fs']);
const unshareFs = (...args) => [process.execPath, CLI_BIN, ...args];

/**
 * The command lines measured: this checkout's, then each --compare-lib
 * build's (a dist/ directory: the bin its own package.json names), its
 * rows' labels suffixed ` [DIR]` and ids `@N` (N from 1: an id names the
 * row's output file).
 */
function cliBuilds(compareLibs = []) {
  return [{ idSuffix: '', suffix: '', bin: CLI_BIN }, ...compareLibs.map((dir, i) => {
    const root = path.resolve(dir, '..');
    const bin = path.join(root, require(path.join(root, 'package.json')).bin['unshare-fs']);
    return { idSuffix: `@${i + 1}`, suffix: ` [${dir}]`, bin };
  })];
}
const podmanUnshare = (...args) => ['podman', 'unshare', ...args];

/** find --printf '%p %s\n' output: its lines and the sum of their last field. */
function parseFind(text) {
  let entries = 0;
  let sizeSum = 0;
  for (const entry of text.split('\n')) {
    if (!entry) continue;
    entries++;
    sizeSum += Number(entry.slice(entry.lastIndexOf(' ') + 1));
  }
  return { entries, sizeSum };
}

/** du -s output: its KiB (as the entries column, to compare the rows'). */
const parseDu = (text) => ({ entries: Number(/^(\d+)\t/.exec(text)?.[1] ?? NaN) });

/** ls -l output: its lines less the "total" one. */
const parseLs = (text) => ({ entries: text.split('\n').filter((l) => l && !l.startsWith('total ')).length });

const removeContainer = (name) => spawnTimed(['podman', 'rm', '-f', '-t', '0', name]);
const removeVolume = (name) => spawnTimed(['podman', 'volume', 'rm', '-f', name]);

/**
 * Rootless podman, the container (made for the run, the fixture copied to
 * /data) and the volume rm -r works in; or { skipped }.
 */
async function setUpCli(ctx) {
  const here = await podmanHere();
  if (here.skipped) return here;
  if (!here.rootless) return { skipped: 'podman unshare is for rootless podman only: run the bench as an ordinary user' };
  if ((await spawnTimed(['podman', 'image', 'exists', CLI.image])).code !== 0) {
    return { skipped: `no image ${CLI.image} (scripts/podman-setup.sh builds it)` };
  }
  const help = spawnSync(process.execPath, [CLI_BIN, '--help'], { encoding: 'utf8' });
  if (help.status !== 0) return { skipped: `${CLI_BIN} --help failed (npm run build:ts): ${help.stderr.trim()}` };
  // Until the rm verb exists, `rm --help` prints the program's help (status
  // 0): only its own usage line says it is there.
  const rmHelp = spawnSync(process.execPath, [CLI_BIN, 'rm', '--help'], { encoding: 'utf8' });
  ctx.rmMissing = rmHelp.status === 0 && rmHelp.stdout.startsWith('Usage: unshare-fs rm ') ? null
    : `this unshare-fs has no rm verb (\`unshare-fs rm --help\` printed no rm usage, status ${rmHelp.status})`;
  const library = loadLibrary();
  const fixture = ensureFixture(CLI.fixture, CLI.entries);
  // Only this section's own container and volume, by their names: an
  // interrupted run's are removed first, nothing else is touched.
  await removeContainer(CLI.name);
  await removeVolume(CLI.volume);
  progress('[cli] starting a container');
  await run(['podman', 'run', '-d', '--rm', '--network', 'none', '--name', CLI.name, CLI.image, 'sleep', '3600']);
  ctx.container = CLI.name;
  const c = library.podman.container(CLI.name);
  if (!c?.mounted) throw new Error(`container ${CLI.name} started but the library does not see its merged dir mounted`);
  progress(`[cli] copying ${formatCount(fixture.entries)} entries into the container`);
  await run(podmanUnshare('cp', '-a', fixture.root, path.join(c.mergedDir, CLI.dataDir)));
  await run(['podman', 'volume', 'create', CLI.volume]);
  ctx.volume = CLI.volume;
  const mountpoint = (await run(['podman', 'volume', 'inspect', '--format', '{{.Mountpoint}}', CLI.volume])).stdout.trim();
  progress('');
  let n = 0;
  // A fresh copy of the fixture in the volume, owned by uid 1000 as the
  // container sees it (a subordinate id the user cannot remove from the
  // host), synced: its writeback would land in the timed run.
  ctx.copy = async () => {
    const name = `tree-${n++}`;
    const dest = path.join(mountpoint, name);
    await run(podmanUnshare('sh', '-c', `cp -a "$0" "$1" && chown -R ${CLI.owner}:${CLI.owner} "$1"`, fixture.root, dest));
    await run(['sync']);
    return { name, dest };
  };
  Object.assign(ctx, { fixture, merged: c.mergedDir, mountpoint });
}

async function tearDownCli({ container, volume }) {
  progress('[cli] removing the container and the volume');
  if (container) await removeContainer(container);
  // Whatever a failed rm left in it goes with the volume.
  if (volume) await removeVolume(volume);
  progress('');
}

/**
 * The rows, in groups: unshare-fs (this checkout's, then each --compare-lib
 * build's), then its podman unshare peer (the group's ratio reference).
 * --only and --skip take the rows' ids.
 */
function cliCompetitors({ merged, copy, rmMissing, options = {} }) {
  const c = CLI.name;
  const small = path.join(merged, CLI.lsDir);
  const hostDir = path.dirname(CLI_BIN);
  const builds = cliBuilds(options.compareLibs);
  const pair = (group, ours, peer) => [
    ...builds.map(({ idSuffix, suffix, bin }) => ({ ...ours, id: `cli-${group}${idSuffix}`, label: `${ours.label}${suffix}`, group,
      timed: 'process', cmd: (arg) => ours.cmd(arg).map((word) => (word === CLI_BIN ? bin : word)) })),
    { ...peer, id: `podman-unshare-${group}`, group, timed: 'process' }];
  return [
    ...pair('find',
      { label: `unshare-fs find ${c}:/ --printf '${CLI.printf}'`, toFile: true, parse: parseFind,
        cmd: () => unshareFs('find', `${c}:/`, '--printf', CLI.printf) },
      { label: `podman unshare find MERGED -printf '${CLI.printf}'`, toFile: true, parse: parseFind,
        cmd: () => podmanUnshare('find', merged, '-printf', CLI.printf) }),
    ...pair('du',
      { label: `unshare-fs du -s ${c}:/`, parse: parseDu, cmd: () => unshareFs('du', '-s', `${c}:/`) },
      { label: 'podman unshare du -s MERGED', parse: parseDu, cmd: () => podmanUnshare('du', '-s', merged) }),
    // Each rm -r trial on its own copy (before, untimed).
    ...pair('rm',
      { label: `unshare-fs rm -r volume:${CLI.volume}:/TREE`, unavailable: rmMissing, before: copy,
        cmd: ({ dir }) => unshareFs('rm', '-r', `volume:${CLI.volume}:/${dir.name}`) },
      { label: 'podman unshare rm -r MOUNTPOINT/TREE', unavailable: rmMissing ? `${rmMissing} (no pair)` : null,
        before: copy, cmd: ({ dir }) => podmanUnshare('rm', '-r', dir.dest) }),
    ...pair('ls',
      { label: `unshare-fs ls -l ${c}:/${CLI.lsDir}`, parse: parseLs, cmd: () => unshareFs('ls', '-l', `${c}:/${CLI.lsDir}`) },
      { label: `podman unshare ls -l MERGED/${CLI.lsDir}`, parse: parseLs, cmd: () => podmanUnshare('ls', '-l', small) }),
    // For scale: start-up with no session at all (a host directory).
    ...pair('ls-host',
      { label: `unshare-fs ls -l ${hostDir}`, parse: parseLs, cmd: () => unshareFs('ls', '-l', hostDir) },
      { label: `podman unshare ls -l ${hostDir}`, parse: parseLs, cmd: () => podmanUnshare('ls', '-l', hostDir) }),
  ].filter((row) => (!options.only || options.only.includes(row.id)) && !(options.skip ?? []).includes(row.id));
}

/** Each unshare-fs row's median over its peer's. */
const RATIO_TO = { find: 'podman-unshare-find', du: 'podman-unshare-du', rm: 'podman-unshare-rm', ls: 'podman-unshare-ls',
  'ls-host': 'podman-unshare-ls-host' };

/** Whether a pair's rows agree on what they saw (entries, sizes, KiB, lines). */
function agree(ours, peer) {
  if (!ours?.entryCounts.length || !peer?.entryCounts.length) return null;
  const same = (a, b) => a.length > 0 && a.every((v) => v === a[0]) && a[0] === b[0];
  return same(ours.entryCounts, peer.entryCounts) && (ours.sizeSums.length === 0 || same(ours.sizeSums, peer.sizeSums));
}

/** The targets: find, du, rm at least as fast as podman unshare's; ls of a small dir within 2x. */
function cliTargets(byId, _ctx, _extra, t) {
  return [['find', t.find], ['du', t.du], ['rm', t.rm], ['ls', t.ls]].map(([verb, limit]) => {
    const ours = byId[`cli-${verb}`];
    const name = `unshare-fs ${verb} <= ${limit}x podman unshare ${verb} (whole processes, medians)`;
    if (!ours?.summary || ours.ratio === null) return target(name, null, ours?.error ?? ours?.status ?? 'not run');
    const ok = agree(ours, byId[`podman-unshare-${verb}`]);
    return target(name, ok !== false && ours.ratio <= limit, `${x2(ours.ratio)}${ok === false ? ' (outputs disagree)' : ''}`,
      ours.ratio, limit);
  });
}

function printCli({ fixture, merged, mountpoint, trials, rmMissing }, rows, byId, _extra, targets) {
  line(`\ncli section (rootless podman): container ${CLI.name} from ${CLI.image}, `,
    `${formatCount(fixture.entries)} fixture entries copied to /${CLI.dataDir}; MERGED = ${merged}`);
  line(`rm -r: each trial on its own copy of the fixture (uid ${CLI.owner} inside) in volume ${CLI.volume} `,
    `(MOUNTPOINT = ${mountpoint}), made and synced before the clock starts`);
  if (rmMissing) console.log(`rm rows not run: ${rmMissing}`);
  line(`${trials} trials per row, each a fresh process timed from spawn to exit, interleaved after one warm-up; `,
    'ratio: unshare-fs / podman unshare (below 1 unshare-fs is faster)\n');
  const lines = rows.map((row) => {
    if (!row.summary) return [row.label, '-', '-', '', '', '', row.error ?? row.status];
    const peer = byId[RATIO_TO[row.group]];
    const seen = row.group === 'rm' ? '' : [...new Set(row.entryCounts)].map(formatCount).join('/') +
      (row !== peer && agree(row, peer) === false ? ' !' : '');
    return [row.label, seen, ms1(row.summary.median), ms1(row.summary.min), ms1(row.summary.max),
      row === peer || row.ratio === null ? '' : x2(row.ratio), ''];
  });
  console.log(renderColumns(['row', 'seen', 'median ms', 'min', 'max', 'ratio', ''], lines,
    [false, true, true, true, true, true, false]));
  console.log("seen: find's lines, du's KiB, ls's lines (less 'total'); ' !' where they differ from podman unshare's");
  console.log(`\n${formatTargets(targets)}`);
}

module.exports = { setUpCli, tearDownCli, cliCompetitors, cliTargets, printCli, RATIO_TO, CLI };

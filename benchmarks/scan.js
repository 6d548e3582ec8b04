'use strict';
// The scan section: every container of a podman user walked with full stat
// at once (issue 24's "every container at once"), against the same
// containers walked one after another with the library and against
// `podman unshare find` per container. Its description is in sections.js
// and README.md ("Scan section").

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureFixture } = require('./fixtures');
const { loadLibrary } = require('./library');
const { podmanHere } = require('./inside');
const { MIB, ms1, x2, line, spawnTimed, run, ensureCBaseline, median, renderColumns, formatCount, target,
  formatTargets, progress, PRINTF } = require('./measure');

const SCAN = { base: process.env.UNSHARE_FS_BENCH_IMAGE || 'localhost/unshare-fs-test',
  image: 'localhost/unshare-fs-bench-scan', prefix: 'unshare-fs-scan-', dir: '/scan',
  label: 'unshare-fs.bench.base' };

/** What a trial is given: every container, running or not, and the running ones' merged dirs. */
const specArg = (containers) => JSON.stringify(containers.map(({ name, running, root }) => ({ name, running, root })));

/** The rows; none when setup skipped. */
function scanCompetitors({ containers, rootless }) {
  const spec = specArg(containers);
  const findLabel = rootless ? 'podman unshare find per container' : 'find per container (rootful: no podman unshare)';
  return [
    { id: 'scan-containers', label: `unshare-fs scanContainers() (${Math.max(2, os.availableParallelism())} at once)`,
      timed: 'sessions+walks', task: () => ['scan', 'scan-containers', spec] },
    { id: 'scan-concurrent', label: 'unshare-fs, every walk at once', timed: 'sessions+walks',
      task: () => ['scan', 'concurrent', spec] },
    { id: 'scan-sequential', label: 'unshare-fs, one walk after another', timed: 'sessions+walks',
      task: () => ['scan', 'sequential', spec] },
    { id: 'podman-unshare-find', label: `${findLabel} -printf`, timed: 'processes', needs: ['find'],
      task: () => ['scan-find', rootless ? 'rootless' : 'rootful', spec] },
  ];
}

/** Names of this section's containers left by an earlier, interrupted run. */
async function leftovers() {
  const listed = await spawnTimed(['podman', 'ps', '-a', '--filter', `name=^${SCAN.prefix}`, '--format', '{{.Names}}']);
  return listed.stdout.split('\n').filter((name) => name.startsWith(SCAN.prefix));
}

async function removeContainers(names) {
  if (names.length === 0) return;
  progress(`[scan] removing ${names.length} containers`);
  await spawnTimed(['podman', 'rm', '-f', '-t', '0', ...names]);
  progress('');
}

/**
 * The scan image, built on the test image with the generated tree at /scan
 * unless one built on the same base image (its id in a label) exists.
 */
async function ensureImage(entries) {
  const image = `${SCAN.image}:${entries}`;
  const inspect = async (ref, format) => (await spawnTimed(['podman', 'image', 'inspect', '--format', format, ref])).stdout.trim();
  const baseId = await inspect(SCAN.base, '{{.Id}}');
  const label = await inspect(image, `{{index .Labels "${SCAN.label}"}}`);
  if (label === baseId) return { image, built: null };
  // One built on another base (or before the label): removed, not left dangling by the new tag.
  if ((await spawnTimed(['podman', 'image', 'exists', image])).code === 0) await spawnTimed(['podman', 'rmi', image]);
  const fixture = ensureFixture(`scan-${entries}`, entries);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-bench-scan-'));
  try {
    const file = path.join(dir, 'Containerfile');
    fs.writeFileSync(file, `FROM ${SCAN.base}\nLABEL ${SCAN.label}=${baseId}\nCOPY . ${SCAN.dir}/\n`);
    progress(`[scan] building ${image} (${formatCount(fixture.entries)} entries)`);
    const built = await run(['podman', 'build', '-q', '-f', file, '-t', image, fixture.root]);
    progress('');
    return { image, built: built.processMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The expected entries and size sum of each container, from the C
 * baseline: a running container's merged dir through nsenter into the pause
 * process's namespaces (rootful: as is), a stopped one mounted with
 * `podman mount` for the walk (rootless: inside `podman unshare`).
 */
async function expectedCounts(containers, { rootless, pausePid }) {
  const walk = ensureCBaseline();
  const expected = {};
  for (const c of containers) {
    progress(`[scan] C baseline on ${c.name}`);
    const argv = c.running
      ? [...(rootless ? ['nsenter', '-U', '-m', '-t', String(pausePid)] : []), walk, c.root]
      : [...(rootless ? ['podman', 'unshare'] : []), 'sh', '-c',
        'm=$(podman mount "$1") || exit 1; "$2" "$m"; s=$?; podman umount "$1" >/dev/null; exit $s', 'sh', c.name, walk];
    const result = await run(argv);
    const match = /entries=(\d+) sizes=(\d+)/.exec(result.stdout);
    if (!match) throw new Error(`unexpected output from the C baseline on ${c.name}: ${result.stdout.trim()}`);
    expected[c.name] = { entries: Number(match[1]), sizeSum: Number(match[2]) };
  }
  progress('');
  return expected;
}

/** The image, N containers from it (half running, half stopped) and the C baseline's counts; or { skipped }. */
async function setUpScan(ctx) {
  const { scanContainers: count, scanEntries: entries } = ctx.options;
  const here = await podmanHere();
  if (here.skipped) return here;
  const { rootless } = here;
  const library = loadLibrary();
  const setupStarted = process.hrtime.bigint();
  const setupMs = () => Number(process.hrtime.bigint() - setupStarted) / 1e6;
  let pausePid = null;
  if ((await spawnTimed(['podman', 'image', 'exists', SCAN.base])).code !== 0) {
    return { skipped: `no image ${SCAN.base} (scripts/podman-setup.sh builds it)` };
  }
  // Whatever an interrupted run left, first: the names are this section's.
  await removeContainers(await leftovers());
  const { image, built } = await ensureImage(entries);
  const imageMs = setupMs();
  ctx.created = [];
  const containers = [];
  const running = Math.ceil(count / 2);
  for (let k = 0; k < count; k++) {
    const name = `${SCAN.prefix}${k}`;
    const isRunning = k < running;
    progress(`[scan] ${isRunning ? 'starting' : 'creating'} ${name} (${k + 1}/${count})`);
    ctx.created.push(name);
    await run(isRunning ? ['podman', 'run', '-d', '--network', 'none', '--name', name, image, 'sleep', '3600']
      : ['podman', 'create', '--network', 'none', '--name', name, image, 'sleep', '3600']);
    containers.push({ name, running: isRunning });
  }
  progress('');
  const containersMs = setupMs() - imageMs;
  if (rootless) pausePid = library.podman.pausePid();
  for (const c of containers.filter((x) => x.running)) {
    const info = library.podman.container(c.name);
    if (info.pid === null || !info.mounted) throw new Error(`${c.name} started but the library does not see it running and mounted`);
    c.root = info.mergedDir;
  }
  const expected = await expectedCounts(containers, { rootless, pausePid });
  const setup = { imageMs, containersMs, baselineMs: setupMs() - imageMs - containersMs, totalMs: setupMs() };
  Object.assign(ctx, { image, built, setup, rootless, pausePid, containers, expected,
    expectedTotal: Object.values(expected).reduce((sum, e) => sum + e.entries, 0) });
}

/** Always: the containers go, whatever failed; the image stays unless --remove-scan-image. */
async function tearDownScan(ctx) {
  if (!ctx.created) return;
  await removeContainers([...new Set([...ctx.created, ...(await leftovers())])]);
  const image = `${SCAN.image}:${ctx.options.scanEntries}`;
  if (ctx.options.removeScanImage) {
    await spawnTimed(['podman', 'rmi', '-f', image]);
    console.error(`scan: removed the containers and the image ${image} (--remove-scan-image)`);
  } else {
    console.error(`scan: removed the containers; kept the image ${image} for the next run ` +
      `(podman rmi ${image} removes it; --remove-scan-image does at the end of a run)`);
  }
}

/** Per row: every trial's count per container against the C baseline's; the mismatches, as text. */
function countMismatches(row, expected) {
  const wrong = new Set();
  for (const result of row.results) {
    for (const [name, e] of Object.entries(expected)) {
      const seen = result.perContainer?.[name];
      if (!seen) wrong.add(`${name}: not walked`);
      else if (seen.entries !== e.entries) wrong.add(`${name}: ${formatCount(seen.entries)} entries, C saw ${formatCount(e.entries)}`);
      else if (seen.sizeSum !== e.sizeSum) wrong.add(`${name}: size sum ${seen.sizeSum}, C saw ${e.sizeSum}`);
    }
  }
  return [...wrong];
}

/** Entries per second, RSS and count checks per row, and the concurrent / sequential speed-up. */
function scanStats(ctx, byId) {
  const stats = {};
  for (const row of Object.values(byId)) {
    if (!row.summary) continue;
    const pick = (key) => row.results.map((r) => r[key]).filter((v) => typeof v === 'number');
    const med = (key) => (pick(key).length ? median(pick(key)) : null);
    stats[row.id] = { entriesPerSecond: (row.entries / row.summary.median) * 1000, peakRss: med('peakRss'),
      maxPeakRss: pick('peakRss').length ? Math.max(...pick('peakRss')) : null, rssGrowth: med('growthBytes'),
      maxRssGrowth: pick('growthBytes').length ? Math.max(...pick('growthBytes')) : null,
      mountMs: row.results.flatMap((r) => r.mountMs ?? []), storageOpenMs: pick('storageOpenMs'),
      busyCores: med('busyCores'), runnableCores: med('runnableCores'),
      // CPU time per trial (busy cores over its wall time), what the load on the machine does not change.
      coreSeconds: row.results.some((r) => typeof r.busyCores === 'number')
        ? median(row.results.filter((r) => typeof r.busyCores === 'number').map((r) => (r.busyCores * r.ms) / 1000)) : null,
      mismatches: countMismatches(row, ctx.expected) };
  }
  const sequential = byId['scan-sequential'];
  const over = (row) => (row?.summary && sequential?.summary ? sequential.summary.median / row.summary.median : null);
  // What every walk at once could gain at most on these cores, were its CPU
  // per entry the same: the cores over those one walk after another keeps runnable.
  const runnable = stats['scan-sequential']?.runnableCores;
  const ceiling = runnable ? Math.max(1, os.availableParallelism() / runnable) : null;
  // On an idle machine a row would take its CPU time over the cores it keeps
  // runnable (at most the machine's): the ratio the load does not blur.
  const idleMs = (id) => (stats[id]?.coreSeconds && stats[id].runnableCores
    ? (stats[id].coreSeconds * 1000) / Math.min(os.availableParallelism(), stats[id].runnableCores) : null);
  const idleSpeedup = idleMs('scan-containers') && idleMs('scan-sequential') ? idleMs('scan-sequential') / idleMs('scan-containers') : null;
  return { stats, speedup: over(byId['scan-containers']), unboundedSpeedup: over(byId['scan-concurrent']), ceiling, idleSpeedup };
}

function scanTargets(byId, ctx, { stats, speedup }, t) {
  const countsOk = (id) => stats[id] && stats[id].mismatches.length === 0;
  const name = `scan: scanContainers() >= ${t.concurrentVsSequential}x one walk after another (entries/s)`;
  const targets = [speedup === null
    ? target(name, null, byId['scan-containers']?.error ?? byId['scan-sequential']?.error ?? 'not measured')
    : target(name, countsOk('scan-containers') && countsOk('scan-sequential') && speedup >= t.concurrentVsSequential,
      `${x2(speedup)}${countsOk('scan-containers') && countsOk('scan-sequential') ? '' : ' (entry counts mismatch)'}`,
      speedup, t.concurrentVsSequential)];
  const growth = stats['scan-containers']?.maxRssGrowth;
  const rssName = `scan: scanContainers(), RSS growth < ${t.rssGrowthBytes / MIB} MiB (bounded by the consumer)`;
  targets.push(growth == null ? target(rssName, null, 'not measured')
    : target(rssName, growth < t.rssGrowthBytes, `worst trial ${(growth / MIB).toFixed(1)} MiB over ${ctx.containers.length} ` +
      `containers (one after another: ${((stats['scan-sequential']?.maxRssGrowth ?? NaN) / MIB).toFixed(1)} MiB)`,
    growth, t.rssGrowthBytes));
  return targets;
}

function printScan(ctx, rows, byId, { stats, speedup, unboundedSpeedup, ceiling, idleSpeedup }, targets) {
  const { image, built, setup, rootless, pausePid, containers, expected, expectedTotal, trials } = ctx;
  const running = containers.filter((c) => c.running).length;
  const mib = (bytes) => (bytes == null ? '' : (bytes / MIB).toFixed(1));
  line(`\nscan section (${rootless ? `rootless, pause pid ${pausePid}` : 'rootful, as root'}): ${containers.length} containers `,
    `of ${image}${built === null ? ' (reused)' : ` (built in ${(built / 1000).toFixed(1)} s)`}, ${running} running, `,
    `${containers.length - running} stopped; ${formatCount(expectedTotal)} entries in all (C baseline per container)`);
  line(`set-up: ${(setup.totalMs / 1000).toFixed(1)} s (image ${(setup.imageMs / 1000).toFixed(1)} s, `,
    `${containers.length} containers ${(setup.containersMs / 1000).toFixed(1)} s, C baseline counts `,
    `${(setup.baselineMs / 1000).toFixed(1)} s); --scan-containers N --scan-entries N for a smaller run`);
  line('library rows: running containers\' merged dirs walked in one podman.enterStorage() session, each stopped ',
    'container through its own podman.mountContainer() (a namespace each); scanContainers() walks a few at a time ',
    '(the cores, at least 2), the second row all at once; full stat, the consumer counts entries ',
    'and sums stats.size; timed from the first session opened to the last closed');
  line(`find row: ${rootless ? 'podman unshare find MERGED' : 'find MERGED'} per running container, `,
    `${rootless ? 'podman unshare sh -c \'m=$(podman mount C); find "$m" …; podman umount C\'' : 'sh -c \'m=$(podman mount C); ' +
      'find "$m" …; podman umount C\''} per stopped one, -printf '${PRINTF}', one after another, `,
    'each process timed from spawn to exit, summed');
  line(`${trials} trials per row, each a fresh process, interleaved after one warm-up; RSS: the trial process's, sampled `,
    'every 10 ms (the library\'s workers are processes of their own, not in it); medians unless said\n');
  const header = ['row', 'timed', 'entries', 'median ms', 'min', 'max', 'entries/s', 'peak RSS MiB', 'RSS growth MiB',
    'busy cores', 'runnable', 'CPU s', 'counts'];
  const cores = (n) => (n == null ? '' : n.toFixed(2));
  const lines = rows.map((row) => {
    if (!row.summary) return [row.label, row.timed, '-', row.status, '', '', '', '', '', '', '', '', row.error ?? ''];
    const s = stats[row.id];
    return [row.label, row.timed, formatCount(row.entries), ms1(row.summary.median), ms1(row.summary.min), ms1(row.summary.max),
      formatCount(Math.round(s.entriesPerSecond)), mib(s.peakRss), mib(s.rssGrowth), cores(s.busyCores), cores(s.runnableCores),
      cores(s.coreSeconds),
      s.mismatches.length ? `${s.mismatches.length} mismatch(es)` : 'ok'];
  });
  console.log(renderColumns(header, lines, [false, false, true, true, true, true, true, true, true, true, true, true, false]));
  line('busy cores: the trial process\'s threads and its children\'s (workers, namespace holders) on a CPU over the ',
    'wall time; runnable: on a CPU or waiting for one, what the row would use of an idle machine (schedstat, every 50 ms); ',
    'CPU s: busy cores times the wall time, median of the trials');
  for (const row of rows) {
    for (const m of stats[row.id]?.mismatches ?? []) console.log(`${row.id}: ${m}`);
  }
  const e = Object.values(expected);
  line(`\ncounts: each row's count per container in every trial against the C baseline's (${formatCount(Math.min(...e.map((x) => x.entries)))}`,
    `–${formatCount(Math.max(...e.map((x) => x.entries)))} entries per container)`);
  if (speedup !== null) line(`scan ratio, scanContainers() / one after another: ${x2(speedup)} the entries per second`);
  if (unboundedSpeedup !== null) line(`every walk at once / one after another: ${x2(unboundedSpeedup)}`);
  if (idleSpeedup !== null) {
    line(`scan ratio on an idle machine (each row's CPU s over min(cores, its runnable cores)): ${x2(idleSpeedup)}; `,
      'under load a row with more threads takes a larger share of the CPU, which the wall-time ratio shows too');
  }
  if (ceiling !== null) {
    line(`one after another keeps ${stats['scan-sequential'].runnableCores.toFixed(2)} cores runnable: on `,
      `${os.availableParallelism()} cores, walks at once can gain at most ${x2(ceiling)} at the same CPU per entry`);
  }
  const [c, s] = [stats['scan-containers'], stats['scan-sequential']];
  if (c?.peakRss && s?.peakRss) {
    line(`peak RSS: scanContainers() ${mib(c.peakRss)} MiB (worst ${mib(c.maxPeakRss)}), one after another `,
      `${mib(s.peakRss)} MiB (worst ${mib(s.maxPeakRss)}); growth ${mib(c.rssGrowth)} vs ${mib(s.rssGrowth)} MiB`);
  }
  if (s?.mountMs.length) {
    line(`cost of a stopped container: podman.mountContainer() (a namespace, its mount and a session) median `,
      `${ms1(median(s.mountMs))} ms uncontended (one after another), ${stats['scan-concurrent']?.mountMs.length
        ? ms1(median(stats['scan-concurrent'].mountMs)) : '?'} ms `,
      `with every mount at once; podman.enterStorage() ${s.storageOpenMs.length ? ms1(median(s.storageOpenMs)) : '?'} ms, once`);
  }
  console.log(`\n${formatTargets(targets)}`);
}

module.exports = { scanCompetitors, setUpScan, tearDownScan, scanStats, scanTargets, printScan };

'use strict';
// The namespace section of `npm run bench`: the benchmarks of the sessions
// issue, all inside one namespace made for the run.
//
// One holder (createNamespace(), like podman's pause process) lives for the
// whole section, with an overlay mounted in it on a temporary directory: the
// small fixture tree as its lower layer, an upper and a work dir beside it.
// With a subordinate id range (root with one in /etc/subuid, or an ordinary
// user with one), one subtree is chowned to uid 1000 and made 0700 through
// the merged dir (which copies it up), so a peer reading from the host
// through /proc/PID/root cannot read it as an ordinary user.
//
// Every trial is a fresh process that joins that namespace: ns-trial.js
// (enter({ pid })), or nsenter -U -m -t PID for the C baseline, bfs and find.
// The holder pid reaches them on their command line.
//
// With --compare-lib DIR, an older build's ns-trial.js processes (the same
// script, loading DIR through $UNSHARE_FS_BENCH_LIB) join the same holder,
// interleaved with the current build's: session open, lstat and the walk
// are printed beside the current build's with the ratio current / older.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureFixture } = require('./fixtures');
const { cBaseline, printfTool, nodeWalker, timedSpawn } = require('./competitors');
const { measureFixture, progress } = require('./measure');
const { summarize, summarizeLatency } = require('./stats');
const { renderColumns, formatCount } = require('./report');
const { libraryPath } = require('./library');

const NS_TRIAL_SCRIPT = path.join(__dirname, 'ns-trial.js');
// The fixture's etc/ (about 2% of the tree) becomes uid 1000's, mode 0700.
const HIDDEN_SUBTREE = 'etc';
const HIDDEN_OWNER = 1000;

// The sessions issue's targets. Printed, never enforced (see report.js).
const TARGETS = { openP50Ms: 5, lstatP50Us: 50, walkVsC: 1.15, bfsSpeedup: 2 };
// Against an older build measured in the same run (--compare-lib).
const VS_OLDER = { lstat: 1.2, walk: 1.2 };

const OPEN_COUNT = 300;
const OPEN_WARMUP = 30;
const LSTAT_COUNT = 10_000;
const LSTAT_WARMUP = 1_000;

/** Runs ns-trial.js in a fresh process and returns its JSON report. */
async function runNsTrial(args, env = {}) {
  const result = await timedSpawn(process.execPath, [NS_TRIAL_SCRIPT, ...args], { env });
  const lastLine = result.stdout.trim().split('\n').pop() || '';
  let report;
  try {
    report = JSON.parse(lastLine);
  } catch {
    throw new Error(`ns-trial.js ${args[0]} crashed (code ${result.code}, signal ${result.signal}): ` +
      result.stderr.trim());
  }
  if (!report.ok) {
    const error = new Error(report.error);
    error.notBuilt = report.notBuilt;
    throw error;
  }
  return { ...report, processMs: result.processMs };
}

/** The library's walk in a fresh process: enter + walk(stat) + close. */
function libraryWalk(id, label, target, env = {}) {
  return {
    id, label, group: 'stat', measured: 'session+walk',
    available() {
      return null;
    },
    async runTrial(root) {
      const report = await runNsTrial(['walk', String(target), root], env);
      return { ms: report.ms, processMs: report.processMs, innerMs: report.walkMs,
        entries: report.entries, sizeSum: report.sizeSum };
    },
  };
}

/** Each peer's median over the library walk's (`speedups`), and that as a note for formatRows. */
function peerTimes(rows, walk) {
  const notes = {};
  const speedups = {};
  for (const row of rows) {
    if (row === walk || !row.summary || !walk?.summary) continue;
    speedups[row.id] = row.summary.median / walk.summary.median;
    notes[row.id] = `${speedups[row.id].toFixed(2)}x the library's time`;
  }
  return { notes, speedups };
}

/** The same competitor, walking `root` whatever the section's root is. */
function walkingAt(competitor, root) {
  return { ...competitor, root, runTrial: () => competitor.runTrial(root) };
}

function countEntries(dir) {
  return fs.readdirSync(dir, { recursive: true }).length;
}

/** Medians, ratios to the reference row (whole trial and walk alone), size checks. */
function summarizeRows(rows, referenceId) {
  const reference = rows.find((row) => row.id === referenceId);
  for (const row of rows) {
    row.summary = row.status === 'ok' ? summarize(row.times) : null;
    row.innerSummary = row.status === 'ok' ? summarize(row.innerTimes) : null;
  }
  const referenceSizes = reference?.sizeSums ?? [];
  for (const row of rows) {
    row.ratioTo = referenceId;
    row.ratio = row.summary && reference?.summary ? row.summary.median / reference.summary.median : null;
    row.innerRatio = row.innerSummary && reference?.innerSummary
      ? row.innerSummary.median / reference.innerSummary.median : null;
    row.sizeMismatch = referenceSizes.length > 0 && row.sizeSums.some((sum) => sum !== referenceSizes[0]);
  }
  return reference;
}

function formatRows(rows, reference, notesById = {}) {
  const header = ['peer', 'timed', 'entries', 'median ms', 'min', 'max', 'ratio', 'walk-only ms', 'ratio', 'note'];
  const expected = reference?.entries ?? null;
  const lines = rows.map((row) => {
    if (!row.summary) return [row.label, row.measured, '-', row.status, '', '', '', '', '', row.error ?? ''];
    const counts = [...new Set(row.entryCounts)];
    const countText = counts.map(formatCount).join('/') +
      (expected !== null && (counts.length !== 1 || counts[0] !== expected) ? ' !' : '');
    const note = [notesById[row.id], row.sizeMismatch ? 'sizes!' : ''].filter(Boolean).join('; ');
    return [row.label, row.measured, countText, row.summary.median.toFixed(1), row.summary.min.toFixed(1),
      row.summary.max.toFixed(1), row.ratio === null ? '' : `${row.ratio.toFixed(2)}x`,
      row.innerSummary ? row.innerSummary.median.toFixed(1) : '',
      row.innerRatio === null ? '' : `${row.innerRatio.toFixed(2)}x`, note];
  });
  return renderColumns(header, lines, [false, false, true, true, true, true, true, true, true, false]);
}

function serializeRow(row) {
  return {
    id: row.id, label: row.label, timed: row.measured, status: row.status, error: row.error, root: row.root ?? null,
    entries: row.entries, entryCounts: [...new Set(row.entryCounts)], sizeSum: row.sizeSums[0] ?? null,
    sizeMismatch: row.sizeMismatch, ratio: row.ratio, innerRatio: row.innerRatio, ratioTo: row.ratioTo,
    ms: row.summary, walkOnlyMs: row.innerSummary, processMs: summarize(row.processTimes), trialsMs: row.times,
  };
}

function target(name, ok, detail, value, limit) {
  return { name, status: ok === null ? 'SKIP' : ok ? 'PASS' : 'FAIL', detail, value, limit };
}

function evaluateTargets({ open, lstat, rowsById, reference }) {
  const targets = [];
  const openP50 = open?.enterMs?.p50;
  targets.push(target(`session open (enter) p50 <= ${TARGETS.openP50Ms} ms`,
    openP50 === undefined ? null : openP50 <= TARGETS.openP50Ms,
    openP50 === undefined ? (open?.error ?? 'not measured') : `${openP50.toFixed(2)} ms`, openP50, TARGETS.openP50Ms));
  const lstatP50 = lstat?.us?.p50;
  targets.push(target(`lstat round trip p50 <= ${TARGETS.lstatP50Us} us`,
    lstatP50 === undefined ? null : lstatP50 <= TARGETS.lstatP50Us,
    lstatP50 === undefined ? (lstat?.error ?? 'not measured') : `${lstatP50.toFixed(1)} us`, lstatP50, TARGETS.lstatP50Us));

  const walk = rowsById['unshare-ns-walk'];
  const countsOk = walk?.summary && reference?.summary &&
    walk.entryCounts.every((count) => count === reference.entries) && !walk.sizeMismatch;
  const walkName = `walk with full stat inside <= ${TARGETS.walkVsC}x the C baseline inside (nsenter)`;
  if (!walk?.summary || !reference?.summary) {
    targets.push(target(walkName, null, walk?.summary ? 'C baseline not measured' : walk?.status ?? 'not run'));
  } else {
    targets.push(target(walkName, countsOk && walk.ratio <= TARGETS.walkVsC,
      `${walk.ratio.toFixed(2)}x (enter + walk + close vs nsenter + walk process; walk alone vs the C walk's own ` +
      `time: ${walk.innerRatio?.toFixed(2) ?? '?'}x)${countsOk ? '' : ' (entry count or sizes mismatch)'}`,
      walk.ratio, TARGETS.walkVsC));
  }
  const bfs = rowsById['bfs-ns'];
  const bfsName = `walk with full stat inside >= ${TARGETS.bfsSpeedup}x faster than nsenter ... bfs -printf`;
  if (!walk?.summary || !bfs?.summary) {
    targets.push(target(bfsName, null, !walk?.summary ? walk?.status ?? 'not run' : bfs?.status ?? 'not run'));
  } else {
    const speedup = bfs.summary.median / walk.summary.median;
    targets.push(target(bfsName, countsOk && speedup >= TARGETS.bfsSpeedup, `${speedup.toFixed(2)}x faster`,
      speedup, TARGETS.bfsSpeedup));
  }
  return targets;
}

/**
 * The build under test, then each --compare-lib build; an older build runs
 * the same ns-trial.js with $UNSHARE_FS_BENCH_LIB pointing at it.
 */
function listBuilds(compareLibs) {
  return [
    { dir: libraryPath(), label: 'current', env: {}, walkId: 'unshare-ns-walk' },
    ...compareLibs.map((dir) => ({ dir: path.resolve(dir), label: dir, env: { UNSHARE_FS_BENCH_LIB: path.resolve(dir) },
      walkId: `unshare-ns-walk [${dir}]` })),
  ];
}

/**
 * Runs each job `rounds` times, a fresh ns-trial.js process each time,
 * round by round, starting one further along the list each round (the same
 * interleaving as the walk tables). Each job's samples are pooled:
 * returns, per job, the latency summaries over all of them, each process's
 * own p50 of `metric`, and the first error (the job is dropped then).
 */
async function latencyRounds(jobs, rounds, what) {
  const pooled = jobs.map(() => ({ samples: {}, processP50: [], error: null }));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < jobs.length; i++) {
      const index = (i + round) % jobs.length;
      const job = jobs[index];
      const into = pooled[index];
      if (into.error) continue;
      progress(`[namespace] ${what} ${round + 1}/${rounds} ${job.label}`);
      try {
        const report = await runNsTrial(job.args, job.env);
        for (const [name, values] of Object.entries(report.samples)) {
          into.samples[name] = (into.samples[name] ?? []).concat(values);
        }
        into.processP50.push(report[job.metric].p50);
      } catch (error) {
        into.error = error.message;
      }
    }
  }
  progress('');
  return pooled.map(({ samples, processP50, error }) => ({
    ...Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summarizeLatency(values)])),
    processes: processP50.length, processP50, error,
  }));
}

/** Current / older for each older build: session open, lstat, walk (same run). */
function compareBuilds(builds, openByBuild, lstatByBuild, rowsById, reference) {
  const current = rowsById[builds[0].walkId];
  const pair = (now, then) => ({ current: now ?? null, older: then ?? null,
    ratio: now !== undefined && then !== undefined ? now / then : null });
  return builds.slice(1).map((build, i) => {
    const older = rowsById[build.walkId];
    const walkCountsOk = [current, older].every((row) => row?.summary && !row.sizeMismatch &&
      row.entryCounts.every((count) => count === reference?.entries));
    return {
      lib: build.dir, label: build.label,
      sessionOpenP50Ms: pair(openByBuild[0].enterMs?.p50, openByBuild[i + 1].enterMs?.p50),
      sessionOpenError: openByBuild[i + 1].error,
      lstatP50Us: pair(lstatByBuild[0].us?.p50, lstatByBuild[i + 1].us?.p50),
      lstatError: lstatByBuild[i + 1].error,
      walkMedianMs: pair(current?.summary?.median, older?.summary?.median),
      walkOnlyMedianMs: pair(current?.innerSummary?.median, older?.innerSummary?.median),
      walkError: older?.error ?? null, walkCountsOk,
    };
  });
}

function formatComparison(comparison) {
  const cell = (value, unit, digits) => (value === null ? 'not measured' : `${value.toFixed(digits)} ${unit}`);
  const ratio = (value) => (value === null ? '' : `${value.toFixed(2)}x`);
  const header = ['', 'current', `older (${comparison.label})`, 'current / older'];
  const lines = [
    ['session open p50', cell(comparison.sessionOpenP50Ms.current, 'ms', 2),
      cell(comparison.sessionOpenP50Ms.older, 'ms', 2), ratio(comparison.sessionOpenP50Ms.ratio)],
    ['lstat round trip p50', cell(comparison.lstatP50Us.current, 'us', 1), cell(comparison.lstatP50Us.older, 'us', 1),
      ratio(comparison.lstatP50Us.ratio)],
    ['walk inside, enter + walk + close (median)', cell(comparison.walkMedianMs.current, 'ms', 1),
      cell(comparison.walkMedianMs.older, 'ms', 1), ratio(comparison.walkMedianMs.ratio)],
    ['walk inside, walk alone (median)', cell(comparison.walkOnlyMedianMs.current, 'ms', 1),
      cell(comparison.walkOnlyMedianMs.older, 'ms', 1), ratio(comparison.walkOnlyMedianMs.ratio)],
  ];
  const errors = [comparison.sessionOpenError, comparison.lstatError, comparison.walkError].filter(Boolean);
  return [renderColumns(header, lines, [false, true, true, true]),
    ...errors.map((error) => `older build: ${error}`)].join('\n');
}

function olderBuildTargets(comparison) {
  const targets = [];
  const lstatName = `lstat round trip within ${VS_OLDER.lstat}x of the older build (same run) [${comparison.label}]`;
  const lstatRatio = comparison.lstatP50Us.ratio;
  targets.push(lstatRatio === null
    ? target(lstatName, null, comparison.lstatError ?? 'not measured')
    : target(lstatName, lstatRatio <= VS_OLDER.lstat, `p50 ${comparison.lstatP50Us.current.toFixed(1)} us vs ` +
      `${comparison.lstatP50Us.older.toFixed(1)} us: ${lstatRatio.toFixed(2)}x`, lstatRatio, VS_OLDER.lstat));
  const walkName = `walk inside within ${VS_OLDER.walk}x of the older build (same run) [${comparison.label}]`;
  const walkRatio = comparison.walkMedianMs.ratio;
  targets.push(walkRatio === null
    ? target(walkName, null, comparison.walkError ?? 'not measured')
    : target(walkName, comparison.walkCountsOk && walkRatio <= VS_OLDER.walk,
      `median ${comparison.walkMedianMs.current.toFixed(1)} ms vs ${comparison.walkMedianMs.older.toFixed(1)} ms ` +
      `(enter + walk + close): ${walkRatio.toFixed(2)}x; walk alone ${comparison.walkOnlyMedianMs.ratio?.toFixed(2) ?? '?'}x` +
      (comparison.walkCountsOk ? '' : ' (entry count or sizes mismatch)'), walkRatio, VS_OLDER.walk));
  return targets;
}

function formatLatency(label, summary, unit, digits) {
  if (!summary) return `  ${label}: not measured`;
  const f = (value) => value.toFixed(digits);
  return `  ${label}: p50 ${f(summary.p50)} ${unit}, p99 ${f(summary.p99)} ${unit} ` +
    `(min ${f(summary.min)}, max ${f(summary.max)}, n=${summary.n})`;
}

/** The holder, its overlay and (with a subuid range) the 0700 subtree. */
async function setUpNamespace(library, fixture, log) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-bench-ns-'));
  const dirs = { base, upper: path.join(base, 'upper'), work: path.join(base, 'work'), merged: path.join(base, 'merged') };
  for (const dir of [dirs.upper, dirs.work, dirs.merged]) fs.mkdirSync(dir);
  let ns;
  try {
    ns = await library.createNamespace();
    await ns.mountOverlay({ lowerDirs: [fixture.root], upperDir: dirs.upper, workDir: dirs.work, target: dirs.merged });
  } catch (error) {
    await ns?.close();
    fs.rmSync(base, { recursive: true, force: true });
    throw error;
  }
  const setup = { holderPid: ns.pid, uidMap: ns.uidMap, gidMap: ns.gidMap, fullRange: ns.fullRange,
    lowerDir: fixture.root, ...dirs, hidden: null };
  if (ns.fullRange) {
    const subtree = path.join(dirs.merged, HIDDEN_SUBTREE);
    const started = process.hrtime.bigint();
    const status = await ns.exec(['sh', '-c',
      `chown -R ${HIDDEN_OWNER}:${HIDDEN_OWNER} "$1" && chmod 700 "$1"`, 'sh', subtree]);
    if (status.code !== 0) throw new Error(`chown/chmod of ${subtree} inside the namespace failed: ${JSON.stringify(status)}`);
    const range = ns.uidMap.find((r) => HIDDEN_OWNER >= r.inside && HIDDEN_OWNER < r.inside + r.count);
    setup.hidden = {
      subtree: HIDDEN_SUBTREE, uid: HIDDEN_OWNER, hostUid: range ? range.outside + HIDDEN_OWNER - range.inside : null,
      mode: '0700', entriesBelow: countEntries(path.join(fixture.root, HIDDEN_SUBTREE)),
      copyUpMs: Number(process.hrtime.bigint() - started) / 1e6,
    };
  } else {
    log('namespace: no subordinate id range (only our own id is mapped): no uid 1000 subtree, ' +
      'the /proc/PID/root peer sees everything');
  }
  return { ns, setup };
}

async function tearDownNamespace(ns, setup) {
  try {
    // The upper dir holds files of the namespace's subordinate ids, which an
    // ordinary user cannot remove from the host: remove them inside.
    await ns.unmount(setup.merged);
    await ns.exec(['rm', '-rf', setup.upper, setup.work]);
  } finally {
    await ns.close();
    fs.rmSync(setup.base, { recursive: true, force: true });
  }
}

/**
 * Runs the section, prints its tables and targets, returns what goes into
 * the JSON results. `library` is the loaded unshare-fs build.
 */
async function runNamespaceSection({ library, trials, compareLibs = [], log = console.error }) {
  const fixture = ensureFixture('small');
  const asRoot = process.geteuid() === 0;
  const { ns, setup } = await setUpNamespace(library, fixture, log);
  try {
    const pid = String(ns.pid);
    const nsenter = ['nsenter', '-U', '-m', '-t', pid];
    const merged = setup.merged;
    const procRoot = `/proc/${pid}/root${merged}`;
    const builds = listBuilds(compareLibs);
    const competitors = [
      cBaseline('c-stat-ns', `C baseline inside (nsenter -U -m -t PID walk)`, 'stat', [], { wrapper: nsenter }),
      ...builds.map((build, i) => libraryWalk(build.walkId,
        `unshare-fs enter + walk (full stat)${i === 0 ? '' : ` [${build.label}]`}`, pid, build.env)),
      printfTool('bfs-ns', 'bfs', { wrapper: nsenter, label: "nsenter -U -m -t PID bfs -printf '%p %m %U %G %s %T@\\n'" }),
      printfTool('find-ns', 'find', { wrapper: nsenter, label: "nsenter -U -m -t PID find -printf '%p %m %U %G %s %T@\\n'" }),
      walkingAt(nodeWalker('proc-fdir-lstat-sync', 'fdir + lstatSync via /proc/PID/root (host)', 'stat', 'fdir-lstat-sync'),
        procRoot),
    ];

    // Latencies first, while nothing else runs: `trials` fresh processes
    // per build, interleaved, samples pooled.
    const openByBuild = await latencyRounds(builds.map((build) => ({ label: build.label, env: build.env,
      args: ['open', pid, String(OPEN_COUNT), String(OPEN_WARMUP)], metric: 'enterMs' })), trials, 'session open');
    const lstatPath = path.join(merged, 'etc', 'os-release');
    // For scale: the same loop with node's fs.promises.lstat of the lower
    // file on the host (the floor of one awaited round trip here).
    const lstatJobs = [
      ...builds.map((build) => ({ label: build.label, env: build.env,
        args: ['lstat', pid, lstatPath, String(LSTAT_COUNT), String(LSTAT_WARMUP)], metric: 'us' })),
      { label: 'node', env: {}, metric: 'us',
        args: ['lstat', 'node', path.join(fixture.root, 'etc', 'os-release'), String(LSTAT_COUNT), String(LSTAT_WARMUP)] },
    ];
    const lstatByJob = await latencyRounds(lstatJobs, trials, 'lstat round trip');
    const open = openByBuild[0];
    const lstat = lstatByJob[0];
    const nodeLstat = lstatByJob[lstatByJob.length - 1];

    const rows = await measureFixture({ name: 'namespace', root: merged }, competitors, trials);
    const reference = summarizeRows(rows, 'c-stat-ns');
    const rowsById = Object.fromEntries(rows.map((row) => [row.id, row]));
    const comparisons = compareBuilds(builds, openByBuild, lstatByJob, rowsById, reference);
    const targets = [...evaluateTargets({ open, lstat, rowsById, reference }), ...comparisons.flatMap(olderBuildTargets)];

    const hidden = setup.hidden;
    const procRow = rowsById['proc-fdir-lstat-sync'];
    const notes = {};
    if (procRow?.summary && reference?.summary) {
      const missed = reference.entries - procRow.entries;
      notes['proc-fdir-lstat-sync'] = missed > 0 ? `missed ${formatCount(missed)}` : 'missed none';
    }

    console.log('');
    console.log(`namespace section: holder pid ${ns.pid} (createNamespace()), uid map ` +
      ns.uidMap.map((r) => `${r.inside}->${r.outside}+${r.count}`).join(', ') + `; run as ${asRoot ? 'root' : `uid ${process.geteuid()}`}`);
    console.log(`overlay on ${merged}: lower ${fixture.root} (${formatCount(fixture.entries)} entries), ` +
      `upper and work beside it; empty from the host, full inside`);
    if (hidden) {
      console.log(`${hidden.subtree}/ chowned to uid ${hidden.uid} (host uid ${hidden.hostUid}), mode ${hidden.mode}, ` +
        `${formatCount(hidden.entriesBelow)} entries below it (copied up in ${hidden.copyUpMs.toFixed(0)} ms)`);
      console.log(asRoot
        ? 'as root, /proc/PID/root is read with CAP_DAC_OVERRIDE of the initial user namespace: ' +
          'the host peer reads the 0700 subtree too'
        : `as an ordinary user the host peer cannot read the 0700 subtree of host uid ${hidden.hostUid}: ` +
          `it should miss the ${formatCount(hidden.entriesBelow)} entries below it`);
    }
    console.log(`${trials} trials per peer, each a fresh process, interleaved, after one warm-up pass; ` +
      'ratio: median / median of the C baseline inside; walk-only: the library\'s walk without enter/close ' +
      'vs the C walk\'s own clock (no exec, no setns)');
    console.log('');
    console.log(`latencies: ${trials} fresh processes each` +
      (builds.length > 1 ? ', interleaved with the older build\'s' : '') + ', samples pooled');
    console.log(formatLatency(`session open (enter(), ${OPEN_COUNT} after ${OPEN_WARMUP} warm-up per process)`,
      open.enterMs, 'ms', 2) + (open.error ? ` ${open.error}` : ''));
    console.log(formatLatency('session close', open.closeMs, 'ms', 2));
    console.log(formatLatency(`lstat round trip (${formatCount(LSTAT_COUNT)} sequential awaits, one session per process)`,
      lstat.us, 'us', 1) + (lstat.error ? ` ${lstat.error}` : ''));
    console.log(formatLatency('for scale, node fs.promises.lstat on the host, same loop', nodeLstat.us, 'us', 1) +
      (nodeLstat.error ? ` ${nodeLstat.error}` : ''));
    console.log('');
    console.log(formatRows(rows, reference, notes));
    for (const comparison of comparisons) {
      console.log('');
      console.log(`current build vs the older build ${comparison.label}, measured in this run, interleaved ` +
        '(ratio: current / older, lower is faster):');
      console.log(formatComparison(comparison));
    }
    console.log('');
    console.log(targets.map((t) => `${t.status.padEnd(4)}  ${t.name}: ${t.detail}`).join('\n'));

    return {
      holderPid: ns.pid, asRoot, fixture, setup,
      sessionOpen: { count: OPEN_COUNT, warmup: OPEN_WARMUP, processes: open.processes, enterMs: open.enterMs ?? null,
        closeMs: open.closeMs ?? null, processP50Ms: open.processP50, error: open.error ?? null },
      lstatRoundTrip: { path: lstatPath, count: LSTAT_COUNT, warmup: LSTAT_WARMUP, processes: lstat.processes,
        us: lstat.us ?? null, processP50Us: lstat.processP50, error: lstat.error ?? null,
        nodeFsPromisesLstatUs: nodeLstat.us ?? null },
      olderBuilds: comparisons.map((comparison, i) => ({ ...comparison,
        sessionOpen: { enterMs: openByBuild[i + 1].enterMs ?? null, closeMs: openByBuild[i + 1].closeMs ?? null,
          processP50Ms: openByBuild[i + 1].processP50 },
        lstatRoundTrip: { us: lstatByJob[i + 1].us ?? null, processP50Us: lstatByJob[i + 1].processP50 } })),
      walk: { reference: 'c-stat-ns', trials, peers: rows.map(serializeRow) },
      procPeer: procRow?.summary ? {
        entries: procRow.entries, expectedIfHidden: hidden ? fixture.entries - hidden.entriesBelow : fixture.entries,
        seesHiddenSubtree: hidden ? procRow.entries === fixture.entries : null,
      } : null,
      targets,
    };
  } finally {
    await tearDownNamespace(ns, setup);
  }
}

module.exports = { runNamespaceSection, runNsTrial, libraryWalk, walkingAt, peerTimes, summarizeRows, formatRows, serializeRow, formatLatency };

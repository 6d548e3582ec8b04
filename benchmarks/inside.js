'use strict';
// The sections inside namespaces: namespace (the small tree as an overlay in
// a namespace made with createNamespace(): session open and lstat
// latencies, and the walk beside the C baseline, bfs and find run through
// nsenter), podman (a container's merged dir, and the layers benchmarks:
// export, diff, du) and docker (a running container's merged dir). Their
// descriptions are in sections.js.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureFixture } = require('./fixtures');
const { loadLibrary } = require('./library');
const { MIB, ms1, x2, line, countsCell, countsOk, measure, spawnTimed, run, findExecutable, ensureCBaseline, median,
  summarize, summarizeLatency, renderColumns, formatCount, target, formatTargets, progress } = require('./measure');

/** Each peer's median over the library row's, for the note column. */
function peerNotes(rows, walk) {
  const notes = {};
  for (const row of rows.filter((r) => r !== walk && r.summary && walk?.summary)) {
    notes[row.id] = `${(row.summary.median / walk.summary.median).toFixed(2)}x the library's time`;
  }
  return notes;
}

/** The table of the namespace, podman and docker sections. */
function formatPeers(rows, reference, notes = {}) {
  const header = ['peer', 'timed', 'entries', 'median ms', 'min', 'max', 'ratio', 'walk-only ms', 'ratio', 'note'];
  const lines = rows.map((row) => {
    if (!row.summary) return [row.label, row.timed, '-', row.status, '', '', '', '', '', row.error ?? ''];
    return [row.label, row.timed, countsCell(row, reference?.entries ?? null), ms1(row.summary.median),
      ms1(row.summary.min), ms1(row.summary.max), row.ratio === null ? '' : x2(row.ratio),
      row.innerSummary ? ms1(row.innerSummary.median) : '', row.innerRatio === null ? '' : x2(row.innerRatio),
      [notes[row.id], row.sizeMismatch ? 'sizes!' : ''].filter(Boolean).join('; ')];
  });
  return renderColumns(header, lines, [false, false, true, true, true, true, true, true, true, false]);
}

function formatLatency(label, s, unit, digits) {
  if (!s) return `  ${label}: not measured`;
  const f = (value) => value.toFixed(digits);
  return `  ${label}: p50 ${f(s.p50)} ${unit}, p99 ${f(s.p99)} ${unit} (min ${f(s.min)}, max ${f(s.max)}, n=${s.n})`;
}

/** Trials of trial.js tasks (`jobs`: label, env, task), no warm-up, their samples pooled per job. */
async function latencies(name, jobs, trials) {
  const rows = await measure(name, jobs.map((job, i) => ({ id: `${name} ${i}`, label: job.label, env: job.env,
    task: () => job.task })), { trials, warmup: false });
  return rows.map((row) => {
    const pooled = {};
    for (const result of row.results) {
      for (const [key, values] of Object.entries(result.samples)) pooled[key] = (pooled[key] ?? []).concat(values);
    }
    const summaries = Object.fromEntries(Object.entries(pooled).map(([key, values]) => [key, summarizeLatency(values)]));
    return { ...summaries, processes: row.results.length, error: row.error };
  });
}

// Per process: session opens after warm-up ones, lstat calls after warm-up ones.
const OPEN = { count: 300, warmup: 30 };
const LSTAT = { count: 10_000, warmup: 1_000 };
// The fixture's etc/ (about 2% of the tree) becomes uid 1000's, mode 0700.
const HIDDEN = { subtree: 'etc', uid: 1000 };

/** The build under test, then each --compare-lib build (loaded through $UNSHARE_FS_BENCH_LIB). */
const builds = (compareLibs) => [{ label: 'current', env: {}, walkId: 'unshare-ns-walk' },
  ...compareLibs.map((dir) => ({ label: dir, dir: path.resolve(dir), env: { UNSHARE_FS_BENCH_LIB: path.resolve(dir) },
    walkId: `unshare-ns-walk [${dir}]` }))];

/** The holder, its overlay, the 0700 subtree (with a subuid range), then the latencies, measured first. */
async function setUpNamespace(ctx) {
  const { fixture, trials, options } = ctx;
  const library = loadLibrary();
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
  ctx.ns = ns;
  ctx.dirs = dirs;
  let hidden = null;
  if (ns.fullRange) {
    const subtree = path.join(dirs.merged, HIDDEN.subtree);
    const started = process.hrtime.bigint();
    const status = await ns.exec(['sh', '-c', `chown -R ${HIDDEN.uid}:${HIDDEN.uid} "$1" && chmod 700 "$1"`, 'sh', subtree]);
    if (status.code !== 0) throw new Error(`chown/chmod of ${subtree} inside the namespace failed: ${JSON.stringify(status)}`);
    const range = ns.uidMap.find((r) => HIDDEN.uid >= r.inside && HIDDEN.uid < r.inside + r.count);
    hidden = { ...HIDDEN, hostUid: range ? range.outside + HIDDEN.uid - range.inside : null, mode: '0700',
      entriesBelow: fs.readdirSync(path.join(fixture.root, HIDDEN.subtree), { recursive: true }).length,
      copyUpMs: Number(process.hrtime.bigint() - started) / 1e6 };
  } else {
    console.error('namespace: no subordinate id range (only our own id is mapped): no uid 1000 subtree, ' +
      'the /proc/PID/root peer sees everything');
  }
  // Latencies first, while nothing else runs: `trials` fresh processes per
  // build, interleaved, samples pooled.
  const pid = String(ns.pid);
  const all = builds(options.compareLibs);
  const open = await latencies('session open', all.map((b) => ({ label: b.label, env: b.env,
    task: ['ns-open', pid, String(OPEN.count), String(OPEN.warmup)] })), trials);
  // For scale: the same loop with node's fs.promises.lstat of the lower file
  // on the host (the floor of one awaited round trip here).
  const lstatPath = path.join(dirs.merged, 'etc', 'os-release');
  const lstat = await latencies('lstat round trip', [...all.map((b) => ({ label: b.label, env: b.env,
    task: ['ns-lstat', pid, lstatPath, String(LSTAT.count), String(LSTAT.warmup)] })),
  { label: 'node',
    task: ['ns-lstat', 'node', path.join(fixture.root, 'etc', 'os-release'), String(LSTAT.count), String(LSTAT.warmup)] }], trials);
  Object.assign(ctx, { root: dirs.merged, hidden, open, lstat, builds: all });
}

async function tearDownNamespace({ ns, dirs }) {
  if (!ns) return;
  try {
    // The upper dir holds files of the namespace's subordinate ids, which an
    // ordinary user cannot remove from the host: remove them inside.
    await ns.unmount(dirs.merged);
    await ns.exec(['rm', '-rf', dirs.upper, dirs.work]);
  } finally {
    await ns.close();
    fs.rmSync(dirs.base, { recursive: true, force: true });
  }
}

/** Current / older for each older build: session open, lstat, walk (same run). */
function compareBuilds({ builds: all, open, lstat }, byId) {
  const current = byId[all[0].walkId];
  const pair = (now, then) => ({ current: now ?? null, older: then ?? null, ratio: now != null && then != null ? now / then : null });
  return all.slice(1).map((build, i) => {
    const older = byId[build.walkId];
    return { lib: build.dir, label: build.label,
      sessionOpenP50Ms: pair(open[0].enterMs?.p50, open[i + 1].enterMs?.p50), sessionOpenError: open[i + 1].error,
      lstatP50Us: pair(lstat[0].us?.p50, lstat[i + 1].us?.p50), lstatError: lstat[i + 1].error,
      walkMedianMs: pair(current?.summary?.median, older?.summary?.median),
      walkOnlyMedianMs: pair(current?.innerSummary?.median, older?.innerSummary?.median), walkError: older?.error ?? null,
      walkCountsOk: [current, older].every((row) => row?.summary && countsOk(row, byId['c-stat-ns']?.entries)) };
  });
}

/** The namespace section's targets; `t` (limits) from sections.js. */
function namespaceTargets(byId, { open, lstat }, { comparisons }, t) {
  const VS_OLDER = t.vsOlder;
  const openP50 = open[0].enterMs?.p50;
  const lstatP50 = lstat[0].us?.p50;
  const targets = [
    target(`session open (enter) p50 <= ${t.openP50Ms} ms`, openP50 === undefined ? null : openP50 <= t.openP50Ms,
      openP50 === undefined ? open[0].error ?? 'not measured' : `${openP50.toFixed(2)} ms`, openP50, t.openP50Ms),
    target(`lstat round trip p50 <= ${t.lstatP50Us} us`, lstatP50 === undefined ? null : lstatP50 <= t.lstatP50Us,
      lstatP50 === undefined ? lstat[0].error ?? 'not measured' : `${lstatP50.toFixed(1)} us`, lstatP50, t.lstatP50Us),
  ];
  const walk = byId['unshare-ns-walk'];
  const reference = byId['c-stat-ns'];
  const ok = walk?.summary && reference?.summary && countsOk(walk, reference.entries);
  const walkName = `walk with full stat inside <= ${t.walkVsC}x the C baseline inside (nsenter)`;
  targets.push(!walk?.summary || !reference?.summary
    ? target(walkName, null, walk?.summary ? 'C baseline not measured' : walk?.status ?? 'not run')
    : target(walkName, ok && walk.ratio <= t.walkVsC, `${x2(walk.ratio)} (enter + walk + close vs nsenter + walk process; ` +
      `walk alone vs the C walk's own time: ${walk.innerRatio?.toFixed(2) ?? '?'}x)${ok ? '' : ' (entry count or sizes mismatch)'}`,
    walk.ratio, t.walkVsC));
  const bfs = byId['bfs-ns'];
  const bfsName = `walk with full stat inside >= ${t.bfsSpeedup}x faster than nsenter ... bfs -printf`;
  const speedup = bfs?.summary && walk?.summary ? bfs.summary.median / walk.summary.median : null;
  targets.push(speedup === null ? target(bfsName, null, !walk?.summary ? walk?.status ?? 'not run' : bfs?.status ?? 'not run')
    : target(bfsName, ok && speedup >= t.bfsSpeedup, `${speedup.toFixed(2)}x faster`, speedup, t.bfsSpeedup));
  for (const c of comparisons) {
    const lstatName = `lstat round trip within ${VS_OLDER.lstat}x of the older build (same run) [${c.label}]`;
    const l = c.lstatP50Us;
    targets.push(l.ratio === null ? target(lstatName, null, c.lstatError ?? 'not measured')
      : target(lstatName, l.ratio <= VS_OLDER.lstat, `p50 ${l.current.toFixed(1)} us vs ${l.older.toFixed(1)} us: ${x2(l.ratio)}`,
        l.ratio, VS_OLDER.lstat));
    const walkName = `walk inside within ${VS_OLDER.walk}x of the older build (same run) [${c.label}]`;
    const w = c.walkMedianMs;
    targets.push(w.ratio === null ? target(walkName, null, c.walkError ?? 'not measured')
      : target(walkName, c.walkCountsOk && w.ratio <= VS_OLDER.walk, `median ${ms1(w.current)} ms vs ${ms1(w.older)} ms ` +
        `(enter + walk + close): ${x2(w.ratio)}; walk alone ${c.walkOnlyMedianMs.ratio?.toFixed(2) ?? '?'}x` +
        (c.walkCountsOk ? '' : ' (entry count or sizes mismatch)'), w.ratio, VS_OLDER.walk));
  }
  return targets;
}

function printNamespace({ ns, fixture, hidden, root, trials, open, lstat, builds: all }, rows, byId, { comparisons }, targets) {
  const asRoot = process.geteuid() === 0;
  const procRow = byId['proc-fdir-lstat-sync'];
  const reference = byId['c-stat-ns'];
  const notes = {};
  if (procRow?.summary && reference?.summary) {
    const missed = reference.entries - procRow.entries;
    notes['proc-fdir-lstat-sync'] = missed > 0 ? `missed ${formatCount(missed)}` : 'missed none';
  }
  line(`\nnamespace section: holder pid ${ns.pid} (createNamespace()), uid map `,
    ns.uidMap.map((r) => `${r.inside}->${r.outside}+${r.count}`).join(', '), `; run as ${asRoot ? 'root' : `uid ${process.geteuid()}`}`);
  line(`overlay on ${root}: lower ${fixture.root} (${formatCount(fixture.entries)} entries), `,
    'upper and work beside it; empty from the host, full inside');
  if (hidden) {
    line(`${hidden.subtree}/ chowned to uid ${hidden.uid} (host uid ${hidden.hostUid}), mode ${hidden.mode}, `,
      `${formatCount(hidden.entriesBelow)} entries below it (copied up in ${hidden.copyUpMs.toFixed(0)} ms)`);
    console.log(asRoot ? 'as root, /proc/PID/root is read with CAP_DAC_OVERRIDE of the initial user namespace: ' +
      'the host peer reads the 0700 subtree too' : `as an ordinary user the host peer cannot read the 0700 subtree of host ` +
      `uid ${hidden.hostUid}: it should miss the ${formatCount(hidden.entriesBelow)} entries below it`);
  }
  line(`${trials} trials per peer, each a fresh process, interleaved, after one warm-up pass; ratio: median / median of `,
    'the C baseline inside; walk-only: the library\'s walk without enter/close vs the C walk\'s own clock (no exec, no setns)');
  line(`\nlatencies: ${trials} fresh processes each`, all.length > 1 ? ', interleaved with the older build\'s' : '', ', samples pooled');
  const error = (e) => (e ? ` ${e}` : '');
  console.log(formatLatency(`session open (enter(), ${OPEN.count} after ${OPEN.warmup} warm-up per process)`, open[0].enterMs,
    'ms', 2) + error(open[0].error));
  console.log(formatLatency('session close', open[0].closeMs, 'ms', 2));
  console.log(formatLatency(`lstat round trip (${formatCount(LSTAT.count)} sequential awaits, one session per process)`,
    lstat[0].us, 'us', 1) + error(lstat[0].error));
  const nodeLstat = lstat[lstat.length - 1];
  console.log(formatLatency('for scale, node fs.promises.lstat on the host, same loop', nodeLstat.us, 'us', 1) + error(nodeLstat.error));
  console.log(`\n${formatPeers(rows, reference, notes)}`);
  for (const c of comparisons) {
    const cell = (value, unit, digits) => (value === null ? 'not measured' : `${value.toFixed(digits)} ${unit}`);
    const r = (value) => (value === null ? '' : x2(value));
    const three = (p, unit, digits) => [cell(p.current, unit, digits), cell(p.older, unit, digits), r(p.ratio)];
    line(`\ncurrent build vs the older build ${c.label}, measured in this run, interleaved `,
      '(ratio: current / older, lower is faster):');
    console.log(renderColumns(['', 'current', `older (${c.label})`, 'current / older'], [
      ['session open p50', ...three(c.sessionOpenP50Ms, 'ms', 2)], ['lstat round trip p50', ...three(c.lstatP50Us, 'us', 1)],
      ['walk inside, enter + walk + close (median)', ...three(c.walkMedianMs, 'ms', 1)],
      ['walk inside, walk alone (median)', ...three(c.walkOnlyMedianMs, 'ms', 1)]], [false, true, true, true]));
    for (const e of [c.sessionOpenError, c.lstatError, c.walkError].filter(Boolean)) console.log(`older build: ${e}`);
  }
  console.log(`\n${formatTargets(targets)}`);
}

// ---- podman (and its layers), docker ---------------------------------------------

const PODMAN = { image: process.env.UNSHARE_FS_BENCH_IMAGE || 'localhost/unshare-fs-test', name: 'unshare-fs-bench',
  minEntries: 50_000, dataDir: 'data', statFile: 'etc/passwd', statCalls: 10 };

/** Entries below dir as the C baseline counts them, behind `wrapper`. */
async function countEntries(wrapper, dir) {
  const result = await spawnTimed([...wrapper, ensureCBaseline(), dir]);
  const match = /entries=(\d+)/.exec(result.stdout);
  return match ? Number(match[1]) : null;
}

/** Whether podman can be used here, rootless (as an ordinary user) or rootful: { rootless } or { skipped }. */
async function podmanHere() {
  if (!findExecutable('podman')) return { skipped: 'podman is not installed' };
  const rootless = process.geteuid() !== 0;
  if (rootless) {
    // Also starts the pause process, if none runs.
    const info = await spawnTimed(['podman', 'unshare', 'true']);
    if (info.code !== 0) return { skipped: `podman unshare does not work here: ${info.stderr.trim()}` };
  }
  return { rootless };
}

/** The container (found, reused or made with the small fixture copied in) and podman's namespace; or { skipped }. */
async function setUpPodman(ctx) {
  const here = await podmanHere();
  if (here.skipped) return here;
  const { rootless } = here;
  const library = loadLibrary();
  let pausePid = null;
  if (rootless) {
    try {
      pausePid = library.podman.pausePid();
    } catch (error) {
      return { skipped: `no pause process: ${error.message}` };
    }
  }
  const wrapper = rootless ? ['nsenter', '-U', '-m', '-t', String(pausePid)] : [];
  const name = ctx.options.podmanContainer ?? PODMAN.name;
  const lookUp = () => { try { return library.podman.container(name); } catch { return null; } };
  let c = lookUp();
  let how = ' (given)';
  const up = (container) => container && container.pid !== null && container.mounted;
  try {
    if (ctx.options.podmanContainer) {
      if (!up(c)) return { skipped: `container ${name} is not running` };
    } else if (up(c) && (await countEntries(wrapper, c.mergedDir)) >= PODMAN.minEntries) {
      console.error(`podman: reusing the running container ${name}`);
      how = ' (reused)';
    } else {
      if (c) await spawnTimed(['podman', 'rm', '-f', '-t', '0', name]);
      if ((await spawnTimed(['podman', 'image', 'exists', PODMAN.image])).code !== 0) {
        return { skipped: `no image ${PODMAN.image} (scripts/podman-setup.sh builds it; or --podman-container NAME)` };
      }
      progress('[podman] starting a container');
      await run(['podman', 'run', '-d', '--rm', '--network', 'none', '--name', name, PODMAN.image, 'sleep', '3600']);
      ctx.created = name;
      c = lookUp();
      if (!c?.mounted) throw new Error(`container ${name} started but the library does not see its merged dir mounted`);
      const fixture = ensureFixture('small');
      progress(`[podman] copying ${formatCount(fixture.entries)} entries into the container`);
      const argv = [...(rootless ? ['podman', 'unshare'] : []), 'cp', '-a', fixture.root, path.join(c.mergedDir, PODMAN.dataDir)];
      const copied = await run(argv);
      progress('');
      how = ` made for this run, ${formatCount(fixture.entries)} fixture entries copied to /${PODMAN.dataDir} with ` +
        `\`${argv.join(' ').replace(c.mergedDir, 'MERGED')}\` in ${(copied.processMs / 1000).toFixed(1)} s`;
    }
  } catch (error) {
    return { skipped: `cannot prepare a container: ${error.message}` };
  }
  const entries = await countEntries(wrapper, c.mergedDir);
  if (entries === null || entries < PODMAN.minEntries) {
    return { skipped: `container ${name} has ${entries ?? 'an unknown number of'} entries in its merged dir, ` +
      `fewer than ${formatCount(PODMAN.minEntries)}` };
  }
  progress('[podman] lstat round trip');
  const statPath = path.join(c.mergedDir, PODMAN.statFile);
  const [lstat] = await latencies('podman lstat',
    [{ task: ['ns-lstat', 'storage', statPath, String(LSTAT.count), String(LSTAT.warmup)] }], 1);
  const [stat] = await measure('podman stat', [{ id: 'stat', label: 'stat',
    cmd: () => [...(rootless ? ['podman', 'unshare'] : []), 'stat', statPath] }], { trials: PODMAN.statCalls });
  Object.assign(ctx, { root: c.mergedDir, name, how, rootless, pausePid, wrapper, entries, lstat, stat: stat.results.length
    ? { ms: summarize(stat.times) } : { error: stat.error } });
}

async function tearDownPodman({ created, options }) {
  if (!created) return;
  if (options.keepContainer) {
    return console.error(`podman: kept container ${created} (--keep-container); remove it with podman rm -f ${created}`);
  }
  progress('[podman] removing the container');
  await spawnTimed(['podman', 'rm', '-f', '-t', '0', created]);
  progress('');
}

/** export, diff and du on the podman section's container: the library's process against each peer's, medians. */
async function layers({ name, root, rootless, wrapper, trials, limits }) {
  const nsenter = wrapper.length ? 'nsenter … ' : '';
  const tasks = [
    ['export', ['export', name], (r) => `${(r.bytes / MIB).toFixed(0)} MiB tar`, [
      ['podman-export', 'podman export -o /dev/null', ['podman', 'export', '-o', '/dev/null', name]],
      // Piped: GNU tar skips reading the files when its archive is /dev/null.
      ['tar', `${nsenter}tar -cf - -C MERGED . | cat >/dev/null`,
        [...wrapper, 'sh', '-c', 'tar -cf - -C "$1" . | cat >/dev/null', 'sh', root]]]],
    ['diff', ['diff', name], (r) => `${r.changes} changes`, [['podman-diff', 'podman diff', ['podman', 'diff', name]]]],
    ['du', ['du', 'storage', root], (r) => `${r.entries} entries`, [
      ...(rootless ? [['podman-unshare-du', 'podman unshare du -s', ['podman', 'unshare', 'du', '-s', root]]] : []),
      ['du', `${nsenter}du -s`, [...wrapper, 'du', '-s', root]]]],
  ];
  const lines = [];
  const result = { trials, tasks: {} };
  for (const [task, args, what, peers] of tasks) {
    const rows = await measure(`layers ${task}`, [{ id: 'library', label: task, task: () => args },
      ...peers.map(([id, label, argv]) => ({ id, label, cmd: () => argv }))], { trials, warmup: false });
    const failed = rows.find((row) => row.error);
    if (failed) throw new Error(failed.error);
    const ours = median(rows[0].times);
    result.tasks[task] = { libraryMs: ours, facts: rows[0].results.at(-1), peers: {} };
    lines.push([`${task}: unshare-fs (${what(rows[0].results.at(-1))})`, ours.toFixed(0), '', '']);
    for (const row of rows.slice(1)) {
      const ms = median(row.times);
      const goal = limits.layers[row.id];
      result.tasks[task].peers[row.id] = { label: row.label, ms, peerOverLibrary: ms / ours, target: goal ?? null };
      lines.push([`${task}: ${row.label}`, ms.toFixed(0), x2(ms / ours),
        goal ? `target >= ${goal}x: ${ms / ours >= goal ? 'met' : 'NOT met'}` : '']);
    }
  }
  return { result, lines };
}

function printPodman(ctx, rows, byId, { layers: l, error }) {
  const { name, how, rootless, pausePid, root, entries, trials, lstat, stat } = ctx;
  line(`\npodman section (${rootless ? `rootless, pause pid ${pausePid}` : 'rootful, as root'}): container ${name}${how}`);
  console.log(`merged dir ${root}: ${formatCount(entries)} entries`);
  if (!rootless) {
    console.log('rootful: the merged dir is in the host\'s mount namespace and enterStorage() joins this process\'s own; ' +
      '`podman unshare` is for rootless podman only, so no podman unshare rows');
  }
  line(`${trials} trials per peer, fresh processes, interleaved after one warm-up; ratio: median / median of the C baseline; `,
    'note: peer time / library time\n');
  const lstatLabel = `lstat ${PODMAN.statFile} round trip (library, ${formatCount(LSTAT.count)} sequential awaits)`;
  console.log(formatLatency(lstatLabel, lstat.us, 'us', 1) +
    (lstat.error ? ` ${lstat.error}` : ''));
  const statLabel = rootless ? '`podman unshare stat`' : '`stat` (a process; podman unshare is rootless only)';
  if (stat.ms) {
    const lstatMs = lstat.us ? lstat.us.p50 / 1000 : null;
    line(`  one ${statLabel} call: median ${ms1(stat.ms.median)} ms over ${PODMAN.statCalls} calls`,
      lstatMs ? ` = ${formatCount(Math.round(stat.ms.median / lstatMs))}x the library's lstat p50` : '');
  } else {
    console.log(`  ${statLabel}: ${stat.error}`);
  }
  console.log(`\n${formatPeers(rows, byId['c-stat-storage'], peerNotes(rows, byId['unshare-storage-walk']))}`);
  if (error) return console.log(`\nlayers: not measured: ${error}`);
  console.log(`\nlayers (${rootless ? 'rootless' : 'rootful'}): container ${name}, ${trials} trials, medians; ratio: peer / library`);
  console.log(renderColumns(['task', 'median ms', 'ratio', ''], l.lines, [false, true, true, false]));
}

const DOCKER = { bin: '/usr/bin/docker', name: 'dbench', dir: '/bench', findDir: '/opt/unshare-fs-bench-find',
  scenario: path.join(__dirname, '..', 'scripts', 'docker-scenario.sh') };

/** dbench (made by scripts/docker-scenario.sh bench) and GNU find copied into it; or { skipped }. */
async function setUpDocker(ctx) {
  if (!fs.existsSync(DOCKER.bin)) return { skipped: `${DOCKER.bin} is not installed (scripts/docker-setup.sh)` };
  const library = loadLibrary();
  const rootless = process.geteuid() !== 0;
  const runtimeDir = process.env.XDG_RUNTIME_DIR || `/run/user/${process.getuid()}`;
  process.env.DOCKER_HOST ||= rootless ? `unix://${runtimeDir}/docker.sock` : 'unix:///var/run/docker.sock';
  let daemonPid;
  try {
    daemonPid = library.docker.daemonPid();
  } catch (error) {
    return { skipped: `no Docker daemon for this user: ${error.message}` };
  }
  const name = ctx.options.dockerContainer ?? DOCKER.name;
  const lookUp = () => { try { return library.docker.container(name); } catch { return null; } };
  if (!lookUp()?.running && !ctx.options.dockerContainer) {
    progress('[docker] making the bench container');
    const made = await spawnTimed(['bash', DOCKER.scenario, 'bench', os.userInfo().username]);
    if (made.code !== 0) return { skipped: `scripts/docker-scenario.sh bench failed: ${made.stderr.trim().split('\n').pop()}` };
  }
  const c = lookUp();
  if (!c?.running) return { skipped: `container ${name} is not running` };
  // GNU find and the libraries it loads (busybox's find has no -printf),
  // started through their own ld.so inside the container.
  progress('[docker] copying find into the container');
  const ldd = await run(['ldd', '/usr/bin/find']);
  const libraries = [...ldd.stdout.matchAll(/(\/\S+)/g)].map((m) => m[1]);
  const loader = libraries.find((lib) => path.basename(lib).startsWith('ld-linux'));
  if (!loader) throw new Error('no ld-linux in ldd /usr/bin/find');
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-bench-find-'));
  try {
    fs.chmodSync(staging, 0o755);
    for (const file of ['/usr/bin/find', ...libraries]) fs.copyFileSync(fs.realpathSync(file), path.join(staging, path.basename(file)));
    await run([DOCKER.bin, 'exec', name, 'mkdir', '-p', DOCKER.findDir]);
    await run([DOCKER.bin, 'cp', `${staging}/.`, `${name}:${DOCKER.findDir}`]);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  Object.assign(ctx, { name, rootless, daemonPid, root: path.join(c.mergedDir, DOCKER.dir),
    wrapper: rootless ? ['nsenter', '-U', '--preserve-credentials', '-m', '-t', String(daemonPid)] : [],
    execPrefix: [DOCKER.bin, 'exec', name, `${DOCKER.findDir}/${path.basename(loader)}`, '--library-path', DOCKER.findDir] });
}

function printDocker({ name, rootless, daemonPid, root, trials }, rows, byId) {
  const walk = byId['unshare-docker-walk'];
  line(`\ndocker section (${rootless ? `rootless, dockerd pid ${daemonPid} in RootlessKit's namespaces` : 'rootful, as root'}): `,
    `container ${name}, ${DOCKER.dir} = ${root}: ${formatCount(walk?.entries ?? 0)} entries`);
  line(`${trials} trials per peer, fresh processes, interleaved after one warm-up; ratio: median / median of the C baseline; `,
    'note: peer time / library time\n');
  console.log(formatPeers(rows, byId['c-stat-docker'], peerNotes(rows, walk)));
  console.error(`docker: kept container ${name} (scripts/docker-scenario.sh stop removes it)`);
}

module.exports = { setUpNamespace, tearDownNamespace, compareBuilds, namespaceTargets, printNamespace, podmanHere, setUpPodman,
  tearDownPodman, layers, printPodman, DOCKER, setUpDocker, printDocker };

'use strict';
// The host sections: the walk tables (each fixture walked by the library, its
// JavaScript peers, find, bfs and the C baseline), loaded (the walk against
// the C baseline beside busy processes), prune (walks without node_modules)
// and streams (a 256 MiB file read through createReadStream on the host and
// in a namespace, beside node's). Their descriptions are in sections.js.

const { spawn } = require('node:child_process');
const { once } = require('node:events');

const { ensureStreamFile, STREAM_BYTES } = require('./fixtures');
const { loadLibrary } = require('./library');
const { MIB, ms1, x2, line, countsCell, countsOk, measure, summarize, renderColumns, formatCount, target,
  formatTargets } = require('./measure');

/** A ratio target: the row's median over its reference's at most `limit`. */
function ratioTarget(name, row, limit, expected) {
  if (!row?.summary) return target(name, null, row ? row.status : 'not run');
  if (row.ratio === null) return target(name, null, 'its reference baseline was not measured');
  const ok = countsOk(row, expected);
  return target(name, ok && row.ratio <= limit, `${x2(row.ratio)}${ok ? '' : ' (entry count or sizes mismatch)'}`, row.ratio, limit);
}

/** The walk tables' targets; `t` (limits) from sections.js. */
function walkTargets(byId, { fixture }, { slowConsumer }, t) {
  const targets = [
    ratioTarget(`unshare-fs walk (full stat, entries) <= ${t.walkVsCStat}x c-stat`, byId['unshare-walk-stat'], t.walkVsCStat,
      fixture.entries),
    ratioTarget(`unshare-fs walk (types only) <= ${t.typesVsCNoStat}x c-nostat`, byId['unshare-walk-types'], t.typesVsCNoStat,
      fixture.entries),
  ];
  const fdirName = `unshare-fs walk (full stat) >= ${t.fdirVsWalk}x faster than fdir + lstat`;
  const walk = byId['unshare-walk-stat'];
  const fdirs = ['fdir-lstat-sync', 'fdir-lstat-async'].map((id) => byId[id]).filter((row) => row?.summary);
  if (!walk?.summary || fdirs.length === 0) {
    targets.push(target(fdirName, null, walk?.summary ? 'fdir not measured' : walk?.status ?? 'not run'));
  } else {
    // Against the faster of the two fdir variants, named in the line.
    const fastest = fdirs.reduce((best, row) => (row.summary.median < best.summary.median ? row : best));
    const speedup = fastest.summary.median / walk.summary.median;
    targets.push(target(fdirName, countsOk(walk, fixture.entries) && speedup >= t.fdirVsWalk,
      `${speedup.toFixed(2)}x faster than ${fastest.label} (the faster fdir variant here)`, speedup, t.fdirVsWalk));
  }
  for (const [where, slow] of [['host', slowConsumer?.slow], ['namespace', slowConsumer?.namespace?.slow]]) {
    const slowName = `slow consumer (${where}): RSS growth < ${t.slowConsumerGrowthBytes / MIB} MiB`;
    if (!slow || !slow.ok) {
      targets.push(target(slowName, null,
        slowConsumer ? slow?.error ?? 'not run' : 'runs on the large tree (--large) or with --slow-consumer'));
    } else {
      const ok = slow.growthBytes < t.slowConsumerGrowthBytes && slow.entries === fixture.entries;
      targets.push(target(slowName, ok, `${(slow.growthBytes / MIB).toFixed(1)} MiB over ${formatCount(slow.entries)} entries` +
        (slow.entries === fixture.entries ? '' : ' (entry count mismatch)'), slow.growthBytes, t.slowConsumerGrowthBytes));
    }
  }
  return targets;
}

function printWalk({ fixture, trials, options }, rows, byId, { slowConsumer }, targets) {
  const lines = rows.map((row) => (!row.summary ? [row.label, row.timed, '-', row.status, '', '', ''] : [row.label, row.timed,
    countsCell(row, fixture.entries), ms1(row.summary.median), ms1(row.summary.min), ms1(row.summary.max),
    (row.ratio === null ? '' : `${x2(row.ratio)} ${row.ratioTo}`) + (row.sizeMismatch ? '  sizes!' : '')]));
  console.log(`\nfixture "${fixture.name}": ${formatCount(fixture.entries)} entries in ${fixture.root}; ` +
    `${trials} trials per competitor, each in a fresh process, interleaved, after one warm-up pass`);
  console.log('timed "walk": the walk inside the node process (startup and require excluded); ' +
    'timed "process": the whole process from spawn to exit, as-is');
  console.log('ratio: median / median of c-stat (stat rows) or of c-nostat (types-only rows); lower is faster');
  if (lines.some((cells) => cells[2].endsWith('!'))) {
    console.log(`! entry count differs from the fixture's ${formatCount(fixture.entries)}`);
  }
  if (rows.some((row) => row.sizeMismatch)) {
    console.log('sizes! the sum of lstat sizes differs from c-stat\'s: it saw different entries or stats');
  }
  console.log('');
  console.log(renderColumns(['competitor', 'timed', 'entries', 'median ms', 'min', 'max', 'ratio'], lines,
    [false, false, true, true, true, true, false]));
  // Rows failing for one reason (typically "not built") share one line.
  const byError = new Map();
  for (const row of rows.filter((r) => r.error)) byError.set(row.error, [...(byError.get(row.error) ?? []), row.label]);
  if (byError.size) console.log(['', ...[...byError].map(([error, labels]) => `${labels.join('; ')}: ${error}`)].join('\n'));
  for (const dir of options.compareLibs) printVsOlder(dir, rows, byId);
  if (slowConsumer) {
    const one = (r) => (!r.ok ? `  ${r.mode}: ${r.error}` : `  ${r.mode.padEnd(4)}: ${formatCount(r.entries)} entries in ` +
      `${ms1(r.ms)} ms, RSS ${(r.baselineRss / MIB).toFixed(1)} -> peak ${(r.peakRss / MIB).toFixed(1)} MiB (growth ` +
      `${(r.growthBytes / MIB).toFixed(1)} MiB; peak JS heap ${(r.peakHeapUsed / MIB).toFixed(1)} MiB, peak external ` +
      `${(r.peakExternal / MIB).toFixed(1)} MiB${r.workerPeakRssBytes ? `; the worker's peak RSS ` +
      `${(r.workerPeakRssBytes / MIB).toFixed(1)} MiB` : ''})`);
    const both = (pair) => [one(pair.slow), ...(pair.fast ? [one(pair.fast)] : [])].join('\n');
    console.log('\nslow consumer (unshare-fs walk, full stat; slow = 100 ms pause every 10,000 entries, RSS sampled every 50 ms):');
    console.log(`host:\n${both(slowConsumer)}`);
    if (slowConsumer.namespace) console.log(`namespace (a session joined to a createNamespace() holder):\n${both(slowConsumer.namespace)}`);
  }
  console.log(`\n${formatTargets(targets)}`);
}

/** Each library row of this build over the same row of the --compare-lib build `dir` (ids suffixed ` [dir]`). */
function printVsOlder(dir, rows, byId) {
  const pairs = rows.filter((row) => byId[`${row.id} [${dir}]`]).map((row) => [row, byId[`${row.id} [${dir}]`]]);
  const cell = (row) => (row.summary ? ms1(row.summary.median) : row.status);
  console.log(`\ncurrent build vs the older build ${dir}, measured in this run, interleaved (current / older, lower is faster):`);
  console.log(renderColumns(['competitor', 'current ms', 'older ms', 'current / older'], pairs.map(([current, older]) => [
    current.label, cell(current), cell(older), current.summary && older.summary ? x2(current.summary.median / older.summary.median) : '']),
  [false, true, true, true]));
}

// ---- loaded: the walk beside busy processes --------------------------------

/** Busy processes (one per core, as a CI neighbour or a second job would be), started before the rows. */
async function setUpLoaded(ctx) {
  const count = ctx.limits.busyProcesses;
  ctx.busy = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
  await Promise.all(ctx.busy.map((child) => once(child, 'spawn')));
}

async function tearDownLoaded({ busy }) {
  for (const child of busy ?? []) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}

function loadedTargets(byId, { fixture }, _extra, t) {
  return ['unshare-walk-stat', 'unshare-walk-stat-1t'].map((id) => ratioTarget(
    `under load: ${byId[id]?.label ?? id} <= ${t.walkVsCStat}x c-stat (also under load)`, byId[id], t.walkVsCStat, fixture.entries));
}

function printLoaded({ fixture, trials, busy }, rows, _byId, _extra, targets) {
  console.log(`\nloaded: fixture "${fixture.name}" (${formatCount(fixture.entries)} entries) walked while ${busy.length} ` +
    `processes spin (node -e 'for (;;);', pids ${busy.map((c) => c.pid).join(', ')}); ${trials} trials per row, interleaved; ` +
    'ratio: median / median of c-stat, measured under the same load');
  console.log(renderColumns(['competitor', 'timed', 'entries', 'median ms', 'min', 'max', 'ratio'], rows.map((row) => (!row.summary
    ? [row.label, row.timed, '-', row.status, '', '', ''] : [row.label, row.timed, countsCell(row, fixture.entries),
      ms1(row.summary.median), ms1(row.summary.min), ms1(row.summary.max), row.ratio === null ? '' : x2(row.ratio)])),
  [false, false, true, true, true, true, true]));
  console.log(`\n${formatTargets(targets)}`);
}

/**
 * The slow consumer walk ("slow"), then the same at full speed to tell
 * buffering from baseline use; on the host, then in a session joined to a
 * namespace made for it with createNamespace() (its mount namespace is a
 * copy of ours, so the tree's path is the same inside).
 */
async function slowConsumer({ options, fixture }) {
  if (!options.slowConsumerEverywhere && fixture.name !== 'large') return { slowConsumer: null };
  const once = async (mode, target = 'host') => {
    const [row] = await measure(`${fixture.name}] [slow consumer ${target === 'host' ? 'host' : 'namespace'}`, [{ id: 'slow-consumer',
      label: mode, task: () => ['slow-consumer', fixture.root, mode, target] }], { trials: 1, warmup: false });
    return row.results[0] ?? { mode, ok: false, error: row.error };
  };
  const slow = await once('slow');
  const out = { slow, fast: slow.ok ? await once('fast') : null, namespace: null };
  let ns;
  try {
    ns = await loadLibrary().createNamespace();
    const nsSlow = await once('slow', String(ns.pid));
    out.namespace = { slow: nsSlow, fast: nsSlow.ok ? await once('fast', String(ns.pid)) : null };
  } catch (error) {
    out.namespace = { slow: { mode: 'slow', ok: false, error: error.message }, fast: null };
  } finally {
    await ns?.close();
  }
  return { slowConsumer: out };
}

// ---- prune ----------------------------------------------------------------------

const PRUNE_PAIRS = [
  { walker: 'unshare-fs walkBatches', whole: 'unshare-types-whole', pruned: 'unshare-types-exclude', how: "exclude: ['node_modules']" },
  { walker: 'unshare-fs (1 thread)', whole: 'unshare-types-whole-1t', pruned: 'unshare-types-prune', how: "prune: (e) => e.name === 'node_modules'" },
  { walker: 'fdir', whole: 'fdir-types-whole', pruned: 'fdir-types-exclude', how: "exclude((name) => name === 'node_modules')" },
  { walker: '@nodelib/fs.walk', whole: 'nodelib-types-whole', pruned: 'nodelib-types-deepfilter', how: 'deepFilter + entryFilter' },
];

function pruneRows(byId) {
  const med = (id) => byId[id]?.summary?.median ?? null;
  const ours = med('unshare-types-exclude');
  return PRUNE_PAIRS.map((pair) => {
    const [whole, pruned] = [med(pair.whole), med(pair.pruned)];
    return { walker: pair.walker, how: pair.how, wholeMs: whole, prunedMs: pruned, wholeEntries: byId[pair.whole].entries,
      prunedEntries: byId[pair.pruned].entries, prunedToWhole: whole && pruned ? pruned / whole : null,
      prunedToUnshare: ours && pruned ? pruned / ours : null,
      errors: [byId[pair.whole].error, byId[pair.pruned].error].filter(Boolean) };
  });
}

function printPrune({ fixture, trials }, _rows, byId) {
  const widths = [24, 44, 9, 8, 10, 8, 13, 14];
  const cells = (...values) => values.map((v, i) => (i < 2 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join(' ');
  const r = (value) => (value === null ? '-' : x2(value));
  const m = (value) => (value === null ? '-' : ms1(value));
  line(`\nPrune: ${fixture.name} tree (${fixture.entries} entries) walked whole and without node_modules, median of ${trials} `,
    '(names and types, no stats)');
  console.log(cells('walker', 'pruned by', 'whole ms', 'entries', 'pruned ms', 'entries', 'pruned/whole', 'vs unshare-fs'));
  for (const row of pruneRows(byId)) {
    console.log(cells(row.walker, row.how, m(row.wholeMs), row.wholeEntries ?? '-', m(row.prunedMs), row.prunedEntries ?? '-',
      r(row.prunedToWhole), r(row.prunedToUnshare)));
    for (const error of row.errors) console.log(`  ${row.walker}: ${error}`);
  }
}

// ---- streams --------------------------------------------------------------------

// The slow consumer: a 1 ms timer every 4 chunks of 64 KiB, at most
// ~256 MB/s, well under what the readers deliver, so they have to wait.
const SLOW = { every: 4, pauseMs: 1 };

const reader = (id, label, mode, source, ratioTo, unavailable = null) => ({ id, label, group: mode, timed: 'read', ratioTo,
  unavailable, task: (ctx) => ['stream', mode, String(source), ctx.root,
    ...(mode === 'slow' ? [SLOW.every, SLOW.pauseMs].map(String) : [])] });

async function setUpStreams(ctx) {
  const file = ensureStreamFile();
  let library = null;
  let why = null;
  try {
    library = loadLibrary();
    if (typeof library.host?.createReadStream !== 'function') why = 'this unshare-fs build has no createReadStream';
  } catch (error) {
    why = error.message;
  }
  let ns = null;
  let nsWhy = why;
  if (!why) {
    try {
      ns = await library.createNamespace();
    } catch (error) {
      nsWhy = `createNamespace() failed: ${error.message}`;
    }
  }
  Object.assign(ctx, { root: file, ns, why, nsWhy });
}

/** MB/s and memory per reader; ratio: median MB/s over the node peer's. */
function streamStats(byId) {
  for (const row of Object.values(byId)) {
    if (row.results.length === 0) continue;
    row.throughput = summarize(row.results.map((r) => r.bytes / 1e6 / (r.ms / 1e3)));
    row.growth = summarize(row.results.map((r) => r.growthBytes));
    row.arrayBuffersGrowth = summarize(row.results.map((r) => r.arrayBuffersGrowthBytes));
  }
  for (const row of Object.values(byId)) {
    const peer = byId[row.competitor.ratioTo];
    row.ratio = row.throughput && peer?.throughput ? row.throughput.median / peer.throughput.median : null;
  }
}

function streamTargets(byId, _ctx, _extra, { growthBytes: limit }) {
  const growth = (name, row) => {
    name = `256 MiB stream, RSS growth < ${limit / MIB} MiB: ${name}`;
    if (!row?.growth) return target(name, null, row ? row.error ?? row.status : 'not run');
    const bytesOk = row.entryCounts.every((bytes) => bytes === STREAM_BYTES);
    // The worst trial counts: one trial that buffered the file is a failure.
    return target(name, bytesOk && row.growth.max < limit, `max ${(row.growth.max / MIB).toFixed(1)} MiB over ${row.growth.n} ` +
      `trials (median ${(row.growth.median / MIB).toFixed(1)})${bytesOk ? '' : ' (bytes read differ from the file size)'}`,
    row.growth.max, limit);
  };
  return [growth('unshare-fs host.createReadStream', byId['unshare-host-stream']),
    growth('unshare-fs session.createReadStream (namespace)', byId['unshare-ns-stream']),
    growth('the same with a slow consumer', byId['unshare-ns-slow'])];
}

function printStreams({ root, ns, trials }, rows, _byId, _extra, targets) {
  const mib = (bytes) => (bytes / MIB).toFixed(1);
  const lines = rows.map((row) => (!row.throughput ? [row.label, '-', row.status, '', '', '', '', '', '', row.error ?? ''] : [
    row.label, row.entryCounts.every((bytes) => bytes === STREAM_BYTES) ? 'yes' : 'NO', row.summary.median.toFixed(0),
    ...['median', 'min', 'max'].map((k) => row.throughput[k].toFixed(0)), row.ratio === null ? '' : x2(row.ratio),
    mib(row.growth.median), mib(row.growth.max), mib(row.arrayBuffersGrowth.median)]));
  line(`\nstreams section: ${root} (${STREAM_BYTES / MIB} MiB, a 1 MiB pseudo-random block repeated, warm in the page cache), `,
    `namespace holder pid ${ns?.pid ?? '-'} (createNamespace())`);
  line(`${trials} trials per reader, each a fresh process, interleaved, after one warm-up pass; every reader is piped into `,
    'a Writable that counts the bytes; 64 KiB chunks (both default)');
  line('ms: the read alone (session opened before); MB/s = 10^6 bytes/s, median, min and max over trials; vs node: ',
    'median MB/s / median MB/s of node\'s same call (higher is faster)');
  line('RSS growth: peak RSS (sampled every 20 ms) minus RSS before the read after a gc, median and max; ArrayBuffers growth ',
    '(median): the same for Buffer memory, chunks still held and chunks not yet collected');
  line(`slow consumer: the Writable waits a ${SLOW.pauseMs} ms timer every ${SLOW.every} chunks\n`);
  console.log(renderColumns(['reader', 'bytes ok', 'median ms', 'MB/s', 'min', 'max', 'vs node', 'RSS growth MiB', 'max',
    'ArrayBuffers growth'], lines, [false, false, true, true, true, true, true, true, true, true]));
  console.log(`\n${formatTargets(targets)}`);
}

module.exports = { walkTargets, printWalk, slowConsumer, setUpLoaded, tearDownLoaded, loadedTargets, printLoaded, PRUNE_PAIRS, pruneRows, printPrune, reader, setUpStreams, streamStats,
  streamTargets, printStreams };

'use strict';
// Runs the walk benchmarks: `npm run bench` (which builds the TypeScript
// first) or `node benchmarks/run.js [options]`.
//
//   --large                also run the ~1,000,000-entry tree (and the slow
//                          consumer scenario on it)
//   --fixture NAME[=N]     run only these fixtures (repeatable), e.g. large,
//                          or a custom size: --fixture huge=3000000
//   --trials N             trials per competitor (default 7)
//   --only ID,ID / --skip ID,ID   select competitors by id
//   --slow-consumer        run the slow consumer scenario on every fixture
//   --compare-lib DIR      also benchmark an older unshare-fs build (a dist/
//                          directory), repeatable
//
// Environment: UNSHARE_FS_BENCH_FIXTURES=small,large, UNSHARE_FS_BENCH_TRIALS,
// UNSHARE_FS_BENCH_DIR (where trees live), UNSHARE_FS_BENCH_SMALL / _LARGE
// (tree sizes), UNSHARE_FS_BENCH_LIB (the unshare-fs build to load; dist/).

const path = require('node:path');
const { parseArgs } = require('node:util');
const { spawn } = require('node:child_process');
const { ensureFixture, FIXTURE_SIZES } = require('./fixtures');
const { listCompetitors } = require('./competitors');
const { summarize } = require('./stats');
const { describeMachine } = require('./machine');
const { libraryPath } = require('./library');
const report = require('./report');

const OUT_DIR = path.join(__dirname, 'out');
const SLOW_CONSUMER_SCRIPT = path.join(__dirname, 'slow-consumer.js');

function parseOptions() {
  const { values } = parseArgs({
    options: {
      large: { type: 'boolean', default: false },
      fixture: { type: 'string', multiple: true },
      trials: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      'slow-consumer': { type: 'boolean', default: false },
      'compare-lib': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(require('node:fs').readFileSync(__filename, 'utf8').split('\n')
      .filter((line) => line.startsWith('//')).map((line) => line.slice(3)).join('\n') + '\n');
    process.exit(0);
  }
  const fixtureSpecs = values.fixture ??
    (process.env.UNSHARE_FS_BENCH_FIXTURES?.split(',') ?? (values.large ? ['small', 'large'] : ['small']));
  const fixtures = fixtureSpecs.map((spec) => {
    const [name, size] = spec.trim().split('=');
    const entries = size ? Number(size) : FIXTURE_SIZES[name];
    if (!entries) throw new Error(`unknown fixture "${name}": give a size, as in ${name}=100000`);
    return { name, entries };
  });
  const trials = Number(values.trials ?? process.env.UNSHARE_FS_BENCH_TRIALS ?? 7);
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer`);
  const idList = (text) => (text ? text.split(',').map((id) => id.trim()) : null);
  return { fixtures, trials, only: idList(values.only), skip: idList(values.skip) ?? [],
    slowConsumerEverywhere: values['slow-consumer'], compareLibs: values['compare-lib'] };
}

function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}

async function runOneTrial(fixture, row) {
  try {
    return await row.competitor.runTrial(fixture.root);
  } catch (error) {
    row.status = error.notBuilt ? 'not built' : 'error';
    row.error = error.message;
    return null;
  }
}

function recordTrial(row, result) {
  row.times.push(result.ms);
  row.processTimes.push(result.processMs);
  if (result.innerMs !== undefined) row.innerTimes.push(result.innerMs);
  row.entryCounts.push(result.entries);
  row.entries = result.entries;
  if (result.sizeSum !== null && result.sizeSum !== undefined) row.sizeSums.push(result.sizeSum);
}

function newRow(competitor) {
  return { competitor, id: competitor.id, label: competitor.label, group: competitor.group,
    measured: competitor.measured, status: 'ok', error: null, times: [], processTimes: [], innerTimes: [],
    entryCounts: [], entries: null, sizeSums: [], summary: null, ratio: null, ratioTo: null, sizeMismatch: false };
}

// Warm-up pass (page cache, binaries), then `trials` rounds. Each round runs
// every competitor once, starting one further along the list each time so no
// competitor always runs right after the same neighbour.
async function measureFixture(fixture, competitors, trials) {
  const rows = competitors.map(newRow);
  for (const row of rows) {
    let unavailable = null;
    try {
      unavailable = row.competitor.available();
    } catch (error) {
      unavailable = error.message;
    }
    if (unavailable) {
      row.status = unavailable;
      continue;
    }
    progress(`[${fixture.name}] warm-up ${row.id}`);
    await runOneTrial(fixture, row);
  }
  const active = rows.filter((row) => row.status === 'ok');
  for (let round = 0; round < trials; round++) {
    for (let i = 0; i < active.length; i++) {
      const row = active[(i + round) % active.length];
      if (row.status !== 'ok') continue;
      progress(`[${fixture.name}] trial ${round + 1}/${trials} ${row.id}`);
      const result = await runOneTrial(fixture, row);
      if (result) recordTrial(row, result);
    }
  }
  progress('');
  return rows;
}

function computeRatios(rows) {
  const rowsById = Object.fromEntries(rows.map((row) => [row.id, row]));
  for (const row of rows) {
    row.summary = row.status === 'ok' ? summarize(row.times) : null;
  }
  const references = { stat: rowsById['c-stat'], types: rowsById['c-nostat'] };
  const referenceSizes = rowsById['c-stat']?.sizeSums ?? [];
  for (const row of rows) {
    const reference = references[row.group];
    if (row.summary && reference?.summary) {
      row.ratio = row.summary.median / reference.summary.median;
      row.ratioTo = reference.id;
    }
    if (referenceSizes.length > 0 && row.sizeSums.some((sum) => sum !== referenceSizes[0])) {
      row.sizeMismatch = true;
    }
  }
  return rowsById;
}

function runSlowConsumer(fixture, mode) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', SLOW_CONSUMER_SCRIPT, fixture.root, mode],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('close', (code, signal) => {
      try {
        resolve({ mode, ...JSON.parse(stdout.trim().split('\n').pop()) });
      } catch {
        resolve({ mode, ok: false, error: `crashed (code ${code}, signal ${signal}): ${stderr.trim()}` });
      }
    });
  });
}

async function measureSlowConsumer(fixture) {
  progress(`[${fixture.name}] slow consumer`);
  const slow = await runSlowConsumer(fixture, 'slow');
  // The same walk consumed at full speed, to tell buffering from baseline use.
  const fast = slow.ok ? await runSlowConsumer(fixture, 'fast') : null;
  progress('');
  return { slow, fast };
}

function serializeRow(row) {
  return {
    id: row.id, label: row.label, group: row.group, timed: row.measured, status: row.status, error: row.error,
    entries: row.entries, entryCounts: [...new Set(row.entryCounts)], sizeSum: row.sizeSums[0] ?? null,
    sizeMismatch: row.sizeMismatch, ratio: row.ratio, ratioTo: row.ratioTo, ms: row.summary,
    processMs: summarize(row.processTimes), innerMs: summarize(row.innerTimes), trialsMs: row.times,
  };
}

async function main() {
  const options = parseOptions();
  const machine = describeMachine();
  let competitors = listCompetitors({ compareLibs: options.compareLibs });
  if (options.only) competitors = competitors.filter((c) => options.only.includes(c.id));
  competitors = competitors.filter((c) => !options.skip.includes(c.id));

  console.log(`unshare-fs walk benchmark — ${machine.date}`);
  console.log(`node ${machine.node}, Linux ${machine.kernel}, ${machine.cpu}, ${machine.cores} cores`);
  console.log(`unshare-fs loaded from ${libraryPath()}`);

  for (const spec of options.fixtures) {
    const fixture = ensureFixture(spec.name, spec.entries);
    const rows = await measureFixture(fixture, competitors, options.trials);
    const rowsById = computeRatios(rows);
    const wantsSlowConsumer = options.slowConsumerEverywhere || spec.name === 'large';
    const slowConsumer = wantsSlowConsumer ? await measureSlowConsumer(fixture) : null;
    const targets = report.evaluateTargets(fixture, rowsById, slowConsumer);

    console.log('');
    console.log(report.formatTable(fixture, rows, options.trials));
    if (slowConsumer) {
      console.log('');
      console.log(report.formatSlowConsumer(slowConsumer));
    }
    console.log('');
    console.log(report.formatTargets(targets));

    const file = path.join(OUT_DIR, `results-${fixture.name}.json`);
    report.writeResults(file, {
      ...machine, library: libraryPath(), fixture, trials: options.trials,
      competitors: rows.map(serializeRow), slowConsumer, targets,
    });
    console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((error) => {
  console.error(error.stack || error.message);
  process.exitCode = 1;
});

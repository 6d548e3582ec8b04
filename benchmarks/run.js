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
//                          directory), repeatable: the host walk rows, and in
//                          the namespace section session open, lstat and walk
//   --no-namespace         skip the namespace section (on by default: the
//                          small tree as an overlay inside a namespace made
//                          with createNamespace(); see namespace.js)
//   --no-podman            skip the podman section (on by default when podman
//                          works: a container with the small tree copied in)
//   --no-docker            skip the docker section (on by default when the
//                          user's dockerd runs: the dbench container of
//                          scripts/docker-scenario.sh; see docker-section.js)
//   --docker-only          only the docker section
//   --docker-container NAME   walk /bench of this running container instead
//   --no-streams           skip the streams section (on by default: a 256 MiB
//                          file through createReadStream on the host and in a
//                          namespace, beside node's; see streams.js)
//   --no-changes           skip the changes section (on by default: rm -r,
//                          chown -R, small writes and a 1 GiB copy in a
//                          namespace, beside nsenter and podman unshare; see
//                          changes.js)
//   --changes-only         only the changes section
//   --no-prune             skip the prune section (on by default: each
//                          fixture walked whole and without its node_modules
//                          by unshare-fs exclude, fdir exclude and
//                          @nodelib/fs.walk deepFilter; see prune.js)
//   --prune-only           only the prune section
//   --namespace-only       skip the host walk tables, the streams and the
//                          changes sections: only the namespace, podman and
//                          docker sections
//   --streams-only         only the streams section
//   --podman-container NAME   use this running container (>= 50,000 entries
//                          in its merged dir) instead of making one
//   --keep-container       keep the container made for the podman section
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
const { libraryPath, loadLibrary } = require('./library');
const { runNamespaceSection } = require('./namespace');
const { runPodmanSection } = require('./podman-section');
const { runDockerSection } = require('./docker-section');
const { runStreamsSection } = require('./streams');
const { runChangesSection } = require('./changes');
const { runPruneSection } = require('./prune');
const report = require('./report');
const { measureFixture, progress } = require('./measure');

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
      'no-namespace': { type: 'boolean', default: false },
      'no-podman': { type: 'boolean', default: false },
      'no-docker': { type: 'boolean', default: false },
      'docker-only': { type: 'boolean', default: false },
      'docker-container': { type: 'string' },
      'no-streams': { type: 'boolean', default: false },
      'namespace-only': { type: 'boolean', default: false },
      'streams-only': { type: 'boolean', default: false },
      'no-changes': { type: 'boolean', default: false },
      'changes-only': { type: 'boolean', default: false },
      'no-prune': { type: 'boolean', default: false },
      'prune-only': { type: 'boolean', default: false },
      'podman-container': { type: 'string' },
      'keep-container': { type: 'boolean', default: false },
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
  const pruneOnly = values['prune-only'];
  const only = values['docker-only'] || pruneOnly;
  return { fixtures, trials, only: idList(values.only), skip: idList(values.skip) ?? [],
    slowConsumerEverywhere: values['slow-consumer'], compareLibs: values['compare-lib'],
    hostTables: !only && !values['namespace-only'] && !values['streams-only'] && !values['changes-only'],
    streams: !only && !values['no-streams'] && !values['namespace-only'] && !values['changes-only'],
    namespace: !only && !values['no-namespace'] && !values['streams-only'] && !values['changes-only'],
    podman: !only && !values['no-podman'] && !values['streams-only'] && !values['changes-only'],
    docker: !pruneOnly && !values['no-docker'] && !values['streams-only'] && !values['changes-only'],
    prune: !values['docker-only'] && !values['no-prune'] && !values['streams-only'] && !values['changes-only'] && !values['namespace-only'],
    changes: !only && !values['no-changes'] && !values['streams-only'] && !values['namespace-only'],
    podmanContainer: values['podman-container'] ?? null, keepContainer: values['keep-container'],
    dockerContainer: values['docker-container'] ?? null };
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

  for (const spec of options.hostTables ? options.fixtures : []) {
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

  if (options.prune) {
    await runSection('prune', options, machine, async () => {
      const out = [];
      for (const spec of options.fixtures) out.push(await runPruneSection({ fixture: ensureFixture(spec.name, spec.entries), trials: options.trials }));
      return out;
    });
  }
  if (options.streams) await runStreams(options, machine);
  if (options.namespace || options.podman || options.docker) await runNamespaceSections(options, machine);
  if (options.changes) await runChanges(options, machine);
}

/** One section, run with `run`, its results (or its error) written to out/results-<name>.json. */
async function runSection(name, options, machine, run) {
  const results = { ...machine, library: libraryPath(), euid: process.geteuid(), trials: options.trials };
  try {
    results[name] = await run();
  } catch (error) {
    console.log(`\n${name} section failed: ${error.stack || error.message}`);
    results[name] = { error: error.message };
    process.exitCode = 1;
  }
  const file = path.join(OUT_DIR, `results-${name}.json`);
  report.writeResults(file, results);
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}

/** The changes section, written to out/results-changes.json. */
function runChanges(options, machine) {
  return runSection('changes', options, machine, () => runChangesSection({ library: loadLibrary(), trials: options.trials }));
}

/** The streams section, written to out/results-streams.json. */
function runStreams(options, machine) {
  let library = null;
  let libraryError = null;
  try {
    library = loadLibrary();
  } catch (error) {
    libraryError = error.message;
  }
  return runSection('streams', options, machine, () => runStreamsSection({ library, libraryError, trials: options.trials }));
}

/** The namespace, podman and docker sections, written to out/results-namespace.json. */
async function runNamespaceSections(options, machine) {
  let library;
  try {
    library = loadLibrary();
  } catch (error) {
    console.log(`\nnamespace and podman sections: ${error.message}`);
    return;
  }
  const results = { ...machine, library: libraryPath(), euid: process.geteuid(), trials: options.trials };
  if (options.namespace) {
    try {
      results.namespace = await runNamespaceSection({ library, trials: options.trials,
        compareLibs: options.compareLibs });
    } catch (error) {
      console.log(`\nnamespace section failed: ${error.stack || error.message}`);
      results.namespace = { error: error.message };
      process.exitCode = 1;
    }
  }
  if (options.podman) {
    try {
      results.podman = await runPodmanSection({ library, trials: options.trials,
        containerName: options.podmanContainer, keepContainer: options.keepContainer });
    } catch (error) {
      console.log(`\npodman section failed: ${error.stack || error.message}`);
      results.podman = { error: error.message };
      process.exitCode = 1;
    }
    if (results.podman?.skipped) console.log(`\npodman section skipped: ${results.podman.skipped}`);
  }
  if (options.docker) {
    try {
      results.docker = await runDockerSection({ library, trials: options.trials, containerName: options.dockerContainer });
    } catch (error) {
      console.log(`\ndocker section failed: ${error.stack || error.message}`);
      results.docker = { error: error.message };
      process.exitCode = 1;
    }
    if (results.docker?.skipped) console.log(`\ndocker section skipped: ${results.docker.skipped}`);
  }
  const file = path.join(OUT_DIR, 'results-namespace.json');
  report.writeResults(file, results);
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
  console.error(error.stack || error.message);
  process.exitCode = 1;
});

'use strict';
// The benchmark runner: `npm run bench` (which builds the TypeScript first)
// or `node benchmarks/run.js [options]`. It runs the sections described in
// sections.js, in order; every trial of every competitor is a fresh process
// (see README.md for exactly what is timed).
//
// Its flags are listed in README.md, which --help prints.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { ensureFixture, FIXTURE_SIZES } = require('./fixtures');
const { libraryPath } = require('./library');
const { measure, computeRatios, serializeRow, writeResults } = require('./measure');
const { SECTIONS } = require('./sections');

function parseOptions() {
  const flag = { type: 'boolean', default: false };
  const { values } = parseArgs({ options: {
    large: flag, fixture: { type: 'string', multiple: true }, trials: { type: 'string' }, only: { type: 'string' },
    skip: { type: 'string' }, 'slow-consumer': flag, 'compare-lib': { type: 'string', multiple: true, default: [] },
    'no-namespace': flag, 'no-podman': flag, 'no-docker': flag, 'docker-only': flag, 'docker-container': { type: 'string' },
    'no-streams': flag, 'namespace-only': flag, 'streams-only': flag, 'no-changes': flag, 'changes-only': flag,
    'no-prune': flag, 'prune-only': flag, 'no-loaded': flag, 'loaded-only': flag, 'podman-container': { type: 'string' }, 'keep-container': flag,
    'no-scan': flag, 'scan-only': flag, 'scan-containers': { type: 'string' }, 'scan-entries': { type: 'string' },
    'remove-scan-image': flag, 'no-cli': flag, 'cli-only': flag, help: flag,
  } });
  if (values.help) {
    const readme = fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8');
    process.stdout.write(/Every flag[^]*?```text\n([^]*?)```/.exec(readme)[1]);
    process.exit(0);
  }
  const specs = values.fixture ??
    (process.env.UNSHARE_FS_BENCH_FIXTURES?.split(',') ?? (values.large ? ['small', 'large'] : ['small']));
  const fixtures = specs.map((spec) => {
    const [name, size] = spec.trim().split('=');
    const entries = size ? Number(size) : FIXTURE_SIZES[name];
    if (!entries) throw new Error(`unknown fixture "${name}": give a size, as in ${name}=100000`);
    return { name, entries };
  });
  const trials = Number(values.trials ?? process.env.UNSHARE_FS_BENCH_TRIALS ?? 7);
  if (!Number.isInteger(trials) || trials < 1) throw new Error('--trials must be a positive integer');
  const positive = (flag, fallback, least) => {
    const value = Number(values[flag] ?? fallback);
    if (!Number.isInteger(value) || value < least) throw new Error(`--${flag} must be an integer >= ${least}`);
    return value;
  };
  const ids = (text) => (text ? text.split(',').map((id) => id.trim()) : null);
  // A section runs unless its --no-X is given or another section's --X-only is.
  const only = ['docker', 'prune', 'streams', 'changes', 'namespace', 'loaded', 'scan', 'cli'].filter((name) => values[`${name}-only`]);
  const onlyOf = { walk: [], loaded: ['loaded'], prune: ['prune'], streams: ['streams'], namespace: ['namespace'], podman: ['namespace'],
    docker: ['namespace', 'docker'], changes: ['changes'], scan: ['scan'], cli: ['cli'] };
  const runs = (name) => !values[`no-${name}`] && (only.length === 0 || only.some((o) => onlyOf[name].includes(o)));
  return { fixtures, trials, only: ids(values.only), skip: ids(values.skip) ?? [], runs,
    slowConsumerEverywhere: values['slow-consumer'], compareLibs: values['compare-lib'],
    podmanContainer: values['podman-container'] ?? null, keepContainer: values['keep-container'],
    dockerContainer: values['docker-container'] ?? null, scanContainers: positive('scan-containers', 20, 1),
    scanEntries: positive('scan-entries', 50_000, 100), removeScanImage: values['remove-scan-image'] };
}

function describeMachine() {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ??
    os.cpus()[0]?.model ?? 'unknown';
  return { date: new Date().toISOString(), node: process.version, kernel: os.release(), cpu,
    cores: os.availableParallelism(), hostname: os.hostname() };
}

async function main() {
  const options = parseOptions();
  const machine = describeMachine();
  console.log(`unshare-fs walk benchmark — ${machine.date}`);
  console.log(`node ${machine.node}, Linux ${machine.kernel}, ${machine.cpu}, ${machine.cores} cores`);
  console.log(`unshare-fs loaded from ${libraryPath()}`);
  const sections = SECTIONS.filter((s) => options.runs(s.name));
  const files = {};
  for (const [i, section] of sections.entries()) {
    for (const spec of section.fixture === 'each' ? options.fixtures : [section.fixture]) {
      const fixture = spec?.name ? ensureFixture(spec.name, spec.entries) : spec === 'small' ? ensureFixture('small') : null;
      const file = section.file ?? fixture.name;
      files[file] ??= { ...machine, library: libraryPath(), euid: process.geteuid(), trials: options.trials };
      const results = await runSection(section, { options, fixture, trials: options.trials });
      if (!section.file) Object.assign(files[file], results);
      else if (section.fixture === 'each') (files[file][section.name] ??= []).push(results);
      else files[file][section.name] = results;
      if (!section.file) writeResults(file, files[file]);
    }
    // Sections sharing a file (namespace, podman, docker) write it once, after the last.
    if (section.file && !sections.slice(i + 1).some((s) => s.file === section.file)) writeResults(section.file, files[section.file]);
  }
}

/**
 * One section: setup (which may fill ctx in, or say why it is skipped), its
 * competitors measured, ratios, afterRows (what else it measures), targets,
 * its report, teardown (always).
 */
async function runSection(section, ctx) {
  try {
    ctx.limits = section.limits;
    const skipped = (await section.setup?.(ctx))?.skipped;
    if (skipped) {
      console.log(`\n${section.name} section skipped: ${skipped}`);
      return { skipped };
    }
    const competitors = section.competitors(ctx).filter(Boolean);
    const rows = await measure(section.name, competitors,
      { trials: ctx.trials, root: ctx.root ?? ctx.fixture?.root, warmup: section.warmup !== false });
    const byId = computeRatios(rows, section.ratioTo ?? {});
    const extra = (await section.afterRows?.(ctx, byId)) ?? {};
    const targets = section.targets?.(byId, ctx, extra, section.limits) ?? [];
    section.print(ctx, rows, byId, extra, targets);
    return { ...section.results?.(ctx, extra), rows: rows.map(serializeRow), targets };
  } catch (error) {
    console.log(`\n${section.name} section failed: ${error.stack || error.message}`);
    process.exitCode = 1;
    return { error: error.message };
  } finally {
    await section.teardown?.(ctx);
  }
}

main().catch((error) => {
  console.error(error.stack || error.message);
  process.exitCode = 1;
});

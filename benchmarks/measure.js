'use strict';
// The one way every section measures: each trial of each competitor is a
// fresh process, started from here. A competitor is data: an id, a label, a
// group ("stat" or "types", for ratios), what its clock covers (`timed`),
// and either `task` (trial.js arguments: a node process that times its own
// work and reports it) or `cmd` (a command timed from spawn to exit, its
// output parsed as the C baseline's, as -printf lines, or by its own parse
// function: { entries, sizeSum } from the output). Both are
// functions of the trial's context { root, round, dir }.

const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const OUT_DIR = path.join(__dirname, 'out');
const TRIAL = path.join(__dirname, 'trial.js');
const PRINTF = '%p %m %U %G %s %T@\\n';
const C_SOURCE = path.join(__dirname, 'c', 'walk.c');
const C_BINARY = path.join(OUT_DIR, 'walk');

const progress = (text) => process.stderr.isTTY && process.stderr.write(`\r\x1b[K${text}`);

function findExecutable(name) {
  if (name.startsWith('/')) return fs.existsSync(name) ? name : null;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return path.join(dir, name);
    } catch {
      // Keep looking along PATH.
    }
  }
  return null;
}

/** Runs argv; processMs is from spawn to exit, as seen from here. */
function spawnTimed(argv, { env, stdout = 'pipe' } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'] });
    let processMs = null;
    const out = [];
    const err = [];
    child.stdout?.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('error', reject);
    child.on('exit', () => {
      processMs = Number(process.hrtime.bigint() - started) / 1e6;
    });
    child.on('close', (code, signal) => resolve({ code, signal, processMs,
      stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** spawnTimed, throwing when the command fails. */
async function run(argv, options) {
  const result = await spawnTimed(argv, options);
  if (result.code !== 0) throw new Error(`${argv.join(' ')} failed (code ${result.code}): ${result.stderr.trim()}`);
  return result;
}

/** Builds the C baseline (c/walk.c) into out/ unless it is up to date. */
function ensureCBaseline() {
  const mtime = (file) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  if (mtime(C_BINARY) >= mtime(C_SOURCE)) return C_BINARY;
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const compiler = process.env.CC || 'cc';
  try {
    execFileSync(compiler, ['-O2', '-Wall', '-Wextra', '-o', C_BINARY, C_SOURCE], { stdio: 'inherit' });
  } catch (error) {
    throw new Error(`cannot build the C baseline with ${compiler}: ${error.message}`);
  }
  return C_BINARY;
}

/** Entries and the sum of the %s field (second from the right, so paths with spaces still parse) of -printf output. */
function parsePrintf(file) {
  let entries = 0;
  let sizeSum = 0;
  for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
    if (!line) continue;
    const timeSpace = line.lastIndexOf(' ');
    sizeSum += Number(line.slice(line.lastIndexOf(' ', timeSpace - 1) + 1, timeSpace));
    entries++;
  }
  return { entries, sizeSum };
}

/** A trial.js task (walking ctx.root by default) in a fresh node process. */
const node = (id, label, group, task, extra = {}) => ({ id, label, group, timed: 'walk', task: (ctx) => [task, ctx.root], ...extra });

/** The C baseline (getdents64 + fstatat, one thread), behind `wrapper` (nsenter ...) if given. */
const cBaseline = (id, label, group, extra = [], wrapper = []) => ({ id, label, group, timed: 'process', parse: 'c',
  needs: [wrapper[0], ensureCBaseline], cmd: (ctx) => [...wrapper, ensureCBaseline(), ...extra, ctx.root] });

/** find or bfs -printf, behind `wrapper` if given. */
const printfTool = (id, executable, { wrapper = [], label, needs } = {}) => ({ id, group: 'stat', timed: 'process',
  label: label ?? `${[...wrapper, executable].join(' ')} -printf '${PRINTF}'`, parse: 'printf',
  needs: needs ?? [wrapper[0], executable], cmd: (ctx) => [...wrapper, executable, ctx.root, '-mindepth', '1', '-printf', PRINTF] });

/** Why `competitor` cannot run here (a tool not installed, ...), or null. */
function unavailable(competitor) {
  try {
    if (competitor.unavailable) return competitor.unavailable;
    for (const need of (competitor.needs ?? []).filter(Boolean)) {
      if (typeof need === 'function') need();
      else if (!findExecutable(need)) return `${need} not installed`;
    }
    return null;
  } catch (error) {
    return error.message;
  }
}

/** One trial of `competitor`: { ms, processMs, entries, sizeSum, innerMs, ...what trial.js reported }. */
async function runTrial(competitor, ctx) {
  if (competitor.task) {
    const result = await spawnTimed([process.execPath, TRIAL, ...competitor.task(ctx)], { env: competitor.env });
    let report;
    try {
      report = JSON.parse(result.stdout.trim().split('\n').pop() || '');
    } catch {
      throw new Error(`${competitor.id} crashed (code ${result.code}, signal ${result.signal}): ${result.stderr.trim()}`);
    }
    if (!report.ok) throw Object.assign(new Error(report.error), { notBuilt: report.notBuilt });
    return { ...report, processMs: result.processMs, entries: report.entries ?? report.bytes, innerMs: report.walkMs };
  }
  // -printf output goes to a file, parsed after exit, so parsing does not
  // compete with the tool for the CPU while it is being timed.
  // (toFile: the same for a competitor whose parse is a function of the output.)
  const file = (competitor.parse === 'printf' || competitor.toFile) && path.join(OUT_DIR, `${competitor.id}-output.txt`);
  if (file) fs.mkdirSync(OUT_DIR, { recursive: true });
  const fd = file ? fs.openSync(file, 'w') : competitor.parse ? 'pipe' : 'ignore';
  let result;
  try {
    result = await run(competitor.cmd(ctx), { stdout: fd });
  } finally {
    if (file) fs.closeSync(fd);
  }
  const out = { ms: result.processMs, processMs: result.processMs };
  if (file) {
    Object.assign(out, typeof competitor.parse === 'function' ? competitor.parse(fs.readFileSync(file, 'latin1')) : parsePrintf(file));
    fs.rmSync(file, { force: true });
  } else if (typeof competitor.parse === 'function') {
    Object.assign(out, competitor.parse(result.stdout));
  } else if (competitor.parse === 'c') {
    const match = /entries=(\d+) sizes=(\d+) ns=(\d+)/.exec(result.stdout);
    if (!match) throw new Error(`unexpected output from the C baseline: ${result.stdout.trim()}`);
    Object.assign(out, { entries: Number(match[1]), sizeSum: competitor.group === 'stat' ? Number(match[2]) : null,
      innerMs: Number(match[3]) / 1e6 });
  }
  return out;
}

/**
 * Every competitor once as a warm-up (page cache, binaries) unless warmup is
 * false, then `trials` rounds; each round runs every competitor once,
 * starting one further along the list each time so no competitor always
 * runs right after the same neighbour (rotate: false keeps the list's order,
 * for trials that need the one before). A competitor's `before(ctx)`
 * (untimed: a fresh copy of a tree) runs just before each of its trials and
 * gives ctx.dir. Returns a row per competitor.
 */
async function measure(name, competitors, { trials, root = null, warmup = true, rotate = true }) {
  const rows = competitors.map((competitor) => ({ competitor, id: competitor.id, label: competitor.label, group: competitor.group,
    timed: competitor.timed, status: unavailable(competitor) ?? 'ok', error: null, results: [], times: [], processTimes: [],
    innerTimes: [], entryCounts: [], entries: null, sizeSums: [], ratio: null, innerRatio: null, ratioTo: null }));
  const trial = async (row, round) => {
    const ctx = { root: row.competitor.root ?? root, round };
    try {
      if (row.competitor.before) ctx.dir = await row.competitor.before(ctx);
      return await runTrial(row.competitor, ctx);
    } catch (error) {
      row.status = error.notBuilt ? 'not built' : 'error';
      row.error = error.message;
      return null;
    }
  };
  const active = rows.filter((row) => row.status === 'ok');
  for (const row of warmup ? active : []) {
    progress(`[${name}] warm-up ${row.id}`);
    await trial(row, -1);
  }
  for (let round = 0; round < trials; round++) {
    for (let i = 0; i < active.length; i++) {
      const row = active[(i + (rotate ? round : 0)) % active.length];
      if (row.status !== 'ok') continue;
      progress(`[${name}] trial ${round + 1}/${trials} ${row.id}`);
      const result = await trial(row, round);
      if (!result) continue;
      row.results.push(result);
      row.times.push(result.ms);
      row.processTimes.push(result.processMs);
      if (result.innerMs !== undefined) row.innerTimes.push(result.innerMs);
      row.entryCounts.push(result.entries);
      row.entries = result.entries ?? null;
      if (result.sizeSum !== null && result.sizeSum !== undefined) row.sizeSums.push(result.sizeSum);
    }
  }
  progress('');
  return rows;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const summarize = (values) => (values.length === 0 ? null
  : { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length });

/** Latency samples as p50 / p99 (nearest rank) / min / max / mean. */
function summarizeLatency(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return { p50: at(50), p99: at(99), min: sorted[0], max: sorted[sorted.length - 1],
    mean: values.reduce((a, b) => a + b, 0) / values.length, n: values.length };
}

/**
 * Medians, and each row's median over its reference's, where `ratioTo` is a
 * row id or an object from group to row id; innerRatio the same for the
 * rows' inner clocks. Sizes are checked against the (stat) reference's.
 */
function computeRatios(rows, ratioTo) {
  const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
  const referenceOf = (group) => byId[typeof ratioTo === 'string' ? ratioTo : ratioTo[group]];
  for (const row of rows) {
    row.summary = row.status === 'ok' ? summarize(row.times) : null;
    row.innerSummary = row.status === 'ok' ? summarize(row.innerTimes) : null;
  }
  const sizes = referenceOf('stat')?.sizeSums ?? [];
  for (const row of rows) {
    const reference = referenceOf(row.group);
    if (row.summary && reference?.summary) {
      row.ratio = row.summary.median / reference.summary.median;
      row.ratioTo = reference.id;
    }
    if (row.innerSummary && reference?.innerSummary) row.innerRatio = row.innerSummary.median / reference.innerSummary.median;
    row.sizeMismatch = sizes.length > 0 && row.sizeSums.some((sum) => sum !== sizes[0]);
  }
  return byId;
}

/** A row as results-*.json keeps it. */
const serializeRow = (row) => ({ id: row.id, label: row.label, timed: row.timed, status: row.status, error: row.error,
  entries: row.entries, entryCounts: [...new Set(row.entryCounts)], sizeSum: row.sizeSums[0] ?? null, sizeMismatch: row.sizeMismatch,
  ratio: row.ratio, innerRatio: row.innerRatio, ratioTo: row.ratioTo, ms: row.summary, innerMs: row.innerSummary,
  processMs: summarize(row.processTimes), trialsMs: row.times });

// ---- printing ---------------------------------------------------------------

const MIB = 1024 * 1024;
const formatCount = (value) => value.toLocaleString('en-US');
const ms1 = (value) => value.toFixed(1);
const x2 = (value) => `${value.toFixed(2)}x`;
const line = (...parts) => console.log(parts.join(''));

/** A row's entry counts, with " !" when they are not all `expected`. */
function countsCell(row, expected) {
  const counts = [...new Set(row.entryCounts)];
  return counts.map(formatCount).join('/') + (expected !== null && (counts.length !== 1 || counts[0] !== expected) ? ' !' : '');
}

const countsOk = (row, expected) => row.entryCounts.every((count) => count === expected) && !row.sizeMismatch;


function renderColumns(header, lines, rightAligned) {
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
  const render = (line) => line.map((cell, column) =>
    (rightAligned[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ').trimEnd();
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...lines.map(render)].join('\n');
}

/** A target line: PASS, FAIL, or SKIP when ok is null. Printed, never failing the command. */
const target = (name, ok, detail, value, limit) => ({ name, status: ok === null ? 'SKIP' : ok ? 'PASS' : 'FAIL', detail, value, limit });

const formatTargets = (targets) => targets.map((t) => `${t.status.padEnd(4)}  ${t.name}${t.detail ? `: ${t.detail}` : ''}`).join('\n');

function writeResults(name, results) {
  const file = path.join(OUT_DIR, `results-${name}.json`);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}

module.exports = { MIB, ms1, x2, line, countsCell, countsOk, node, cBaseline, printfTool, measure, spawnTimed, run, findExecutable,
  ensureCBaseline, median, summarize,
  summarizeLatency, computeRatios, serializeRow, renderColumns, formatCount, target, formatTargets, writeResults, progress, parsePrintf,
  PRINTF, OUT_DIR };

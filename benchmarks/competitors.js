'use strict';
// The competitors and how one trial of each is run. Every trial is a fresh
// process. JavaScript competitors time the walk inside their process
// (trial.js), so node's startup is not charged to them; the C baseline,
// find and bfs are timed from spawn to exit, their whole process as-is.
//
// group decides the reference for ratios: "stat" competitors are compared
// with c-stat, "types" competitors (no stat) with c-nostat.

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { ensureCBaseline, parseCBaselineOutput } = require('./c-baseline');

const TRIAL_SCRIPT = path.join(__dirname, 'trial.js');
const OUT_DIR = path.join(__dirname, 'out');
const PRINTF_FORMAT = '%p %m %U %G %s %T@\\n';

function findExecutable(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Keep looking along PATH.
    }
  }
  return null;
}

function timedSpawn(command, args, { env, stdout = 'pipe' } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'] });
    let processMs = null;
    const chunks = [];
    const errorChunks = [];
    child.stdout?.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => errorChunks.push(chunk));
    child.on('error', reject);
    child.on('exit', () => {
      processMs = Number(process.hrtime.bigint() - started) / 1e6;
    });
    child.on('close', (code, signal) => {
      resolve({
        code, signal, processMs,
        stdout: Buffer.concat(chunks).toString('utf8'),
        stderr: Buffer.concat(errorChunks).toString('utf8'),
      });
    });
  });
}

// Counts lines and adds up the %s field (second from the right, so paths
// with spaces still parse) without building a string per line.
function parsePrintfOutput(file) {
  const SPACE = 0x20;
  const NEWLINE = 0x0a;
  const buffer = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, 'r');
  let entries = 0;
  let sizeSum = 0;
  let line = [];
  try {
    for (;;) {
      const length = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (length === 0) break;
      let lineStart = 0;
      for (let i = 0; i < length; i++) {
        if (buffer[i] !== NEWLINE) continue;
        line.push(buffer.subarray(lineStart, i));
        const text = line.length === 1 ? line[0] : Buffer.concat(line);
        const timeSpace = text.lastIndexOf(SPACE);
        const sizeSpace = text.lastIndexOf(SPACE, timeSpace - 1);
        sizeSum += Number(text.toString('latin1', sizeSpace + 1, timeSpace));
        entries++;
        line = [];
        lineStart = i + 1;
      }
      if (lineStart < length) line.push(Buffer.from(buffer.subarray(lineStart, length)));
    }
  } finally {
    fs.closeSync(fd);
  }
  return { entries, sizeSum };
}

// wrapper: a command line run first, the baseline as its last arguments
// (nsenter -U -m -t PID, to walk inside a namespace).
function cBaseline(id, label, group, extraArgs, { wrapper = [] } = {}) {
  return {
    id, label, group, measured: 'process',
    available() {
      ensureCBaseline();
      return wrapper.length > 0 && !findExecutable(wrapper[0]) ? `${wrapper[0]} not installed` : null;
    },
    async runTrial(root) {
      const argv = [...wrapper, ensureCBaseline(), ...extraArgs, root];
      const result = await timedSpawn(argv[0], argv.slice(1));
      if (result.code !== 0) throw new Error(`${id} failed: ${result.stderr.trim()}`);
      const parsed = parseCBaselineOutput(result.stdout);
      return { ms: result.processMs, processMs: result.processMs, ...parsed,
        sizeSum: group === 'stat' ? parsed.sizeSum : null };
    },
  };
}

// wrapper as for cBaseline (nsenter ..., podman unshare); label defaults to
// the command line.
function printfTool(id, executable, { wrapper = [], label } = {}) {
  return {
    id, label: label ?? `${[...wrapper, executable].join(' ')} -printf '%p %m %U %G %s %T@\\n'`,
    group: 'stat', measured: 'process',
    available() {
      for (const tool of [wrapper[0], executable].filter(Boolean)) {
        if (!findExecutable(tool)) return `${tool} not installed`;
      }
      return null;
    },
    async runTrial(root) {
      fs.mkdirSync(OUT_DIR, { recursive: true });
      // Output goes to a file, parsed after exit, so parsing does not compete
      // with the tool for the CPU while it is being timed.
      const outFile = path.join(OUT_DIR, `${id}-output.txt`);
      const fd = fs.openSync(outFile, 'w');
      let result;
      const argv = [...wrapper, executable, root, '-mindepth', '1', '-printf', PRINTF_FORMAT];
      try {
        result = await timedSpawn(argv[0], argv.slice(1), { stdout: fd });
      } finally {
        fs.closeSync(fd);
      }
      if (result.code !== 0) throw new Error(`${id} failed: ${result.stderr.trim()}`);
      const parsed = parsePrintfOutput(outFile);
      fs.rmSync(outFile, { force: true });
      return { ms: result.processMs, processMs: result.processMs, ...parsed };
    },
  };
}

function nodeWalker(id, label, group, walkerId, env = {}) {
  return {
    id, label, group, measured: 'walk',
    available() {
      return null;
    },
    async runTrial(root) {
      const result = await timedSpawn(process.execPath, [TRIAL_SCRIPT, walkerId, root], { env });
      const report = trialReport(id, result);
      return { ms: report.ms, processMs: result.processMs, entries: report.entries, sizeSum: report.sizeSum };
    },
  };
}

/**
 * The competitors in table order. compareLibs adds the unshare-fs rows again
 * for each older build given (a directory like dist/), labelled with it.
 */
function listCompetitors({ compareLibs = [] } = {}) {
  const unshareRows = (suffix, env) => [
    nodeWalker(`unshare-walk-stat${suffix}`, `unshare-fs walk (full stat, entries)${suffix}`,
      'stat', 'unshare-walk-stat', env),
    nodeWalker(`unshare-batches-stat${suffix}`, `unshare-fs walkBatches (full stat)${suffix}`,
      'stat', 'unshare-batches-stat', env),
    nodeWalker(`unshare-walk-types${suffix}`, `unshare-fs walk (types only)${suffix}`,
      'types', 'unshare-walk-types', env),
  ];
  return [
    cBaseline('c-stat', 'c-stat (getdents64 + fstatat, 1 thread)', 'stat', []),
    cBaseline('c-nostat', 'c-nostat (getdents64, d_type)', 'types', ['--no-stat']),
    ...unshareRows('', {}),
    ...compareLibs.flatMap((dir) => unshareRows(` [${dir}]`, { UNSHARE_FS_BENCH_LIB: path.resolve(dir) })),
    nodeWalker('fdir-lstat-sync', 'fdir crawl + lstatSync every entry', 'stat', 'fdir-lstat-sync'),
    nodeWalker('fdir-lstat-async', 'fdir crawl + fs.promises.lstat (64 in flight)', 'stat', 'fdir-lstat-async'),
    nodeWalker('nodelib-walk-stats', '@nodelib/fs.walk (stats: true)', 'stat', 'nodelib-walk-stats'),
    nodeWalker('node-readdir-lstat', 'node readdirSync(recursive, withFileTypes) + lstatSync',
      'stat', 'node-readdir-lstat'),
    printfTool('find', 'find'),
    printfTool('bfs', 'bfs'),
  ];
}

/** The JSON report a trial script prints last; throws what the trial failed with. */
function trialReport(id, result) {
  const lastLine = result.stdout.trim().split('\n').pop() || '';
  let report;
  try {
    report = JSON.parse(lastLine);
  } catch {
    throw new Error(`${id} crashed (code ${result.code}, signal ${result.signal}): ${result.stderr.trim()}`);
  }
  if (!report.ok) {
    const error = new Error(report.error);
    error.notBuilt = report.notBuilt;
    throw error;
  }
  return report;
}

module.exports = {
  trialReport,
  listCompetitors, parsePrintfOutput, timedSpawn, findExecutable, cBaseline, printfTool, nodeWalker,
};

'use strict';
// Builds the C baseline (c/walk.c) into out/ when the binary is missing or
// older than its source, and parses what it prints.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const SOURCE = path.join(__dirname, 'c', 'walk.c');
const BINARY = path.join(__dirname, 'out', 'walk');

function isUpToDate() {
  try {
    return fs.statSync(BINARY).mtimeMs >= fs.statSync(SOURCE).mtimeMs;
  } catch {
    return false;
  }
}

/** Returns the path of the compiled baseline, compiling it if needed. */
function ensureCBaseline() {
  if (isUpToDate()) return BINARY;
  fs.mkdirSync(path.dirname(BINARY), { recursive: true });
  const compiler = process.env.CC || 'cc';
  try {
    execFileSync(compiler, ['-O2', '-Wall', '-Wextra', '-o', BINARY, SOURCE], { stdio: 'inherit' });
  } catch (error) {
    throw new Error(`cannot build the C baseline with ${compiler}: ${error.message}`);
  }
  return BINARY;
}

/** Parses "entries=N sizes=S ns=T". */
function parseCBaselineOutput(stdout) {
  const match = /entries=(\d+) sizes=(\d+) ns=(\d+)/.exec(stdout);
  if (!match) throw new Error(`unexpected output from the C baseline: ${stdout.trim()}`);
  return { entries: Number(match[1]), sizeSum: Number(match[2]), innerMs: Number(match[3]) / 1e6 };
}

module.exports = { ensureCBaseline, parseCBaselineOutput };

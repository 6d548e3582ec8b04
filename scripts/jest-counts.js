#!/usr/bin/env node
// jest-counts.js — sum the counts files of scripts/jest-counts-reporter.js
// into one closing line.
//
// Usage: node scripts/jest-counts.js LABEL=FILE [LABEL=FILE ...]
//
// For each run prints `LABEL run: passed P, failed F, skipped S (...)`, then
// as its last line exactly `P passed, F failed, S skipped` summed over all
// runs. skipped = pending + todo. A missing or unreadable FILE (jest crashed
// or never started) counts as one failed test, and so does every test suite
// that failed without a failing test (a suite that could not load, e.g. a
// compile error). Exit status 1 when anything failed.
'use strict';

const fs = require('node:fs');

function countRun(file) {
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const why = err && err.code === 'ENOENT' ? 'no results file' : `unreadable results (${err.message})`;
    return { passed: 0, failed: 1, skipped: 0, notes: [`${why} ${file}: jest crashed or never ran; counted as 1 failure`] };
  }
  const passed = data.passed || 0;
  let failed = data.failed || 0;
  const skipped = (data.pending || 0) + (data.todo || 0);
  const notes = [];
  const broken = data.brokenSuites || [];
  if (broken.length > 0) {
    failed += broken.length;
    notes.push(`${broken.length} suite(s) failed outside their tests, counted as failures: ${broken.join('; ')}`);
  }
  if (data.runError) {
    failed += 1;
    notes.push(`jest's run failed (${data.runError}); counted as 1 failure`);
  }
  if ((data.failedTests || []).length > 0) notes.push(`failed: ${data.failedTests.join('; ')}`);
  notes.push(`${data.total || 0} tests in ${data.suites || 0} suites, ${data.failedSuites || 0} suites failed`);
  return { passed, failed, skipped, notes };
}

function main(argv) {
  if (argv.length === 0) {
    process.stderr.write('usage: node scripts/jest-counts.js LABEL=FILE [LABEL=FILE ...]\n');
    return 2;
  }
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const label = eq > 0 ? arg.slice(0, eq) : arg;
    const file = eq > 0 ? arg.slice(eq + 1) : arg;
    const r = countRun(file);
    total.passed += r.passed;
    total.failed += r.failed;
    total.skipped += r.skipped;
    // Deliberately not the `N passed, N failed` shape: only the last line is the count.
    process.stdout.write(`${label} run: passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped} (${r.notes.join('; ')})\n`);
  }
  process.stdout.write(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
  return total.failed > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));

// jest-counts-reporter.js — a jest reporter that writes a run's counts, and
// the names of what failed, to the file named by UNSHARE_FS_COUNTS_FILE.
//
//   UNSHARE_FS_COUNTS_FILE=/tmp/x.json npx jest --reporters=default --reporters=./scripts/jest-counts-reporter.js
//
// Only numbers and strings go in: jest's own --json writer serializes whole
// error objects and crashed on one whose `error` property pointed back at
// itself, leaving CI with no counts at all. scripts/jest-counts.js reads
// these files. Without UNSHARE_FS_COUNTS_FILE the reporter does nothing.
'use strict';

const fs = require('node:fs');

/** The first line of a suite's own failure (it could not load, a hook threw), or ''. */
function firstLine(error) {
  const message = error && typeof error.message === 'string' ? error.message : '';
  return message.split('\n').find((line) => line.trim() !== '') ?? '';
}

class CountsReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.UNSHARE_FS_COUNTS_FILE;
    if (!file) return;
    const failedTests = [];
    const brokenSuites = [];
    for (const suite of results.testResults) {
      const failed = suite.testResults.filter((t) => t.status === 'failed');
      for (const t of failed) failedTests.push(`${suite.testFilePath}: ${t.fullName}`);
      // A suite that failed with no failing test: it did not load, or a hook or the harness failed.
      if (failed.length === 0 && (suite.testExecError || suite.numFailingTests > 0 || suite.failureMessage)) {
        brokenSuites.push(`${suite.testFilePath}: ${firstLine(suite.testExecError) || 'failed outside its tests'}`);
      }
    }
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      pending: results.numPendingTests,
      todo: results.numTodoTests,
      total: results.numTotalTests,
      suites: results.numTotalTestSuites,
      failedSuites: results.numFailedTestSuites,
      // jest sets results.success only after its reporters have run: not here.
      runError: firstLine(results.runExecError),
      failedTests,
      brokenSuites,
    };
    fs.writeFileSync(file, `${JSON.stringify(counts, null, 1)}\n`);
  }
}

module.exports = CountsReporter;

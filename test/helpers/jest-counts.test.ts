// CI's closing line comes from scripts/jest-counts-reporter.js and
// scripts/jest-counts.js: a child jest runs tests that pass, fail (one with
// an error that refers to itself, which crashed jest's --json writer),
// skip, and a suite that cannot load; the counts must survive all of it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { removeTree, tempDir } from './tree';

const REPO = path.join(__dirname, '..', '..');
const REPORTER = path.join(REPO, 'scripts', 'jest-counts-reporter.js');
const COUNTS = path.join(REPO, 'scripts', 'jest-counts.js');

const TESTS = `
test('passes', () => expect(1).toBe(1));
test('fails with an error that refers to itself', () => {
  const error = new Error('circular');
  error.error = error;
  error.cause = { error };
  throw error;
});
test.skip('is skipped', () => {});
test.todo('is to do');
`;

describe('CI counts', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('unshare-fs-counts-');
  });
  afterAll(() => removeTree(dir));

  const runJest = (file: string, tests: Record<string, string>): number | null => {
    const sub = fs.mkdtempSync(path.join(dir, 'run-'));
    for (const [name, text] of Object.entries(tests)) fs.writeFileSync(path.join(sub, name), text);
    const config = { rootDir: sub, roots: [sub], testMatch: ['**/*.test.js'], testEnvironment: 'node' };
    const r = spawnSync(
      process.execPath,
      [
        require.resolve('jest/bin/jest'),
        '--config',
        JSON.stringify(config),
        '--runInBand',
        '--reporters=default',
        `--reporters=${REPORTER}`,
      ],
      {
        cwd: sub,
        env: { ...process.env, UNSHARE_FS_COUNTS_FILE: file },
        encoding: 'utf8',
      },
    );
    return r.status;
  };

  test("a run's counts survive a failing test whose error is circular, and a suite that cannot load", () => {
    const file = path.join(dir, 'a.json');
    const status = runJest(file, { 'a.test.js': TESTS, 'broken.test.js': "require('./no-such-module');\ntest('never', () => {});\n" });
    expect(status).not.toBe(0);
    const counts = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(counts).toMatchObject({ passed: 1, failed: 1, pending: 1, todo: 1, suites: 2, failedSuites: 2, runError: '' });
    expect(counts.failedTests).toEqual([expect.stringMatching(/a\.test\.js: fails with an error that refers to itself$/)]);
    expect(counts.brokenSuites).toEqual([expect.stringMatching(/broken\.test\.js: .*no-such-module/)]);
  });

  test('the closing line sums every run; a run with no counts file is one failure', () => {
    const good = path.join(dir, 'good.json');
    expect(runJest(good, { 'ok.test.js': "test('a', () => {});\ntest('b', () => {});\ntest.skip('c', () => {});\n" })).toBe(0);
    const bad = path.join(dir, 'a.json');
    if (!fs.existsSync(bad)) runJest(bad, { 'a.test.js': TESTS });
    const r = spawnSync(process.execPath, [COUNTS, `good=${good}`, `bad=${bad}`, `missing=${path.join(dir, 'none.json')}`], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    // good: 2 passed, 1 skipped; bad: 1 passed, 1 failed, 2 skipped (+1 for a broken suite when it ran both files); missing: 1 failed.
    const badCounts = JSON.parse(fs.readFileSync(bad, 'utf8')) as { brokenSuites: string[] };
    expect(lines.pop()).toBe(`3 passed, ${2 + badCounts.brokenSuites.length} failed, 3 skipped`);
    expect(lines).toEqual([
      expect.stringMatching(/^good run: passed 2, failed 0, skipped 1 /),
      expect.stringMatching(/^bad run: /),
      expect.stringMatching(/^missing run: passed 0, failed 1, skipped 0 \(no results file/),
    ]);
  });
});

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  command,
  decide,
  missingError,
  nonRoot,
  reasonOf,
  requireAll,
  requirement,
  requires,
  root,
  skippedTitle,
  subidRange,
  userNamespaces,
  whyMissing,
  which,
} from './requirements';

const REPO = path.resolve(__dirname, '..', '..');
const HELPER = path.join(__dirname, 'requirements.ts');

describe('the decision', () => {
  it('runs when nothing is missing, skips or fails otherwise', () => {
    expect(decide(null, false)).toBe('run');
    expect(decide(null, true)).toBe('run');
    expect(decide('podman: not installed', false)).toBe('skip');
    expect(decide('podman: not installed', true)).toBe('fail');
  });

  it('reads UNSHARE_FS_REQUIRE_ALL', () => {
    expect(requireAll({})).toBe(false);
    expect(requireAll({ UNSHARE_FS_REQUIRE_ALL: '' })).toBe(false);
    expect(requireAll({ UNSHARE_FS_REQUIRE_ALL: '0' })).toBe(false);
    expect(requireAll({ UNSHARE_FS_REQUIRE_ALL: 'false' })).toBe(false);
    expect(requireAll({ UNSHARE_FS_REQUIRE_ALL: '1' })).toBe(true);
  });

  it('says why, naming every missing component', () => {
    expect(reasonOf('bfs', true)).toBeNull();
    expect(reasonOf('bfs', false)).toBe('bfs not available');
    expect(reasonOf('bfs', 'bfs not installed')).toBe('bfs: bfs not installed');
    const a = requirement('a', () => true);
    const b = requirement('b', () => 'no b');
    const c = requirement('c', () => false);
    expect(whyMissing([a])).toBeNull();
    expect(whyMissing([a, b, c])).toBe('b: no b; c not available');
    expect(skippedTitle('walks', 'b: no b')).toBe('walks [skipped: b: no b]');
    expect(missingError('b: no b').message).toBe('required component missing: b: no b');
  });

  it('checks each requirement once and turns a throwing check into a reason', () => {
    let calls = 0;
    const r = requirement('counted', () => {
      calls += 1;
      return true;
    });
    r.check();
    r.check();
    expect(calls).toBe(1);
    const boom = requirement('boom', () => {
      throw new Error('kaput');
    });
    expect(boom.check()).toBe('check failed: kaput');
  });
});

describe('ready-made requirements', () => {
  it('root and nonRoot follow the effective uid', () => {
    const isRoot = process.geteuid!() === 0;
    expect(root.check() === true).toBe(isRoot);
    expect(nonRoot.check() === true).toBe(!isRoot);
  });

  it('command() finds binaries on PATH', () => {
    expect(which('sh')).toMatch(/\/sh$/);
    expect(command('sh').check()).toBe(true);
    expect(command('no-such-binary-unshare-fs', 'nopkg').check()).toBe('no-such-binary-unshare-fs not installed (Debian package nopkg)');
  });

  it('parses subuid/subgid ranges by name or uid', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-subid-'));
    try {
      const file = path.join(dir, 'subuid');
      fs.writeFileSync(file, 'other:100000:65536\n1234:165536:65536\nalice:231072:1000\n');
      expect(subidRange(file, { name: 'bob', uid: 1234, gid: 1234, home: '/' })).toEqual({ start: 165536, count: 65536 });
      expect(subidRange(file, { name: 'alice', uid: 1, gid: 1, home: '/' })).toEqual({ start: 231072, count: 1000 });
      expect(subidRange(file, { name: 'carol', uid: 9, gid: 9, home: '/' })).toBeNull();
      expect(subidRange(path.join(dir, 'missing'), { name: 'x', uid: 1, gid: 1, home: '/' })).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  requires(command('unshare', 'util-linux')).it('userNamespaces agrees with a real `unshare -U true`', () => {
    const r = spawnSync('unshare', ['-U', 'true'], { stdio: 'ignore' });
    const result = userNamespaces.check();
    if (r.status === 0) expect(result).toBe(true);
    else expect(result).toEqual(expect.stringContaining('unshare -U true failed'));
  });
});

interface ChildJest {
  code: number | null;
  stderr: string;
  json: {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
  };
}

// Runs a small test file that uses requires() in a child jest, with or
// without UNSHARE_FS_REQUIRE_ALL=1, and returns jest's JSON.
function runChildJest(dir: string, requireAllComponents: boolean): Promise<ChildJest> {
  const out = path.join(dir, requireAllComponents ? 'strict.json' : 'lenient.json');
  const config = {
    rootDir: dir,
    roots: [dir],
    testMatch: ['**/gate.test.js'],
    testEnvironment: 'node',
    transform: {
      '^.+\\.ts$': [require.resolve('ts-jest'), { tsconfig: path.join(REPO, 'tsconfig.json'), isolatedModules: true }],
    },
  };
  const env = { ...process.env };
  delete env.UNSHARE_FS_REQUIRE_ALL;
  if (requireAllComponents) env.UNSHARE_FS_REQUIRE_ALL = '1';
  const jestBin = require.resolve('jest/bin/jest');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [jestBin, '--config', JSON.stringify(config), '--runInBand', '--json', `--outputFile=${out}`], {
      cwd: dir,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, stderr, json: JSON.parse(fs.readFileSync(out, 'utf8')) as ChildJest['json'] });
      } catch (err) {
        reject(new Error(`child jest wrote no results (exit ${code}): ${(err as Error).message}\n${stderr}`));
      }
    });
  });
}

describe('requires() in a real jest run', () => {
  let dir: string;
  let lenient: ChildJest;
  let strict: ChildJest;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-requires-'));
    fs.writeFileSync(
      path.join(dir, 'gate.test.js'),
      `const { requires, requirement } = require(${JSON.stringify(HELPER)});
const widget = requirement('widget', () => 'no widget here');
const gadget = requirement('gadget', () => true);
requires(gadget).it('needs gadget', () => {});
requires(widget).it('needs widget', () => {});
requires(widget).it.each([[1], [2]])('row %i needs widget', () => {});
requires(widget).describe('widget suite', () => {
  it('inner', () => {});
});
requires(gadget, widget).test('needs both', () => {});
`,
    );
    [lenient, strict] = await Promise.all([runChildJest(dir, false), runChildJest(dir, true)]);
  }, 120000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const results = (r: ChildJest) => r.json.testResults.flatMap((t) => t.assertionResults);

  it('without UNSHARE_FS_REQUIRE_ALL skips, says why in the title, and warns once', () => {
    expect(lenient.code).toBe(0);
    expect(lenient.json.numPassedTests).toBe(1);
    expect(lenient.json.numFailedTests).toBe(0);
    expect(lenient.json.numPendingTests).toBe(5);
    const titles = results(lenient).map((a) => `${a.status} ${a.title}`);
    expect(titles).toEqual(
      expect.arrayContaining([
        'passed needs gadget',
        'pending needs widget [skipped: widget: no widget here]',
        'pending row 1 needs widget [skipped: widget: no widget here]',
        'pending inner',
        'pending needs both [skipped: widget: no widget here]',
      ]),
    );
    expect(lenient.stderr).toContain('skipping gate.test.js: widget: no widget here');
    expect(lenient.stderr).toContain('skipping widget suite: widget: no widget here');
    expect(lenient.stderr.split('skipping gate.test.js:').length - 1).toBe(1);
  });

  it('with UNSHARE_FS_REQUIRE_ALL=1 fails with the reason instead', () => {
    expect(strict.code).not.toBe(0);
    expect(strict.json.numPassedTests).toBe(1);
    expect(strict.json.numPendingTests).toBe(0);
    expect(strict.json.numFailedTests).toBe(5);
    for (const a of results(strict).filter((x) => x.title !== 'needs gadget')) {
      expect(a.status).toBe('failed');
      expect(a.failureMessages.join('\n')).toContain('Error: required component missing: widget: no widget here');
    }
  });
});

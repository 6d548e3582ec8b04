// Issue 21's promise, held whole: test/fixtures/dropin/program.mjs is written
// for node's fs/promises (mkdir, writeFile with options, readFile, stat,
// symlink, realpath, access, cp, rename, opendir, readdir, rm with node's
// options, rmdir) and knows nothing of unshare-fs.  It runs as it is, on the
// host, and its report is what every other run must print.  Then the same
// file runs with only its first line, the import of `fs`, changed: to the
// library's host, to a session in a namespace of our own (in a tmpfs that
// exists only there), and to a session in the merged dir of a running podman
// container made here.  Each run is a whole node process, as a user's program is.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { podmanImage, privateScenarioContainer, removeContainer, tryPod, UID } from './helpers/podman';
import { requires } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const PROGRAM = path.join(__dirname, 'fixtures', 'dropin', 'program.mjs');
const ENTRY = pathToFileURL(path.join(__dirname, '..', 'dist', 'index.mjs')).href;
const NODE_IMPORT = "import fs from 'node:fs/promises';";

/** `fs` taken from the library, each way a program can get one. */
const PROVIDERS = {
  host: `import { host } from '${ENTRY}';\nexport default host;\n`,
  // The namespace's own tmpfs over ROOT's parent: what the program writes
  // exists only inside, so a run that fell back to the host would fail.
  namespace: [
    `import path from 'node:path';`,
    `import { createNamespace } from '${ENTRY}';`,
    `const ns = await createNamespace();`,
    `await ns.mountTmpfs(path.dirname(process.argv[2]));`,
    `export default await ns.enter();`,
    '',
  ].join('\n'),
  podman: `import { podman } from '${ENTRY}';\nexport default await podman.enterMerged(process.env.DROPIN_CONTAINER);\n`,
};

type Report = unknown[][];

/** Runs the program with `fs` from `provider` (node's own when undefined) on `root`. */
function run(dir: string, root: string, provider?: keyof typeof PROVIDERS, env: NodeJS.ProcessEnv = {}): Report {
  const source = fs.readFileSync(PROGRAM, 'utf8');
  expect(source.split('\n').filter((line) => line === NODE_IMPORT)).toHaveLength(1);
  let file = PROGRAM;
  if (provider) {
    fs.writeFileSync(path.join(dir, `fs-${provider}.mjs`), PROVIDERS[provider]);
    file = path.join(dir, `program-${provider}.mjs`);
    fs.writeFileSync(file, source.replace(NODE_IMPORT, `import fs from './fs-${provider}.mjs';`));
  }
  const out = execFileSync(process.execPath, [file, root], { encoding: 'utf8', env: { ...process.env, ...env } });
  return JSON.parse(out) as Report;
}

describe('a program written for node:fs/promises, only its import changed', () => {
  let dir: string;
  let expected: Report;

  beforeAll(() => {
    dir = tempDir('unshare-fs-dropin-');
    fs.mkdirSync(path.join(dir, 'node'));
    expected = run(dir, path.join(dir, 'node', 'root'));
  });
  afterAll(() => removeTree(dir));

  test("node's own run did what the program says (the reference is sane)", () => {
    const steps = new Map(expected.map(([name, ...rest]) => [name, rest]));
    expect(steps.get('readFile utf8')).toEqual(['ok', 'hello world']);
    expect(steps.get('cp errorOnExist')).toEqual(['error', 'ERR_FS_CP_EEXIST', 'cp']);
    expect(steps.get('realpath')).toEqual(['ok', 'a/b/c/f.txt']);
    expect(steps.get('copied mtime')).toEqual(['ok', true]);
    expect(steps.get('rmdir root')).toEqual(['ok', null]);
    expect(fs.readdirSync(path.join(dir, 'node'))).toEqual([]);
  });

  test('the library on the host', () => {
    fs.mkdirSync(path.join(dir, 'host'));
    expect(run(dir, path.join(dir, 'host', 'root'), 'host')).toEqual(expected);
    expect(fs.readdirSync(path.join(dir, 'host'))).toEqual([]);
  });

  test('a session in a namespace of our own', () => {
    fs.mkdirSync(path.join(dir, 'namespace'));
    fs.writeFileSync(path.join(dir, 'namespace', 'host-only'), '');
    expect(run(dir, path.join(dir, 'namespace', 'root'), 'namespace')).toEqual(expected);
    // The tmpfs went with the namespace: the host's dir is as it was.
    expect(fs.readdirSync(path.join(dir, 'namespace'))).toEqual(['host-only']);
  });

  const gate = requires(podmanImage);
  gate.test(`a session in a podman container (uid ${UID})`, () => {
    const container = privateScenarioContainer(`unshare-fs-dropin-${process.pid}`);
    const root = '/tmp/dropin';
    try {
      expect(run(dir, root, 'podman', { DROPIN_CONTAINER: container })).toEqual(expected);
      // The container saw it all, and saw it go.
      expect(tryPod(['exec', container, 'ls', '-d', root]).ok).toBe(false);
    } finally {
      removeContainer(container);
    }
  });
});

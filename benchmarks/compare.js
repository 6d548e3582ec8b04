'use strict';
// The current build against an older one, in one run: `npm run bench:compare
// [-- REF [run.js flags]]` (which builds the TypeScript first), or
// `node benchmarks/compare.js [REF] [run.js flags]`.
//
// REF (a commit, branch or tag) defaults to the newest release tag (v*) before
// HEAD, and to HEAD~1 while there is none. Its tree is taken with `git
// archive` (no worktree, so nothing of this checkout leaks in), installed
// with `npm ci` (which builds its addon and dist/ as a user's install
// would) under benchmarks/out/builds/<commit>, kept there for the next
// comparison with that commit, and measured by run.js --compare-lib: the
// host walk (the library's rows beside C's) and the namespace section, each
// printing current / older.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const BUILDS = path.join(__dirname, 'out', 'builds');
// The peers are not what this run compares: only C (the ratios' reference) and the library.
const SKIP = ['fdir-lstat-sync', 'fdir-lstat-async', 'nodelib-walk-stats', 'node-readdir-lstat', 'find', 'bfs'];

const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** The commit to compare with, and why that one. */
function olderCommit(ref) {
  if (ref) return { commit: git('rev-parse', '--verify', `${ref}^{commit}`), why: ref };
  try {
    const tag = git('describe', '--tags', '--abbrev=0', '--match', 'v*', 'HEAD^');
    return { commit: git('rev-parse', `${tag}^{commit}`), why: `the newest release tag, ${tag}` };
  } catch {
    return { commit: git('rev-parse', 'HEAD~1'), why: 'HEAD~1 (no release tag v* yet)' };
  }
}

/** The older build's dist/, installed once per commit. */
function buildOf(commit) {
  const dir = path.join(BUILDS, commit);
  const done = path.join(dir, '.unshare-fs-built');
  if (fs.existsSync(done)) return path.join(dir, 'dist');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  try {
    const tar = execFileSync('git', ['archive', '--format=tar', commit], { cwd: ROOT, maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    console.error(`building ${commit.slice(0, 12)} in ${path.relative(ROOT, dir)} (npm ci)`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (!fs.existsSync(path.join(dir, 'dist', 'index.js'))) throw new Error(`npm ci in ${dir} made no dist/index.js`);
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  fs.writeFileSync(done, '');
  return path.join(dir, 'dist');
}

function main() {
  const [first, ...rest] = process.argv.slice(2);
  const ref = first && !first.startsWith('-') ? first : undefined;
  const flags = ref ? rest : process.argv.slice(2);
  const { commit, why } = olderCommit(ref);
  const dist = buildOf(commit);
  console.log(`comparing with ${commit.slice(0, 12)} (${why}), built in ${path.relative(ROOT, path.dirname(dist))}`);
  const args = [path.join(__dirname, 'run.js'), '--compare-lib', path.relative(process.cwd(), dist), '--skip', SKIP.join(','),
    '--no-prune', '--no-streams', '--no-podman', '--no-docker', '--no-changes', ...flags];
  execFileSync(process.execPath, args, { stdio: 'inherit' });
}

try {
  main();
} catch (error) {
  console.error(`bench:compare: ${error.message}`);
  process.exitCode = 1;
}

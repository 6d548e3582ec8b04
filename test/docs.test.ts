// The docs name only files the repository has (no pointer to a design document
// that a clone does not carry), and name every file of lib/ and native/.
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.join(__dirname, '..');
/** What is built, installed or generated, not written. */
const SKIP = new Set([
  '.git',
  'node_modules',
  'dist',
  'build',
  'build-asan',
  'build-fuzz',
  'prebuilds',
  'fixtures',
  'out',
  'corpus',
  'api',
]);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (SKIP.has(d.name) || d.name.startsWith('.jest-')) return [];
    const p = path.join(dir, d.name);
    return d.isDirectory() ? sources(p) : d.isFile() ? [p] : [];
  });
}

test('no file of the repository points at DESIGN.md, which it does not carry', () => {
  expect(fs.existsSync(path.join(REPO, 'DESIGN.md'))).toBe(false);
  const files = sources(REPO).filter((f) => f !== __filename);
  expect(files.length).toBeGreaterThan(100);
  const pointing = files.filter((f) => fs.readFileSync(f, 'latin1').includes('DESIGN.md')).map((f) => path.relative(REPO, f));
  expect(pointing).toEqual([]);
});

test("README's Architecture section names every file of lib/ and native/", () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Architecture\n');
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const files = [...sources(path.join(REPO, 'lib')), ...sources(path.join(REPO, 'native'))]
    .map((f) => path.relative(REPO, f))
    .filter((f) => !f.startsWith('native/fuzz/'));
  expect(files.length).toBeGreaterThan(40);
  const missing = files.filter((f) => !section.includes(`\`${f}\``) && !section.includes(`\`${path.basename(f)}\``));
  expect(missing).toEqual([]);
  expect(section).toContain('`native/fuzz/`');
});

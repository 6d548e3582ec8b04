// The public types, as a user of the package compiles them: tsd checks
// test/tsd/*.test-d.ts against the built declarations (dist/index.d.ts,
// `npm run build:ts` first) under strict.
import * as fs from 'node:fs';
import * as path from 'node:path';
import tsd from 'tsd';

const REPO = path.join(__dirname, '..');

async function diagnostics(testFiles: string[]): Promise<{ file: string; line: number | undefined; message: string }[]> {
  const found = await tsd({ cwd: REPO, typingsFile: 'dist/index.d.ts', testFiles });
  return found.map((d) => ({ file: path.relative(REPO, d.fileName), line: d.line, message: d.message }));
}

test('types follow the options (test/tsd/options.test-d.ts holds under tsd)', async () => {
  expect(await diagnostics(['test/tsd/options.test-d.ts'])).toEqual([]);
});

test('tsd reports each wrong assertion: those of test/tsd/fails/ all fail', async () => {
  const file = 'test/tsd/fails/stats.test-d.ts';
  const marked = fs
    .readFileSync(path.join(REPO, file), 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.endsWith('// fails') ? [i + 1] : []));
  expect(marked.length).toBe(5);
  const found = await diagnostics([file]);
  expect([...new Set(found.map((d) => d.line))].sort((a, b) => a! - b!)).toEqual(marked);
  expect(found.every((d) => d.file === file && /is declared too (wide|narrow)|is not identical|is not assignable/.test(d.message))).toBe(
    true,
  );
});

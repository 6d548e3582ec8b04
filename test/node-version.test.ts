// CI runs the suite on each Node it claims (.ci/run sets
// UNSHARE_FS_EXPECT_NODE for each run): this holds each run to its version,
// so a PATH that silently fell back to another node fails.
import * as fs from 'node:fs';
import * as path from 'node:path';

const expected = process.env.UNSHARE_FS_EXPECT_NODE;

test(`runs on Node ${expected ?? process.versions.node.split('.')[0]}, within package.json's engines`, () => {
  const major = Number(process.versions.node.split('.')[0]);
  if (expected !== undefined) expect(major).toBe(Number(expected));
  const engines = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { engines: { node: string } }).engines
    .node;
  expect(engines).toBe('>=20');
  expect(major).toBeGreaterThanOrEqual(20);
});

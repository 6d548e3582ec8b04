// scripts/check-layers.js, the lint that keeps lib/ in layers: it passes on
// lib/ itself and names an upward import and a cycle in a tree made here.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'check-layers.js');

function check(dir?: string): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, dir ? [SCRIPT, dir] : [SCRIPT], { encoding: 'utf8' });
  return { status: result.status, out: result.stdout + result.stderr };
}

describe('check-layers', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-layers-'));
    fs.mkdirSync(path.join(dir, 'core'));
    fs.mkdirSync(path.join(dir, 'wire'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('lib/ is layered', () => {
    const { status, out } = check();
    expect(out).toMatch(/layered, no import cycle/);
    expect(status).toBe(0);
  });

  test('an import from a layer above is named', () => {
    fs.writeFileSync(path.join(dir, 'core', 'a.ts'), "import type { B } from '../wire/b';\nexport type A = B;\n");
    fs.writeFileSync(path.join(dir, 'wire', 'b.ts'), 'export type B = number;\n');
    const { status, out } = check(dir);
    expect(out).toContain('core/a.ts imports wire/b.ts: wire/ is not below core/');
    expect(status).toBe(1);
  });

  test('a cycle inside one folder is named', () => {
    fs.writeFileSync(path.join(dir, 'wire', 'a.ts'), "import { b } from './b';\nexport const a = (): number => b();\n");
    fs.writeFileSync(path.join(dir, 'wire', 'b.ts'), "import {\n  a,\n} from './a';\nexport const b = (): number => a();\n");
    const { status, out } = check(dir);
    expect(out).toContain('import cycle: wire/a.ts -> wire/b.ts -> wire/a.ts');
    expect(status).toBe(1);
  });

  test('lib/cli/ reaches the library through its entry (index.ts) only', () => {
    fs.mkdirSync(path.join(dir, 'cli'));
    fs.writeFileSync(path.join(dir, 'index.ts'), "export { b } from './wire/b';\n");
    fs.writeFileSync(path.join(dir, 'wire', 'b.ts'), 'export const b = 1;\n');
    fs.writeFileSync(path.join(dir, 'cli', 'ok.ts'), "import { b } from '../index';\nexport const ok = b;\n");
    expect(check(dir)).toMatchObject({ status: 0 });
    fs.writeFileSync(path.join(dir, 'cli', 'inside.ts'), "import { b } from '../wire/b';\nexport const inside = b;\n");
    const { status, out } = check(dir);
    expect(out).toContain('cli/inside.ts imports wire/b.ts: cli/ uses the package entry (index.ts) only');
    expect(out).not.toContain('cli/ok.ts');
    expect(status).toBe(1);
  });

  test('a folder in no layer is named', () => {
    fs.mkdirSync(path.join(dir, 'misc'));
    fs.writeFileSync(path.join(dir, 'misc', 'c.ts'), 'export const c = 1;\n');
    const { status, out } = check(dir);
    expect(out).toContain('lib/misc/ is in no layer');
    expect(status).toBe(1);
  });
});

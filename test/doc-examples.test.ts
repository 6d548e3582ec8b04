// The API docs (`npm run docs`) show an `@example` and the error codes
// (`@throws`) on every entry point people start from, and every `@example`
// in lib/ compiles under strict TypeScript against the package's
// declarations (dist/index.d.ts, built by `npm run build:ts`), imported by
// package name as a user's program would.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as ts from 'typescript';

const REPO = path.join(__dirname, '..');
const ENGINE_ENTRIES = [
  'containers',
  'container',
  'image',
  'enterStorage',
  'enterMerged',
  'enterContainer',
  'mountContainer',
  'mountImage',
  'diff',
  'exportContainer',
  'exportLayer',
  'volumes',
  'volume',
  'enterVolume',
  'exportVolume',
  'importVolume',
];

/** [file, the line that declares it]: the entry points the docs must show with an example and their errors. */
const ENTRY_POINTS: [string, RegExp][] = [
  ['lib/ns/session.ts', /^export function enter\(/],
  ['lib/ns/namespace.ts', /^export async function createNamespace\(/],
  ['lib/engines.ts', /^export function containers\(/],
  ['lib/scan.ts', /^export function scanContainers\(/],
  ['lib/api/filesystem.ts', /^ {2}walk\(root: PathLike\)/],
  ['lib/api/filesystem.ts', /^ {2}async rm\(/],
  ['lib/api/filesystem.ts', /^ {2}exportTar\(/],
  ['lib/api/filesystem.ts', /^ {2}async cp\(/],
  ...['podman', 'docker'].flatMap((engine) =>
    [...ENGINE_ENTRIES, engine === 'podman' ? 'pausePid' : 'daemonPid', ...(engine === 'podman' ? ['df'] : [])].map(
      (name): [string, RegExp] => [`lib/${engine}/index.ts`, new RegExp(`^export (async )?function ${name}\\(`)],
    ),
  ),
];

/** The doc comment right above the line matching `declaration` (none: ''). */
function docCommentOf(file: string, declaration: RegExp): string {
  const lines = fs.readFileSync(path.join(REPO, file), 'utf8').split('\n');
  const at = lines.findIndex((line) => declaration.test(line));
  if (at < 0) throw new Error(`${file}: no line matches ${declaration}`);
  if (!lines[at - 1]?.trim().endsWith('*/')) return '';
  let start = at - 1;
  while (start > 0 && !lines[start]!.trim().startsWith('/**')) start--;
  return lines.slice(start, at).join('\n');
}

/** A doc comment's text, without its `/**`, `*` and `*\/`. */
function commentText(comment: string): string[] {
  return comment
    .replace(/^\s*\/\*\*/, '')
    .replace(/\*\/\s*$/, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''));
}

/** The ```ts blocks of each `@example` tag of a doc comment. */
function examplesOf(comment: string): string[] {
  const examples: string[] = [];
  let inExample = false;
  let code: string[] | undefined;
  for (const line of commentText(comment)) {
    if (code) {
      if (line.trim() === '```') {
        examples.push(code.join('\n') + '\n');
        code = undefined;
      } else {
        code.push(line);
      }
    } else if (/^@example\b/.test(line.trim())) {
      inExample = true;
    } else if (/^@\w/.test(line.trim())) {
      inExample = false;
    } else if (inExample && line.trim() === '```ts') {
      code = [];
    }
  }
  return examples;
}

function libFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? libFiles(p) : d.name.endsWith('.ts') ? [p] : [];
  });
}

describe('API docs', () => {
  test.each(ENTRY_POINTS)('%s %s: an @example and its error codes (@throws)', (file, declaration) => {
    const comment = docCommentOf(file, declaration);
    const tags = commentText(comment)
      .map((line) => /^@(\w+)/.exec(line.trim())?.[1])
      .filter((tag) => tag !== undefined);
    expect(tags).toEqual(expect.arrayContaining(['example', 'throws']));
    expect(examplesOf(comment).length).toBeGreaterThan(0);
  });

  test('typedoc is given the overview page', () => {
    const config = JSON.parse(fs.readFileSync(path.join(REPO, 'typedoc.json'), 'utf8')) as { readme?: string };
    expect(config.readme).toBe('docs/overview.md');
    expect(fs.readFileSync(path.join(REPO, 'docs/overview.md'), 'utf8')).toMatch(/^# /);
  });

  test('every @example of lib/ compiles under strict TypeScript against the package', () => {
    const examples = libFiles(path.join(REPO, 'lib')).flatMap((file) =>
      [...fs.readFileSync(file, 'utf8').matchAll(/\/\*\*[\s\S]*?\*\//g)].flatMap((m) =>
        examplesOf(m[0]).map((code) => ({ from: path.relative(REPO, file), code })),
      ),
    );
    // Those of the entry points at least.
    expect(examples.length).toBeGreaterThanOrEqual(ENTRY_POINTS.length);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-doc-examples-'));
    try {
      const files = examples.map(({ from, code }, i) => {
        const file = path.join(dir, `${i}-${path.basename(from, '.ts')}.ts`);
        fs.writeFileSync(file, code);
        return file;
      });
      const program = ts.createProgram(files, {
        noEmit: true,
        strict: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
        types: ['node'],
        typeRoots: [path.join(REPO, 'node_modules', '@types')],
        baseUrl: REPO,
        paths: { 'unshare-fs': ['dist/index.d.ts'] },
        skipLibCheck: true,
      });
      expect(program.getSourceFile(path.join(REPO, 'dist', 'index.d.ts'))).toBeDefined();
      const errors = ts.getPreEmitDiagnostics(program).map((d) => {
        const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
        const at = d.file ? path.basename(d.file.fileName) : '';
        return `${at}:${line} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      });
      expect(errors).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

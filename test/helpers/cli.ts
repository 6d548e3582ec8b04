// The built command line (package.json's bin, dist/cli/bin.js), run as a
// user runs it: a process of its own, its stdout as bytes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { requirement } from './requirements';

const REPO = path.join(__dirname, '..', '..');
export const BIN = path.join(
  REPO,
  (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['unshare-fs']!,
);

/** dist/ built with the command line in it. */
export const builtCli = requirement('builtCli', () => fs.existsSync(BIN) || `no ${BIN}: run \`npm run build:ts\``);

export interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `unshare-fs ...args` and waits for it. */
export function cli(args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, maxBuffer: 1 << 28, cwd });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Runs a GNU tool (or any command) with LC_ALL=C.UTF-8 and returns its stdout bytes; throws on failure. */
export function tool(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = '/'): Buffer {
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...env, LC_ALL: 'C.UTF-8' }, maxBuffer: 1 << 28, cwd });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** Lines of output, sorted byte-wise (walk order is not find's order). */
export function sortedLines(out: Buffer | string, separator = '\n'): string[] {
  const text = Buffer.isBuffer(out) ? out.toString('latin1') : out;
  return text
    .split(separator)
    .filter((line) => line !== '')
    .sort();
}

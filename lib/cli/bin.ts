#!/usr/bin/env node
// package.json's bin, `unshare-fs`: runs the command line (main.js, one file
// made by scripts/bundle-cli.js) from V8's code cache when one was made for
// this node and this main.js (main.cache, written by scripts/cli-cache.js
// when the package is installed and when it is built).  Compiling the
// 750 KB file, and then each function a short command calls, was about a
// fifth of `unshare-fs ls`'s time (issue 23: ls within 2x of `podman
// unshare ls`, start-up included).  A cache that does not fit is not used:
// one made for another main.js (its header names main.js's size and
// modification time: a copy that keeps them keeps its cache), or by another
// node (V8 turns it down).  main.js is then compiled as node would compile
// it: the cache only ever saves time.
//
// NODE_DEBUG=unshare-fs says whether the cache was used.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import * as vm from 'node:vm';

const debug = debuglog('unshare-fs');

export const MAIN = path.join(__dirname, 'main.js');
export const CACHE = path.join(__dirname, 'main.cache');

/** What main.js exports (lib/cli/main.ts). */
export interface Cli {
  main(argv: string[]): Promise<number>;
  finish(status: number): void;
}

/** The first line of main.cache: names the main.js the V8 data after it was made from. */
const header = (stats: fs.BigIntStats): string => `unshare-fs cli cache 1 ${stats.size} ${stats.mtimeNs}\n`;

/** A compiled main.js, and the header its cache gets. */
export interface Compiled {
  script: vm.Script;
  header: string;
}

/** main.js compiled, from main.cache when `useCache` and it fits. */
export function compile(useCache: boolean): Compiled {
  const fd = fs.openSync(MAIN, 'r');
  let source: string;
  let stats: fs.BigIntStats;
  try {
    stats = fs.fstatSync(fd, { bigint: true });
    source = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  const expected = header(stats);
  const cache = useCache ? readCache(expected) : 'not asked for';
  const cachedData = typeof cache === 'string' ? undefined : cache;
  // Node's own wrapper, on main.js's first line: line numbers in stack traces are main.js's.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: MAIN,
    cachedData,
  });
  if (debug.enabled)
    debug('cli code cache %s', typeof cache === 'string' ? `not used: ${cache}` : script.cachedDataRejected ? 'rejected by V8' : 'used');
  return { script, header: expected };
}

/** main.cache's V8 data, if its header is `expected`; else why not. */
function readCache(expected: string): Buffer | string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(CACHE);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
  if (bytes.length <= expected.length || bytes.toString('latin1', 0, expected.length) !== expected) {
    return 'made for another main.js';
  }
  return bytes.subarray(expected.length);
}

/** Runs compiled main.js as a module of its own; its exports. */
export function run({ script }: Compiled): Cli {
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as Cli, filename: MAIN, id: MAIN, path: __dirname, loaded: false };
  wrapper.call(module.exports, module.exports, require, module, MAIN, __dirname);
  return module.exports;
}

/**
 * Writes main.cache from `compiled` as it is now (with every function its
 * runs so far compiled), through a temporary file and a rename: a reader
 * sees the old cache or the new one.
 */
export function writeCache({ script, header: text }: Compiled): void {
  const temporary = `${CACHE}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, Buffer.concat([Buffer.from(text, 'latin1'), script.createCachedData()]), { flag: 'wx' });
    fs.renameSync(temporary, CACHE);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

if (require.main === module) {
  const cli = run(compile(true));
  void cli.main(process.argv.slice(2)).then((status) => cli.finish(status));
}

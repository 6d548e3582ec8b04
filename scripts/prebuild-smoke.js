#!/usr/bin/env node
// node scripts/prebuild-smoke.js [module]: what an addon must give through
// the JavaScript API, each result beside node:fs's for the same call, on the
// host: errors on missing, too-long and (unless root) unreadable paths, rm
// with and without force, and a walk with stats.  `module` is what to require: dist/index.js of this checkout (the
// default; point UNSHARE_FS_ADDON at the addon to try), or an installed
// package's directory.  Prints one JSON object, { addons, checks: [{ what,
// got, want }] }, where `addons` lists the .node files this process has
// mapped; exits 1 when a check's got differs from its want.
//
// Used by scripts/prebuild.js on each artifact this machine can load and by
// test/package.test.ts on the installed tarball.  A prebuild once read errno
// from another variable than the libc call had set (see
// native/core/stat_syscalls.h): the errors came out EAGAIN or "Unknown
// system error 0", stale values of earlier calls.  So the failing calls
// alternate between two errnos, and a stale one cannot pass.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');

const target = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist', 'index.js'));
const unshareFs = require(target);

/** The fields node:fs errors carry; message text is not compared. */
function errorFields(error) {
  if (!error || typeof error !== 'object') return { thrown: String(error) };
  return { code: error.code, errno: error.errno, syscall: error.syscall, path: error.path };
}

/** How a promise settles: 'resolved', or the error's node:fs fields. */
async function settle(promise, keep = errorFields) {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return keep(error);
  }
}

/** The lstat fields that stay put while a tree is walked (atime does not). */
function statFields(stats) {
  const { dev, ino, mode, nlink, uid, gid, rdev, size, blocks, mtimeMs, ctimeMs } = stats;
  return { dev, ino, mode, nlink, uid, gid, rdev, size, blocks, mtimeMs, ctimeMs };
}

function entryType(stats) {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  return stats.isBlockDevice() ? 'block' : 'char';
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-smoke-'));
  const checks = [];
  const check = (what, got, want) => checks.push({ what, got, want });
  try {
    const missing = path.join(work, 'missing', 'x');
    const tooLong = path.join(work, 'n'.repeat(300));
    for (let round = 0; round < 5; round++) {
      for (const [what, file] of [
        ['missing', missing],
        ['too long', tooLong],
      ]) {
        check(`lstat ${what} #${round}`, await settle(unshareFs.lstat(file)), await settle(fs.promises.lstat(file)));
        check(`stat ${what} #${round}`, await settle(unshareFs.stat(file)), await settle(fs.promises.stat(file)));
      }
    }
    // A directory its owner cannot search: EACCES, unless root (who can).
    const locked = path.join(work, 'locked');
    fs.mkdirSync(locked, { mode: 0o000 });
    const unreadable = path.join(locked, 'x');
    check('lstat unreadable', await settle(unshareFs.lstat(unreadable)), await settle(fs.promises.lstat(unreadable)));
    check('stat unreadable', await settle(unshareFs.stat(unreadable)), await settle(fs.promises.stat(unreadable)));
    fs.chmodSync(locked, 0o700);
    // rm names its syscall otherwise than node's rm does: compare codes.
    const code = (error) => error?.code ?? String(error);
    // The missing leaf of an existing directory is what rm's own lstat sees.
    const absent = path.join(work, 'absent');
    for (const [what, file] of [
      ['missing', absent],
      ['missing parent', missing],
      ['too long', tooLong],
    ]) {
      check(`rm ${what}`, await settle(unshareFs.host.rm(file), code), await settle(fs.promises.rm(file), code));
      check(`rm ${what}, force`, await settle(unshareFs.host.rm(file, { force: true }), code), await settle(fs.promises.rm(file, { force: true }), code));
    }

    const tree = path.join(work, 'tree');
    fs.mkdirSync(path.join(tree, 'dir', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'file'), 'file');
    fs.writeFileSync(path.join(tree, 'dir', 'sub', 'deep'), 'deep'.repeat(1000));
    fs.symlinkSync('file', path.join(tree, 'link'));
    fs.symlinkSync('nowhere', path.join(tree, 'dir', 'dangling'));
    const walked = {};
    for await (const entry of unshareFs.walk(tree, { stat: true })) {
      walked[path.relative(tree, entry.fullPath)] = { type: entry.type, ...statFields(entry.stats) };
    }
    const listed = {};
    for (const rel of fs.readdirSync(tree, { recursive: true })) {
      const stats = fs.lstatSync(path.join(tree, rel));
      listed[rel] = { type: entryType(stats), ...statFields(stats) };
    }
    const names = [...new Set([...Object.keys(walked), ...Object.keys(listed)])].sort();
    for (const rel of names) check(`walk with stats: ${rel}`, walked[rel] ?? 'absent', listed[rel] ?? 'absent');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const addons = [
    ...new Set(
      fs
        .readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .map((line) => line.split(/\s+/).slice(5).join(' '))
        .filter((file) => file.endsWith('.node')),
    ),
  ];
  console.log(JSON.stringify({ addons, checks }));
  process.exitCode = checks.every((c) => isDeepStrictEqual(c.got, c.want)) ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});

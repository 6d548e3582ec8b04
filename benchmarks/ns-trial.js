'use strict';
// One measurement inside a namespace, in a process of its own, for the
// namespace and podman sections (namespace.js, podman-section.js).
//
//   node benchmarks/ns-trial.js walk  TARGET DIR
//   node benchmarks/ns-trial.js open  TARGET COUNT WARMUP
//   node benchmarks/ns-trial.js lstat TARGET PATH COUNT WARMUP
//
// TARGET is a pid (enter({ pid })), "storage" (podman.enterStorage()) or
// "docker-storage" (docker.enterStorage()), or
// for lstat "node" (fs.promises.lstat on the host, for scale).
// walk: enter, walk(DIR, { stat: true }), close; ms covers all three
//   (what a program pays to walk a namespace's tree), walkMs the walk alone.
// open: enter() timed alone COUNT times after WARMUP untimed ones, each
//   session closed (timed apart) before the next opens.
// lstat: one session, COUNT sequential awaited lstat(PATH) calls, each timed.
// open and lstat also give their raw samples, which namespace.js pools over
// several processes. The build is loaded from $UNSHARE_FS_BENCH_LIB when set
// (an older build, --compare-lib).
// Prints one JSON line: { ok, ... } or { ok: false, notBuilt, error }.

const { loadLibrary, LibraryNotBuiltError } = require('./library');
const { summarizeLatency } = require('./stats');

const now = () => process.hrtime.bigint();
const msSince = (started) => Number(now() - started) / 1e6;

function opener(library, target) {
  if (target === 'storage') return () => library.podman.enterStorage();
  if (target === 'docker-storage') return () => library.docker.enterStorage();
  // For scale: node's own fs.promises.lstat (a libuv thread-pool round trip).
  if (target === 'node') return async () => ({ lstat: require('node:fs').promises.lstat, close: async () => {} });
  const pid = Number(target);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad target "${target}": a pid, "storage" or "docker-storage"`);
  return () => library.enter({ pid });
}

async function walk(open, root) {
  const started = now();
  const session = await open();
  const entered = now();
  let entries = 0;
  let sizeSum = 0;
  for await (const entry of session.walk(root, { stat: true })) {
    if (entry.fullPath === root || entry.fullPath === `${root}/`) continue;
    entries++;
    sizeSum += entry.stats.size;
  }
  const walked = now();
  await session.close();
  return { ms: msSince(started), enterMs: Number(entered - started) / 1e6, walkMs: Number(walked - entered) / 1e6,
    closeMs: msSince(walked), entries, sizeSum };
}

async function openLatency(open, count, warmup) {
  const enterMs = [];
  const closeMs = [];
  for (let i = 0; i < warmup + count; i++) {
    const started = now();
    const session = await open();
    const opened = now();
    await session.close();
    if (i >= warmup) {
      enterMs.push(Number(opened - started) / 1e6);
      closeMs.push(msSince(opened));
    }
  }
  return { enterMs: summarizeLatency(enterMs), closeMs: summarizeLatency(closeMs), samples: { enterMs, closeMs } };
}

async function lstatLatency(open, file, count, warmup) {
  const session = await open();
  const us = [];
  let size = null;
  try {
    for (let i = 0; i < warmup + count; i++) {
      const started = now();
      const stats = await session.lstat(file);
      const elapsed = Number(now() - started) / 1e3;
      if (i >= warmup) us.push(elapsed);
      size = stats.size;
    }
  } finally {
    await session.close();
  }
  return { us: summarizeLatency(us), size, samples: { us } };
}

async function main() {
  const [mode, target, ...rest] = process.argv.slice(2);
  const library = loadLibrary();
  const open = opener(library, target);
  let result;
  if (mode === 'walk' && rest.length === 1) {
    result = await walk(open, rest[0]);
  } else if (mode === 'open' && rest.length === 2) {
    result = await openLatency(open, Number(rest[0]), Number(rest[1]));
  } else if (mode === 'lstat' && rest.length === 3) {
    result = await lstatLatency(open, rest[0], Number(rest[1]), Number(rest[2]));
  } else {
    throw new Error('usage: ns-trial.js walk TARGET DIR | open TARGET COUNT WARMUP | lstat TARGET PATH COUNT WARMUP');
  }
  process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
}

main().catch((error) => {
  const notBuilt = error instanceof LibraryNotBuiltError;
  process.stdout.write(`${JSON.stringify({ ok: false, notBuilt, error: error.message })}\n`);
  process.exitCode = notBuilt ? 3 : 1;
});

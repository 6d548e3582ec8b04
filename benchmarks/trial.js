'use strict';
// One trial of one competitor, in a process of its own: run.js starts a
// fresh `node benchmarks/trial.js TASK ARGS...` for every trial of every
// section, so no trial inherits another's JIT state, heap, libuv threads or
// sessions.
//
// It prints one JSON line, { ok: true, ms, ... }, where ms is this process's
// clock around the task's own work: node's startup, require() and opening a
// session (enter(), enterStorage(), ...) are outside it, except in ns-walk,
// which times enter + walk + close (walkMs: the walk alone). On failure it
// prints { ok: false, notBuilt, error }.
//
// TARGET (where a session comes from): a pid (enter({ pid })), "storage"
// (podman.enterStorage()), "docker-storage" (docker.enterStorage()),
// "merged:NAME" (podman.enterMerged(NAME)), "host" (the library's host file
// system) or "node" (node:fs, for scale).

const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { setTimeout: sleep } = require('node:timers/promises');
const { loadLibrary, LibraryNotBuiltError } = require('./library');
const { PRINTF } = require('./measure');

const now = () => process.hrtime.bigint();
const msSince = (started) => Number(now() - started) / 1e6;
const isRoot = (root, p) => p === root || p === `${root}/`;
const PRUNE_NAME = 'node_modules';
// Bounded like a real consumer would bound it: an unbounded Promise.all over
// a million lstat calls measures the allocator, not the file system.
const LSTAT_CONCURRENCY = 64;

let library;
const lib = () => (library ??= loadLibrary());

/** A session-like object for TARGET, and how to close it. */
async function open(target) {
  const close = async () => {};
  if (target === 'node') return { lstat: fs.promises.lstat, readFile: fs.promises.readFile, createReadStream: fs.createReadStream, close };
  const l = lib();
  const { host } = l;
  const stream = host.createReadStream && ((file) => host.createReadStream(file));
  if (target === 'host') return { createReadStream: stream, readFile: (file) => host.readFile(file), close };
  if (target === 'storage') return l.podman.enterStorage();
  if (target === 'docker-storage') return l.docker.enterStorage();
  if (target.startsWith('merged:')) return l.podman.enterMerged(target.slice('merged:'.length));
  const pid = Number(target);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad target "${target}"`);
  return l.enter({ pid });
}

/** Peaks of process.memoryUsage() sampled every `everyMs` from now on. */
function memorySampler(everyMs) {
  // gc() for this process only (the walk trials run without --expose-gc).
  v8.setFlagsFromString('--expose-gc');
  vm.runInNewContext('gc')();
  const baseline = process.memoryUsage();
  const peak = { ...baseline };
  const sample = () => {
    const usage = process.memoryUsage();
    for (const key of Object.keys(peak)) peak[key] = Math.max(peak[key], usage[key]);
  };
  const timer = setInterval(sample, everyMs);
  return { baseline, peak, sample, stop: () => { clearInterval(timer); sample(); } };
}

const memoryReport = (m) => ({ baselineRss: m.baseline.rss, peakRss: m.peak.rss, growthBytes: m.peak.rss - m.baseline.rss,
  peakHeapUsed: m.peak.heapUsed, peakExternal: m.peak.external, peakArrayBuffers: m.peak.arrayBuffers,
  arrayBuffersGrowthBytes: m.peak.arrayBuffers - m.baseline.arrayBuffers });

/** Counts the entries `iterable` yields (root left out), adding up sizes when withSizes. */
async function count(root, iterable, withSizes, batches = false) {
  let entries = 0;
  let sizeSum = 0;
  let directories = 0;
  const one = (entry) => {
    if (isRoot(root, entry.fullPath)) return;
    entries++;
    if (withSizes) sizeSum += entry.stats.size;
    // Touch the type so a lazily decoded entry pays for it.
    else if (entry.type === 'directory') directories++;
  };
  if (batches) {
    for await (const batch of iterable) for (const entry of batch) one(entry);
  } else {
    for await (const entry of iterable) one(entry);
  }
  return withSizes ? { entries, sizeSum } : { entries, sizeSum: null, directories };
}

const fdirCrawler = (pruned) => {
  const { fdir } = require('fdir');
  const crawler = new fdir().withFullPaths().withDirs();
  // fdir's exclude: a directory it matches is not crawled.
  return pruned ? crawler.exclude((name) => name === PRUNE_NAME) : crawler;
};

function nodelibWalk(root, options) {
  const fsWalk = require('@nodelib/fs.walk');
  return () => new Promise((resolve, reject) => {
    fsWalk.walk(root, options, (error, entries) => (error ? reject(error) : resolve(entries)));
  });
}

/** A walker: prepare (untimed) returns the timed run. */
const walkers = {
  'unshare-walk-stat': (root) => (lib(), () => count(root, lib().walk(root, { stat: true }), true)),
  'unshare-walk-stat-1t': (root) => (lib(), () => count(root, lib().walk(root, { stat: true, threads: 1 }), true)),
  'unshare-batches-stat': (root) => (lib(), () => count(root, lib().walkBatches(root, { stat: true }), true, true)),
  'unshare-walk-types': (root) => (lib(), () => count(root, lib().walk(root, { stat: false }), false)),
  'unshare-types-whole': (root) => (lib(), () => count(root, lib().walkBatches(root, {}), false, true)),
  'unshare-types-exclude': (root) => (lib(), () => count(root, lib().walkBatches(root, { exclude: [PRUNE_NAME] }), false, true)),
  // prune walks on one thread (the walker waits for each answer): its whole walk is the one-thread one.
  'unshare-types-whole-1t': (root) => (lib(), () => count(root, lib().walkBatches(root, { threads: 1 }), false, true)),
  'unshare-types-prune': (root) =>
    (lib(), () => count(root, lib().walkBatches(root, { prune: (entry) => entry.name === PRUNE_NAME }), false, true)),
  'fdir-lstat-sync': (root) => {
    const crawler = fdirCrawler(false);
    return async () => {
      let entries = 0;
      let sizeSum = 0;
      for (const p of crawler.crawl(root).sync()) {
        if (isRoot(root, p)) continue;
        entries++;
        sizeSum += fs.lstatSync(p).size;
      }
      return { entries, sizeSum };
    };
  },
  'fdir-lstat-async': (root) => {
    const crawler = fdirCrawler(false);
    return async () => {
      const paths = (await crawler.crawl(root).withPromise()).filter((p) => !isRoot(root, p));
      let sizeSum = 0;
      let next = 0;
      const worker = async () => {
        while (next < paths.length) {
          const stats = await fs.promises.lstat(paths[next++]);
          sizeSum += stats.size;
        }
      };
      await Promise.all(Array.from({ length: LSTAT_CONCURRENCY }, worker));
      return { entries: paths.length, sizeSum };
    };
  },
  'fdir-types-whole': (root) => fdirTypes(root, false),
  'fdir-types-exclude': (root) => fdirTypes(root, true),
  'nodelib-walk-stats': (root) => {
    const run = nodelibWalk(root, { stats: true });
    return async () => {
      const walked = await run();
      return { entries: walked.length, sizeSum: walked.reduce((sum, e) => sum + e.stats.size, 0) };
    };
  },
  'nodelib-types-whole': (root) => nodelibTypes(root, {}),
  // deepFilter: a directory it refuses is not read; entryFilter leaves the
  // directory itself out too, as exclude does.
  'nodelib-types-deepfilter': (root) => {
    const keep = (entry) => entry.name !== PRUNE_NAME;
    return nodelibTypes(root, { deepFilter: keep, entryFilter: keep });
  },
  'node-readdir-lstat': (root) => async () => {
    let entries = 0;
    let sizeSum = 0;
    for (const dirent of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
      entries++;
      // parentPath arrived in Node 20.12; older 20.x only has the deprecated path.
      sizeSum += fs.lstatSync(path.join(dirent.parentPath ?? dirent.path, dirent.name)).size;
    }
    return { entries, sizeSum };
  },
};

function fdirTypes(root, pruned) {
  const crawler = fdirCrawler(pruned);
  return async () => ({ entries: (await crawler.crawl(root).withPromise()).filter((p) => !isRoot(root, p)).length, sizeSum: null });
}

function nodelibTypes(root, options) {
  const run = nodelibWalk(root, options);
  return async () => ({ entries: (await run()).length, sizeSum: null });
}

/** Times `fn` on this process's clock. */
async function timed(fn) {
  const started = now();
  const result = await fn();
  return { ms: msSince(started), ...result };
}

/** Opens TARGET (untimed), times `fn(session)`, closes it; withRss: rssMib, the RSS growth sampled every 10 ms. */
async function inSession(target, fn, withRss = false) {
  const session = await open(target);
  try {
    const memory = withRss && memorySampler(10);
    const result = await timed(() => fn(session));
    if (!memory) return result;
    memory.stop();
    return { ...result, rssMib: (memory.peak.rss - memory.baseline.rss) / (1 << 20) };
  } finally {
    await session.close();
  }
}

async function drain(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return { bytes };
}

/** The scan rows' containers: [{ name, running, root (a running one's merged dir) }] from setup. */
const scanSpec = (json) => JSON.parse(json);

/** A task's threads' time on a CPU and waiting for one (ns), from /proc/PID/task/TID/schedstat; {} when gone. */
function schedstats(pid) {
  const times = {};
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return times;
  }
  for (const tid of tids) {
    try {
      const [onCpu, waiting] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times[`${pid}/${tid}`] = { onCpu, waiting };
    } catch {
      // gone meanwhile
    }
  }
  return times;
}

/**
 * How many cores the scan keeps busy (on a CPU) and runnable (on one or
 * waiting for one): this process's threads and its children's (the
 * library's workers and namespace holders), sampled every `everyMs` so a
 * worker that ends between samples loses at most that much. Runnable time
 * does not shrink when other work on the machine takes the CPU, so
 * runnableCores is what the scan would use of an idle machine.
 */
function coreSampler(everyMs) {
  const first = {};
  const last = {};
  const childrenOf = (pid) => {
    const pids = [];
    try {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        pids.push(...fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      }
    } catch {
      // gone meanwhile
    }
    return pids;
  };
  let initial = true;
  const sample = () => {
    const children = childrenOf(process.pid);
    for (const pid of [process.pid, ...children, ...children.flatMap(childrenOf)]) {
      for (const [key, times] of Object.entries(schedstats(pid))) {
        // What runs at the start counts from then; a thread first seen later, from zero.
        first[key] ??= initial ? times : { onCpu: 0, waiting: 0 };
        last[key] = times;
      }
    }
    initial = false;
  };
  sample();
  const started = now();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      const wallNs = Number(now() - started);
      let onCpu = 0;
      let waiting = 0;
      for (const [key, times] of Object.entries(last)) {
        onCpu += times.onCpu - first[key].onCpu;
        waiting += times.waiting - first[key].waiting;
      }
      return { busyCores: onCpu / wallNs, runnableCores: (onCpu + waiting) / wallNs };
    },
  };
}

/**
 * Walks every container with full stat, the consumer counting entries and
 * summing stats.size per container: running ones' merged dirs in one
 * podman.enterStorage() session, each stopped one in the namespace of its
 * own podman.mountContainer(). "scan-containers" is the library's
 * scanContainers() (a few walks at a time, the same sessions), "concurrent"
 * has every walk (and every mount) in flight at once, "sequential" one
 * after another. Timed from the first session opened to the last closed;
 * RSS sampled every 10 ms, the cores kept busy and runnable every 50 ms.
 */
async function scan(mode, json) {
  const l = lib();
  const containers = scanSpec(json);
  const perContainer = {};
  const mountMs = [];
  let storageOpenMs = null;
  const walkOne = async (session, root, name) => {
    perContainer[name] = await count(root, session.walk(root, { stat: true }), true);
  };
  const running = containers.filter((c) => c.running);
  const stopped = containers.filter((c) => !c.running);
  const stoppedOne = async (c) => {
    const started = now();
    const mounted = await l.podman.mountContainer(c.name);
    mountMs.push(msSince(started));
    try {
      await walkOne(mounted.session, '/', c.name);
    } finally {
      await mounted.close();
    }
  };
  const runningAll = async (each) => {
    if (running.length === 0) return;
    const started = now();
    const storage = await l.podman.enterStorage();
    storageOpenMs = msSince(started);
    try {
      await each(storage);
    } finally {
      await storage.close();
    }
  };
  const memory = memorySampler(10);
  const cores = coreSampler(50);
  const result = await timed(async () => {
    if (mode === 'scan-containers') {
      // The library's own scan: a few walks at a time, running containers in one storage session.
      const list = l.containers().filter((c) => c.engine === 'podman' && c.names.some((n) => containers.some((x) => x.name === n)));
      if (list.length !== containers.length) throw new Error(`scan: containers() lists ${list.length} of the ${containers.length} containers`);
      for await (const batch of l.scanContainers({ containers: list, walk: { stat: true } })) {
        const name = batch.container.names[0];
        const seen = (perContainer[name] ??= { entries: 0, sizeSum: 0 });
        for (const entry of batch.entries) {
          if (isRoot(batch.root, entry.fullPath)) continue;
          seen.entries++;
          seen.sizeSum += entry.stats.size;
        }
      }
    } else if (mode === 'concurrent') {
      // Settled, not Promise.all: when one walk fails the others still end
      // and close their sessions before the trial reports the failure.
      const settled = async (promises) => {
        const failed = (await Promise.allSettled(promises)).find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      };
      await settled([runningAll((s) => settled(running.map((c) => walkOne(s, c.root, c.name)))),
        ...stopped.map(stoppedOne)]);
    } else if (mode === 'sequential') {
      await runningAll(async (s) => {
        for (const c of running) await walkOne(s, c.root, c.name);
      });
      for (const c of stopped) await stoppedOne(c);
    } else {
      throw new Error(`scan: unknown mode "${mode}"`);
    }
    const all = Object.values(perContainer);
    return { entries: all.reduce((n, c) => n + c.entries, 0), sizeSum: all.reduce((n, c) => n + c.sizeSum, 0) };
  });
  memory.stop();
  return { mode, ...result, perContainer, mountMs, storageOpenMs, ...memoryReport(memory), ...cores.stop() };
}

/**
 * The scan rows' peer: find -printf per container, one process after
 * another, each timed from spawn to exit and its output (a file, parsed
 * after exit) counted. Rootless through `podman unshare`; a stopped
 * container mounted with `podman mount` around its find.
 */
async function scanFind(how, json) {
  const { spawnTimed, parsePrintf, OUT_DIR } = require('./measure');
  const rootless = how === 'rootless';
  const prefix = rootless ? ['podman', 'unshare'] : [];
  const find = ['-mindepth', '1', '-printf', PRINTF];
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `scan-find-${process.pid}.txt`);
  const perContainer = {};
  let ms = 0;
  try {
    for (const c of scanSpec(json)) {
      const argv = c.running ? [...prefix, 'find', c.root, ...find]
        : [...prefix, 'sh', '-c', 'm=$(podman mount "$0") || exit 1; find "$m" "$@"; s=$?; ' +
          'podman umount "$0" >/dev/null; exit $s', c.name, ...find];
      const fd = fs.openSync(file, 'w');
      let result;
      try {
        result = await spawnTimed(argv, { stdout: fd });
      } finally {
        fs.closeSync(fd);
      }
      if (result.code !== 0) throw new Error(`${argv.join(' ')} failed (code ${result.code}): ${result.stderr.trim()}`);
      ms += result.processMs;
      perContainer[c.name] = parsePrintf(file);
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
  const all = Object.values(perContainer);
  return { ms, entries: all.reduce((n, c) => n + c.entries, 0), sizeSum: all.reduce((n, c) => n + c.sizeSum, 0), perContainer };
}

const tasks = {
  scan,
  'scan-find': scanFind,
  // Walks the slow consumer scenario: a 100 ms pause every 10,000 entries
  // ("slow") or none ("fast"), RSS sampled every 50 ms; on the host, or in a
  // session joined to TARGET (a holder's pid) before the clock starts, whose
  // worker's peak RSS (VmHWM) is reported beside this process's.
  async 'slow-consumer'(root, mode, target = 'host') {
    const l = lib();
    const source = target === 'host' ? l : await open(target);
    const memory = memorySampler(50);
    const result = await timed(async () => {
      let entries = 0;
      for await (const entry of source.walk(root, { stat: true })) {
        if (isRoot(root, entry.fullPath)) continue;
        entries++;
        if (mode === 'slow' && entries % 10_000 === 0) {
          // A sample here also catches memory that piled up since the last pause.
          memory.sample();
          await sleep(100);
        }
      }
      return { entries };
    });
    memory.stop();
    let workerPeakRssBytes = null;
    if (source !== l) {
      const hwm = /VmHWM:\s*(\d+) kB/.exec(fs.readFileSync(`/proc/${source.workerPid}/status`, 'latin1'));
      workerPeakRssBytes = hwm ? Number(hwm[1]) * 1024 : null;
      await source.close();
    }
    return { mode, target, ...result, ...memoryReport(memory), maxRssBytes: process.resourceUsage().maxRSS * 1024, workerPeakRssBytes };
  },
  // One 256 MiB read: "stream" piped into a Writable that counts, "slow" the
  // same Writable waiting PAUSE_MS every EVERY chunks, "readfile" one Buffer.
  async stream(mode, target, file, every, pauseMs) {
    const source = await open(target);
    if (typeof source.createReadStream !== 'function') throw new Error('this unshare-fs build has no createReadStream');
    try {
      const memory = memorySampler(20);
      const result = await timed(async () => {
        if (mode === 'readfile') {
          const data = await source.readFile(file);
          // Sampled while the Buffer is still held: that is the point of the row.
          memory.sample();
          return { bytes: data.length, chunks: 1 };
        }
        let bytes = 0;
        let chunks = 0;
        const pause = mode === 'slow' ? Number(every) : Infinity;
        await pipeline(source.createReadStream(file), new Writable({
          write(chunk, _encoding, callback) {
            bytes += chunk.length;
            if (++chunks % pause === 0) setTimeout(callback, Number(pauseMs));
            else callback();
          },
        }));
        return { bytes, chunks };
      });
      memory.stop();
      return { ...result, ...memoryReport(memory) };
    } finally {
      await source.close();
    }
  },
  // enter + walk(DIR, { stat: true }) + close, all timed; walkMs the walk alone.
  async 'ns-walk'(target, root) {
    const started = now();
    const session = await open(target);
    const entered = now();
    const counted = await count(root, session.walk(root, { stat: true }), true);
    const walked = now();
    await session.close();
    return { ms: msSince(started), walkMs: Number(walked - entered) / 1e6, ...counted };
  },
  // enter() timed alone COUNT times after WARMUP, each closed (timed apart).
  async 'ns-open'(target, countText, warmup) {
    const samples = { enterMs: [], closeMs: [] };
    for (let i = 0; i < Number(warmup) + Number(countText); i++) {
      const started = now();
      const session = await open(target);
      const opened = now();
      await session.close();
      if (i < Number(warmup)) continue;
      samples.enterMs.push(Number(opened - started) / 1e6);
      samples.closeMs.push(msSince(opened));
    }
    return { samples };
  },
  // One session, COUNT sequential awaited lstat(PATH) calls after WARMUP, each timed.
  async 'ns-lstat'(target, file, countText, warmup) {
    const session = await open(target);
    const us = [];
    try {
      for (let i = 0; i < Number(warmup) + Number(countText); i++) {
        const started = now();
        await session.lstat(file);
        if (i >= Number(warmup)) us.push(Number(now() - started) / 1e3);
      }
    } finally {
      await session.close();
    }
    return { samples: { us } };
  },
  rm: (target, dir) => inSession(target, (s) => s.rm(dir, { recursive: true })),
  chown: (target, dir, id) => inSession(target, (s) => s.chown(dir, Number(id), Number(id), { recursive: true })),
  writes: (target, dir, n, bytes, owner) => inSession(target, async (s) => {
    const data = Buffer.alloc(Number(bytes), 'w');
    const ids = { uid: Number(owner), gid: Number(owner) };
    for (let i = 0; i < Number(n); i++) await s.writeFile(path.join(dir, `f${i}`), data, ids);
  }),
  'copy-in': (target, from, to) => inSession(target, (s) => s.copyFromHost(from, to), true),
  'copy-out': (target, from, to) => inSession(target, (s) => s.copyToHost(from, to), true),
  export: (name) => timed(() => drain(lib().podman.exportContainer(name))),
  diff: (name) => timed(async () => ({ changes: (await lib().podman.diff(name)).length })),
  du: (target, dir) => inSession(target, async (s) => ({ entries: (await s.du(dir)).entries })),
};

async function main() {
  const [task, ...args] = process.argv.slice(2);
  if (!walkers[task] && !tasks[task]) throw new Error(`usage: trial.js ${[...Object.keys(walkers), ...Object.keys(tasks)].join('|')} ARGS`);
  const result = walkers[task] ? await timed(walkers[task](args[0])) : await tasks[task](...args);
  process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
}

main().catch((error) => {
  const notBuilt = error instanceof LibraryNotBuiltError;
  process.stdout.write(`${JSON.stringify({ ok: false, notBuilt, error: error.message })}\n`);
  process.exitCode = notBuilt ? 3 : 1;
});

'use strict';
// The podman section of `npm run bench`: the podman issue's benchmarks, on a
// real running container whose merged dir holds >= 50,000 entries.
//
// Unless --podman-container names one, a container is made for the run from
// the test image (localhost/unshare-fs-test, made by scripts/podman-setup.sh):
//   podman run -d --rm --network none --name unshare-fs-bench IMAGE sleep 3600
// and the small fixture tree is copied into its merged dir at /data. The
// fastest way found: `podman unshare cp -a FIXTURE MERGED/data` (rootless;
// 8-42 s for 75,000 entries on a noisy 2-core VM, where `podman cp` took 43 s), plain
// `cp -a` as root. The container is removed at the end (--keep-container
// keeps it, and a later run reuses it).
//
// Rootless: the library's walk (podman.enterStorage() + walk, full
// stat) vs `podman unshare find MERGED -printf` and `nsenter -U -m -t
// PAUSEPID bfs|find MERGED -printf`, with the C baseline run the same way as
// the reference; one lstat vs one `podman unshare stat`.
// Then benchmarks/layers.js on the same container: podman.exportContainer
// against podman export and tar, podman.diff against podman diff, du
// against podman unshare du and du.
// Rootful (root): the merged dir is mounted in the host's mount namespace and
// enterStorage() joins our own; `podman unshare` only works rootless, so the
// peers are plain find / bfs / C baseline, and lstat is set against `stat`.

const path = require('node:path');
const { ensureFixture } = require('./fixtures');
const { cBaseline, printfTool, timedSpawn, findExecutable } = require('./competitors');
const { measureFixture, progress } = require('./measure');
const { summarize } = require('./stats');
const { formatCount } = require('./report');
const { runNsTrial, libraryWalk, peerTimes, summarizeRows, formatRows, serializeRow, formatLatency } = require('./namespace');
const { runLayersBench } = require('./layers');

const DEFAULT_IMAGE = process.env.UNSHARE_FS_BENCH_IMAGE || 'localhost/unshare-fs-test';
const DEFAULT_NAME = 'unshare-fs-bench';
const MIN_ENTRIES = 50_000;
const DATA_DIR = 'data';
const STAT_FILE = 'etc/passwd';
const STAT_CALLS = 10;
const LSTAT_COUNT = 10_000;
const LSTAT_WARMUP = 1_000;

async function podman(args, { allowFailure = false } = {}) {
  const result = await timedSpawn('podman', args);
  if (result.code !== 0 && !allowFailure) {
    throw new Error(`podman ${args.join(' ')} failed (code ${result.code}): ${result.stderr.trim()}`);
  }
  return result;
}

/** Entries below dir as the C baseline counts them, in podman's storage namespace. */
async function countMerged(wrapper, merged, walkBinary) {
  const argv = [...wrapper, walkBinary, merged];
  const result = await timedSpawn(argv[0], argv.slice(1));
  const match = /entries=(\d+)/.exec(result.stdout);
  return match ? Number(match[1]) : null;
}

/**
 * Finds or makes the container; returns { name, merged, created, populate }
 * or { skip: reason }.
 */
async function prepareContainer({ library, rootless, wrapper, walkBinary, containerName, log }) {
  const name = containerName ?? DEFAULT_NAME;
  const lookUp = () => {
    try {
      return library.podman.container(name);
    } catch {
      return null;
    }
  };
  let c = lookUp();
  if (containerName) {
    if (!c || c.pid === null || !c.mounted) return { skip: `container ${name} is not running` };
    return { name, merged: c.mergedDir, created: false, populate: null };
  }
  if (c && c.pid !== null && c.mounted) {
    const entries = await countMerged(wrapper, c.mergedDir, walkBinary);
    if (entries !== null && entries >= MIN_ENTRIES) {
      log(`podman: reusing the running container ${name} (${formatCount(entries)} entries)`);
      return { name, merged: c.mergedDir, created: false, reused: true, populate: null };
    }
  }
  if (c) await podman(['rm', '-f', '-t', '0', name], { allowFailure: true });
  const image = DEFAULT_IMAGE;
  const exists = await podman(['image', 'exists', image], { allowFailure: true });
  if (exists.code !== 0) {
    return { skip: `no image ${image} (scripts/podman-setup.sh builds it; or --podman-container NAME)` };
  }
  progress('[podman] starting a container');
  await podman(['run', '-d', '--rm', '--network', 'none', '--name', name, image, 'sleep', '3600']);
  c = lookUp();
  if (!c?.mounted) throw new Error(`container ${name} started but the library does not see its merged dir mounted`);
  const fixture = ensureFixture('small');
  const target = path.join(c.mergedDir, DATA_DIR);
  progress(`[podman] copying ${formatCount(fixture.entries)} entries into the container`);
  const argv = rootless ? ['podman', 'unshare', 'cp', '-a', fixture.root, target] : ['cp', '-a', fixture.root, target];
  const copied = await timedSpawn(argv[0], argv.slice(1));
  if (copied.code !== 0) throw new Error(`${argv.join(' ')} failed: ${copied.stderr.trim()}`);
  progress('');
  return { name, merged: c.mergedDir, created: true,
    populate: { command: argv.join(' '), ms: copied.processMs, entries: fixture.entries } };
}

async function medianStatCall(argv) {
  const times = [];
  let failure = null;
  for (let i = 0; i < STAT_CALLS + 1; i++) {
    const result = await timedSpawn(argv[0], argv.slice(1));
    if (result.code !== 0) {
      failure = result.stderr.trim();
      break;
    }
    if (i > 0) times.push(result.processMs); // the first one warms up
  }
  return failure ? { error: failure } : { ms: summarize(times), trialsMs: times };
}

async function runPodmanSection({ library, trials, containerName = null, keepContainer = false, log = console.error }) {
  if (!findExecutable('podman')) return { skipped: 'podman is not installed' };
  const rootless = process.geteuid() !== 0;
  let pausePid = null;
  let wrapper = [];
  const walkBinary = require('./c-baseline').ensureCBaseline();
  if (rootless) {
    // Starts the pause process if it is not running yet.
    const info = await podman(['unshare', 'true'], { allowFailure: true });
    if (info.code !== 0) return { skipped: `podman unshare does not work here: ${info.stderr.trim()}` };
    try {
      pausePid = library.podman.pausePid();
    } catch (error) {
      return { skipped: `no pause process: ${error.message}` };
    }
    wrapper = ['nsenter', '-U', '-m', '-t', String(pausePid)];
  }
  let prepared;
  try {
    prepared = await prepareContainer({ library, rootless, wrapper, walkBinary, containerName, log });
  } catch (error) {
    return { skipped: `cannot prepare a container: ${error.message}` };
  }
  if (prepared.skip) return { skipped: prepared.skip };
  const { name, merged } = prepared;
  const removeAtEnd = prepared.created && !keepContainer;
  try {
    const entries = await countMerged(wrapper, merged, walkBinary);
    if (entries === null || entries < MIN_ENTRIES) {
      return { skipped: `container ${name} has ${entries ?? 'an unknown number of'} entries in its merged dir, ` +
        `fewer than ${formatCount(MIN_ENTRIES)}`, container: name };
    }
    const ns = rootless ? 'nsenter -U -m -t PAUSEPID ' : '';
    const fmt = "-printf '%p %m %U %G %s %T@\\n'";
    const competitors = [
      cBaseline('c-stat-storage', `C baseline (${ns}walk)`, 'stat', [], { wrapper }),
      libraryWalk('unshare-storage-walk', 'unshare-fs podman.enterStorage() + walk (full stat)', 'storage'),
      ...(rootless ? [printfTool('podman-unshare-find', 'find', { wrapper: ['podman', 'unshare'], label: `podman unshare find ${fmt}` })] : []),
      printfTool('bfs-storage', 'bfs', { wrapper, label: `${ns}bfs ${fmt}` }),
      printfTool('find-storage', 'find', { wrapper, label: `${ns}find ${fmt}` }),
    ];

    progress('[podman] lstat round trip');
    const statPath = path.join(merged, STAT_FILE);
    const lstat = await runNsTrial(['lstat', 'storage', statPath, String(LSTAT_COUNT), String(LSTAT_WARMUP)])
      .catch((error) => ({ error: error.message }));
    progress('[podman] stat processes');
    const statArgv = rootless ? ['podman', 'unshare', 'stat', statPath] : ['stat', statPath];
    const statCall = await medianStatCall(statArgv);

    const rows = await measureFixture({ name: 'podman', root: merged }, competitors, trials);
    const reference = summarizeRows(rows, 'c-stat-storage');
    const rowsById = Object.fromEntries(rows.map((row) => [row.id, row]));
    const walk = rowsById['unshare-storage-walk'];
    const { notes, speedups } = peerTimes(rows, walk);

    console.log('');
    console.log(`podman section (${rootless ? `rootless, pause pid ${pausePid}` : 'rootful, as root'}): container ${name}` +
      (prepared.created ? ` made for this run, ${formatCount(prepared.populate.entries)} fixture entries copied to ` +
        `/${DATA_DIR} with \`${prepared.populate.command.replace(merged, 'MERGED')}\` in ` +
        `${(prepared.populate.ms / 1000).toFixed(1)} s` : prepared.reused ? ' (reused)' : ' (given)'));
    console.log(`merged dir ${merged}: ${formatCount(entries)} entries`);
    if (!rootless) {
      console.log('rootful: the merged dir is in the host\'s mount namespace and enterStorage() joins this ' +
        'process\'s own; `podman unshare` is for rootless podman only, so no podman unshare rows');
    }
    console.log(`${trials} trials per peer, fresh processes, interleaved after one warm-up; ratio: median / ` +
      'median of the C baseline; note: peer time / library time');
    console.log('');
    console.log(formatLatency(`lstat ${STAT_FILE} round trip (library, ${formatCount(LSTAT_COUNT)} sequential awaits)`,
      lstat.us, 'us', 1) + (lstat.error ? ` ${lstat.error}` : ''));
    const statLabel = rootless ? '`podman unshare stat`' : '`stat` (a process; podman unshare is rootless only)';
    if (statCall.ms) {
      const lstatMs = lstat.us ? lstat.us.p50 / 1000 : null;
      console.log(`  one ${statLabel} call: median ${statCall.ms.median.toFixed(1)} ms over ${STAT_CALLS} calls` +
        (lstatMs ? ` = ${Math.round(statCall.ms.median / lstatMs).toLocaleString('en-US')}x the library's lstat p50` : ''));
    } else {
      console.log(`  ${statLabel}: ${statCall.error}`);
    }
    console.log('');
    console.log(formatRows(rows, reference, notes));

    // diff, export and du on the same container (benchmarks/layers.js).
    const layers = await runLayersBench({ library, name, merged, rootless, wrapper, trials }).catch((error) => {
      console.log(`\nlayers: not measured: ${error.message}`);
      return { error: error.message };
    });

    return {
      layers,
      rootless, pausePid, container: name, created: prepared.created, populate: prepared.populate, merged, entries,
      lstatRoundTrip: { path: statPath, count: LSTAT_COUNT, warmup: LSTAT_WARMUP, us: lstat.us ?? null, error: lstat.error ?? null },
      statProcess: { argv: statArgv, calls: STAT_CALLS, ...statCall },
      walk: { reference: 'c-stat-storage', trials, peers: rows.map(serializeRow), peerTimeOverLibrary: speedups },
    };
  } finally {
    if (removeAtEnd) {
      progress('[podman] removing the container');
      await podman(['rm', '-f', '-t', '0', name], { allowFailure: true });
      progress('');
    } else if (prepared.created) {
      log(`podman: kept container ${name} (--keep-container); remove it with podman rm -f ${name}`);
    }
  }
}

module.exports = { runPodmanSection };

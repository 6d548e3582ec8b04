'use strict';
// The streams section of `npm run bench`: one 256 MiB file read through the
// library's createReadStream on the host and through a namespace session,
// set beside node's fs.createReadStream; throughput and RSS growth.
//
// The file is generated once beside the fixture trees: a 1 MiB block of
// pseudo-random bytes written 256 times, so it is not sparse (every page is
// real and stays in the page cache after the warm-up) and does not compress.
// Every trial is a fresh process (stream-trial.js) reading the whole file
// into a Writable; a session joins a holder made here with createNamespace()
// (enter({ pid }), opened before the clock starts). The host file is visible
// inside: the holder's mount namespace is a copy of ours.

const fs = require('node:fs');
const path = require('node:path');
const { fixturesBaseDir } = require('./fixtures');
const { timedSpawn, trialReport } = require('./competitors');
const { measureFixture } = require('./measure');
const { summarize } = require('./stats');
const { renderColumns, formatTargets } = require('./report');

const MIB = 1024 * 1024;
const STREAM_TRIAL_SCRIPT = path.join(__dirname, 'stream-trial.js');
const FILE_BYTES = 256 * MIB;
const BLOCK_BYTES = MIB;
const FILE_GENERATOR_VERSION = 1;
const SEED = 0x5eed5eed;

// The streams issue's target (printed, never enforced; see report.js).
const TARGETS = { growthBytes: 64 * MIB };
// The slow consumer: a 1 ms timer every 4 chunks of 64 KiB, at most
// ~256 MB/s, well under what the readers deliver, so they have to wait.
const SLOW = { every: 4, pauseMs: 1 };

/** Returns the path of the 256 MiB file, writing it unless it is already there. */
function ensureStreamFile(log = console.error) {
  const base = fixturesBaseDir();
  const file = path.join(base, 'stream-256MiB.bin');
  const markerPath = path.join(base, 'stream-256MiB.json');
  let marker = null;
  try {
    marker = JSON.parse(fs.readFileSync(markerPath, 'utf8'));
  } catch {
    // No marker yet: write the file.
  }
  if (marker?.generatorVersion === FILE_GENERATOR_VERSION && marker.bytes === FILE_BYTES &&
      fs.statSync(file, { throwIfNoEntry: false })?.size === FILE_BYTES) {
    return file;
  }
  log(`generating ${file} (${FILE_BYTES / MIB} MiB) ...`);
  fs.mkdirSync(base, { recursive: true });
  fs.rmSync(markerPath, { force: true });
  // xorshift32: deterministic, and random enough that nothing dedups or compresses it.
  const block = Buffer.alloc(BLOCK_BYTES);
  let state = SEED;
  for (let i = 0; i < BLOCK_BYTES; i += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    block.writeUInt32LE(state >>> 0, i);
  }
  const fd = fs.openSync(`${file}.tmp`, 'w', 0o644);
  try {
    for (let written = 0; written < FILE_BYTES; written += BLOCK_BYTES) fs.writeSync(fd, block);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
  fs.writeFileSync(markerPath, `${JSON.stringify({ generatorVersion: FILE_GENERATOR_VERSION, seed: SEED,
    bytes: FILE_BYTES, generatedAt: new Date().toISOString() }, null, 2)}\n`);
  return file;
}

/** One reader: a fresh stream-trial.js process per trial. */
function reader({ id, label, mode, source, ratioTo = null, unavailable = null }) {
  return {
    id, label, group: mode, measured: 'read', ratioTo, source, mode,
    available() {
      return unavailable;
    },
    async runTrial(file) {
      const args = ['--expose-gc', STREAM_TRIAL_SCRIPT, mode, String(source), file];
      if (mode === 'slow') args.push(String(SLOW.every), String(SLOW.pauseMs));
      const result = await timedSpawn(process.execPath, args);
      const report = trialReport(id, result);
      // entries: the bytes read, checked against the file's size.
      return { ...report, processMs: result.processMs, entries: report.bytes, sizeSum: null };
    },
  };
}

const mbPerSecond = (bytes, ms) => bytes / 1e6 / (ms / 1e3);

/** Throughput and memory summaries; ratios of median MB/s to the row's node peer. */
function summarizeRows(rows) {
  const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
  for (const row of rows) {
    if (row.results.length === 0) continue;
    row.throughput = summarize(row.results.map((r) => mbPerSecond(r.bytes, r.ms)));
    row.growth = summarize(row.results.map((r) => r.growthBytes));
    row.arrayBuffersGrowth = summarize(row.results.map((r) => r.arrayBuffersGrowthBytes));
    row.ms = summarize(row.times);
  }
  for (const row of rows) {
    const peer = byId[row.competitor.ratioTo];
    row.ratio = row.throughput && peer?.throughput ? row.throughput.median / peer.throughput.median : null;
  }
  return byId;
}

function formatRows(rows) {
  const mib = (bytes) => (bytes / MIB).toFixed(1);
  const header = ['reader', 'bytes ok', 'median ms', 'MB/s', 'min', 'max', 'vs node', 'RSS growth MiB', 'max',
    'ArrayBuffers growth'];
  const lines = rows.map((row) => {
    if (!row.throughput) return [row.label, '-', row.status, '', '', '', '', '', '', row.error ?? ''];
    const bytesOk = row.entryCounts.every((bytes) => bytes === FILE_BYTES) ? 'yes' : 'NO';
    return [row.label, bytesOk, row.ms.median.toFixed(0), row.throughput.median.toFixed(0),
      row.throughput.min.toFixed(0), row.throughput.max.toFixed(0),
      row.ratio === null ? '' : `${row.ratio.toFixed(2)}x`, mib(row.growth.median), mib(row.growth.max),
      mib(row.arrayBuffersGrowth.median)];
  });
  return renderColumns(header, lines, [false, false, true, true, true, true, true, true, true, true]);
}

function growthTarget(name, row) {
  const limit = TARGETS.growthBytes;
  if (!row?.growth) return { name, status: 'SKIP', detail: row ? row.error ?? row.status : 'not run' };
  const bytesOk = row.entryCounts.every((bytes) => bytes === FILE_BYTES);
  // The worst trial counts: one trial that buffered the file is a failure.
  const ok = bytesOk && row.growth.max < limit;
  return { name, status: ok ? 'PASS' : 'FAIL', value: row.growth.max, limit,
    detail: `max ${(row.growth.max / MIB).toFixed(1)} MiB over ${row.growth.n} trials ` +
      `(median ${(row.growth.median / MIB).toFixed(1)})${bytesOk ? '' : ' (bytes read differ from the file size)'}` };
}

function serializeRow(row) {
  return {
    id: row.id, label: row.label, mode: row.competitor.mode, source: String(row.competitor.source),
    status: row.status, error: row.error, bytesRead: [...new Set(row.entryCounts)],
    ms: row.ms ?? null, mbPerSecond: row.throughput ?? null, ratioTo: row.competitor.ratioTo, ratio: row.ratio ?? null,
    rssGrowthBytes: row.growth ?? null, arrayBuffersGrowthBytes: row.arrayBuffersGrowth ?? null,
    trials: row.results.map(({ ms, bytes, chunks, baselineRss, peakRss, growthBytes, peakHeapUsed, peakExternal,
      peakArrayBuffers, arrayBuffersGrowthBytes }) => ({ ms, bytes, chunks, baselineRss, peakRss, growthBytes,
      peakHeapUsed, peakExternal, peakArrayBuffers, arrayBuffersGrowthBytes })),
  };
}

/**
 * Runs the section, prints its table and targets, returns what goes into
 * out/results-streams.json. `library` is the loaded unshare-fs build, or
 * null with `libraryError` saying why not.
 */
async function runStreamsSection({ library, libraryError, trials, log = console.error }) {
  const file = ensureStreamFile(log);
  const noStreams = library && typeof library.host?.createReadStream !== 'function'
    ? 'this unshare-fs build has no createReadStream' : null;
  const libraryUnavailable = library ? noStreams : libraryError;
  let ns = null;
  let nsUnavailable = libraryUnavailable;
  if (!libraryUnavailable) {
    try {
      ns = await library.createNamespace();
    } catch (error) {
      nsUnavailable = `createNamespace() failed: ${error.message}`;
    }
  }
  try {
    const pid = ns?.pid ?? 0;
    const readers = [
      reader({ id: 'unshare-host-stream', label: 'unshare-fs host.createReadStream', mode: 'stream', source: 'host',
        ratioTo: 'node-stream', unavailable: libraryUnavailable }),
      reader({ id: 'unshare-ns-stream', label: 'unshare-fs session.createReadStream (namespace)', mode: 'stream',
        source: pid, ratioTo: 'node-stream', unavailable: nsUnavailable }),
      reader({ id: 'node-stream', label: 'node fs.createReadStream', mode: 'stream', source: 'node' }),
      reader({ id: 'unshare-ns-slow', label: `unshare-fs session.createReadStream, slow consumer`, mode: 'slow',
        source: pid, unavailable: nsUnavailable }),
      reader({ id: 'unshare-host-readfile', label: 'unshare-fs host.readFile (for scale)', mode: 'readfile',
        source: 'host', ratioTo: 'node-readfile', unavailable: libraryUnavailable }),
      reader({ id: 'node-readfile', label: 'node fs.promises.readFile (for scale)', mode: 'readfile', source: 'node' }),
    ];
    const rows = await measureFixture({ name: 'streams', root: file }, readers, trials);
    const byId = summarizeRows(rows);
    const limitMiB = TARGETS.growthBytes / MIB;
    const targets = [
      growthTarget(`256 MiB stream, RSS growth < ${limitMiB} MiB: unshare-fs host.createReadStream`,
        byId['unshare-host-stream']),
      growthTarget(`256 MiB stream, RSS growth < ${limitMiB} MiB: unshare-fs session.createReadStream (namespace)`,
        byId['unshare-ns-stream']),
      growthTarget(`256 MiB stream, RSS growth < ${limitMiB} MiB: the same with a slow consumer`,
        byId['unshare-ns-slow']),
    ];

    console.log('');
    console.log(`streams section: ${file} (${FILE_BYTES / MIB} MiB, a 1 MiB pseudo-random block repeated, ` +
      `warm in the page cache), namespace holder pid ${ns?.pid ?? '-'} (createNamespace())`);
    console.log(`${trials} trials per reader, each a fresh process, interleaved, after one warm-up pass; ` +
      'every reader is piped into a Writable that counts the bytes; 64 KiB chunks (both default)');
    console.log('ms: the read alone (session opened before); MB/s = 10^6 bytes/s, median, min and max over trials; ' +
      'vs node: median MB/s / median MB/s of node\'s same call (higher is faster)');
    console.log(`RSS growth: peak RSS (sampled every 20 ms) minus RSS before the read after a gc, median and max; ` +
      'ArrayBuffers growth (median): the same for Buffer memory, chunks still held and chunks not yet collected');
    console.log(`slow consumer: the Writable waits a ${SLOW.pauseMs} ms timer every ${SLOW.every} chunks`);
    console.log('');
    console.log(formatRows(rows));
    console.log('');
    console.log(formatTargets(targets));

    return {
      file, bytes: FILE_BYTES, holderPid: ns?.pid ?? null, trials, slowConsumer: SLOW,
      readers: rows.map(serializeRow), targets,
    };
  } finally {
    await ns?.close();
  }
}

module.exports = { runStreamsSection, ensureStreamFile };

'use strict';
// One read of the streams section (streams.js), in a process of its own:
//
//   node --expose-gc benchmarks/stream-trial.js MODE SOURCE FILE [EVERY PAUSE_MS]
//
// MODE: "stream" (createReadStream piped into a Writable that takes every
// chunk at once), "slow" (the same Writable waits a PAUSE_MS timer every
// EVERY chunks) or "readfile" (the whole file in one Buffer).
// SOURCE: "host" (the library on host paths), a pid (a session made with
// enter({ pid }), opened before the clock starts), or "node" (node:fs).
// RSS is sampled every 20 ms; growth is the peak minus the RSS just before
// the read (library loaded, session open, heap collected). ms covers the
// read alone. Prints one JSON line: { ok, ... } or { ok: false, notBuilt, error }.

const fs = require('node:fs');
const { Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { loadLibrary, LibraryNotBuiltError } = require('./library');

const SAMPLE_INTERVAL_MS = 20;

/** { fileSystem, close } for SOURCE; fileSystem has createReadStream and readFile. */
async function openSource(source) {
  if (source === 'node') {
    return { fileSystem: { createReadStream: fs.createReadStream, readFile: fs.promises.readFile }, close: async () => {} };
  }
  const library = loadLibrary();
  if (typeof library.host.createReadStream !== 'function') {
    throw new Error(`this unshare-fs build has no createReadStream`);
  }
  if (source === 'host') return { fileSystem: library.host, close: async () => {} };
  const pid = Number(source);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad source "${source}": host, node or a pid`);
  const session = await library.enter({ pid });
  return { fileSystem: session, close: () => session.close() };
}

function memorySampler() {
  const baseline = process.memoryUsage();
  const peak = { rss: baseline.rss, heapUsed: baseline.heapUsed, external: baseline.external,
    arrayBuffers: baseline.arrayBuffers };
  const sample = () => {
    const usage = process.memoryUsage();
    for (const key of Object.keys(peak)) peak[key] = Math.max(peak[key], usage[key]);
  };
  const timer = setInterval(sample, SAMPLE_INTERVAL_MS);
  return {
    baseline, peak, sample,
    stop() {
      clearInterval(timer);
      sample();
    },
  };
}

async function readThrough(fileSystem, file, slow) {
  const every = slow?.every ?? Infinity;
  let bytes = 0;
  let chunks = 0;
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      bytes += chunk.length;
      chunks++;
      if (chunks % every === 0) setTimeout(callback, slow.pauseMs);
      else callback();
    },
  });
  await pipeline(fileSystem.createReadStream(file), sink);
  return { bytes, chunks };
}

async function main() {
  const [mode, source, file, every, pauseMs] = process.argv.slice(2);
  const slow = mode === 'slow' ? { every: Number(every), pauseMs: Number(pauseMs) } : null;
  if (!['stream', 'slow', 'readfile'].includes(mode) || !source || !file ||
      (slow && !(Number.isInteger(slow.every) && slow.every > 0 && slow.pauseMs >= 0))) {
    throw new Error('usage: stream-trial.js stream|slow|readfile host|node|PID FILE [EVERY PAUSE_MS]');
  }
  const { fileSystem, close } = await openSource(source);
  let result;
  try {
    globalThis.gc?.();
    const memory = memorySampler();
    const started = process.hrtime.bigint();
    if (mode === 'readfile') {
      const data = await fileSystem.readFile(file);
      // Sampled while the Buffer is still held: that is the point of the row.
      memory.sample();
      result = { bytes: data.length, chunks: 1 };
    } else {
      result = await readThrough(fileSystem, file, slow);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    memory.stop();
    result = { ...result, ms, baselineRss: memory.baseline.rss, peakRss: memory.peak.rss,
      growthBytes: memory.peak.rss - memory.baseline.rss, peakHeapUsed: memory.peak.heapUsed,
      peakExternal: memory.peak.external, peakArrayBuffers: memory.peak.arrayBuffers,
      arrayBuffersGrowthBytes: memory.peak.arrayBuffers - memory.baseline.arrayBuffers };
  } finally {
    await close();
  }
  process.stdout.write(`${JSON.stringify({ ok: true, mode, source, ...result })}\n`);
}

main().catch((error) => {
  const notBuilt = error instanceof LibraryNotBuiltError;
  process.stdout.write(`${JSON.stringify({ ok: false, notBuilt, error: error.message })}\n`);
  process.exitCode = notBuilt ? 3 : 1;
});

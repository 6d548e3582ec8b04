'use strict';
// Memory under a slow consumer: the walk must apply backpressure instead of
// buffering the tree while the consumer is busy. Runs in a child of its own:
//
//   node --expose-gc benchmarks/slow-consumer.js <root> [slow|fast]
//
// "slow" sleeps 100 ms every 10,000 entries; "fast" never sleeps (reference).
// RSS is sampled every 50 ms; growth is the peak minus the RSS just before
// the walk starts (library loaded, heap collected). Prints one JSON line.

const { setTimeout: sleep } = require('node:timers/promises');
const { loadLibrary, LibraryNotBuiltError } = require('./library');

const PAUSE_EVERY_ENTRIES = 10_000;
const PAUSE_MS = 100;
const SAMPLE_INTERVAL_MS = 50;

async function main() {
  const [root, mode = 'slow'] = process.argv.slice(2);
  if (!root || !['slow', 'fast'].includes(mode)) throw new Error('usage: slow-consumer.js <root> [slow|fast]');
  const library = loadLibrary();
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  const baselineRss = baseline.rss;
  let peakRss = baselineRss;
  // Heap and external peaks tell V8's heap sizing apart from buffered
  // batches (external memory) when the RSS target is missed.
  let peakHeapUsed = baseline.heapUsed;
  let peakExternal = baseline.external;
  const sample = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeapUsed = Math.max(peakHeapUsed, usage.heapUsed);
    peakExternal = Math.max(peakExternal, usage.external);
  };
  const sampler = setInterval(sample, SAMPLE_INTERVAL_MS);

  const started = process.hrtime.bigint();
  let entries = 0;
  try {
    for await (const entry of library.walk(root, { stat: true })) {
      if (entry.fullPath === root) continue;
      entries++;
      if (mode === 'slow' && entries % PAUSE_EVERY_ENTRIES === 0) {
        // The event loop is idle while sleeping, so the sampler does run; a
        // sample here also catches memory that piled up since the last pause.
        sample();
        await sleep(PAUSE_MS);
      }
    }
  } finally {
    clearInterval(sampler);
  }
  sample();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({
    ok: true, mode, entries, ms, baselineRss, peakRss, growthBytes: peakRss - baselineRss,
    peakHeapUsed, peakExternal,
    // Kernel's high-water mark for the whole process, startup included.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  })}\n`);
}

main().catch((error) => {
  const notBuilt = error instanceof LibraryNotBuiltError;
  process.stdout.write(`${JSON.stringify({ ok: false, notBuilt, error: error.message })}\n`);
  process.exitCode = notBuilt ? 3 : 1;
});

'use strict';
// Summary statistics over one competitor's trial times.

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(values) {
  if (values.length === 0) return null;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

module.exports = { median, summarize };

/** The p-th percentile (0..100), nearest rank. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Latency samples as p50 / p99 / min / max / mean. */
function summarizeLatency(values) {
  if (values.length === 0) return null;
  return { p50: percentile(values, 50), p99: percentile(values, 99), min: Math.min(...values),
    max: Math.max(...values), mean: values.reduce((a, b) => a + b, 0) / values.length, n: values.length };
}

module.exports.percentile = percentile;
module.exports.summarizeLatency = summarizeLatency;

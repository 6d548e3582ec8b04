'use strict';
// Runs competitors round by round: one warm-up pass, then `trials` rounds,
// each trial in a process of the competitor's own (see competitors.js).
// Shared by the host walk table (run.js) and the namespace and podman
// sections (namespace.js, podman.js).

function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}

async function runOneTrial(fixture, row) {
  try {
    return await row.competitor.runTrial(fixture.root);
  } catch (error) {
    row.status = error.notBuilt ? 'not built' : 'error';
    row.error = error.message;
    return null;
  }
}

function recordTrial(row, result) {
  // The whole report too, for sections that measure more than time.
  row.results.push(result);
  row.times.push(result.ms);
  row.processTimes.push(result.processMs);
  if (result.innerMs !== undefined) row.innerTimes.push(result.innerMs);
  row.entryCounts.push(result.entries);
  row.entries = result.entries;
  if (result.sizeSum !== null && result.sizeSum !== undefined) row.sizeSums.push(result.sizeSum);
}

function newRow(competitor) {
  return { competitor, id: competitor.id, label: competitor.label, group: competitor.group,
    measured: competitor.measured, status: 'ok', error: null, results: [], times: [], processTimes: [], innerTimes: [],
    entryCounts: [], entries: null, sizeSums: [], summary: null, ratio: null, ratioTo: null, sizeMismatch: false };
}

// Warm-up pass (page cache, binaries), then `trials` rounds. Each round runs
// every competitor once, starting one further along the list each time so no
// competitor always runs right after the same neighbour.
async function measureFixture(fixture, competitors, trials) {
  const rows = competitors.map(newRow);
  for (const row of rows) {
    let unavailable = null;
    try {
      unavailable = row.competitor.available();
    } catch (error) {
      unavailable = error.message;
    }
    if (unavailable) {
      row.status = unavailable;
      continue;
    }
    progress(`[${fixture.name}] warm-up ${row.id}`);
    await runOneTrial(fixture, row);
  }
  const active = rows.filter((row) => row.status === 'ok');
  for (let round = 0; round < trials; round++) {
    for (let i = 0; i < active.length; i++) {
      const row = active[(i + round) % active.length];
      if (row.status !== 'ok') continue;
      progress(`[${fixture.name}] trial ${round + 1}/${trials} ${row.id}`);
      const result = await runOneTrial(fixture, row);
      if (result) recordTrial(row, result);
    }
  }
  progress('');
  return rows;
}

module.exports = { measureFixture, newRow, progress };

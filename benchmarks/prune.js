'use strict';
// The prune section: a tree walked whole (names and types, no stats) and
// with every node_modules directory left out, by unshare-fs (`exclude`,
// matched in the walker: an excluded directory is never opened), fdir
// (`exclude`) and @nodelib/fs.walk (`deepFilter`).  Each trial runs in a
// process of its own (trial.js), rounds interleaved after a warm-up
// (measure.js).  Printed as ratios measured in the same run: each walker's
// pruned walk to its own whole walk (the work pruning saves it), and each
// pruned walk to unshare-fs's.

const { nodeWalker } = require('./competitors');
const { measureFixture } = require('./measure');
const { summarize } = require('./stats');

const PAIRS = [
  { walker: 'unshare-fs walkBatches', whole: 'unshare-types-whole', pruned: 'unshare-types-exclude', how: "exclude: ['node_modules']" },
  { walker: 'fdir', whole: 'fdir-types-whole', pruned: 'fdir-types-exclude', how: "exclude((name) => name === 'node_modules')" },
  { walker: '@nodelib/fs.walk', whole: 'nodelib-types-whole', pruned: 'nodelib-types-deepfilter', how: 'deepFilter + entryFilter' },
];

function pad(text, width, right) {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

/** Runs the section on `fixture` (from fixtures.js) and prints its table; returns the rows for the results file. */
async function runPruneSection({ fixture, trials }) {
  const competitors = PAIRS.flatMap((pair) => [
    nodeWalker(pair.whole, `${pair.walker} whole`, 'types', pair.whole),
    nodeWalker(pair.pruned, `${pair.walker} ${pair.how}`, 'types', pair.pruned),
  ]);
  const rows = await measureFixture(fixture, competitors, trials);
  const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
  const median = (id) => (byId[id]?.status === 'ok' ? summarize(byId[id].times).median : null);
  const ours = median('unshare-types-exclude');
  const out = [];
  for (const pair of PAIRS) {
    const whole = median(pair.whole);
    const pruned = median(pair.pruned);
    out.push({
      walker: pair.walker,
      how: pair.how,
      wholeMs: whole,
      prunedMs: pruned,
      wholeEntries: byId[pair.whole].entries,
      prunedEntries: byId[pair.pruned].entries,
      prunedToWhole: whole && pruned ? pruned / whole : null,
      prunedToUnshare: ours && pruned ? pruned / ours : null,
      errors: [byId[pair.whole].error, byId[pair.pruned].error].filter(Boolean),
    });
  }
  const ratio = (value) => (value === null ? '-' : `${value.toFixed(2)}x`);
  const ms = (value) => (value === null ? '-' : value.toFixed(1));
  console.log(`\nPrune: ${fixture.name} tree (${fixture.entries} entries) walked whole and without node_modules, median of ${trials} (names and types, no stats)`);
  console.log(
    [pad('walker', 24), pad('pruned by', 44), pad('whole ms', 9, true), pad('entries', 8, true), pad('pruned ms', 10, true), pad('entries', 8, true), pad('pruned/whole', 13, true), pad('vs unshare-fs', 14, true)].join(' '),
  );
  for (const row of out) {
    console.log(
      [
        pad(row.walker, 24),
        pad(row.how, 44),
        pad(ms(row.wholeMs), 9, true),
        pad(row.wholeEntries ?? '-', 8, true),
        pad(ms(row.prunedMs), 10, true),
        pad(row.prunedEntries ?? '-', 8, true),
        pad(ratio(row.prunedToWhole), 13, true),
        pad(ratio(row.prunedToUnshare), 14, true),
      ].join(' '),
    );
    for (const error of row.errors) console.log(`  ${row.walker}: ${error}`);
  }
  return { fixture: fixture.name, entries: fixture.entries, rows: out };
}

module.exports = { runPruneSection };

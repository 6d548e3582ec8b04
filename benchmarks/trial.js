'use strict';
// One trial of one JavaScript competitor, in a process of its own so no
// trial inherits another's JIT state, heap or libuv threads.
//
//   node benchmarks/trial.js <walker-id> <root>
//
// Prints one JSON line: { ok, ms, entries, sizeSum } where ms covers only the
// walk (module loading and node startup are outside it), or
// { ok: false, notBuilt, error }.

const walkers = require('./walkers');
const { LibraryNotBuiltError } = require('./library');

async function main() {
  const [walkerId, root] = process.argv.slice(2);
  const walker = walkers[walkerId];
  if (!walker || !root) {
    throw new Error(`usage: trial.js <${Object.keys(walkers).join('|')}> <root>`);
  }
  walker.prepare();
  const started = process.hrtime.bigint();
  const result = await walker.run(root);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ ok: true, ms, ...result })}\n`);
}

main().catch((error) => {
  const notBuilt = error instanceof LibraryNotBuiltError;
  process.stdout.write(`${JSON.stringify({ ok: false, notBuilt, error: error.message })}\n`);
  process.exitCode = notBuilt ? 3 : 1;
});

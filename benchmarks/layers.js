'use strict';
// The layers part of the podman section: on the section's container (the
// small fixture, ~75,000 entries, copied into its merged dir):
//
//   export   podman.exportContainer(name), consumed to the end, against
//            `podman export -o /dev/null NAME` and `tar -cf - -C MERGED .`
//            piped to /dev/null (through `nsenter -U -m -t PAUSEPID` when
//            rootless; piped, since GNU tar skips reading files when its
//            archive is /dev/null)
//   diff     podman.diff(name) against `podman diff NAME`
//   du       session.du(merged) in podman's namespaces against
//            `podman unshare du -s MERGED` (rootless) and `[nsenter …] du -s`
//
// The library runs in this process, each peer as a fresh process; trials
// alternate who goes first.  Times are medians; the ratio is the peer's time
// over the library's (above 1: the library is faster).  Targets are printed,
// never enforced.

const { timedSpawn } = require('./competitors');
const { progress } = require('./measure');
const { median } = require('./stats');
const { renderColumns } = require('./report');

async function timed(fn) {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

async function peer(argv) {
  const result = await timedSpawn(argv[0], argv.slice(1), { stdout: 'ignore' });
  if (result.code !== 0) throw new Error(`${argv.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.processMs;
}

/** Bytes of a stream, read to its end. */
async function drain(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

async function runLayersBench({ library, name, merged, rootless, wrapper, trials }) {
  const storage = await library.podman.enterStorage();
  const times = {};
  const add = (key, ms) => (times[key] ??= []).push(ms);
  const shell = (script) => [...wrapper, 'sh', '-c', script, 'sh', merged];
  const peers = {
    export: [
      ['podman-export', `podman export -o /dev/null`, () => peer(['podman', 'export', '-o', '/dev/null', name])],
      ['tar', `${wrapper.length ? 'nsenter … ' : ''}tar -cf - -C MERGED . | cat >/dev/null`, () => peer(shell('tar -cf - -C "$1" . | cat >/dev/null'))],
    ],
    diff: [['podman-diff', 'podman diff', () => peer(['podman', 'diff', name])]],
    du: [
      ...(rootless ? [['podman-unshare-du', 'podman unshare du -s', () => peer(['podman', 'unshare', 'du', '-s', merged])]] : []),
      ['du', `${wrapper.length ? 'nsenter … ' : ''}du -s`, () => peer([...wrapper, 'du', '-s', merged])],
    ],
  };
  const ours = {
    export: async () => {
      const { ms, value } = await timed(() => drain(library.podman.exportContainer(name)));
      return { ms, bytes: value };
    },
    diff: async () => {
      const { ms, value } = await timed(() => library.podman.diff(name));
      return { ms, changes: value.length };
    },
    du: async () => {
      const { ms, value } = await timed(() => storage.du(merged));
      return { ms, entries: value.entries };
    },
  };
  const facts = {};
  try {
    for (const task of Object.keys(ours)) {
      for (let t = 0; t < trials; t++) {
        progress(`[layers] ${task} trial ${t + 1}/${trials}`);
        const runs = [
          async () => {
            const r = await ours[task]();
            add(`${task}:library`, r.ms);
            facts[task] = r;
          },
          ...peers[task].map(([id, , fn]) => async () => add(`${task}:${id}`, await fn())),
        ];
        if (t % 2) runs.reverse();
        for (const run of runs) await run();
      }
    }
  } finally {
    progress('');
    await storage.close();
  }

  const TARGETS = { 'export:podman-export': 2, 'diff:podman-diff': 10 };
  const lines = [];
  const result = { trials, tasks: {} };
  for (const task of Object.keys(ours)) {
    const library = median(times[`${task}:library`]);
    result.tasks[task] = { libraryMs: library, facts: facts[task], peers: {} };
    const what = task === 'export' ? `${(facts.export.bytes / 2 ** 20).toFixed(0)} MiB tar` : task === 'diff' ? `${facts.diff.changes} changes` : `${facts.du.entries} entries`;
    lines.push([`${task}: unshare-fs (${what})`, library.toFixed(0), '', '']);
    for (const [id, label] of peers[task]) {
      const ms = median(times[`${task}:${id}`]);
      const ratio = ms / library;
      const target = TARGETS[`${task}:${id}`];
      result.tasks[task].peers[id] = { label, ms, peerOverLibrary: ratio, target: target ?? null };
      lines.push([`${task}: ${label}`, ms.toFixed(0), `${ratio.toFixed(2)}x`, target ? `target >= ${target}x: ${ratio >= target ? 'met' : 'NOT met'}` : '']);
    }
  }
  console.log('');
  console.log(`layers (${rootless ? 'rootless' : 'rootful'}): container ${name}, ${trials} trials, medians; ratio: peer / library`);
  console.log(renderColumns(['task', 'median ms', 'ratio', ''], lines, [false, true, true, false]));
  return result;
}

module.exports = { runLayersBench };

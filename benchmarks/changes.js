'use strict';
// The changes section: the write side, in a namespace made for the run
// (createNamespace()), on copies of the small tree owned by uid 1000 inside:
// rm -r and chown -R against nsenter's (and podman unshare's) GNU tools,
// 1,000 small writes against a process per write, and a 1 GiB copy in and
// out against cp (and podman cp). Its description is in sections.js.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { loadLibrary } = require('./library');
const { MIB, x2, line, measure, run, median, renderColumns, target, formatTargets } = require('./measure');

const CHANGES = { owner: 1000, writes: 1000, writeBytes: 4096, processCalls: 20, copyBytes: 1 << 30 };

async function setUpChanges(ctx) {
  const library = loadLibrary();
  ctx.base = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-bench-changes-'));
  fs.chmodSync(ctx.base, 0o755);
  ctx.ns = await library.createNamespace();
  // For setup and clean-up only: every timed call runs in a trial process.
  ctx.session = await ctx.ns.enter();
  ctx.pid = String(ctx.ns.pid);
  ctx.nsenter = ['nsenter', '-U', '-m', '-t', ctx.pid, '--'];
  ctx.podman = process.geteuid() !== 0 && spawnSync('podman', ['unshare', 'true'], { stdio: 'ignore', cwd: '/' }).status === 0;
  const container = process.env.UNSHARE_FS_BENCH_CONTAINER || 'contenedor1';
  const inspect = spawnSync('podman', ['inspect', '--format', '{{.State.Running}}', container], { encoding: 'utf8', cwd: '/' });
  ctx.container = inspect.status === 0 && inspect.stdout.trim() === 'true' ? container : null;
  if (!ctx.ns.uidMap.some((r) => CHANGES.owner >= r.inside && CHANGES.owner < r.inside + r.count)) {
    throw new Error(`the namespace maps no uid ${CHANGES.owner} (no subordinate id range): ${JSON.stringify(ctx.ns.uidMap)}`);
  }
  let n = 0;
  // A fresh copy of the fixture owned by the owner, in our namespace or
  // podman's, synced: the copy's writeback would land in the timed run.
  ctx.copy = async (viaPodman) => {
    const dest = path.join(ctx.base, `tree-${n++}`);
    const script = `cp -a "$0" "$1" && chown -R ${CHANGES.owner}:${CHANGES.owner} "$1"`;
    await run([...(viaPodman ? ['podman', 'unshare'] : ctx.nsenter), 'sh', '-c', script, ctx.fixture.root, dest]);
    await run(['sync']);
    return dest;
  };
}

async function tearDownChanges({ session, ns, base }) {
  await session?.rm(base, { recursive: true, force: true }).catch(() => undefined);
  await session?.close();
  await ns?.close();
  if (base) fs.rmSync(base, { recursive: true, force: true });
}

/** rm -r: each trial on a fresh copy (before). */
function rmCompetitors({ pid, nsenter, podman, copy }) {
  return [
    { id: 'rm-library', label: 'library (session.rm)', before: () => copy(false), task: (ctx) => ['rm', pid, ctx.dir] },
    { id: 'rm-nsenter', label: 'nsenter … rm -rf', before: () => copy(false), cmd: (ctx) => [...nsenter, 'rm', '-rf', ctx.dir] },
    podman && { id: 'rm-podman-library', label: 'library (podman.enterStorage)', before: () => copy(true),
      task: (ctx) => ['rm', 'storage', ctx.dir] },
    podman && { id: 'rm-podman', label: 'podman unshare rm -rf', before: () => copy(true),
      cmd: (ctx) => ['podman', 'unshare', 'rm', '-rf', ctx.dir] },
  ];
}

/** chown -R, writes and the 1 GiB copies, after rm -r; returns the table's rows [task, who, ms, peer / library]. */
async function changesRest(ctx, byId) {
  const { pid, nsenter, podman, copy, base, session, container, trials } = ctx;
  const { owner, writes, writeBytes, processCalls, copyBytes } = CHANGES;
  const med = (row) => median(row.times);
  const pairs = (rows, labels) => rows.flatMap((row, i) => (i % 2 ? [] : [[labels, row.label, med(row), null],
    [labels, rows[i + 1].label, med(rows[i + 1]), med(rows[i + 1]) / med(row)]]));
  const check = (rows) => {
    const failed = rows.find((row) => row.error || row.status !== 'ok');
    if (failed) throw new Error(`${failed.label}: ${failed.error ?? failed.status}`);
    return rows;
  };
  const out = pairs(check(Object.values(byId)), 'rm -r');
  // chown -R: one tree each, to another id every trial.
  const trees = [await copy(false), await copy(false), ...(podman ? [await copy(true), await copy(true)] : [])];
  const id = (c) => `${2000 + c.round}`;
  out.push(...pairs(check(await measure('chown -R', [
    { id: 'library', label: 'library (session.chown)', task: (c) => ['chown', pid, trees[0], id(c)] },
    { id: 'nsenter', label: 'nsenter … chown -R', cmd: (c) => [...nsenter, 'chown', '-R', `${id(c)}:${id(c)}`, trees[1]] },
    podman && { id: 'podman-library', label: 'library (podman.enterStorage)', task: (c) => ['chown', 'storage', trees[2], id(c)] },
    podman && { id: 'podman', label: 'podman unshare chown -R',
      cmd: (c) => ['podman', 'unshare', 'chown', '-R', `${id(c)}:${id(c)}`, trees[3]] },
  ].filter(Boolean), { trials, warmup: false })), 'chown -R'));
  // 1,000 small writes, and a process per write for the peer.
  const writesDir = path.join(base, 'writes');
  await session.mkdir(writesDir, { uid: owner, gid: owner });
  const [library] = check(await measure('writes', [{ id: 'writes', label: 'writes',
    task: () => ['writes', pid, writesDir, String(writes), String(writeBytes), String(owner)] }], { trials, warmup: false }));
  const peerDir = podman ? path.join(base, 'podman-writes') : writesDir;
  if (podman) await run(['podman', 'unshare', 'mkdir', peerDir]);
  const [peer] = check(await measure('writes peer', [{ id: 'peer', label: 'peer',
    cmd: (c) => [...(podman ? ['podman', 'unshare'] : nsenter),
    'sh', '-c', `head -c ${writeBytes} /dev/zero > "$0" && chown ${owner}:${owner} "$0"`, path.join(peerDir, `p${c.round}`)] }],
  { trials: processCalls, warmup: false }));
  out.push([`${writes} writes`, `library (writeFile, 4 KiB, ${(med(library) / writes * 1000).toFixed(0)} µs each)`, med(library), null],
    [`${writes} writes`, `${podman ? 'podman unshare' : 'nsenter'} per write (×${writes} from ${processCalls})`,
      med(peer) * writes, (med(peer) * writes) / med(library)]);
  // 1 GiB in and out, in a fixed order (out copies what in copied), files of
  // the last round removed before the next.
  const big = path.join(base, 'big');
  const fd = fs.openSync(big, 'w');
  for (let i = 0; i < copyBytes / MIB; i++) fs.writeSync(fd, Buffer.alloc(MIB, 'c'));
  fs.closeSync(fd);
  fs.chmodSync(big, 0o644);
  const at = (name, c) => path.join(base, `${name}-${c.round}`);
  const clean = async (c) => {
    if (c.round <= 0) return;
    const last = { round: c.round - 1 };
    for (const file of [at('copied', last), `${at('copied', last)}.cp`]) await session.rm(file, { force: true });
    fs.rmSync(at('back', last), { force: true });
  };
  const copyRows = check(await measure('copy', [
    { id: 'in', label: 'library copyFromHost', before: clean, task: (c) => ['copy-in', pid, big, at('copied', c)] },
    { id: 'out', label: 'library copyToHost', task: (c) => ['copy-out', pid, at('copied', c), at('back', c)] },
    { id: 'cp', label: 'nsenter … cp', cmd: (c) => [...nsenter, 'cp', big, `${at('copied', c)}.cp`] },
  ], { trials: Math.min(trials, 3), warmup: false, rotate: false }));
  await clean({ round: Math.min(trials, 3) });
  const mibps = (row) => `${(copyBytes / MIB / (med(row) / 1000)).toFixed(0)} MiB/s`;
  const [cin, cout, cp] = copyRows;
  out.push(['copy 1 GiB', `library copyFromHost (${mibps(cin)})`, med(cin), null],
    ['copy 1 GiB', `library copyToHost (${mibps(cout)})`, med(cout), null],
    ['copy 1 GiB', `nsenter … cp (${mibps(cp)})`, med(cp), med(cp) / med(cin)]);
  let rss = [cin, cout].flatMap((row) => row.results.map((r) => r.rssMib));
  if (container) {
    const inside = (c) => `/tmp/unshare-fs-bench-${c.round}`;
    const back = (c) => path.join(base, `podman-back-${c.round}`);
    const rows = check(await measure('podman cp', [
      { id: 'lib-in', label: `library into ${container}`, task: (c) => ['copy-in', `merged:${container}`, big, inside(c)] },
      { id: 'lib-out', label: `library out of ${container}`, task: (c) => ['copy-out', `merged:${container}`, inside(c), back(c)] },
      { id: 'cp-in', label: 'podman cp in', before: (c) => fs.rmSync(back(c), { force: true }),
        cmd: (c) => ['podman', 'cp', big, `${container}:${inside(c)}-cp`] },
      { id: 'cp-out', label: 'podman cp out', cmd: (c) => ['podman', 'cp', `${container}:${inside(c)}-cp`, back(c)] },
    ], { trials: Math.min(trials, 3), warmup: false, rotate: false }));
    const rooted = await loadLibrary().podman.enterMerged(container);
    try {
      for (let round = 0; round < Math.min(trials, 3); round++) {
        fs.rmSync(back({ round }), { force: true });
        for (const file of [inside({ round }), `${inside({ round })}-cp`]) await rooted.rm(file, { force: true });
      }
    } finally {
      await rooted.close();
    }
    const [libIn, libOut, pIn, pOut] = rows;
    out.push(['copy 1 GiB', `${libIn.label} (${mibps(libIn)})`, med(libIn), null],
      ['copy 1 GiB', `podman cp in (${mibps(pIn)})`, med(pIn), med(pIn) / med(libIn)],
      ['copy 1 GiB', `${libOut.label} (${mibps(libOut)})`, med(libOut), null],
      ['copy 1 GiB', `podman cp out (${mibps(pOut)})`, med(pOut), med(pOut) / med(libOut)]);
    rss = rss.concat([libIn, libOut].flatMap((row) => row.results.map((r) => r.rssMib)));
  }
  return { table: out, worstRssMib: Math.max(...rss) };
}

function changesTargets(_byId, _ctx, { table, worstRssMib }, { rssMib }) {
  const ratio = (task) => table.find(([what, , , r]) => what === task && r !== null)[3];
  return [target('rm -r faster than nsenter rm -rf', ratio('rm -r') > 1, ''),
    target('chown -R faster than nsenter chown -R', ratio('chown -R') > 1, ''),
    target(`copy RSS growth under ${rssMib} MiB (worst ${worstRssMib.toFixed(1)} MiB)`, worstRssMib < rssMib, '')];
}

function printChanges({ ns, session, fixture, trials, podman, container }, _rows, _byId, { table }, targets) {
  line(`\nchanges section: namespace pid ${ns.pid}, tree ${fixture.root} (${fixture.entries} entries) copied in and owned by `,
    `uid ${CHANGES.owner} inside (host uid ${session.toHostUid(CHANGES.owner)}); ${trials} trials`,
    podman ? '; rootless podman for the podman unshare peers' : '');
  console.log(`\n${renderColumns(['task', 'who', 'median', 'peer / library'], table.map(([what, who, ms, ratio]) =>
    [what, who, `${ms.toFixed(1)} ms`, ratio === null ? '' : x2(ratio)]), [false, false, true, true])}`);
  console.log(`\n${formatTargets(targets)}`);
  if (!podman) console.log('(no rootless podman here: the podman unshare peers were not run; run as a user with podman for them)');
  if (!container) console.log('(no running container to copy into: the podman cp peer was not run; start the seed scenario for it)');
}

module.exports = { setUpChanges, tearDownChanges, rmCompetitors, changesRest, changesTargets, printChanges };

'use strict';
// The changes section of `npm run bench`: the write side's benchmarks, in a
// namespace made for the run (createNamespace(), like podman's pause
// process), on trees owned by a subordinate id (uid 1000 inside).
//
//   rm -r      the small fixture (~75,000 entries) copied into the namespace
//              and chowned to 1000, removed by the library (session.rm) and
//              by `nsenter -U -m -t PID rm -rf` (GNU rm, one thread); with
//              rootless podman, also by `podman unshare rm -rf` on a copy in
//              podman's own namespace, beside the library's podman session
//   chown -R   the same tree, to alternating ids, the library against
//              `nsenter … chown -R` (and `podman unshare chown -R`)
//   writes     1,000 writeFile calls of 4 KiB against `podman unshare` (or
//              `nsenter`) calls that each write one such file: a process per
//              file, measured on 20 and given per call
//   copy       a 1 GiB file copied in (copyFromHost) and out (copyToHost)
//              against `nsenter … cp` of the same file, with this process's
//              RSS growth while the library copies; where the container
//              $UNSHARE_FS_BENCH_CONTAINER (default contenedor1, the seed
//              scenario's) runs, also into and out of it through
//              podman.enterMerged() against `podman cp`
//
// Every time is the median of the trials; ratios are the peer's time over
// the library's (above 1: the library is faster).  Targets are printed,
// never enforced.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ensureFixture } = require('./fixtures');
const { timedSpawn } = require('./competitors');
const { progress } = require('./measure');
const { median } = require('./stats');
const { renderColumns } = require('./report');

const OWNER = 1000;
const WRITES = 1000;
const WRITE_BYTES = 4096;
const PROCESS_CALLS = 20;
const COPY_BYTES = 1 << 30;
const RSS_LIMIT_MIB = 64;

/** The running container to copy into beside `podman cp`, if there is one. */
function podmanContainer() {
  const name = process.env.UNSHARE_FS_BENCH_CONTAINER || 'contenedor1';
  const r = spawnSync('podman', ['inspect', '--format', '{{.State.Running}}', name], { encoding: 'utf8', cwd: '/' });
  return r.status === 0 && r.stdout.trim() === 'true' ? name : null;
}

function podmanWorks() {
  if (process.geteuid() === 0) return false; // rootful `podman unshare` is the host itself
  const r = spawnSync('podman', ['unshare', 'true'], { stdio: 'ignore', cwd: '/' });
  return r.status === 0;
}

/** Runs a command and fails loudly if it fails. */
async function run(command, args) {
  const result = await timedSpawn(command, args);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.processMs;
}

async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Peak RSS growth (MiB) over `fn`, sampled every 10 ms. */
async function rssGrowth(fn) {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  let ms;
  try {
    ms = await timed(fn);
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms, mib: (peak - before) / (1 << 20) };
}

async function runChangesSection({ library, trials }) {
  const fixture = ensureFixture('small');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-bench-changes-'));
  fs.chmodSync(base, 0o755);
  const ns = await library.createNamespace();
  const session = await ns.enter();
  const nsenter = ['-U', '-m', '-t', String(ns.pid), '--'];
  const withPodman = podmanWorks();
  const storage = withPodman ? await library.podman.enterStorage() : null;
  const rows = [];
  try {
    if (!ns.uidMap.some((r) => OWNER >= r.inside && OWNER < r.inside + r.count)) {
      throw new Error(`the namespace maps no uid ${OWNER} (no subordinate id range): ${JSON.stringify(ns.uidMap)}`);
    }
    console.log(`\nchanges section: namespace pid ${ns.pid}, tree ${fixture.root} (${fixture.entries} entries) ` +
      `copied in and owned by uid ${OWNER} inside (host uid ${session.toHostUid(OWNER)}); ${trials} trials` +
      (withPodman ? '; rootless podman for the podman unshare peers' : ''));
    let n = 0;
    const tree = () => path.join(base, `tree-${n++}`);
    // A copy of the fixture owned by OWNER, in our namespace or in podman's.
    const prepare = async (dest, viaPodman) => {
      const script = `cp -a "$0" "$1" && chown -R ${OWNER}:${OWNER} "$1"`;
      if (viaPodman) await run('podman', ['unshare', 'sh', '-c', script, fixture.root, dest]);
      else await run('nsenter', [...nsenter, 'sh', '-c', script, fixture.root, dest]);
      // The copy's writeback would land in the middle of the timed run.
      await run('sync', []);
      return dest;
    };

    // rm -r
    const rm = { library: [], nsenter: [], podmanLibrary: [], podman: [] };
    for (let t = 0; t < trials; t++) {
      progress(`rm -r trial ${t + 1}/${trials}`);
      // Each on a copy of its own, made and synced just before; who goes
      // first alternates (a disk's state after the last run weighs).
      const runs = [
        async () => {
          const dest = await prepare(tree(), false);
          rm.library.push(await timed(() => session.rm(dest, { recursive: true })));
        },
        async () => {
          const dest = await prepare(tree(), false);
          rm.nsenter.push(await run('nsenter', [...nsenter, 'rm', '-rf', dest]));
        },
      ];
      if (withPodman) {
        runs.push(
          async () => {
            const dest = await prepare(tree(), true);
            rm.podmanLibrary.push(await timed(() => storage.rm(dest, { recursive: true })));
          },
          async () => {
            const dest = await prepare(tree(), true);
            rm.podman.push(await run('podman', ['unshare', 'rm', '-rf', dest]));
          },
        );
      }
      for (const one of t % 2 ? runs.reverse() : runs) await one();
    }
    rows.push(['rm -r', 'library (session.rm)', median(rm.library), null]);
    rows.push(['rm -r', 'nsenter … rm -rf', median(rm.nsenter), median(rm.nsenter) / median(rm.library)]);
    if (withPodman) {
      rows.push(['rm -r', 'library (podman.enterStorage)', median(rm.podmanLibrary), null]);
      rows.push(['rm -r', 'podman unshare rm -rf', median(rm.podman), median(rm.podman) / median(rm.podmanLibrary)]);
    }

    // chown -R: one tree each, to another id every trial.
    const chown = { library: [], nsenter: [], podmanLibrary: [], podman: [] };
    const ours = await prepare(tree(), false);
    const theirs = await prepare(tree(), false);
    const podmanOurs = withPodman ? await prepare(tree(), true) : null;
    const podmanTheirs = withPodman ? await prepare(tree(), true) : null;
    for (let t = 0; t < trials; t++) {
      progress(`chown -R trial ${t + 1}/${trials}`);
      const id = 2000 + t;
      chown.library.push(await timed(() => session.chown(ours, id, id, { recursive: true })));
      chown.nsenter.push(await run('nsenter', [...nsenter, 'chown', '-R', `${id}:${id}`, theirs]));
      if (withPodman) {
        chown.podmanLibrary.push(await timed(() => storage.chown(podmanOurs, id, id, { recursive: true })));
        chown.podman.push(await run('podman', ['unshare', 'chown', '-R', `${id}:${id}`, podmanTheirs]));
      }
    }
    rows.push(['chown -R', 'library (session.chown)', median(chown.library), null]);
    rows.push(['chown -R', 'nsenter … chown -R', median(chown.nsenter), median(chown.nsenter) / median(chown.library)]);
    if (withPodman) {
      rows.push(['chown -R', 'library (podman.enterStorage)', median(chown.podmanLibrary), null]);
      rows.push(['chown -R', 'podman unshare chown -R', median(chown.podman), median(chown.podman) / median(chown.podmanLibrary)]);
    }

    // 1,000 small writes, and a process per write for the peer.
    const writesDir = path.join(base, 'writes');
    await session.mkdir(writesDir, { uid: OWNER, gid: OWNER });
    const data = Buffer.alloc(WRITE_BYTES, 'w');
    const writes = [];
    for (let t = 0; t < trials; t++) {
      progress(`writes trial ${t + 1}/${trials}`);
      writes.push(await timed(async () => {
        for (let i = 0; i < WRITES; i++) await session.writeFile(path.join(writesDir, `f${i}`), data, { uid: OWNER, gid: OWNER });
      }));
    }
    const perWrite = median(writes) / WRITES;
    const peerCommand = withPodman ? ['podman', ['unshare', 'sh', '-c']] : ['nsenter', [...nsenter, 'sh', '-c']];
    const peerDir = withPodman ? path.join(base, 'podman-writes') : writesDir;
    if (withPodman) await run('podman', ['unshare', 'mkdir', peerDir]);
    const perCall = [];
    for (let i = 0; i < PROCESS_CALLS; i++) {
      perCall.push(await run(peerCommand[0], [...peerCommand[1], `head -c ${WRITE_BYTES} /dev/zero > "$0" && chown ${OWNER}:${OWNER} "$0"`, path.join(peerDir, `p${i}`)]));
    }
    rows.push([`${WRITES} writes`, `library (writeFile, 4 KiB, ${(perWrite * 1000).toFixed(0)} µs each)`, median(writes), null]);
    rows.push([`${WRITES} writes`, `${withPodman ? 'podman unshare' : 'nsenter'} per write (×${WRITES} from ${PROCESS_CALLS})`,
      median(perCall) * WRITES, (median(perCall) * WRITES) / median(writes)]);

    // 1 GiB in and out.
    const big = path.join(base, 'big');
    const fd = fs.openSync(big, 'w');
    const chunk = Buffer.alloc(1 << 20, 'c');
    for (let i = 0; i < COPY_BYTES / chunk.length; i++) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    fs.chmodSync(big, 0o644);
    const copyIn = [];
    const copyOut = [];
    const cpIn = [];
    let worstRss = 0;
    for (let t = 0; t < Math.min(trials, 3); t++) {
      progress(`copy trial ${t + 1}`);
      const inside = path.join(base, `copied-${t}`);
      const back = path.join(base, `back-${t}`);
      let r = await rssGrowth(() => session.copyFromHost(big, inside));
      copyIn.push(r.ms);
      worstRss = Math.max(worstRss, r.mib);
      r = await rssGrowth(() => session.copyToHost(inside, back));
      copyOut.push(r.ms);
      worstRss = Math.max(worstRss, r.mib);
      cpIn.push(await run('nsenter', [...nsenter, 'cp', big, `${inside}.cp`]));
      await session.rm(inside);
      await session.rm(`${inside}.cp`);
      fs.rmSync(back);
    }
    const mibps = (ms) => (COPY_BYTES / (1 << 20)) / (ms / 1000);
    const container = podmanContainer();
    const podmanCp = { libIn: [], libOut: [], cpIn: [], cpOut: [] };
    if (container) {
      const rooted = await library.podman.enterMerged(container);
      try {
        for (let t = 0; t < Math.min(trials, 3); t++) {
          progress(`podman cp trial ${t + 1}`);
          const back = path.join(base, `podman-back-${t}`);
          let r = await rssGrowth(() => rooted.copyFromHost(big, `/tmp/unshare-fs-bench-${t}`));
          podmanCp.libIn.push(r.ms);
          worstRss = Math.max(worstRss, r.mib);
          r = await rssGrowth(() => rooted.copyToHost(`/tmp/unshare-fs-bench-${t}`, back));
          podmanCp.libOut.push(r.ms);
          worstRss = Math.max(worstRss, r.mib);
          fs.rmSync(back);
          podmanCp.cpIn.push(await run('podman', ['cp', big, `${container}:/tmp/unshare-fs-bench-cp-${t}`]));
          podmanCp.cpOut.push(await run('podman', ['cp', `${container}:/tmp/unshare-fs-bench-cp-${t}`, back]));
          fs.rmSync(back);
          await rooted.rm(`/tmp/unshare-fs-bench-${t}`);
          await rooted.rm(`/tmp/unshare-fs-bench-cp-${t}`);
        }
      } finally {
        await rooted.close();
      }
    }
    rows.push(['copy 1 GiB', `library copyFromHost (${mibps(median(copyIn)).toFixed(0)} MiB/s)`, median(copyIn), null]);
    rows.push(['copy 1 GiB', `library copyToHost (${mibps(median(copyOut)).toFixed(0)} MiB/s)`, median(copyOut), null]);
    rows.push(['copy 1 GiB', `nsenter … cp (${mibps(median(cpIn)).toFixed(0)} MiB/s)`, median(cpIn), median(cpIn) / median(copyIn)]);
    if (container) {
      const { libIn, libOut, cpIn: pIn, cpOut: pOut } = podmanCp;
      rows.push(['copy 1 GiB', `library into ${container} (${mibps(median(libIn)).toFixed(0)} MiB/s)`, median(libIn), null]);
      rows.push(['copy 1 GiB', `podman cp in (${mibps(median(pIn)).toFixed(0)} MiB/s)`, median(pIn), median(pIn) / median(libIn)]);
      rows.push(['copy 1 GiB', `library out of ${container} (${mibps(median(libOut)).toFixed(0)} MiB/s)`, median(libOut), null]);
      rows.push(['copy 1 GiB', `podman cp out (${mibps(median(pOut)).toFixed(0)} MiB/s)`, median(pOut), median(pOut) / median(libOut)]);
    }
    progress('');

    const lines = rows.map(([what, who, ms, ratio]) => [what, who, `${ms.toFixed(1)} ms`, ratio === null ? '' : `${ratio.toFixed(2)}x`]);
    console.log('');
    console.log(renderColumns(['task', 'who', 'median', 'peer / library'], lines, [false, false, true, true]));
    const targets = [
      ['rm -r faster than nsenter rm -rf', median(rm.nsenter) / median(rm.library) > 1],
      ['chown -R faster than nsenter chown -R', median(chown.nsenter) / median(chown.library) > 1],
      [`copy RSS growth under ${RSS_LIMIT_MIB} MiB (worst ${worstRss.toFixed(1)} MiB)`, worstRss < RSS_LIMIT_MIB],
    ];
    console.log('');
    for (const [name, ok] of targets) console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}`);
    if (!withPodman) console.log('(no rootless podman here: the podman unshare peers were not run; run as a user with podman for them)');
    if (!container) console.log('(no running container to copy into: the podman cp peer was not run; start the seed scenario for it)');
    return { rows, targets, worstRssMib: worstRss, podman: withPodman };
  } finally {
    await storage?.close();
    await session.rm(base, { recursive: true, force: true }).catch(() => undefined);
    await session.close();
    await ns.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

module.exports = { runChangesSection };

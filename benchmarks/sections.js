'use strict';
// The benchmark sections, as data, in the order run.js runs them. Each has:
//   name         its --no-NAME flag and its title
//   fixture      "each" of the run's trees, "small", or none (setup says)
//   file         out/results-FILE.json (default: the fixture's name)
//   competitors  the rows, a function of the run's context (setup may add a
//                root, a namespace's pid, a container); see measure.js
//   ratioTo      what each row's median is divided by: a row id, or one per
//                group ("stat" rows to c-stat, "types" rows to c-nostat)
//   limits       the issue's targets, checked by `targets` and printed as
//                PASS/FAIL/SKIP lines that never fail the command: timing is
//                too noisy to gate a build on
//   setup, afterRows (more it measures once the rows are in), print,
//   results (for the JSON file), teardown.
// Every trial of every row is a fresh process (measure.js), one warm-up
// pass first unless `warmup: false`, the rows interleaved round by round.

const path = require('node:path');
const { node, cBaseline, printfTool, PRINTF } = require('./measure');
const host = require('./host');
const inside = require('./inside');
const changes = require('./changes');
const scan = require('./scan');
const cli = require('./cli');

const FMT = `-printf '${PRINTF}'`;
const MIB = 1024 * 1024;

/** The library's rows, for this build or (a suffix and $UNSHARE_FS_BENCH_LIB) an older one. */
const unshareRows = (suffix, env) => [
  node(`unshare-walk-stat${suffix}`, `unshare-fs walk (full stat, entries)${suffix}`, 'stat', 'unshare-walk-stat', { env }),
  node(`unshare-batches-stat${suffix}`, `unshare-fs walkBatches (full stat)${suffix}`, 'stat', 'unshare-batches-stat', { env }),
  node(`unshare-walk-types${suffix}`, `unshare-fs walk (types only)${suffix}`, 'types', 'unshare-walk-types', { env }),
];

/** enter (or enterStorage) + walk with full stat + close, in a trial process; the walk alone is its inner clock. */
const sessionWalk = (id, label, target, env) => ({ id, label, group: 'stat', timed: 'session+walk', env,
  task: (ctx) => ['ns-walk', target, ctx.root] });

const SECTIONS = [
  { name: 'walk', fixture: 'each', ratioTo: { stat: 'c-stat', types: 'c-nostat' },
    competitors: ({ options: o }) => [
      cBaseline('c-stat', 'c-stat (getdents64 + fstatat, 1 thread)', 'stat'),
      cBaseline('c-nostat', 'c-nostat (getdents64, d_type)', 'types', ['--no-stat']),
      ...unshareRows('', {}),
      ...o.compareLibs.flatMap((dir) => unshareRows(` [${dir}]`, { UNSHARE_FS_BENCH_LIB: path.resolve(dir) })),
      node('fdir-lstat-sync', 'fdir crawl + lstatSync every entry', 'stat', 'fdir-lstat-sync'),
      node('fdir-lstat-async', 'fdir crawl + fs.promises.lstat (64 in flight)', 'stat', 'fdir-lstat-async'),
      node('nodelib-walk-stats', '@nodelib/fs.walk (stats: true)', 'stat', 'nodelib-walk-stats'),
      node('node-readdir-lstat', 'node readdirSync(recursive, withFileTypes) + lstatSync', 'stat', 'node-readdir-lstat'),
      printfTool('find', 'find'),
      printfTool('bfs', 'bfs'),
    ].filter((c) => (!o.only || o.only.includes(c.id)) && !o.skip.includes(c.id)),
    limits: { walkVsCStat: 1.15, typesVsCNoStat: 1.3, fdirVsWalk: 3, slowConsumerGrowthBytes: 64 * MIB },
    targets: host.walkTargets, afterRows: host.slowConsumer, print: host.printWalk,
    results: ({ fixture }, { slowConsumer }) => ({ fixture, slowConsumer }) },

  { name: 'loaded', fixture: 'small', file: 'loaded', ratioTo: { stat: 'c-stat' }, setup: host.setUpLoaded,
    teardown: host.tearDownLoaded,
    competitors: () => [
      cBaseline('c-stat', 'c-stat (getdents64 + fstatat, 1 thread)', 'stat'),
      node('unshare-walk-stat', 'unshare-fs walk (full stat, default threads)', 'stat', 'unshare-walk-stat'),
      node('unshare-walk-stat-1t', 'unshare-fs walk (full stat, threads: 1)', 'stat', 'unshare-walk-stat-1t'),
    ],
    limits: { busyProcesses: 2, walkVsCStat: 1.0 }, targets: host.loadedTargets, print: host.printLoaded,
    results: ({ fixture, busy }) => ({ fixture, busyProcesses: busy.length }) },

  { name: 'prune', fixture: 'each', file: 'prune',
    competitors: () => host.PRUNE_PAIRS.flatMap((p) => [node(p.whole, `${p.walker} whole`, 'types', p.whole),
      node(p.pruned, `${p.walker} ${p.how}`, 'types', p.pruned)]),
    afterRows: (_ctx, byId) => ({ pairs: host.pruneRows(byId) }), print: host.printPrune,
    results: ({ fixture }, { pairs }) => ({ fixture, pairs }) },

  { name: 'streams', file: 'streams', setup: host.setUpStreams, teardown: ({ ns }) => ns?.close(),
    competitors: ({ ns, why, nsWhy }) => [
      host.reader('unshare-host-stream', 'unshare-fs host.createReadStream', 'stream', 'host', 'node-stream', why),
      host.reader('unshare-ns-stream', 'unshare-fs session.createReadStream (namespace)', 'stream', ns?.pid, 'node-stream', nsWhy),
      host.reader('node-stream', 'node fs.createReadStream', 'stream', 'node'),
      host.reader('unshare-ns-slow', 'unshare-fs session.createReadStream, slow consumer', 'slow', ns?.pid, null, nsWhy),
      host.reader('unshare-host-readfile', 'unshare-fs host.readFile (for scale)', 'readfile', 'host', 'node-readfile', why),
      host.reader('node-readfile', 'node fs.promises.readFile (for scale)', 'readfile', 'node'),
    ],
    limits: { growthBytes: 64 * MIB }, afterRows: (_ctx, byId) => host.streamStats(byId), targets: host.streamTargets,
    print: host.printStreams,
    results: ({ root }) => ({ file: root }) },

  { name: 'namespace', fixture: 'small', file: 'namespace', ratioTo: 'c-stat-ns',
    setup: inside.setUpNamespace, teardown: inside.tearDownNamespace,
    competitors: ({ ns, root, builds }) => {
      const nsenter = ['nsenter', '-U', '-m', '-t', String(ns.pid)];
      return [
        cBaseline('c-stat-ns', 'C baseline inside (nsenter -U -m -t PID walk)', 'stat', [], nsenter),
        ...builds.map((b, i) => sessionWalk(b.walkId, `unshare-fs enter + walk (full stat)${i ? ` [${b.label}]` : ''}`,
          String(ns.pid), b.env)),
        printfTool('bfs-ns', 'bfs', { wrapper: nsenter, label: `nsenter -U -m -t PID bfs ${FMT}` }),
        printfTool('find-ns', 'find', { wrapper: nsenter, label: `nsenter -U -m -t PID find ${FMT}` }),
        node('proc-fdir-lstat-sync', 'fdir + lstatSync via /proc/PID/root (host)', 'stat', 'fdir-lstat-sync',
          { root: `/proc/${ns.pid}/root${root}` }),
      ];
    },
    limits: { openP50Ms: 5, lstatP50Us: 50, walkVsC: 1.15, bfsSpeedup: 2, vsOlder: { lstat: 1.2, walk: 1.2 } },
    afterRows: (ctx, byId) => ({ comparisons: inside.compareBuilds(ctx, byId) }),
    targets: inside.namespaceTargets, print: inside.printNamespace,
    results: ({ ns, hidden, open, lstat }, { comparisons }) => ({ holderPid: ns.pid, hidden, sessionOpen: open,
      lstatRoundTrip: lstat, olderBuilds: comparisons }) },

  { name: 'podman', file: 'namespace', ratioTo: 'c-stat-storage', setup: inside.setUpPodman, teardown: inside.tearDownPodman,
    competitors: ({ wrapper, rootless }) => {
      const ns = rootless ? 'nsenter -U -m -t PAUSEPID ' : '';
      return [
        cBaseline('c-stat-storage', `C baseline (${ns}walk)`, 'stat', [], wrapper),
        sessionWalk('unshare-storage-walk', 'unshare-fs podman.enterStorage() + walk (full stat)', 'storage'),
        rootless && printfTool('podman-unshare-find', 'find', { wrapper: ['podman', 'unshare'], label: `podman unshare find ${FMT}` }),
        printfTool('bfs-storage', 'bfs', { wrapper, label: `${ns}bfs ${FMT}` }),
        printfTool('find-storage', 'find', { wrapper, label: `${ns}find ${FMT}` }),
      ];
    },
    limits: { layers: { 'podman-export': 2, 'podman-diff': 10 } },
    afterRows: (ctx) => inside.layers(ctx).then((layers) => ({ layers }), (error) => ({ error: error.message })),
    print: inside.printPodman,
    results: ({ name, rootless, pausePid, root, entries, lstat, stat }, { layers, error }) => ({ container: name, rootless,
      pausePid, merged: root, entries, lstat, stat, layers: layers?.result ?? { error } }) },

  { name: 'docker', file: 'namespace', ratioTo: 'c-stat-docker', setup: inside.setUpDocker,
    competitors: ({ wrapper, rootless, name, execPrefix }) => {
      const ns = rootless ? 'nsenter -U --preserve-credentials -m -t DOCKERPID ' : '';
      return [
        cBaseline('c-stat-docker', `C baseline (${ns}walk)`, 'stat', [], wrapper),
        sessionWalk('unshare-docker-walk', 'unshare-fs docker.enterStorage() + walk (full stat)', 'docker-storage'),
        printfTool('nsenter-find', 'find', { wrapper, label: `${ns}find ${FMT}` }),
        // GNU find copied into the container (busybox's has no -printf), walking /bench there.
        { ...printfTool('docker-exec-find', `${inside.DOCKER.findDir}/find`, { wrapper: execPrefix,
          label: `docker exec ${name} find ${FMT}`, needs: [] }), root: inside.DOCKER.dir },
      ];
    },
    print: inside.printDocker,
    results: ({ name, rootless, daemonPid, root }) => ({ container: name, rootless, daemonPid, merged: root }) },

  // Every container of a podman user at once (issue 24): --scan-containers
  // (half running, half stopped) from an image of the test image plus a
  // --scan-entries tree; scanContainers() (a few at a time) and every walk
  // at once vs one after another vs find.
  { name: 'scan', file: 'scan', setup: scan.setUpScan, teardown: scan.tearDownScan, competitors: scan.scanCompetitors,
    limits: { concurrentVsSequential: 1.5, rssGrowthBytes: 64 * MIB }, afterRows: scan.scanStats,
    targets: scan.scanTargets, print: scan.printScan,
    results: ({ image, setup, rootless, containers, expected }, { stats, speedup, unboundedSpeedup, ceiling, idleSpeedup }) => ({ image,
      setup, rootless, containers: containers.map(({ name, running }) => ({ name, running, expected: expected[name] })),
      concurrentVsSequential: speedup, everyWalkAtOnceVsSequential: unboundedSpeedup, ceilingOnTheseCores: ceiling, idleMachineEstimate: idleSpeedup, stats }) },

  // The command line (issue 23): `unshare-fs` find, du, rm -r and ls -l
  // against `podman unshare` running GNU's, whole processes both.
  { name: 'cli', file: 'cli', setup: cli.setUpCli, teardown: cli.tearDownCli, competitors: cli.cliCompetitors,
    ratioTo: cli.RATIO_TO, limits: { find: 1, du: 1, rm: 1, ls: 2 }, targets: cli.cliTargets, print: cli.printCli,
    results: ({ fixture, merged }) => ({ container: cli.CLI.name, image: cli.CLI.image, fixture, merged }) },

  { name: 'changes', fixture: 'small', file: 'changes', warmup: false, setup: changes.setUpChanges,
    teardown: changes.tearDownChanges, competitors: changes.rmCompetitors, afterRows: changes.changesRest,
    limits: { rssMib: 64 }, targets: changes.changesTargets, print: changes.printChanges,
    results: (_ctx, { table, worstRssMib }) => ({ table, worstRssMib }) },
];

module.exports = { SECTIONS };

'use strict';
// The Docker section of `npm run bench`: the walk of a real running Docker
// container's merged dir holding ~50,000 entries (dbench, made by
// `scripts/docker-scenario.sh bench USER`: /bench in the container), as the
// library does it and as Docker's own ways to look in do it:
//
//   unshare-fs   docker.enterStorage() + walk(MERGED/bench, { stat: true })
//   nsenter      nsenter -U --preserve-credentials -m -t DOCKERPID find MERGED/bench -printf ...
//                (rootless: Docker's documented way into RootlessKit's
//                namespaces; rootful: plain find, the merged dir is the host's)
//   docker exec  docker exec dbench find /bench -printf ... (GNU find and its
//                libraries copied into the container for the run, since
//                busybox's find has no -printf; started through their ld.so)
//   C baseline   getdents64 + fstatat, behind the same nsenter
//
// Every row reports its entry count and the sum of the sizes it saw; the
// table flags any that differ from the C baseline's.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { cBaseline, printfTool, timedSpawn } = require('./competitors');
const { measureFixture, progress } = require('./measure');
const { formatCount } = require('./report');
const { libraryWalk, peerTimes, walkingAt, summarizeRows, formatRows, serializeRow } = require('./namespace');

const DOCKER = '/usr/bin/docker';
const DEFAULT_NAME = 'dbench';
const BENCH_DIR = '/bench';
const FIND_DIR = '/opt/unshare-fs-bench-find';
const SCENARIO = path.join(__dirname, '..', 'scripts', 'docker-scenario.sh');

async function docker(args, { allowFailure = false } = {}) {
  const result = await timedSpawn(DOCKER, args);
  if (result.code !== 0 && !allowFailure) {
    throw new Error(`docker ${args.join(' ')} failed (code ${result.code}): ${result.stderr.trim()}`);
  }
  return result;
}

/** GNU find and the libraries it loads, copied into the container; returns the argv prefix that runs it there. */
async function copyFindInto(name) {
  const ldd = await timedSpawn('ldd', ['/usr/bin/find']);
  if (ldd.code !== 0) throw new Error(`ldd /usr/bin/find failed: ${ldd.stderr.trim()}`);
  const libraries = [...ldd.stdout.matchAll(/(\/\S+)/g)].map((m) => m[1]);
  const loader = libraries.find((lib) => path.basename(lib).startsWith('ld-linux'));
  if (!loader) throw new Error('no ld-linux in ldd /usr/bin/find');
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-bench-find-'));
  try {
    fs.chmodSync(staging, 0o755);
    for (const file of ['/usr/bin/find', ...libraries]) fs.copyFileSync(fs.realpathSync(file), path.join(staging, path.basename(file)));
    await docker(['exec', name, 'mkdir', '-p', FIND_DIR]);
    await docker(['cp', `${staging}/.`, `${name}:${FIND_DIR}`]);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return [DOCKER, 'exec', name, `${FIND_DIR}/${path.basename(loader)}`, '--library-path', FIND_DIR];
}

async function runDockerSection({ library, trials, containerName = null, log = console.error }) {
  if (!fs.existsSync(DOCKER)) return { skipped: `${DOCKER} is not installed (scripts/docker-setup.sh)` };
  const rootless = process.geteuid() !== 0;
  const runtimeDir = process.env.XDG_RUNTIME_DIR || `/run/user/${process.getuid()}`;
  process.env.DOCKER_HOST ||= rootless ? `unix://${runtimeDir}/docker.sock` : 'unix:///var/run/docker.sock';
  let daemonPid;
  try {
    daemonPid = library.docker.daemonPid();
  } catch (error) {
    return { skipped: `no Docker daemon for this user: ${error.message}` };
  }
  const name = containerName ?? DEFAULT_NAME;
  const lookUp = () => {
    try {
      return library.docker.container(name);
    } catch {
      return null;
    }
  };
  if (!lookUp()?.running && !containerName) {
    progress('[docker] making the bench container');
    const made = await timedSpawn('bash', [SCENARIO, 'bench', os.userInfo().username]);
    if (made.code !== 0) return { skipped: `scripts/docker-scenario.sh bench failed: ${made.stderr.trim().split('\n').pop()}` };
  }
  const c = lookUp();
  if (!c?.running) return { skipped: `container ${name} is not running` };
  const merged = path.join(c.mergedDir, BENCH_DIR);
  const wrapper = rootless ? ['nsenter', '-U', '--preserve-credentials', '-m', '-t', String(daemonPid)] : [];
  progress('[docker] copying find into the container');
  const execPrefix = await copyFindInto(name);
  const ns = rootless ? 'nsenter -U --preserve-credentials -m -t DOCKERPID ' : '';
  const fmt = "-printf '%p %m %U %G %s %T@\\n'";
  const dockerExecFind = walkingAt(
    { ...printfTool('docker-exec-find', `${FIND_DIR}/find`, { wrapper: execPrefix, label: `docker exec ${name} find ${fmt}` }), available: () => null },
    BENCH_DIR,
  );
  const competitors = [
    cBaseline('c-stat-docker', `C baseline (${ns}walk)`, 'stat', [], { wrapper }),
    libraryWalk('unshare-docker-walk', 'unshare-fs docker.enterStorage() + walk (full stat)', 'docker-storage'),
    printfTool('nsenter-find', 'find', { wrapper, label: `${ns}find ${fmt}` }),
    dockerExecFind,
  ];
  const rows = await measureFixture({ name: 'docker', root: merged }, competitors, trials);
  const reference = summarizeRows(rows, 'c-stat-docker');
  const walk = rows.find((row) => row.id === 'unshare-docker-walk');
  const { notes, speedups } = peerTimes(rows, walk);
  console.log('');
  console.log(`docker section (${rootless ? `rootless, dockerd pid ${daemonPid} in RootlessKit's namespaces` : 'rootful, as root'}): ` +
    `container ${name}, ${BENCH_DIR} = ${merged}: ${formatCount(walk?.entries ?? 0)} entries`);
  console.log(`${trials} trials per peer, fresh processes, interleaved after one warm-up; ratio: median / ` +
    'median of the C baseline; note: peer time / library time');
  console.log('');
  console.log(formatRows(rows, reference, notes));
  log(`docker: kept container ${name} (scripts/docker-scenario.sh stop removes it)`);
  return { rootless, daemonPid, container: name, merged, reference: 'c-stat-docker', trials,
    peers: rows.map(serializeRow), peerTimeOverLibrary: speedups };
}

module.exports = { runDockerSection };

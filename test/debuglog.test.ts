// NODE_DEBUG=unshare-fs: a child process joins a namespace of its own,
// reads a podman storage.conf through discovery and makes requests; its
// stderr names the join (the pid and the namespaces), the file read and
// each request's op, path and duration.  Without NODE_DEBUG naming
// unshare-fs the same child prints nothing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { requires, userNamespaces } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const DIST = path.resolve(__dirname, '../dist/index.js');
const asRoot = process.geteuid!() === 0;

let dir: string;
beforeAll(() => {
  dir = tempDir('unshare-fs-debuglog-');
  fs.writeFileSync(path.join(dir, 'storage.conf'), '[storage]\ndriver = "overlay"\n');
});
afterAll(() => removeTree(dir));

/** Runs the child with NODE_DEBUG set to `nodeDebug` (unset when undefined): its stdout (JSON) and stderr. */
function child(nodeDebug: string | undefined): { out: { nsPid: number; workerPid: number }; stderr: string } {
  const script = `
    const { createNamespace, enter, podman } = require(${JSON.stringify(DIST)});
    (async () => {
      const ns = await createNamespace({ subids: 'none'${asRoot ? ', uidMap: [{ inside: 0, outside: 0, count: 1 }]' : ''} });
      const session = await enter({ pid: ns.pid });
      await session.stat('/');
      await session.readdir('/proc/self').catch(() => undefined);
      const workerPid = session.workerPid;
      await session.close();
      await ns.close();
      try { podman.storageConfig({ storageConf: ${JSON.stringify(path.join(dir, 'storage.conf'))} }); } catch {}
      console.log(JSON.stringify({ nsPid: ns.pid, workerPid }));
    })().catch((e) => { console.error(e); process.exit(3); });`;
  const env = { ...process.env };
  delete env.NODE_DEBUG;
  if (nodeDebug !== undefined) env.NODE_DEBUG = nodeDebug;
  const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`child exited ${run.status}: ${run.stderr}`);
  return { out: JSON.parse(run.stdout) as { nsPid: number; workerPid: number }, stderr: run.stderr };
}

requires(userNamespaces).describe('NODE_DEBUG=unshare-fs', () => {
  test('names the join (pid, namespaces, worker), the discovery file read, and each request with op, path and ms', () => {
    const { out, stderr } = child('unshare-fs');
    const conf = path.join(dir, 'storage.conf');
    const lines = stderr.split('\n').filter((l) => l !== '');
    // util.debuglog's prefix: the section in capitals and the child's pid.
    expect(lines.every((l) => /^UNSHARE-FS \d+: /.test(l))).toBe(true);
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`join pid ${out.nsPid}: namespaces user, mnt, worker pid ${out.workerPid}, [0-9.]+ ms$`)),
    );
    expect(lines).toContainEqual(expect.stringContaining(`discovery read podman: ${conf}, ${fs.statSync(conf).size} bytes`));
    expect(lines).toContainEqual(expect.stringMatching(/request (\d+) start: Stat "\/"$/));
    expect(lines).toContainEqual(expect.stringMatching(/request \d+ end: Stat "\/", [0-9.]+ ms$/));
    expect(lines).toContainEqual(expect.stringMatching(/request \d+ end: Walk "\/proc\/self", [0-9.]+ ms$/));
  });

  test('prints nothing without NODE_DEBUG, or with NODE_DEBUG naming other sections', () => {
    expect(child(undefined).stderr).toBe('');
    expect(child('net,http').stderr).toBe('');
  });
});

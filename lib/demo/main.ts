#!/usr/bin/env node
// The README's first command: with no podman needed, make a user + mount
// namespace, stack generated layers with overlay in it, enter it and list
// the merged tree with both views of ownership; then show the same
// directory as the host sees it.  Where rootless podman runs containers,
// show those instead.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { createNamespace } from '../ns/namespace';
import type { Session } from '../ns/session';
import type { Stats } from '../core/stats';
import { mountDemoOverlay } from './layers';
import { showPodman } from './podman';

const TYPE_CHAR: Record<string, string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  fifo: 'p',
  socket: 's',
  'char-device': 'c',
  'block-device': 'b',
};

function modeString(type: string, mode: number): string {
  const bits = 'rwxrwxrwx';
  let out = TYPE_CHAR[type] ?? '?';
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

function owner(uid: number, gid: number): string {
  return `${uid}:${gid}`;
}

/** Prints an `ls -l`-style listing of the tree under `root`, container and host owners side by side. */
export async function listTree(
  session: Session,
  root: string,
  out: (line: string) => void,
  maxDepth = Infinity,
): Promise<{ entries: number; bytes: number }> {
  const rows: { path: string; type: string; stats: Stats; target: string }[] = [];
  for await (const batch of session.walkBatches(root, { stat: true, maxDepth })) {
    for (const entry of batch) rows.push({ path: entry.fullPath, type: entry.type, stats: entry.stats, target: '' });
  }
  rows.sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const row of rows) if (row.type === 'symlink') row.target = await session.readlink(row.path);
  out(`${'mode'.padEnd(10)} ${'container'.padStart(11)} ${'host'.padStart(13)} ${'size'.padStart(7)}  ${'modified'.padEnd(16)}  path`);
  let bytes = 0;
  for (const { path: p, type, stats, target } of rows) {
    bytes += stats.size;
    const when = stats.mtime.toISOString().slice(0, 16).replace('T', ' ');
    out(
      `${modeString(type, stats.mode)} ${owner(stats.uid, stats.gid).padStart(11)} ${owner(stats.hostUid, stats.hostGid).padStart(13)} ${String(stats.size).padStart(7)}  ${when}  ${path.relative(root, p)}${target ? ` -> ${target}` : ''}`,
    );
  }
  return { entries: rows.length, bytes };
}

/**
 * What ownDemo leaves to remove, once: the tree under `base` holds a 0700
 * directory owned by a subordinate id, which only the namespace (where that
 * id is mapped) can remove, so it goes from inside before the namespace ends.
 */
let pendingCleanup: (() => Promise<void>) | undefined;

async function ownDemo(out: (line: string) => void): Promise<void> {
  const started = process.hrtime.bigint();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-demo-'));
  fs.chmodSync(base, 0o755);
  pendingCleanup = () => fs.promises.rm(base, { recursive: true, force: true });
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  try {
    ns = await createNamespace();
  } catch (error) {
    fs.rmSync(base, { recursive: true, force: true });
    throw error;
  }
  let cleaning: Promise<void> | undefined;
  // Every step runs, and a step that fails says so (the exit status too):
  // what is left behind is never left silently.
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      const steps: [string, () => Promise<unknown>][] = [
        // EINVAL: the overlay was never mounted (the demo failed before).
        [
          'unmount',
          () =>
            ns
              .unmount(path.join(base, 'merged'))
              .catch((e: NodeJS.ErrnoException) => (e.code === 'EINVAL' ? undefined : Promise.reject(e))),
        ],
        [
          'rm -rf in the namespace',
          async () => {
            const status = await ns.exec(['rm', '-rf', base]);
            if (status.code !== 0) throw new Error(`rm -rf ${base} ended ${JSON.stringify(status)}`);
          },
        ],
        ['closing the namespace', () => ns.close()],
        ['rm -rf on the host', () => fs.promises.rm(base, { recursive: true, force: true })],
      ];
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (error) {
          process.stderr.write(`unshare-fs demo: cleaning up (${what}) failed: ${(error as Error).message}\n`);
          process.exitCode = 1;
        }
      }
    })());
  pendingCleanup = cleanup;
  try {
    out(`namespace: holder pid ${ns.pid}, uid map ${ns.uidMap.map((r) => `${r.inside}->${r.outside} (${r.count})`).join(', ')}`);
    if (!ns.fullRange) {
      out('note: no subordinate id range (/etc/subuid + newuidmap), so only your own id is mapped and nothing can be owned by uid 1000');
    }
    const overlay = await mountDemoOverlay(ns, base);
    out(`overlay: ${overlay.mergedDir}`);
    out(`  lower: ${overlay.lowerDirs.join(' : ')}`);
    out(`  upper: ${overlay.upperDir} (a whiteout hides gone.txt; opt/old is opaque)`);
    out('');
    const session = await ns.enter();
    const { entries, bytes } = await listTree(session, overlay.mergedDir, out);
    out('');
    out(`the same directory from the host: ${JSON.stringify(fs.readdirSync(overlay.mergedDir))} (mounted only inside the namespace)`);
    const privateUpper = path.join(overlay.upperDir, 'home/user/private');
    try {
      fs.readdirSync(privateUpper);
      // Root reads anything; an ordinary user without a subordinate range is the namespace's root, so owns it.
      const why =
        process.geteuid!() === 0 ? 'you are root' : 'it is owned by your own uid: without a subordinate range the namespace maps only you';
      out(`the host reads ${privateUpper} (${why})`);
    } catch (error) {
      out(`the host reading the 0700 directory in the upper layer: ${(error as Error).message}`);
    }
    // For the tests: stop here, everything made, until a signal comes.
    if (process.env.UNSHARE_FS_DEMO_HOLD === '1') await new Promise(() => setInterval(() => undefined, 1 << 30));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    out('');
    out(`${entries} entries, ${bytes} bytes, listed from inside the namespace; ${ms.toFixed(1)} ms in all`);
  } finally {
    await cleanup();
    pendingCleanup = undefined;
  }
}

/** Set once stdout's reader is gone (`npm run demo | head`): the demo then runs on silently to its cleanup. */
let outputClosed = false;

async function main(): Promise<void> {
  const out = (line: string): void => {
    if (!outputClosed) process.stdout.write(`${line}\n`);
  };
  if (process.argv.includes('--no-podman') || !(await showPodman(out, listTree))) await ownDemo(out);
}

if (require.main === module) {
  // `npm run demo | head` closes the pipe early: that is not a failure, but
  // exiting there would leave the demo's files behind; finish quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    outputClosed = true;
  });
  // Interrupted: remove what the demo made, then die of the signal as we
  // would have.  A second Ctrl-C while that runs does not cut it short: the
  // files it removes belong to ids only the namespace maps.
  let interrupted: NodeJS.Signals | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = signal;
      void (pendingCleanup?.() ?? Promise.resolve()).finally(() => {
        for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(s);
        process.kill(process.pid, signal);
      });
    });
  }
  main().catch((error: Error) => {
    process.stderr.write(`unshare-fs demo failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}

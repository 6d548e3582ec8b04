/**
 * Directories the library made (mount points of mountImage and
 * mountContainer) removed even when the program never calls close(): on
 * process 'exit', and on SIGINT and SIGTERM when nobody else handles them.
 *
 * They are empty on the host (their mounts live in the library's namespace
 * only, and Linux lets a directory that is a mount point in another mount
 * namespace be removed), so a synchronous rmdir is enough.
 *
 * A library must not change how the program ends: the handlers are
 * installed only while something is registered; a signal that the program
 * handles itself is left to it (its own exit runs the 'exit' hook);
 * otherwise, after removing, the signal is raised again with its default
 * action, so the process dies of it as it would have.
 */
import * as fs from 'node:fs';

const registered = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed = false;

function removeAll(): void {
  for (const dir of registered) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // gone already, or not empty: not ours to force
    }
  }
  registered.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Only ours: the default action would have ended the process.
  if (process.listenerCount(signal) > 1) return;
  removeAll();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', removeAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', removeAll);
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

/** Removes `dir` when the process ends, unless unregistered first. */
export function removeAtExit(dir: string): void {
  registered.add(dir);
  install();
}

/** `dir` was removed (or handed over): forget it. */
export function forgetAtExit(dir: string): void {
  registered.delete(dir);
  if (registered.size === 0) uninstall();
}

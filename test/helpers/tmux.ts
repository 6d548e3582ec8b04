// A real terminal for the command line's tests: a tmux server of its own
// (its socket in a directory of its own, made and removed here: tmux's
// default, /tmp/tmux-UID, would outlive the run), one 120x30 window running a plain
// bash; keys are typed into it and its screen is read back as text
// (capture-pane), as a person would see it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { command } from './requirements';

/** tmux installed (.ci/run installs it). */
export const tmux = command('tmux', 'tmux');

/** One tmux server and its window. */
export class Terminal {
  /** The server's directory: its socket, and TMUX_TMPDIR for anything else tmux would put in /tmp. */
  readonly #dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-tmux-'));
  readonly #socketPath = path.join(this.#dir, 'socket');

  constructor(env: NodeJS.ProcessEnv = process.env) {
    // The server takes its environment from this first client: the shell's PS1, a TERM tmux accepts.
    this.#tmux(['new-session', '-d', '-x', '120', '-y', '30', 'bash --norc --noprofile'], {
      ...env,
      PS1: '$ ',
      TERM: env.TERM && env.TERM !== 'dumb' ? env.TERM : 'xterm',
    });
  }

  #tmux(args: string[], env: NodeJS.ProcessEnv = process.env): string {
    const r = spawnSync('tmux', ['-S', this.#socketPath, ...args], { encoding: 'utf8', env: { ...env, TMUX_TMPDIR: this.#dir } });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** Types a command line and Enter. */
  type(line: string): void {
    this.#tmux(['send-keys', '-l', line]);
    this.#tmux(['send-keys', 'Enter']);
  }

  /** Sends keys by tmux's names (`C-c`). */
  keys(...keys: string[]): void {
    this.#tmux(['send-keys', ...keys]);
  }

  /** The screen's text, a line per row. */
  screen(): string {
    return this.#tmux(['capture-pane', '-p']);
  }

  /**
   * Reads the screen every 20 ms until `until` returns a value, which it
   * resolves with; each screen read is shown to `seen` too.  `withinMs` is
   * the overall wait, which the caller derives from the job's size: past
   * it, the last screen is in the error.
   */
  async waitFor<T>(until: (screen: string) => T | undefined, what: string, withinMs: number, seen?: (screen: string) => void): Promise<T> {
    const end = Date.now() + withinMs;
    for (;;) {
      const screen = this.screen();
      seen?.(screen);
      const value = until(screen);
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`waited ${withinMs} ms for ${what}; the screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Ends the server (its shell and what runs in it) and removes its directory. */
  close(): void {
    spawnSync('tmux', ['-S', this.#socketPath, 'kill-server'], { env: { ...process.env, TMUX_TMPDIR: this.#dir } });
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

// A real terminal for the command line's tests: a tmux server of its own
// (a socket name no other run shares), one 120x30 window running a plain
// bash; keys are typed into it and its screen is read back as text
// (capture-pane), as a person would see it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

import { command } from './requirements';

/** tmux installed (.ci/run installs it). */
export const tmux = command('tmux', 'tmux');

let made = 0;

/** One tmux server and its window. */
export class Terminal {
  readonly socket = `unshare-fs-test-${process.pid}-${++made}`;
  /** The socket's file: tmux leaves it behind when its server ends. */
  readonly #socketPath: string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    // The server takes its environment from this first client: the shell's PS1, a TERM tmux accepts.
    this.#tmux(['new-session', '-d', '-x', '120', '-y', '30', 'bash --norc --noprofile'], {
      ...env,
      PS1: '$ ',
      TERM: env.TERM && env.TERM !== 'dumb' ? env.TERM : 'xterm',
    });
    this.#socketPath = this.#tmux(['display-message', '-p', '#{socket_path}']).trim();
  }

  #tmux(args: string[], env: NodeJS.ProcessEnv = process.env): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', env });
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

  /** Ends the server (its shell and what runs in it) and removes its socket. */
  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    fs.rmSync(this.#socketPath, { force: true });
  }
}

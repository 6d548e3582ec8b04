// The processes the library forks (workers, holders, commands run with
// exec()): what they inherit from node, how they die with it, and how they
// are waited for and ended.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createNamespace, type Namespace } from '../lib';
import { isGone, waitGone } from './helpers/procs';
import { requires, root } from './helpers/requirements';
import { removeTree, tempDir } from './helpers/tree';

const fixture = path.join(__dirname, 'fixtures/namespace-children.js');
// Inside uid 0 is an ordinary host uid: a map of the kind another user's
// rootless namespace has, seen from root.
const UNPRIVILEGED_MAP = [{ inside: 0, outside: 165536, count: 65536 }];

let ns: Namespace;
let dir: string;

beforeAll(async () => {
  ns = await createNamespace();
  dir = tempDir();
  fs.chmodSync(dir, 0o755);
});

afterAll(async () => {
  await ns?.close();
  if (dir) removeTree(dir);
});

requires(root).describe('dying with node after a credential change', () => {
  test('the worker, the holder and an exec()ed command die with a killed parent whose namespace maps uid 0 elsewhere', async () => {
    const parent = spawn(process.execPath, [fixture, 'orphans', JSON.stringify(UNPRIVILEGED_MAP)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      parent.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.split('\n')[0]);
      });
      parent.once('exit', (code) => reject(new Error(`fixture exited with ${code} before reporting`)));
    });
    const children = JSON.parse(line) as { holder: number; worker: number; command: number };
    try {
      parent.kill('SIGKILL');
      await exited;
      expect({
        holder: await waitGone(children.holder),
        worker: await waitGone(children.worker),
        command: await waitGone(children.command),
      }).toEqual({ holder: true, worker: true, command: true });
    } finally {
      for (const pid of Object.values(children)) if (!isGone(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

// Compile-time checks of the public types (run by `npm run lint`'s tsc):
/* eslint-disable @typescript-eslint/no-unused-vars -- the variables exist for their types */
// each line states what a call returns, and @ts-expect-error lines must fail.
import * as api from '../lib';
import {
  createNamespace,
  docker,
  enter,
  host,
  Namespace,
  podman,
  walk,
  walkBatches,
  type BigIntStats,
  type Entry,
  type Stats,
} from '../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export async function checks(): Promise<void> {
  for await (const entry of walk('/')) {
    expectType<Equal<typeof entry, Entry<string, undefined>>>();
    expectType<Equal<typeof entry.name, string>>();
  }
  for await (const entry of walk('/', { encoding: 'buffer' })) {
    expectType<Equal<typeof entry.name, Buffer>>();
  }
  for await (const entry of walk('/', { stat: true, bigint: true })) {
    expectType<Equal<typeof entry.stats, BigIntStats>>();
  }
  for await (const entry of walk('/', { exclude: ['proc'], filter: (e) => e.isFile() })) {
    expectType<Equal<typeof entry, Entry<string, undefined>>>();
    expectType<Equal<typeof entry.parentPath, string>>();
    expectType<Equal<typeof entry.fullPath, string>>();
  }
  const relative = await host.readdir('/', { recursive: true });
  expectType<Equal<typeof relative, string[]>>();
  for await (const batch of walkBatches('/')) {
    expectType<Equal<typeof batch, Entry<string, undefined>[]>>();
  }
  expectType<Equal<Awaited<ReturnType<typeof host.lstat>>, Stats>>();
  const big = await host.lstat('/', { bigint: true });
  expectType<Equal<typeof big, BigIntStats>>();
  const text = await host.readFile('/etc/hostname', 'utf8');
  expectType<Equal<typeof text, string>>();
  const bytes = await host.readFile('/etc/hostname');
  expectType<Equal<typeof bytes, Buffer>>();
  const names = await host.readdir('/');
  expectType<Equal<typeof names, string[]>>();
  const dirents = await host.readdir('/', { withFileTypes: true });
  expectType<Equal<(typeof dirents)[number]['type'], Entry['type']>>();
  const ns = await createNamespace({ subids: 'auto' });
  const session = await ns.enter();
  expectType<Equal<typeof session.uidMap, readonly { inside: number; outside: number; count: number }[]>>();
  await using other = await enter({ pid: ns.pid });
  void other;
  // @ts-expect-error maxDepth is a number
  walk('/', { maxDepth: '3' });
  // @ts-expect-error stat fields are named
  walk('/', { stat: ['colour'] });
  // @ts-expect-error enter takes options
  await enter(42);
  // @ts-expect-error the tmpfs size is bytes or a mount(8) size string
  await ns.mountTmpfs('/mnt', { size: true });

  // The surface: what the library does for itself is not in its types.
  // @ts-expect-error a session cannot be re-rooted
  void session.setRoot;
  // @ts-expect-error nor mount: only a Namespace's own worker does
  void session.mount;
  // @ts-expect-error the worker's channel is the session's own
  void session.channel;
  // @ts-expect-error host has no channel either
  void host.channel;
  // @ts-expect-error a walk's batches are read through the iterator only
  void walk('/').batches;
  // @ts-expect-error namespaces come from createNamespace()
  void new Namespace();
  // @ts-expect-error node:fs style errors are made by the library
  void api.fsError;
  // @ts-expect-error podman exports its API, not its helpers
  void podman.isErrno;
  // @ts-expect-error nor its storage.conf parser
  void podman.parseTomlStrings;
  // @ts-expect-error nor the way it finds the runtime dir
  void podman.runtimeDir;
  // @ts-expect-error nor whose environment it reads
  void podman.userEnv;
  // @ts-expect-error docker exports its API, not its helpers either
  void docker.isErrno;
  // @ts-expect-error nor where its daemon.json is
  void docker.daemonConfigPath;
  // @ts-expect-error nor whose environment it reads
  void docker.userEnv;
  expectType<Equal<ReturnType<typeof podman.image>, podman.PodmanImage>>();
  // Volumes: one record type for both engines, the package's own.
  expectType<Equal<ReturnType<typeof podman.volume>, api.Volume>>();
  expectType<Equal<ReturnType<typeof docker.volumes>, api.Volume[]>>();
  expectType<Equal<podman.Volume, docker.Volume>>();
  expectType<Equal<Awaited<ReturnType<typeof podman.enterVolume>>, api.Session>>();
  expectType<Equal<Awaited<ReturnType<typeof docker.importVolume>>, api.ExtractResult>>();
  expectType<Equal<api.Volume['containers'], string[] | null>>();
  // @ts-expect-error importVolume takes a tar source
  void podman.importVolume('v');
}

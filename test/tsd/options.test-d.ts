// The types that follow the options, checked by tsd (test/types.test.ts runs
// it on the built declarations, dist/index.d.ts): expectType is an exact
// match, so each line fails if the type is wider or narrower than stated,
// and expectError fails unless the call is a type error.
import { expectAssignable, expectError, expectType } from 'tsd';
import {
  docker,
  host,
  podman,
  walk,
  walkBatches,
  type BigIntStats,
  type Entry,
  type FsError,
  type Stats,
  type UnshareFsError,
  type UnshareFsErrorCode,
} from '../..';

type Picked<K extends keyof Stats> = Pick<Stats, K>;
type ModeMembers = 'mode' | 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice';

export async function walks(): Promise<void> {
  // Without `stat` there are no stats at all.
  for await (const entry of walk('/')) expectType<undefined>(entry.stats);
  for await (const entry of walk('/', { stat: false })) expectType<undefined>(entry.stats);
  // stat: true gives a whole Stats, never undefined: no `!` needed.
  for await (const entry of walk('/', { stat: true })) {
    expectType<Stats>(entry.stats);
    expectType<number>(entry.stats.uid);
    expectType<string>(entry.fullPath);
  }
  for await (const entry of host.walk('/', { stat: true, filter: (e) => e.isFile() })) expectType<Stats>(entry.stats);
  // bigint: true gives BigIntStats.
  for await (const entry of walk('/', { stat: true, bigint: true })) {
    expectType<BigIntStats>(entry.stats);
    expectType<bigint>(entry.stats.size);
  }
  // A field list gives exactly those fields (and what is computed from them).
  for await (const entry of walk('/', { stat: ['size', 'mode'] })) {
    expectType<Picked<'size' | ModeMembers>>(entry.stats);
    expectType<number>(entry.stats.size);
    expectType<boolean>(entry.stats.isFile());
    expectError(entry.stats.uid);
    expectError(entry.stats.mtimeMs);
  }
  for await (const entry of walk('/', { stat: ['uid', 'mtime'] })) {
    expectType<Picked<'uid' | 'hostUid' | 'mtime' | 'mtimeMs'>>(entry.stats);
    expectError(entry.stats.size);
  }
  for await (const entry of walk('/', { stat: ['atime'], bigint: true })) {
    expectType<Pick<BigIntStats, 'atime' | 'atimeMs' | 'atimeNs'>>(entry.stats);
  }
  // encoding: 'buffer' gives Buffers.
  for await (const entry of walk('/', { encoding: 'buffer', stat: true })) {
    expectType<Entry<Buffer, Stats>>(entry);
  }
  // Options not known at compile time: the union of what they may give.
  const options: { stat: boolean; bigint: boolean } = { stat: true, bigint: false };
  for await (const entry of walk('/', options)) expectType<Stats | BigIntStats | undefined>(entry.stats);
  for await (const batch of walkBatches('/', { stat: true })) expectType<Entry<string, Stats>[]>(batch);
  const dirents = await host.readdir('/', { withFileTypes: true });
  expectType<undefined>(dirents[0]!.stats);
  expectError(walk('/', { stat: ['colour'] }));
  expectError(walk('/', { maxDepth: '3' }));
}

export async function walkCallbacks(): Promise<void> {
  // prune takes the entry as filter does, and must answer a boolean.
  for await (const entry of walk('/', { stat: true, prune: (dir) => dir.name === 'node_modules' })) expectType<Stats>(entry.stats);
  walk('/', { prune: (dir) => (expectType<string | Buffer>(dir.fullPath), false) });
  expectError(walk('/', { prune: 'node_modules' }));
  expectError(walk('/', { prune: (dir: Entry<string>) => dir.name.length }));
  // onError may answer (false ends the walk), or not (a push's number, nothing: it goes on).
  const errors: FsError[] = [];
  walk('/', { onError: (error) => (expectType<FsError>(error), error.code !== 'EACCES') });
  walk('/', { onError: (error) => errors.push(error) });
  walk('/', { onError: () => undefined });
  // onProgress of every long job: entries, then bytes.
  walk('/', { onProgress: (entries, bytes) => (expectType<number>(entries), expectType<number>(bytes)) });
  await host.du('/', { onProgress: (entries, bytes) => (expectType<number>(entries), expectType<number>(bytes)) });
  host.exportTar('/', { onProgress: (entries, bytes) => (expectType<number>(entries), expectType<number>(bytes)) });
  await host.extractTar(host.exportTar('/'), '/tmp', { onProgress: (entries) => expectType<number>(entries) });
  podman.exportVolume('v', { onProgress: (entries, bytes) => (expectType<number>(entries), expectType<number>(bytes)) });
  await docker.importVolume('v', host.exportTar('/'), { onProgress: (entries) => expectType<number>(entries) });
  expectError(host.du('/', { onProgress: (entries: string) => entries }));
}

export async function nodeOptions(): Promise<void> {
  // node:fs's options type-check as node's own, and URLs are paths.
  expectType<Promise<string>>(host.readlink('/x', 'hex'));
  expectType<Promise<Buffer>>(host.readlink('/x', { encoding: 'buffer' }));
  expectType<Promise<string[]>>(host.readdir(new URL('file:///tmp'), 'latin1'));
  expectType<Promise<void>>(host.writeFile(new URL('file:///tmp/x'), 'x', { flag: 'r+', flush: true }));
  expectType<Promise<Buffer>>(host.readFile('/x', { flag: 'a+' }));
  host.createWriteStream('/x', { flags: 'r+', start: 2, emitClose: false, autoClose: true, flush: true, fd: null, fs: null });
  host.createReadStream('/x', { flags: 'rs', encoding: 'utf8', mode: 0o600, emitClose: false, autoClose: true });
  await host.rm('/x', { recursive: true, maxRetries: 3, retryDelay: 10 });
  await host.rmdir('/x', { recursive: true, maxRetries: 3 });
  // Keys that are no option of node's, and flags that are not in its table, are errors.
  expectError(host.rm('/x', { maxRetry: 3 }));
  expectError(host.writeFile('/x', 'x', { flag: 'rw' }));
  expectError(host.createWriteStream('/x', { fd: 3 }));
  expectError(host.stat(42));
}

export function codes(
  fsError: FsError,
  libraryError: UnshareFsError,
  podmanError: podman.PodmanError,
  dockerError: docker.DockerError,
): void {
  // Literal unions: a misspelt code is a compile error, not a silent false.
  expectError<typeof fsError.code>('ENOENTT');
  expectAssignable<typeof fsError.code>('ENOENT');
  expectType<UnshareFsErrorCode>(libraryError.code);
  expectError<typeof libraryError.code>('ECLOSD');
  expectAssignable<typeof libraryError.code>('ECLOSED');
  expectType<podman.PodmanErrorCode>(podmanError.code);
  expectError<typeof podmanError.code>('ENOPE');
  expectType<docker.DockerErrorCode>(dockerError.code);
  expectError<typeof dockerError.code>('ENOPE');
}

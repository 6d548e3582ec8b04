/**
 * An engine's public functions (podman.*, docker.*) over its adapter, each
 * checking its arguments (a TypeError or RangeError with node's `code`,
 * naming the argument and the function) before the shared code trusts
 * them.  lib/podman/index.ts and lib/docker/index.ts hold the documented
 * signatures and hand their arguments here; they are async functions where
 * a promise is returned, so a bad argument rejects there as it always did.
 */
import type { Readable } from 'node:stream';

import { checkString, invalid } from '../core/checks';
import type { LayerChange } from '../layers/diff';
import type { ExportOptions } from '../layers/export';
import type { ExtractResult } from '../layers/extract';
import type { Session } from '../ns/session';
import type { AdapterContainer, AdapterImage, EngineAdapter, Volume } from './adapter';
import { engineCheckers, type EngineCheckers } from './arguments';
import * as layers from './layers';
import { mountContainer, mountImage, type MountedLayers } from './mount';
import { enterContainer, enterMerged, enterStorage } from './session';
import * as volumes from './volumes';

/** The checked functions of one engine; `O` its options, `C`, `I` its records, `L` its listing options. */
export interface EngineApi<O, C, I, L> {
  /** The checks of its options, for the functions the engine has alone. */
  check: EngineCheckers<O, O & { root?: string }, O & { signal?: AbortSignal }, O & ExportOptions, L>;
  container(nameOrIdPrefix: unknown, options: unknown): C;
  image(ref: unknown, options: unknown): I;
  layerChain(layerId: unknown, options: unknown): string[];
  enterStorage(options: unknown): Promise<Session>;
  enterMerged(nameOrId: unknown, options: unknown): Promise<Session>;
  enterContainer(nameOrId: unknown, options: unknown): Promise<Session>;
  mountContainer(nameOrId: unknown, options: unknown): Promise<MountedLayers<C, I>>;
  mountImage(ref: unknown, options: unknown): Promise<MountedLayers<C, I>>;
  diff(nameOrId: unknown, options: unknown): Promise<LayerChange[]>;
  exportContainer(nameOrId: unknown, options: unknown): Readable;
  exportLayer(nameOrId: unknown, options: unknown): Readable;
  volumes(options: unknown): Volume[];
  volume(name: unknown, options: unknown): Volume;
  enterVolume(name: unknown, options: unknown): Promise<Session>;
  exportVolume(name: unknown, options: unknown): Readable;
  importVolume(name: unknown, source: unknown, options: unknown): Promise<ExtractResult>;
}

/** A tar source as FileSystem#extractTar takes it: a Readable or any async iterable of bytes. */
function checkTarSource(source: unknown): AsyncIterable<Buffer | Uint8Array | string> {
  if (source === null || source === undefined || typeof (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== 'function') {
    throw invalid('source', 'a Readable or an async iterable of Buffers', source);
  }
  return source as AsyncIterable<Buffer | Uint8Array | string>;
}

/** The functions every engine has, checked, over `adapter`. */
export function engineApi<
  O extends object,
  C extends AdapterContainer,
  I extends AdapterImage,
  L extends { onError?: unknown } = O & { onError?: unknown },
>(adapter: EngineAdapter<O, C, I>): EngineApi<O, C, I, L> {
  const check = engineCheckers<O, O & { root?: string }, O & { signal?: AbortSignal }, O & ExportOptions, L>(adapter.optionKeys);
  /**
   * A function of a name (the argument `argument`) and options checked by
   * `checkOptions` for the public function `what`: the name first, as the
   * public functions always checked them.
   */
  const named =
    <P, R>(argument: string, what: string, checkOptions: (options: unknown, what: string) => P, run: (name: string, options: P) => R) =>
    (value: unknown, options: unknown): R => {
      const name = checkString(argument, value);
      return run(name, checkOptions(options, what));
    };
  return {
    check,
    container: named('nameOrIdPrefix', 'container', check.options, (name, o) => adapter.container(name, o)),
    image: named('ref', 'image', check.options, (ref, o) => adapter.image(ref, o)),
    layerChain: named('layerId', 'layerChain', check.options, (id, o) => adapter.layerChain(id, o)),
    enterStorage: (options) => enterStorage(adapter, check.session(options, 'enterStorage')),
    enterMerged: named('nameOrId', 'enterMerged', check.options, (name, o) => enterMerged(adapter, name, o)),
    enterContainer: named('nameOrId', 'enterContainer', check.session, (name, o) => enterContainer(adapter, name, o)),
    mountContainer: named('nameOrId', 'mountContainer', check.options, (name, o) => mountContainer(adapter, name, o)),
    mountImage: named('ref', 'mountImage', check.options, (ref, o) => mountImage(adapter, ref, o)),
    diff: named('nameOrId', 'diff', check.diff, (name, o) => layers.diff(adapter, name, o)),
    exportContainer: named('nameOrId', 'exportContainer', check.export, (name, o) => layers.exportContainer(adapter, name, o)),
    exportLayer: named('nameOrId', 'exportLayer', check.export, (name, o) => layers.exportLayer(adapter, name, o)),
    volumes: (options) => adapter.volumes(check.options(options, 'volumes')),
    volume: named('name', 'volume', check.options, (name, o) => volumes.volume(adapter, name, o)),
    enterVolume: named('name', 'enterVolume', check.options, (name, o) => volumes.enterVolume(adapter, name, o)),
    exportVolume: named('name', 'exportVolume', check.export, (name, o) => volumes.exportVolume(adapter, name, o)),
    importVolume: (name, source, options) => {
      const volumeName = checkString('name', name);
      const tar = checkTarSource(source);
      return volumes.importVolume(adapter, volumeName, tar, check.import(options, 'importVolume'));
    },
  };
}

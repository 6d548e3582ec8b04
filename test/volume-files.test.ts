// podman.volumes() and docker.volumes() over engine files made by hand in
// a temp dir (graphRoot, dataRoot): libpod's bolt_state.db and Docker's
// volumes/metadata.db laid out by test/helpers/bolt-writer.ts, each field
// read where the engine keeps it; and the engine's files as hostile input
// (a database that is a symlink or garbage, a record that is not JSON, a
// planted symlink for _data): the front end's STORAGE error, never
// followed, never quoted.  No engine needed.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { docker, podman } from '../lib';
import { boltFile } from './helpers/bolt-writer';
import { removeTree, tempDir } from './helpers/tree';

const ID1 = '1'.repeat(64);
const ID2 = '2'.repeat(64);
let root: string;

beforeEach(() => {
  root = tempDir('unshare-fs-volume-files-');
  for (const name of ['alpha', 'beta']) fs.mkdirSync(path.join(root, 'volumes', name, '_data'), { recursive: true });
  fs.writeFileSync(path.join(root, 'volumes', 'backingFsBlockDev'), '');
  fs.mkdirSync(path.join(root, 'libpod'));
});
afterEach(() => removeTree(root));

const config = (value: unknown): string => JSON.stringify(value);

describe('podman: the volumes dir and libpod/bolt_state.db', () => {
  const db = (): string => path.join(root, 'libpod', 'bolt_state.db');

  test("each volume's config and the containers whose configs name it", () => {
    const created = '2026-12-07T13:18:27.009336403Z';
    fs.writeFileSync(
      db(),
      boltFile({
        vol: {
          alpha: {
            config: config({ name: 'alpha', volumeDriver: 'local', labels: { k: 'v' }, createdAt: created }),
            'vol-dependencies': { [ID1]: ID1 },
          },
        },
        ctr: {
          [ID2]: { config: config({ id: ID2, namedVolumes: [{ volumeName: 'alpha' }, { volumeName: 'beta' }] }) },
          [ID1]: { config: config({ id: ID1, namedVolumes: [{ volumeName: 'alpha', dest: '/data' }] }) },
        },
      }),
    );
    expect(podman.volumes({ graphRoot: root })).toEqual([
      {
        name: 'alpha',
        mountPoint: path.join(root, 'volumes', 'alpha', '_data'),
        driver: 'local',
        labels: { k: 'v' },
        createdAt: created,
        containers: [ID1, ID2],
      },
      {
        name: 'beta',
        mountPoint: path.join(root, 'volumes', 'beta', '_data'),
        driver: null,
        labels: null,
        createdAt: null,
        containers: [ID2],
      },
    ]);
    expect(podman.volume('beta', { graphRoot: root }).containers).toEqual([ID2]);
  });

  test('without a database: the volumes, and null for what only it says', () => {
    expect(podman.volumes({ graphRoot: root }).map((v) => [v.name, v.driver, v.labels, v.createdAt, v.containers])).toEqual([
      ['alpha', null, null, null, null],
      ['beta', null, null, null, null],
    ]);
  });

  test('a database that is a symlink, garbage, or holds a record that is no JSON: EPODMANSTORAGE, not quoted', () => {
    fs.symlinkSync('/etc/shadow', db());
    expect(() => podman.volumes({ graphRoot: root })).toThrow(expect.objectContaining({ code: 'EPODMANSTORAGE' }));
    fs.unlinkSync(db());
    fs.writeFileSync(db(), Buffer.alloc(16384, 'root:x:0:0'));
    expect(() => podman.volumes({ graphRoot: root })).toThrow(expect.objectContaining({ code: 'EPODMANSTORAGE' }));
    fs.writeFileSync(db(), boltFile({ ctr: { [ID1]: { config: 'secret-text{' } } }));
    let message = '';
    expect(() => {
      try {
        podman.volumes({ graphRoot: root });
      } catch (error) {
        message = (error as Error).message;
        throw error;
      }
    }).toThrow(expect.objectContaining({ code: 'EPODMANSTORAGE' }));
    expect(message).not.toContain('secret');
  });

  test('a _data planted as a symlink: not listed, and volume() says why', () => {
    fs.mkdirSync(path.join(root, 'volumes', 'planted'));
    fs.symlinkSync('/etc', path.join(root, 'volumes', 'planted', '_data'));
    expect(podman.volumes({ graphRoot: root }).map((v) => v.name)).toEqual(['alpha', 'beta']);
    expect(() => podman.volume('planted', { graphRoot: root })).toThrow(expect.objectContaining({ code: 'EPODMANSTORAGE' }));
    expect(() => podman.volume('gamma', { graphRoot: root })).toThrow(expect.objectContaining({ code: 'ENOVOLUME' }));
  });
});

describe("Docker: the volumes dir, volumes/metadata.db and the containers' config.v2.json", () => {
  function container(id: string, mountPoints: unknown): void {
    fs.mkdirSync(path.join(root, 'containers', id), { recursive: true });
    fs.writeFileSync(path.join(root, 'containers', id, 'config.v2.json'), config({ ID: id, MountPoints: mountPoints }));
  }

  test('driver and labels from metadata.db, createdAt the mtime of _data, users from MountPoints of Type volume', () => {
    fs.writeFileSync(
      path.join(root, 'volumes', 'metadata.db'),
      boltFile({ volumes: { alpha: config({ Name: 'alpha', Driver: 'local', Labels: { k: 'v' } }) } }),
    );
    container(ID1, { '/data': { Type: 'volume', Name: 'alpha', Destination: '/data' }, '/b': { Type: 'bind', Source: '/srv' } });
    container(ID2, { '/x': { Type: 'volume', Name: 'beta' }, '/y': { Type: 'volume', Name: 'alpha' } });
    const mtime = (name: string): string => fs.statSync(path.join(root, 'volumes', name, '_data')).mtime.toISOString();
    expect(docker.volumes({ dataRoot: root })).toEqual([
      {
        name: 'alpha',
        mountPoint: path.join(root, 'volumes', 'alpha', '_data'),
        driver: 'local',
        labels: { k: 'v' },
        createdAt: mtime('alpha'),
        containers: [ID1, ID2],
      },
      {
        name: 'beta',
        mountPoint: path.join(root, 'volumes', 'beta', '_data'),
        driver: null,
        labels: null,
        createdAt: mtime('beta'),
        containers: [ID2],
      },
    ]);
  });

  test('a metadata.db that is a symlink: EDOCKERSTORAGE; a container record that is no JSON: not counted', () => {
    container(ID1, { '/data': { Type: 'volume', Name: 'alpha' } });
    fs.mkdirSync(path.join(root, 'containers', ID2));
    fs.writeFileSync(path.join(root, 'containers', ID2, 'config.v2.json'), '{not json');
    expect(docker.volume('alpha', { dataRoot: root }).containers).toEqual([ID1]);
    fs.symlinkSync('/etc/shadow', path.join(root, 'volumes', 'metadata.db'));
    expect(() => docker.volumes({ dataRoot: root })).toThrow(expect.objectContaining({ code: 'EDOCKERSTORAGE' }));
  });
});

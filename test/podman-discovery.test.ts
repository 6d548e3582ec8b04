// Podman discovery (lib/podman/index.ts): (a) unit tests on fake storage trees made
// in a temp dir; (b) checks against real podman for the current uid (rootless
// for an ordinary user, rootful for root), gated on podman and the seed
// scenario (scripts/podman-scenario.sh) being there.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as podman from '../lib/podman';
import { podmanLayerFormat } from '../lib/podman/adapter';
import { podman as podmanReady, requirement, requires, which, withDetail } from './helpers/requirements';
import { thrown } from './helpers/thrown';

const UID = process.getuid ? process.getuid() : 0;

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'unshare-fs-podman-'));
}

function write(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(podman.PodmanError);
    return (err as podman.PodmanError).code;
  }
  return undefined;
}

const hex = (c: string): string => c.repeat(64).slice(0, 64);

// --------------------------------------------------------------- (a) unit

describe('storage.conf as TOML', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpdir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** storageConfig() of a rootless user whose storage.conf is `text`. */
  function withConf(text: string) {
    const conf = path.join(dir, 'storage.conf');
    write(conf, text);
    return podman.storageConfig({ uid: 4242, home: dir, env: { XDG_RUNTIME_DIR: '/x' }, storageConf: conf });
  }

  it('reads string keys of [storage] and skips everything else', () => {
    const c = withConf(`
# comment
top = "level"
[storage]
driver = "overlay"   # trailing comment
graphroot = '/literal/path'
"runroot" = "/run/with \\"quote\\" and \\u00e9"
[storage.options]
additionalimagestores = [
  "graphroot = '/not/a/key'",
  "/x",
]
mount_program = "/usr/bin/fuse-overlayfs"
[[weird]]
graphroot = "/array/of/tables"
`);
    expect(c).toMatchObject({ driver: 'overlay', graphRoot: '/literal/path', runRoot: '/run/with "quote" and é' });
  });

  it("reads the overlay driver's mount_program where containers-storage looks for it", () => {
    expect(withConf('[storage]\ndriver = "overlay"\n')).toMatchObject({ mountProgram: null });
    const fuse = '/usr/bin/fuse-overlayfs';
    expect(withConf(`[storage]\n[storage.options.overlay]\nmount_program = "${fuse}"\n`)).toMatchObject({ mountProgram: fuse });
    expect(withConf(`[storage]\n[storage.options]\nmount_program = "${fuse}"\n`)).toMatchObject({ mountProgram: fuse });
    // [storage.options.overlay] wins over the older [storage.options].
    expect(withConf(`[storage.options]\nmount_program = "/old"\n[storage.options.overlay]\nmount_program = "${fuse}"\n`)).toMatchObject({
      mountProgram: fuse,
    });
    expect(thrown(() => withConf('[storage.options.overlay]\nmount_program = 1\n')).code).toBe('EPODMANSTORAGE');
    expect(thrown(() => withConf('[storage]\noptions = "x"\n')).code).toBe('EPODMANSTORAGE');
  });

  it('reads dotted keys', () => {
    expect(withConf('storage.driver = "vfs"\nstorage.graphroot = "/dotted/g"\n')).toMatchObject({ driver: 'vfs', graphRoot: '/dotted/g' });
  });

  it('reads inline tables', () => {
    expect(withConf('storage = { driver = "vfs", runroot = "/inline/r" }\n')).toMatchObject({ driver: 'vfs', runRoot: '/inline/r' });
  });

  it('does not read a `graphroot =` line inside a multi-line string as a key', () => {
    const c = withConf('[storage]\ndriver = "overlay"\nnote = """\ngraphroot = "/in/a/string"\n"""\n');
    expect(c.graphRoot).toBe(path.join(dir, '.local/share/containers/storage'));
  });

  it('refuses duplicate keys and malformed files: EPODMANSTORAGE saying where, quoting nothing of the file', () => {
    for (const text of ['[storage]\ngraphroot = "/a"\ngraphroot = "/b"\n', '[storage\ndriver = "unterminated\n']) {
      const conf = path.join(dir, 'storage.conf');
      write(conf, text);
      let caught: unknown;
      try {
        podman.storageConfig({ uid: 4242, home: dir, env: { XDG_RUNTIME_DIR: '/x' }, storageConf: conf });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(podman.PodmanError);
      expect((caught as podman.PodmanError).code).toBe('EPODMANSTORAGE');
      expect((caught as podman.PodmanError).path).toBe(conf);
      expect((caught as Error).cause).toBeUndefined();
      expect((caught as Error).message).toMatch(/line \d+, column \d+/);
      expect((caught as Error).message).not.toContain('/a');
      expect((caught as Error).message).not.toContain('unterminated');
    }
  });

  it('a non-string value of a key we read is EPODMANSTORAGE', () => {
    expect(codeOf(() => withConf('[storage]\ngraphroot = 5\n'))).toBe('EPODMANSTORAGE');
  });
});

describe('storageConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpdir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('defaults for a rootless user', () => {
    const home = path.join(dir, 'home');
    const run = path.join(dir, 'run');
    const c = podman.storageConfig({ uid: 4242, home, env: { XDG_RUNTIME_DIR: run } });
    expect(c.rootless).toBe(true);
    expect(c.graphRoot).toBe(path.join(home, '.local/share/containers/storage'));
    expect(c.runRoot).toBe(path.join(run, 'containers'));
    expect(c.runtimeDir).toBe(run);
    expect(c.driver).toBe('overlay');
  });

  it('honours XDG_DATA_HOME and XDG_CONFIG_HOME', () => {
    const home = path.join(dir, 'home');
    write(path.join(dir, 'cfg/containers/storage.conf'), '[storage]\ndriver = "overlay"\nrunroot = "/r/x"\n');
    const c = podman.storageConfig({
      uid: 4242,
      home,
      env: { XDG_RUNTIME_DIR: '/run/user/4242', XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'cfg') },
    });
    expect(c.graphRoot).toBe(path.join(dir, 'data/containers/storage'));
    expect(c.runRoot).toBe('/r/x');
    expect(c.configFile).toBe(path.join(dir, 'cfg/containers/storage.conf'));
  });

  it("reads the user's ~/.config/containers/storage.conf", () => {
    const home = path.join(dir, 'home');
    write(path.join(home, '.config/containers/storage.conf'), '[storage]\ndriver = "overlay"\ngraphroot = "/g/x"\nrunroot = "/r/x"\n');
    const c = podman.storageConfig({ uid: 4242, home, env: { XDG_RUNTIME_DIR: '/run/user/4242' } });
    expect(c).toMatchObject({ graphRoot: '/g/x', runRoot: '/r/x', driver: 'overlay' });
  });

  it('CONTAINERS_STORAGE_CONF wins, and rootless_storage_path expands $HOME', () => {
    const home = path.join(dir, 'home');
    write(path.join(home, '.config/containers/storage.conf'), '[storage]\ngraphroot = "/ignored"\n');
    const conf = path.join(dir, 'custom.conf');
    write(conf, '[storage]\ndriver = "vfs"\nrootless_storage_path = "$HOME/elsewhere"\n');
    const c = podman.storageConfig({ uid: 4242, home, env: { CONTAINERS_STORAGE_CONF: conf, XDG_RUNTIME_DIR: '/x' } });
    expect(c.configFile).toBe(conf);
    expect(c.graphRoot).toBe(path.join(home, 'elsewhere'));
    expect(c.driver).toBe('vfs');
  });

  it('STORAGE_DRIVER overrides the file; explicit roots override everything', () => {
    const conf = path.join(dir, 'c.conf');
    write(conf, '[storage]\ndriver = "overlay"\ngraphroot = "/g"\n');
    const c = podman.storageConfig({
      uid: 4242,
      home: dir,
      env: { STORAGE_DRIVER: 'vfs', XDG_RUNTIME_DIR: '/x' },
      storageConf: conf,
      runRoot: '/explicit/run',
    });
    expect(c).toMatchObject({ driver: 'vfs', graphRoot: '/g', runRoot: '/explicit/run' });
  });

  it('rootful defaults and overrides', () => {
    const missing = path.join(dir, 'none.conf');
    const d = podman.storageConfig({ uid: 0, env: {}, storageConf: missing });
    expect(d).toMatchObject({
      rootless: false,
      graphRoot: '/var/lib/containers/storage',
      runRoot: '/run/containers/storage',
      runtimeDir: null,
      configFile: null,
    });
    const conf = path.join(dir, 'root.conf');
    write(conf, '[storage]\ndriver = "overlay"\ngraphroot = "/srv/containers"\nrunroot = "/run/alt"\n');
    expect(podman.storageConfig({ uid: 0, env: { CONTAINERS_STORAGE_CONF: conf } })).toMatchObject({
      graphRoot: '/srv/containers',
      runRoot: '/run/alt',
      configFile: conf,
    });
  });
});

/** A fake rootless store: base <- mid <- {ctr layers}; l/ links; lower files. */
function makeStore(root: string) {
  const graph = path.join(root, 'graph');
  const run = path.join(root, 'run');
  const ov = path.join(graph, 'overlay');
  const base = hex('1');
  const mid = hex('2');
  const layerA = hex('3');
  const layerB = hex('4');
  const layerC = hex('5');
  const short: Record<string, string> = {
    [base]: 'BASESHORT',
    [mid]: 'MIDSHORT',
    [layerA]: 'ASHORT',
    [layerB]: 'BSHORT',
    [layerC]: 'CSHORT',
  };
  for (const [id, s] of Object.entries(short)) {
    for (const d of ['diff', 'work', 'merged']) fs.mkdirSync(path.join(ov, id, d), { recursive: true });
    write(path.join(ov, id, 'link'), s);
    fs.mkdirSync(path.join(ov, 'l'), { recursive: true });
    fs.symlinkSync(`../${id}/diff`, path.join(ov, 'l', s));
  }
  write(path.join(ov, mid, 'lower'), 'l/BASESHORT');
  for (const l of [layerA, layerB]) write(path.join(ov, l, 'lower'), 'l/MIDSHORT:l/BASESHORT');
  // layerC has no lower file: the parent chain from layers.json is used
  write(
    path.join(graph, 'overlay-layers/layers.json'),
    JSON.stringify([
      { id: base, created: '2024-01-01T00:00:00Z' },
      { id: mid, parent: base },
      { id: layerA, names: ['c-one-layer'], parent: mid },
      { id: layerB, names: ['c-two-layer'], parent: mid },
    ]),
  );
  write(path.join(run, 'overlay-layers/volatile-layers.json'), JSON.stringify([{ id: layerC, parent: mid }]));
  const idOne = 'abc1' + hex('a').slice(4);
  const idTwo = 'abc2' + hex('b').slice(4);
  const idThree = 'ffff' + hex('c').slice(4);
  write(
    path.join(graph, 'overlay-containers/containers.json'),
    JSON.stringify([
      {
        id: idOne,
        names: ['c-one'],
        image: hex('9'),
        layer: layerA,
        metadata: JSON.stringify({ 'image-name': 'localhost/x:latest', name: 'c-one' }),
        created: '2024-01-02T00:00:00Z',
      },
      { id: idTwo, names: ['c-two'], image: hex('9'), layer: layerB, created: '2024-01-03T00:00:00Z' },
      { id: idThree, names: ['abc1'], image: hex('9'), layer: layerC, created: '2024-01-04T00:00:00Z' },
    ]),
  );
  write(
    path.join(run, 'overlay-layers/mountpoints.json'),
    JSON.stringify([
      { id: layerA, path: path.join(ov, layerA, 'merged'), count: 1 },
      { id: layerB, path: '', count: 0 },
    ]),
  );
  const dead = spawnSync('true').pid;
  write(path.join(run, `overlay-containers/${idOne}/userdata/pidfile`), String(process.pid)); // no newline, as podman
  write(path.join(run, `overlay-containers/${idOne}/userdata/conmon.pid`), `${process.pid}\n`);
  write(path.join(run, `overlay-containers/${idTwo}/userdata/pidfile`), String(dead));
  const opts: podman.PodmanOptions = {
    uid: 4242,
    home: root,
    env: {},
    storageConf: path.join(root, 'none'),
    graphRoot: graph,
    runRoot: run,
    runtimeDir: run,
  };
  return { graph, run, ov, base, mid, layerA, layerB, layerC, idOne, idTwo, idThree, opts };
}

describe('containers, layers and chains on a fake store', () => {
  let dir: string;
  let s: ReturnType<typeof makeStore>;
  beforeAll(() => {
    dir = tmpdir();
    s = makeStore(dir);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("says whose markers the layers hold: fuse-overlayfs's where a mount program runs for the store", () => {
    const flag = path.join(s.ov, '.has-mount-program');
    try {
      expect(podmanLayerFormat(s.opts)).toBe('overlay');
      // What containers-storage writes where the kernel's overlay mounts, and where a mount program ran.
      write(flag, 'false');
      expect(podmanLayerFormat(s.opts)).toBe('overlay');
      write(flag, 'true');
      expect(podmanLayerFormat(s.opts)).toBe('fuse-overlayfs');
      fs.rmSync(flag);
      fs.symlinkSync('/etc/passwd', flag);
      expect(thrown(() => podmanLayerFormat(s.opts)).code).toBe('EPODMANSTORAGE');
      fs.rmSync(flag);
      const conf = path.join(dir, 'fuse.conf');
      write(conf, '[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"\n');
      expect(podmanLayerFormat({ ...s.opts, storageConf: conf })).toBe('fuse-overlayfs');
    } finally {
      fs.rmSync(flag, { force: true });
    }
  });

  it('lists containers with their overlay dirs, mount state and pids', () => {
    const all = podman.containers(s.opts);
    expect(all.map((c) => c.names[0])).toEqual(['c-one', 'c-two', 'abc1']);
    const [one, two, three] = all;
    expect(one).toEqual({
      id: s.idOne,
      names: ['c-one'],
      image: hex('9'),
      imageName: 'localhost/x:latest',
      layer: s.layerA,
      created: '2024-01-02T00:00:00Z',
      mergedDir: path.join(s.ov, s.layerA, 'merged'),
      upperDir: path.join(s.ov, s.layerA, 'diff'),
      workDir: path.join(s.ov, s.layerA, 'work'),
      lowerDirs: [path.join(s.ov, s.mid, 'diff'), path.join(s.ov, s.base, 'diff')],
      mounted: true,
      mountPoint: path.join(s.ov, s.layerA, 'merged'),
      pid: process.pid,
      conmonPid: process.pid,
    });
    expect(two).toMatchObject({ mounted: false, mountPoint: null, pid: null, conmonPid: null, imageName: null });
    // no lower file: falls back to the parent chain (volatile layer's parent)
    expect(three?.lowerDirs).toEqual([path.join(s.ov, s.mid, 'diff'), path.join(s.ov, s.base, 'diff')]);
  });

  it('finds a container by exact name, exact id, or unique id prefix', () => {
    expect(podman.container('c-two', s.opts).id).toBe(s.idTwo);
    expect(podman.container(s.idOne, s.opts).names).toEqual(['c-one']);
    expect(podman.container('ffff', s.opts).id).toBe(s.idThree);
    expect(podman.container('abc2', s.opts).id).toBe(s.idTwo);
    // an exact name beats an id prefix
    expect(podman.container('abc1', s.opts).id).toBe(s.idThree);
  });

  it('rejects an ambiguous prefix, listing the candidates', () => {
    let err: podman.PodmanError | undefined;
    try {
      podman.container('abc', s.opts);
    } catch (e) {
      err = e as podman.PodmanError;
    }
    expect(err).toBeInstanceOf(podman.PodmanError);
    expect(err?.code).toBe('EPODMANAMBIGUOUS');
    expect(err?.candidates).toEqual([s.idOne, s.idTwo]);
    expect(err?.message).toContain(s.idOne);
    expect(err?.message).toContain(s.idTwo);
  });

  it('rejects an unknown container with ENOCONTAINER', () => {
    expect(codeOf(() => podman.container('nope', s.opts))).toBe('ENOCONTAINER');
    // An empty name is a bad argument (test/surface.test.ts), not a name no container has.
    expect(() => podman.container('', s.opts)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('lists layers with their parent chains, persistent and volatile', () => {
    const ls = podman.layers(s.opts);
    const byId = new Map(ls.map((l) => [l.id, l]));
    expect(ls).toHaveLength(5);
    expect(byId.get(s.base)).toMatchObject({ parent: null, parents: [], created: '2024-01-01T00:00:00Z' });
    expect(byId.get(s.layerA)).toMatchObject({
      names: ['c-one-layer'],
      parent: s.mid,
      parents: [s.mid, s.base],
      mounted: true,
      diffDir: path.join(s.ov, s.layerA, 'diff'),
    });
    expect(byId.get(s.layerC)?.parents).toEqual([s.mid, s.base]);
    expect(byId.get(s.layerB)?.mounted).toBe(false);
  });

  it('layerChain resolves lower l/ links, top to bottom', () => {
    const d = (id: string) => path.join(s.ov, id, 'diff');
    expect(podman.layerChain(s.layerA, s.opts)).toEqual([d(s.layerA), d(s.mid), d(s.base)]);
    expect(podman.layerChain(s.mid, s.opts)).toEqual([d(s.mid), d(s.base)]);
    expect(podman.layerChain(s.base, s.opts)).toEqual([d(s.base)]);
    expect(podman.layerChain('3333', s.opts)).toEqual([d(s.layerA), d(s.mid), d(s.base)]);
    expect(codeOf(() => podman.layerChain(hex('7'), s.opts))).toBe('ENOLAYER');
  });

  it('an empty or missing store has no containers', () => {
    const empty = tmpdir();
    try {
      const o = { ...s.opts, graphRoot: path.join(empty, 'g'), runRoot: path.join(empty, 'r') };
      expect(podman.containers(o)).toEqual([]);
      expect(podman.layers(o)).toEqual([]);
      expect(codeOf(() => podman.container('c-one', o))).toBe('ENOCONTAINER');
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('containers.json linked to a secret: not followed, EPODMANSTORAGE, nothing of it quoted', () => {
    const secrets = tmpdir();
    const bad = tmpdir();
    try {
      const shadow = path.join(secrets, 'shadow');
      fs.writeFileSync(shadow, 'root:*:20209:0:99999:7:::\n', { mode: 0o600 });
      const file = path.join(bad, 'g/overlay-containers/containers.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.symlinkSync(shadow, file);
      const o = { ...s.opts, graphRoot: path.join(bad, 'g'), runRoot: path.join(bad, 'r') };
      const error = thrown(() => podman.containers(o));
      expect(error).toMatchObject({ code: 'EPODMANSTORAGE', path: file });
      expect(error.message).not.toContain('root:');
      // A linked file that would parse: not read either.
      fs.writeFileSync(shadow, JSON.stringify([{ id: hex('e'), names: ['leaked'], layer: s.layerA }]));
      expect(thrown(() => podman.containers(o))).toMatchObject({ code: 'EPODMANSTORAGE', path: file });
      // Bad JSON: where, not what.
      fs.rmSync(file);
      fs.writeFileSync(file, '[{"id": "sekrit');
      expect(thrown(() => podman.containers(o)).message).not.toContain('sekrit');
    } finally {
      fs.rmSync(secrets, { recursive: true, force: true });
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  it('lower dirs are resolved beneath overlay/: a layer dir that is a symlink out costs its container only, reported', async () => {
    const outside = tmpdir();
    fs.mkdirSync(path.join(outside, 'diff'));
    const containersJson = path.join(s.graph, 'overlay-containers/containers.json');
    const saved = fs.readFileSync(containersJson, 'utf8');
    const lowerFile = path.join(s.ov, s.layerB, 'lower');
    const savedLower = fs.readFileSync(lowerFile, 'utf8');
    const evil = hex('d');
    try {
      // c-two's lower: l/EVIL -> ../<evil>/diff, and overlay/<evil> is a symlink out of the store.
      fs.symlinkSync(outside, path.join(s.ov, evil));
      fs.symlinkSync(`../${evil}/diff`, path.join(s.ov, 'l', 'EVIL'));
      write(lowerFile, 'l/EVIL:l/BASESHORT');
      expect(thrown(() => podman.layerChain(s.layerB, s.opts))).toMatchObject({ code: 'EPODMANSTORAGE', path: lowerFile });
      const errors: podman.PodmanError[] = [];
      expect(podman.containers({ ...s.opts, onError: (e) => errors.push(e) }).map((c) => c.names[0])).toEqual(['c-one', 'abc1']);
      expect(errors.map((e) => [e.code, e.path])).toEqual([['EPODMANSTORAGE', lowerFile]]);
      // Asked for by name or id, it is its error; nothing is mounted.
      expect(thrown(() => podman.container('c-two', s.opts))).toMatchObject({ code: 'EPODMANSTORAGE' });
      expect(thrown(() => podman.container(s.idTwo, s.opts))).toMatchObject({ code: 'EPODMANSTORAGE' });
      await expect(podman.mountContainer('c-two', s.opts)).rejects.toMatchObject({ code: 'EPODMANSTORAGE' });
      // Without a lower file, the parent chain of layers.json is checked the same way.
      fs.rmSync(lowerFile);
      const layersJson = path.join(s.graph, 'overlay-layers/layers.json');
      const savedLayers = fs.readFileSync(layersJson, 'utf8');
      try {
        const layerRecords = JSON.parse(savedLayers) as { id: string; parent?: string }[];
        write(layersJson, JSON.stringify([...layerRecords, { id: evil }].map((l) => (l.id === s.layerB ? { ...l, parent: evil } : l))));
        expect(thrown(() => podman.layerChain(s.layerB, s.opts))).toMatchObject({ code: 'EPODMANSTORAGE' });
        write(layersJson, JSON.stringify(layerRecords.map((l) => (l.id === s.layerB ? { ...l, parent: '../../..' } : l))));
        expect(thrown(() => podman.layerChain(s.layerB, s.opts))).toMatchObject({ code: 'EPODMANSTORAGE' });
      } finally {
        write(layersJson, savedLayers);
      }
    } finally {
      write(lowerFile, savedLower);
      write(containersJson, saved);
      fs.rmSync(path.join(s.ov, evil), { force: true });
      fs.rmSync(path.join(s.ov, 'l', 'EVIL'), { force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
    expect(podman.containers(s.opts).map((c) => c.names[0])).toEqual(['c-one', 'c-two', 'abc1']);
  });

  it('a vfs store: <driver>-* records, layer dirs under vfs/dir, one whose dir is a symlink left out and told', () => {
    const v = tmpdir();
    try {
      const g = path.join(v, 'g');
      const vfsDir = path.join(g, 'vfs', 'dir');
      const [base, top, good, linked] = [hex('1'), hex('2'), hex('3'), hex('4')];
      for (const id of [base, top, good]) fs.mkdirSync(path.join(vfsDir, id), { recursive: true });
      fs.symlinkSync('/etc', path.join(vfsDir, linked));
      write(
        path.join(g, 'vfs-layers', 'layers.json'),
        JSON.stringify([{ id: base }, { id: top, parent: base }, { id: good, parent: top }, { id: linked, parent: top }]),
      );
      write(path.join(g, 'vfs-images', 'images.json'), JSON.stringify([{ id: hex('9'), names: ['localhost/v:latest'], layer: top }]));
      write(
        path.join(g, 'vfs-containers', 'containers.json'),
        JSON.stringify([
          { id: hex('a'), names: ['v-good'], image: hex('9'), layer: good },
          { id: hex('b'), names: ['v-linked'], image: hex('9'), layer: linked },
        ]),
      );
      const o = { ...s.opts, graphRoot: g, runRoot: path.join(v, 'r'), env: { STORAGE_DRIVER: 'vfs' } };
      const told: string[] = [];
      const listed = podman.containers({ ...o, onError: (error) => told.push(error.code) });
      expect(listed).toEqual([
        expect.objectContaining({
          names: ['v-good'],
          mergedDir: path.join(vfsDir, good),
          upperDir: path.join(vfsDir, good),
          workDir: '',
          lowerDirs: [],
        }),
      ]);
      expect(told).toEqual(['EPODMANSTORAGE']);
      expect(codeOf(() => podman.container('v-linked', o))).toBe('EPODMANSTORAGE');
      expect(podman.layerChain(good, o)).toEqual([good, top, base].map((id) => path.join(vfsDir, id)));
      expect(codeOf(() => podman.layerChain(linked, o))).toBe('EPODMANSTORAGE');
      expect(podman.image('localhost/v', o).layer).toBe(top);
      expect(podman.layers(o).find((l) => l.id === top)?.diffDir).toBe(path.join(vfsDir, top));
    } finally {
      fs.rmSync(v, { recursive: true, force: true });
    }
  });

  it('a corrupt containers.json is EPODMANSTORAGE; another driver is EPODMANDRIVER', () => {
    const bad = tmpdir();
    try {
      write(path.join(bad, 'g/overlay-containers/containers.json'), '[{"id": ');
      const o = { ...s.opts, graphRoot: path.join(bad, 'g'), runRoot: path.join(bad, 'r') };
      expect(codeOf(() => podman.containers(o))).toBe('EPODMANSTORAGE');
      expect(codeOf(() => podman.containers({ ...o, env: { STORAGE_DRIVER: 'btrfs' } }))).toBe('EPODMANDRIVER');
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe('pausePid', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    dir = tmpdir();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    child?.kill('SIGKILL');
    child = undefined;
  });
  const pidFile = () => path.join(dir, 'libpod/tmp/pause.pid');
  const opts = () => ({ uid: UID, runtimeDir: dir });

  it('is ENOPODMAN without a pid file', () => {
    expect(podman.pausePidFile(opts())).toBe(pidFile());
    expect(codeOf(() => podman.pausePid(opts()))).toBe('ENOPODMAN');
  });

  it('is EPODMANSTALE for a dead pid, a reused pid or garbage', () => {
    const dead = spawnSync('true').pid;
    write(pidFile(), String(dead));
    expect(codeOf(() => podman.pausePid(opts()))).toBe('EPODMANSTALE');
    write(pidFile(), String(process.pid)); // alive, but not a pause process
    expect(codeOf(() => podman.pausePid(opts()))).toBe('EPODMANSTALE');
    write(pidFile(), 'not a pid\n');
    expect(codeOf(() => podman.pausePid(opts()))).toBe('EPODMANSTALE');
  });

  it('returns a live process that has _PODMAN_PAUSE=1', async () => {
    const sleep = which('sleep') ?? '/bin/sleep';
    child = spawn(sleep, ['60'], { env: { _PODMAN_PAUSE: '1' }, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      child?.once('spawn', () => resolve());
      child?.once('error', reject);
    });
    write(pidFile(), `${child.pid}\n`);
    expect(podman.pausePid(opts())).toBe(child.pid);
    // the same pause process, seen as another user's, is stale
    expect(codeOf(() => podman.pausePid({ uid: UID + 1, runtimeDir: dir }))).toBe('EPODMANSTALE');
  });

  it('is EPODMANROOTFUL for uid 0', () => {
    expect(codeOf(() => podman.pausePid({ uid: 0 }))).toBe('EPODMANROOTFUL');
  });
});

// ------------------------------------------------- (b) against real podman

function podmanCmd(args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', timeout: 60000, cwd: '/' });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() || String(r.error ?? '') };
}

const SCENARIO = ['contenedor1', 'contenedor2'];

const podmanScenario = requirement('podmanScenario', () => {
  const ready = podmanReady.check();
  if (ready !== true) return ready;
  const r = podmanCmd(['inspect', '--format', '{{.State.Running}}', ...SCENARIO]);
  if (!r.ok) {
    return withDetail(`seed scenario not running for uid ${UID} (run scripts/podman-scenario.sh)`, r.err);
  }
  return r.out.split('\n').every((l) => l.trim() === 'true') || 'contenedor1/contenedor2 exist but are not running';
});

interface GraphDriverData {
  LowerDir?: string;
  MergedDir: string;
  UpperDir: string;
  WorkDir: string;
}

requires(podmanScenario).describe(`real podman for uid ${UID} (${UID === 0 ? 'rootful' : 'rootless'})`, () => {
  it('finds the same storage as podman info', () => {
    const info = podmanCmd(['info', '--format', '{{.Store.GraphRoot}}\t{{.Store.RunRoot}}\t{{.Store.GraphDriverName}}']);
    expect(info.ok).toBe(true);
    const [graphRoot, runRoot, driver] = info.out.split('\t');
    expect(podman.storageConfig()).toMatchObject({ graphRoot, runRoot, driver, rootless: UID !== 0 });
  });

  it.each(SCENARIO)('%s: dirs equal podman inspect GraphDriver.Data', (name) => {
    const r = podmanCmd(['inspect', '--format', '{{.Id}}\t{{.State.Pid}}\t{{json .GraphDriver.Data}}', name]);
    expect(r.ok).toBe(true);
    const [id, pid, json] = r.out.split('\t');
    if (id === undefined || pid === undefined || json === undefined) throw new Error(`podman inspect printed not 3 fields: ${r.out}`);
    const data = JSON.parse(json) as GraphDriverData;
    const c = podman.container(name);
    expect(c.id).toBe(id);
    expect(c.names).toContain(name);
    expect(c.mergedDir).toBe(data.MergedDir);
    expect(c.upperDir).toBe(data.UpperDir);
    expect(c.workDir).toBe(data.WorkDir);
    expect(c.lowerDirs).toEqual(data.LowerDir ? data.LowerDir.split(':') : []);
    expect(c.mounted).toBe(true);
    expect(c.mountPoint).toBe(data.MergedDir);
    expect(c.pid).toBe(Number(pid));
    expect(podman.layerChain(c.layer)).toEqual([c.upperDir, ...c.lowerDirs]);
    expect(podman.container(id.slice(0, 12)).id).toBe(id);
    expect(podman.containers().map((x) => x.id)).toContain(id);
    const layer = podman.layers().find((l) => l.id === c.layer);
    expect(layer?.mounted).toBe(true);
    expect(layer?.parents.length).toBeGreaterThanOrEqual(1);
  });

  if (UID === 0) {
    it('rootful podman has no pause process', () => {
      expect(codeOf(() => podman.pausePid())).toBe('EPODMANROOTFUL');
    });
  } else {
    it('pausePid() equals the pause pid file', () => {
      const file = podman.pausePidFile();
      const expected = Number(fs.readFileSync(file, 'utf8').trim());
      expect(podman.pausePid()).toBe(expected);
      const environ = fs.readFileSync(`/proc/${expected}/environ`, 'latin1').split('\0');
      expect(environ).toContain('_PODMAN_PAUSE=1');
    });
  }
});

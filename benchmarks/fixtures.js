'use strict';
// Deterministic container-like trees for the walk benchmarks.
//
// A tree is shaped like a Linux rootfs with an application on top: usr/lib
// and usr/share/doc with many small files, a deep node_modules graph, a few
// wide directories of 5,000 entries, symlinks, empty files and a few bigger
// files. The same size and seed always give the same tree, and the tree has
// exactly `entries` entries below its root, so every competitor's count can
// be checked against the marker written next to it.
//
//   node benchmarks/fixtures.js [small|large|NAME=ENTRIES ...]
//
// Trees live in benchmarks/fixtures/<name>/ (or $UNSHARE_FS_BENCH_DIR/<name>/)
// with <name>.json beside them; a tree is reused while its marker matches.

const fs = require('node:fs');
const path = require('node:path');

// Bump when the shape changes so old trees are regenerated.
const GENERATOR_VERSION = 2;
const SEED = 0x5eed2024;

const FIXTURE_SIZES = { small: Number(process.env.UNSHARE_FS_BENCH_SMALL) || 75_000,
  large: Number(process.env.UNSHARE_FS_BENCH_LARGE) || 1_000_000 };
const WIDE_DIR_ENTRIES = 5_000;
const fixturesBaseDir = () => path.resolve(process.env.UNSHARE_FS_BENCH_DIR || path.join(__dirname, 'fixtures'));

// mulberry32: tiny, fast and good enough to make shapes look organic.
function makeRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)], chance: (probability) => next() < probability,
    // Most files in a rootfs are small; sizes spread over a few decades.
    smallFileSize: () => Math.floor(Math.pow(10, 1 + next() * 3.2)),
  };
}

const CONTENT = Buffer.alloc(16 * 1024 * 1024);
for (let i = 0; i < CONTENT.length; i++) CONTENT[i] = (i * 131 + (i >> 9)) & 0xff;

// Creates entries until the budget is spent, so the tree's size is exact.
class TreeBuilder {
  constructor(root, budget) {
    Object.assign(this, { root, remaining: budget, created: 0 });
  }

  get spent() {
    return this.remaining <= 0;
  }

  /** Spends one entry of the budget on `make(absolute path)`; false once it is spent. */
  make(relative, make) {
    if (this.remaining <= 0) return false;
    this.remaining--;
    this.created++;
    make(path.join(this.root, relative));
    return true;
  }

  dir(relative) {
    return this.make(relative, (p) => fs.mkdirSync(p));
  }

  file(relative, size) {
    return this.make(relative, (p) => (size === 0 ? fs.closeSync(fs.openSync(p, 'w')) : fs.writeFileSync(p, CONTENT.subarray(0, size))));
  }

  symlink(target, relative) {
    return this.make(relative, (p) => fs.symlinkSync(target, p));
  }

  // Gives a section its own budget; whatever it leaves unused returns here.
  section(share, build) {
    const budget = Math.min(this.remaining, Math.floor(share));
    const child = new TreeBuilder(this.root, budget);
    build(child);
    this.remaining -= child.created;
    this.created += child.created;
  }
}

const WORDS = ['alpha', 'base', 'core', 'data', 'event', 'fast', 'glob', 'http', 'io', 'json', 'kit', 'lib', 'map',
  'net', 'opt', 'parse', 'query', 'read', 'stream', 'tool', 'util', 'view', 'web', 'xml', 'yaml', 'zip'];
const wordName = (random, index) => `${random.pick(WORDS)}-${random.pick(WORDS)}${index}`;

function buildSkeleton(builder) {
  const dirs = ['usr', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'usr/share', 'usr/share/doc', 'usr/share/man',
    'usr/share/man/man3', 'usr/share/locale', 'usr/include', 'usr/local', 'usr/lib/python3',
    'usr/lib/python3/dist-packages', 'usr/lib/x86_64-linux-gnu', 'etc', 'var', 'var/lib', 'var/log', 'var/cache',
    'var/lib/dpkg', 'var/lib/dpkg/info', 'home', 'root', 'tmp', 'opt', 'srv', 'mnt', 'proc', 'sys', 'dev', 'run',
    'app', 'app/node_modules', 'app/node_modules/.bin', 'usr/share/icons', 'usr/share/icons/hicolor'];
  for (const dir of dirs) builder.dir(dir);
  // Merged-/usr layout, as in current Debian and Fedora images.
  builder.symlink('usr/bin', 'bin');
  builder.symlink('usr/sbin', 'sbin');
  builder.symlink('usr/lib', 'lib');
  builder.symlink('usr/lib64', 'lib64');
  builder.file('etc/hostname', 12);
  builder.file('etc/os-release', 380);
  builder.file('app/package.json', 900);
}

// A few real multi-megabyte files (libLLVM, locale archive, an app bundle).
function buildBigFiles(builder) {
  const bigFiles = [
    ['usr/lib/x86_64-linux-gnu/libLLVM-15.so.1', 8],
    ['usr/lib/locale-archive', 3],
    ['app/bundle.js', 2],
    ['var/cache/ldconfig-aux-cache', 1],
  ];
  for (const [relative, mebibytes] of bigFiles) builder.file(relative, mebibytes * 1024 * 1024);
}

function buildEtc(builder, random) {
  for (let i = 0; !builder.spent; i++) {
    const dir = `etc/${wordName(random, i)}.d`;
    if (!builder.dir(dir)) return;
    const files = random.int(1, 8);
    for (let f = 0; f < files; f++) builder.file(`${dir}/${f}-${random.pick(WORDS)}.conf`, random.smallFileSize());
    if (random.chance(0.2)) builder.symlink(`../${dir.slice(4)}/0.conf`, `${dir}/default`);
  }
}

// Wide directories: usr/bin, the multiarch lib dir, man3 pages, dpkg's info
// dir and icon themes all reach thousands of entries in real images.
function buildWideDir(builder, random, dir, index) {
  const [prefix, suffix] = [['', ''], ['lib', '.so.1'], ['', '.3.gz'], ['', '.list'], ['icon-', '.png']][index];
  for (let i = 0; i < WIDE_DIR_ENTRIES && !builder.spent; i++) {
    const name = `${prefix}${wordName(random, i)}${suffix}`;
    if (index === 1 && random.chance(0.3)) builder.symlink(`${name}.2.0`, `${dir}/${name}`);
    else builder.file(`${dir}/${name}`, random.chance(0.03) ? 0 : random.smallFileSize());
  }
}

const WIDE_DIRS = ['usr/bin', 'usr/lib/x86_64-linux-gnu', 'usr/share/man/man3', 'var/lib/dpkg/info', 'usr/share/icons/hicolor'];

function buildDocs(builder, random) {
  const docFiles = ['copyright', 'changelog.Debian.gz', 'README', 'NEWS.gz', 'changelog.gz', 'TODO', 'AUTHORS'];
  for (let i = 0; !builder.spent; i++) {
    const dir = `usr/share/doc/${wordName(random, i)}`;
    if (!builder.dir(dir)) return;
    const files = random.int(1, docFiles.length);
    for (let f = 0; f < files; f++) builder.file(`${dir}/${docFiles[f]}`, random.smallFileSize());
    if (random.chance(0.15) && builder.dir(`${dir}/examples`)) {
      const examples = random.int(1, 12);
      for (let e = 0; e < examples; e++) {
        builder.file(`${dir}/examples/example${e}.${random.pick(['c', 'py', 'sh', 'conf'])}`, random.smallFileSize());
      }
    }
  }
}

function buildLocale(builder, random) {
  const languages = ['de', 'fr', 'es', 'it', 'ja', 'ko', 'pt_BR', 'ru', 'zh_CN', 'zh_TW', 'pl', 'nl', 'sv', 'cs', 'tr',
    'uk', 'fi', 'da', 'hu', 'el'];
  for (let l = 0; !builder.spent; l++) {
    const language = l < languages.length ? languages[l] : `${languages[l % languages.length]}@${l}`;
    const dir = `usr/share/locale/${language}`;
    if (!builder.dir(dir) || !builder.dir(`${dir}/LC_MESSAGES`)) return;
    const catalogs = random.int(20, 400);
    for (let c = 0; c < catalogs; c++) builder.file(`${dir}/LC_MESSAGES/${wordName(random, c)}.mo`, random.smallFileSize());
  }
}

function buildPythonPackage(builder, random, dir, depth) {
  if (!builder.dir(dir)) return;
  builder.file(`${dir}/__init__.py`, random.chance(0.6) ? 0 : random.smallFileSize());
  const cache = random.chance(0.7) && builder.dir(`${dir}/__pycache__`);
  const modules = random.int(2, 14);
  for (let m = 0; m < modules && !builder.spent; m++) {
    const module = `${random.pick(WORDS)}_${m}`;
    builder.file(`${dir}/${module}.py`, random.smallFileSize());
    if (cache) builder.file(`${dir}/__pycache__/${module}.cpython-311.pyc`, random.smallFileSize());
  }
  if (depth < 4) {
    const subpackages = random.int(0, 3);
    for (let s = 0; s < subpackages; s++) buildPythonPackage(builder, random, `${dir}/${random.pick(WORDS)}${s}`, depth + 1);
  }
}

function buildPython(builder, random) {
  for (let i = 0; !builder.spent; i++) {
    const name = `${random.pick(WORDS)}_${random.pick(WORDS)}${i}`;
    buildPythonPackage(builder, random, `usr/lib/python3/dist-packages/${name}`, 0);
    if (!builder.spent) builder.dir(`usr/lib/python3/dist-packages/${name}-1.${i % 10}.dist-info`);
  }
}

// node_modules as npm leaves it when versions conflict: packages nest inside
// packages, which makes paths long and the tree deep.
function buildNpmPackage(builder, random, modulesDir, depth, counter) {
  const name = `${random.pick(WORDS)}-${random.pick(WORDS)}-${counter.next++}`;
  const dir = `${modulesDir}/${name}`;
  if (!builder.dir(dir)) return;
  builder.file(`${dir}/package.json`, random.int(400, 3000));
  builder.file(`${dir}/README.md`, random.smallFileSize());
  builder.file(`${dir}/LICENSE`, 1075);
  builder.file(`${dir}/index.js`, random.smallFileSize());
  const layout = random.pick(['lib', 'dist', 'flat', 'src+dist']);
  const sourceDirs = layout === 'flat' ? [] : layout === 'src+dist' ? ['src', 'dist'] : [layout];
  for (const sourceDir of sourceDirs) {
    if (!builder.dir(`${dir}/${sourceDir}`)) return;
    const files = random.int(2, 24);
    for (let f = 0; f < files; f++) {
      builder.file(`${dir}/${sourceDir}/${random.pick(WORDS)}${f}.js`, random.smallFileSize());
      if (sourceDir === 'dist' && random.chance(0.5)) {
        builder.file(`${dir}/${sourceDir}/${random.pick(WORDS)}${f}.d.ts`, random.smallFileSize());
      }
    }
  }
  if (random.chance(0.1)) builder.symlink(`../${name}/index.js`, `${modulesDir}/.bin/${name}`);
  const nestedCount = depth < 7 && random.chance(0.45 - depth * 0.05) ? random.int(1, 4) : 0;
  if (nestedCount > 0 && builder.dir(`${dir}/node_modules`)) {
    builder.dir(`${dir}/node_modules/.bin`);
    for (let n = 0; n < nestedCount; n++) buildNpmPackage(builder, random, `${dir}/node_modules`, depth + 1, counter);
  }
}

function buildNodeModules(builder, random) {
  const counter = { next: 0 };
  while (!builder.spent) buildNpmPackage(builder, random, 'app/node_modules', 0, counter);
}

function buildHeaders(builder, random) {
  for (let i = 0; !builder.spent; i++) {
    const dir = `usr/include/${wordName(random, i)}`;
    if (!builder.dir(dir)) return;
    const headers = random.int(3, 40);
    for (let h = 0; h < headers; h++) builder.file(`${dir}/${random.pick(WORDS)}${h}.h`, random.smallFileSize());
    if (random.chance(0.3) && builder.dir(`${dir}/bits`)) {
      for (let h = 0; h < 10; h++) builder.file(`${dir}/bits/b${h}.h`, random.smallFileSize());
    }
  }
}

// Spends whatever the other sections left, so the total is exact.
function buildIconThemes(builder, random) {
  const sizes = ['16x16', '22x22', '24x24', '32x32', '48x48', '64x64', 'scalable'];
  const categories = ['actions', 'apps', 'devices', 'mimetypes', 'places', 'status'];
  for (let t = 0; !builder.spent; t++) {
    const theme = `usr/share/icons/theme${t}`;
    if (!builder.dir(theme)) return;
    for (const size of sizes) {
      if (!builder.dir(`${theme}/${size}`)) return;
      for (const category of categories) {
        if (!builder.dir(`${theme}/${size}/${category}`)) return;
        const icons = random.int(10, 60);
        for (let i = 0; i < icons; i++) builder.file(`${theme}/${size}/${category}/${wordName(random, i)}.png`, random.smallFileSize());
      }
    }
  }
}

function buildTree(root, entries) {
  const random = makeRandom(SEED);
  const builder = new TreeBuilder(root, entries);
  builder.section(entries, buildSkeleton);
  builder.section(entries, buildBigFiles);
  // Two wide dirs in a 75k tree, five in a 1M one: "a few", not a third of it.
  const wideDirs = Math.max(1, Math.min(WIDE_DIRS.length, Math.ceil(entries / 200_000) + 1));
  for (let w = 0; w < wideDirs; w++) builder.section(WIDE_DIR_ENTRIES, (b) => buildWideDir(b, random, WIDE_DIRS[w], w));
  const rest = builder.remaining;
  builder.section(rest * 0.02, (b) => buildEtc(b, random));
  builder.section(rest * 0.15, (b) => buildDocs(b, random));
  builder.section(rest * 0.06, (b) => buildLocale(b, random));
  builder.section(rest * 0.15, (b) => buildPython(b, random));
  builder.section(rest * 0.05, (b) => buildHeaders(b, random));
  builder.section(rest * 0.45, (b) => buildNodeModules(b, random));
  builder.section(builder.remaining, (b) => buildIconThemes(b, random));
  return builder.created;
}

function readMarker(markerPath) {
  try {
    return JSON.parse(fs.readFileSync(markerPath, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Returns { name, root, entries } for a fixture, generating it first unless
 * a tree made by this generator version with this size is already there.
 */
function ensureFixture(name, requestedEntries = FIXTURE_SIZES[name], log = console.error) {
  if (!Number.isInteger(requestedEntries) || requestedEntries < 100) {
    throw new Error(`fixture ${name}: size must be an integer >= 100, got ${requestedEntries}`);
  }
  const base = fixturesBaseDir();
  const root = path.join(base, name);
  const markerPath = path.join(base, `${name}.json`);
  const marker = readMarker(markerPath);
  if (marker?.generatorVersion === GENERATOR_VERSION && marker.requestedEntries === requestedEntries && fs.existsSync(root)) {
    return { name, root, entries: marker.entries };
  }
  log(`generating fixture "${name}" (${requestedEntries} entries) in ${root} ...`);
  const started = process.hrtime.bigint();
  fs.rmSync(markerPath, { force: true });
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const entries = buildTree(root, requestedEntries);
  log(`generated ${entries} entries in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
  // Written last: an interrupted generation leaves no marker and is redone.
  fs.writeFileSync(`${markerPath}.tmp`, `${JSON.stringify({ generatorVersion: GENERATOR_VERSION, seed: SEED,
    requestedEntries, entries, generatedAt: new Date().toISOString() }, null, 2)}\n`);
  fs.renameSync(`${markerPath}.tmp`, markerPath);
  return { name, root, entries };
}

// The streams section's file: a 1 MiB xorshift block written 256 times, so
// it is not sparse (every page is real and stays in the page cache after the
// warm-up) and does not compress.
const STREAM_BYTES = 256 * 1024 * 1024;
const STREAM_MARKER = { generatorVersion: 1, seed: 0x5eed5eed, bytes: STREAM_BYTES };

/** Returns the path of the 256 MiB file, writing it unless it is already there. */
function ensureStreamFile(log = console.error) {
  const file = path.join(fixturesBaseDir(), 'stream-256MiB.bin');
  const markerPath = path.join(fixturesBaseDir(), 'stream-256MiB.json');
  const marker = readMarker(markerPath);
  if (marker?.generatorVersion === STREAM_MARKER.generatorVersion && marker.bytes === STREAM_BYTES &&
      fs.statSync(file, { throwIfNoEntry: false })?.size === STREAM_BYTES) return file;
  log(`generating ${file} (${STREAM_BYTES / 1024 / 1024} MiB) ...`);
  fs.mkdirSync(fixturesBaseDir(), { recursive: true });
  fs.rmSync(markerPath, { force: true });
  const block = Buffer.alloc(1024 * 1024);
  let state = STREAM_MARKER.seed;
  for (let i = 0; i < block.length; i += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    block.writeUInt32LE(state >>> 0, i);
  }
  const fd = fs.openSync(`${file}.tmp`, 'w', 0o644);
  try {
    for (let written = 0; written < STREAM_BYTES; written += block.length) fs.writeSync(fd, block);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
  fs.writeFileSync(markerPath, `${JSON.stringify({ ...STREAM_MARKER, generatedAt: new Date().toISOString() }, null, 2)}\n`);
  return file;
}

module.exports = { ensureFixture, ensureStreamFile, FIXTURE_SIZES, STREAM_BYTES };

if (require.main === module) {
  const names = process.argv.slice(2);
  for (const spec of names.length > 0 ? names : ['small']) {
    const [name, size] = spec.split('=');
    const fixture = ensureFixture(name, size ? Number(size) : FIXTURE_SIZES[name]);
    console.log(`${fixture.name}: ${fixture.entries} entries in ${fixture.root}`);
  }
}

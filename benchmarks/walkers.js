'use strict';
// The JavaScript competitors, as they run inside a trial's child process.
// Each walker has prepare() (module loading, outside the timed region) and
// run(root) -> { entries, sizeSum }, where entries excludes root itself and
// sizeSum adds up lstat sizes (null when the walker does not stat).

const fs = require('node:fs');
const path = require('node:path');
const { loadLibrary } = require('./library');

// Bounded like a real consumer would bound it: an unbounded Promise.all over
// a million lstat calls measures the allocator, not the file system.
const LSTAT_CONCURRENCY = 64;

function isRoot(root, entryPath) {
  return entryPath === root || entryPath === `${root}/`;
}

let library;

const unshareWalkFullStat = {
  prepare() {
    library = loadLibrary();
  },
  async run(root) {
    let entries = 0;
    let sizeSum = 0;
    for await (const entry of library.walk(root, { stat: true })) {
      if (isRoot(root, entry.fullPath)) continue;
      entries++;
      sizeSum += entry.stats.size;
    }
    return { entries, sizeSum };
  },
};

const unshareWalkBatchesFullStat = {
  prepare() {
    library = loadLibrary();
  },
  async run(root) {
    let entries = 0;
    let sizeSum = 0;
    for await (const batch of library.walkBatches(root, { stat: true })) {
      for (const entry of batch) {
        if (isRoot(root, entry.fullPath)) continue;
        entries++;
        sizeSum += entry.stats.size;
      }
    }
    return { entries, sizeSum };
  },
};

const unshareWalkTypesOnly = {
  prepare() {
    library = loadLibrary();
  },
  async run(root) {
    let entries = 0;
    let directories = 0;
    for await (const entry of library.walk(root, { stat: false })) {
      if (isRoot(root, entry.fullPath)) continue;
      entries++;
      // Touch the type so a lazily decoded entry pays for it.
      if (entry.type === 'directory') directories++;
    }
    return { entries, sizeSum: null, directories };
  },
};

let fdir;

function crawlWithFdir(root) {
  return new fdir().withFullPaths().withDirs().crawl(root);
}

const fdirLstatSync = {
  prepare() {
    ({ fdir } = require('fdir'));
  },
  async run(root) {
    let entries = 0;
    let sizeSum = 0;
    for (const entryPath of crawlWithFdir(root).sync()) {
      if (isRoot(root, entryPath)) continue;
      entries++;
      sizeSum += fs.lstatSync(entryPath).size;
    }
    return { entries, sizeSum };
  },
};

const fdirLstatAsync = {
  prepare() {
    ({ fdir } = require('fdir'));
  },
  async run(root) {
    const paths = (await crawlWithFdir(root).withPromise()).filter((p) => !isRoot(root, p));
    let sizeSum = 0;
    let next = 0;
    const lstatWorker = async () => {
      while (next < paths.length) {
        const stats = await fs.promises.lstat(paths[next++]);
        sizeSum += stats.size;
      }
    };
    await Promise.all(Array.from({ length: LSTAT_CONCURRENCY }, lstatWorker));
    return { entries: paths.length, sizeSum };
  },
};

let fsWalk;

const nodelibWalkStats = {
  prepare() {
    fsWalk = require('@nodelib/fs.walk');
  },
  async run(root) {
    const walked = await new Promise((resolve, reject) => {
      fsWalk.walk(root, { stats: true }, (error, entries) => (error ? reject(error) : resolve(entries)));
    });
    let sizeSum = 0;
    for (const entry of walked) sizeSum += entry.stats.size;
    return { entries: walked.length, sizeSum };
  },
};

const nodeReaddirRecursiveLstat = {
  prepare() {},
  async run(root) {
    let entries = 0;
    let sizeSum = 0;
    for (const dirent of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
      entries++;
      // parentPath arrived in Node 20.12; older 20.x only has the deprecated path.
      sizeSum += fs.lstatSync(path.join(dirent.parentPath ?? dirent.path, dirent.name)).size;
    }
    return { entries, sizeSum };
  },
};

// The prune section (prune.js): a walk without stats, whole or with every
// directory named PRUNE_NAME left out, by each walker's own way of pruning.
const PRUNE_NAME = 'node_modules';

function typesWalker(pruned) {
  return {
    prepare() {
      library = loadLibrary();
    },
    async run(root) {
      let entries = 0;
      let directories = 0;
      const options = pruned ? { exclude: [PRUNE_NAME] } : {};
      for await (const batch of library.walkBatches(root, options)) {
        for (const entry of batch) {
          entries++;
          if (entry.type === 'directory') directories++;
        }
      }
      return { entries, sizeSum: null, directories };
    },
  };
}

function fdirWalker(pruned) {
  return {
    prepare() {
      ({ fdir } = require('fdir'));
    },
    async run(root) {
      let crawler = new fdir().withFullPaths().withDirs();
      // fdir's exclude: a directory it matches is not crawled.
      if (pruned) crawler = crawler.exclude((name) => name === PRUNE_NAME);
      const paths = await crawler.crawl(root).withPromise();
      return { entries: paths.filter((p) => !isRoot(root, p)).length, sizeSum: null };
    },
  };
}

function nodelibWalker(pruned) {
  return {
    prepare() {
      fsWalk = require('@nodelib/fs.walk');
    },
    async run(root) {
      // deepFilter: a directory it refuses is not read; entryFilter leaves
      // the directory itself out too, as exclude does.
      const keep = (entry) => entry.name !== PRUNE_NAME;
      const options = pruned ? { deepFilter: keep, entryFilter: keep } : {};
      const walked = await new Promise((resolve, reject) => {
        fsWalk.walk(root, options, (error, entries) => (error ? reject(error) : resolve(entries)));
      });
      return { entries: walked.length, sizeSum: null };
    },
  };
}

module.exports = {
  'unshare-types-whole': typesWalker(false),
  'unshare-types-exclude': typesWalker(true),
  'fdir-types-whole': fdirWalker(false),
  'fdir-types-exclude': fdirWalker(true),
  'nodelib-types-whole': nodelibWalker(false),
  'nodelib-types-deepfilter': nodelibWalker(true),
  'unshare-walk-stat': unshareWalkFullStat,
  'unshare-batches-stat': unshareWalkBatchesFullStat,
  'unshare-walk-types': unshareWalkTypesOnly,
  'fdir-lstat-sync': fdirLstatSync,
  'fdir-lstat-async': fdirLstatAsync,
  'nodelib-walk-stats': nodelibWalkStats,
  'node-readdir-lstat': nodeReaddirRecursiveLstat,
};

'use strict';
// Loads the unshare-fs build under test through its package entry only:
// this checkout's (`require('..')`: package.json's main, dist/index.js), or
// the build in $UNSHARE_FS_BENCH_LIB (--compare-lib: an older build's dist/
// directory, loaded through its index.js). Never a file inside dist/, whose
// layout is the library's own business.

const path = require('node:path');

/** Where the build under test is loaded from, for the report. */
function libraryPath() {
  if (process.env.UNSHARE_FS_BENCH_LIB) return path.resolve(process.env.UNSHARE_FS_BENCH_LIB);
  try {
    return path.dirname(require.resolve('..'));
  } catch {
    return path.join(__dirname, '..');
  }
}

class LibraryNotBuiltError extends Error {
  constructor(where, cause) {
    super(`unshare-fs is not built (cannot load ${where}: ${cause.message.split('\n')[0]}); ` +
      'run `npm run build:ts` (and `npm run build:native` for the addon)');
    this.name = 'LibraryNotBuiltError';
  }
}

function loadLibrary() {
  const dir = process.env.UNSHARE_FS_BENCH_LIB;
  let library;
  try {
    library = dir ? require(path.resolve(dir)) : require('..');
  } catch (error) {
    throw new LibraryNotBuiltError(libraryPath(), error);
  }
  for (const name of ['walk', 'walkBatches']) {
    if (typeof library[name] !== 'function') throw new LibraryNotBuiltError(libraryPath(), new Error(`it exports no ${name}()`));
  }
  return library;
}

module.exports = { loadLibrary, libraryPath, LibraryNotBuiltError };

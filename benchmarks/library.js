'use strict';
// Loads the unshare-fs build under test: dist/ (the compiled lib/) by
// default, or the directory in $UNSHARE_FS_BENCH_LIB, which is how an older
// build of this library is benchmarked against the current one.

const path = require('node:path');

const DEFAULT_LIBRARY = path.join(__dirname, '..', 'dist');

function libraryPath() {
  return process.env.UNSHARE_FS_BENCH_LIB
    ? path.resolve(process.env.UNSHARE_FS_BENCH_LIB)
    : DEFAULT_LIBRARY;
}

class LibraryNotBuiltError extends Error {
  constructor(where, cause) {
    super(`unshare-fs is not built (cannot load ${where}: ${cause.message.split('\n')[0]}); ` +
      'run `npm run build:ts` (and `npm run build:native` for the addon)');
    this.name = 'LibraryNotBuiltError';
  }
}

function loadLibrary() {
  const where = libraryPath();
  let library;
  try {
    library = require(where);
  } catch (error) {
    throw new LibraryNotBuiltError(where, error);
  }
  for (const name of ['walk', 'walkBatches']) {
    if (typeof library[name] !== 'function') {
      throw new LibraryNotBuiltError(where, new Error(`it exports no ${name}()`));
    }
  }
  return library;
}

module.exports = { loadLibrary, libraryPath, LibraryNotBuiltError };

#!/usr/bin/env bash
# test-asan.sh — run the native-heavy tests against an ASan + UBSan build.
#
# Usage: bash scripts/test-asan.sh [JEST_ARGS...]
#
# 1. Builds the addon with cmake-js (CMakeLists.txt, UNSHARE_FS_SANITIZE=ON)
#    and clang++-19 (UNSHARE_FS_ASAN_CXX; Debian: clang-19, libclang-rt-19-dev)
#    into build-asan/, only when build-asan/Release/unshare_fs.node is
#    missing, older than native/*.{cc,h} or CMakeLists.txt, or built by
#    another compiler.  Node's headers come from this machine
#    (npm_config_nodedir, default: node's own prefix), never from the network.
#    Why clang 19: the workers are forked from node, whose other threads
#    allocate all the time.  GCC 12's ASan runtime does not lock its
#    allocator around fork(), so a worker forked while another thread held
#    an allocator lock waited for it forever at its first malloc (seen in
#    CI, and within a minute by a stress loop).  LLVM 19's runtime takes
#    those locks in a pthread_atfork handler, as glibc's malloc does.
# 2. Compiles lib/ into dist/ (fixtures that run in child nodes load dist/),
#    then runs jest --runInBand on the native-heavy test files that exist, with
#    UNSHARE_FS_ADDON pointing at that build and the sanitizer runtimes
#    preloaded into node (node itself is not instrumented).  The forked
#    worker and holder processes inherit the preload and keep stderr, so a
#    report there lands in the same output.
# 3. Fails (exit 1) if jest fails or if any sanitizer report appears in the
#    combined output, even one from a child whose death jest did not notice.
#    The full output is kept in build-asan/test-asan.log.
set -uo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
out=build-asan
addon=$out/Release/unshare_fs.node
log=$out/test-asan.log

die() { echo "test-asan: $*" >&2; exit 2; }

# --- build ---------------------------------------------------------------
cxx=${UNSHARE_FS_ASAN_CXX:-clang++-19}
command -v "$cxx" >/dev/null ||
  die "$cxx not found (Debian: apt-get install clang-19 libclang-rt-19-dev)"
runtime=$("$cxx" -print-file-name=libclang_rt.asan-x86_64.so)
[ -f "$runtime" ] ||
  die "$cxx has no shared ASan runtime (Debian: apt-get install libclang-rt-19-dev)"

stale=
if [ ! -f "$addon" ]; then
  stale="missing"
elif ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$(command -v "$cxx")" "$out/CMakeCache.txt" 2>/dev/null; then
  stale="built by another compiler"
elif [ -n "$(find native CMakeLists.txt -newer "$addon" \
             \( -name '*.cc' -o -name '*.h' -o -name CMakeLists.txt \) -print -quit)" ]; then
  stale="older than its sources"
fi
if [ -n "$stale" ]; then
  if [ -z "${npm_config_nodedir:-}" ]; then
    npm_config_nodedir=$(node -p "require('path').resolve(process.execPath, '..', '..')")
    export npm_config_nodedir
  fi
  [ -f "$npm_config_nodedir/include/node/node_api.h" ] ||
    die "no Node headers in $npm_config_nodedir/include/node (set npm_config_nodedir)"
  echo "test-asan: building $addon ($stale) with headers from $npm_config_nodedir"
  # rebuild = clean + configure + build: a half-configured build-asan/ from
  # an earlier failure cannot get in the way.
  node_modules/.bin/cmake-js rebuild --out "$out" --CDUNSHARE_FS_SANITIZE=ON \
    --CDCMAKE_CXX_COMPILER="$(command -v "$cxx")" \
    --log-level warn || die "cmake-js build failed"
fi
[ -f "$addon" ] || die "$addon was not built"

# --- tests ---------------------------------------------------------------
# Fixtures run in child nodes (test/fixtures/*.js) require ../../dist, so
# compile lib/ first, as `npm test` does.
echo "test-asan: tsc -p tsconfig.build.json"
node_modules/.bin/tsc -p tsconfig.build.json || die "tsc failed"

tests=()
for t in test/file-api.test.ts test/walk-big.test.ts test/session.test.ts \
         test/namespace.test.ts test/hardening.test.ts test/protocol.test.ts \
         test/child-processes.test.ts test/change.test.ts test/tar.test.ts \
         test/extract.test.ts test/diff.test.ts test/fs-more.test.ts; do
  [ -f "$t" ] && tests+=("$t")
done
[ "${#tests[@]}" -gt 0 ] || die "none of the native test files exist"

# detect_leaks=0: node is not instrumented, its exit-time "leaks" are noise.
# abort_on_error=1: a report ends the process with SIGABRT, so a forked
#   worker dies visibly instead of exiting with a plain status.
# allow_user_segv_handler=1: node/V8 install their own SIGSEGV handler
#   (WebAssembly trap handling); let them.
# alloc_dealloc_mismatch=0: memory crossing between uninstrumented node and
#   the addon (malloc vs operator delete) is not ours to judge.
# No log_path: reports go to stderr, which the workers keep open.
asan_options="detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1"
asan_options+=":alloc_dealloc_mismatch=0:print_summary=1:symbolize=1"
asan_options+=":detect_stack_use_after_return=1:strict_string_checks=1"
# suppressions: one known report from node-addon-api itself (see the file).
ubsan_options="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
ubsan_options+=":suppressions=$root/scripts/ubsan.supp"

mkdir -p "$out"
echo "test-asan: jest --runInBand ${tests[*]} $*"
echo "test-asan: UNSHARE_FS_ADDON=$addon LD_PRELOAD=$runtime"

# Stacks with source lines: the symbolizer of the same LLVM.
symbolizer=$(dirname "$(readlink -f "$(command -v "$cxx")")")/llvm-symbolizer
[ -x "$symbolizer" ] || symbolizer=$(command -v llvm-symbolizer || true)

# Only jest's node gets the preload and the options; tee and grep do not.
env UNSHARE_FS_ADDON="$root/$addon" \
  ASAN_SYMBOLIZER_PATH="$symbolizer" \
  LD_PRELOAD="$runtime" \
  ASAN_OPTIONS="$asan_options" \
  UBSAN_OPTIONS="$ubsan_options" \
  node node_modules/.bin/jest --runInBand "${tests[@]}" "$@" 2>&1 | tee "$log"
jest_status=${PIPESTATUS[0]}

reports=$(grep -nE 'ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error:' "$log")
if [ -n "$reports" ]; then
  echo
  echo "test-asan: FAILED: sanitizer reports in the output (full log: $log):"
  echo "$reports"
  exit 1
fi
if [ "$jest_status" -ne 0 ]; then
  echo "test-asan: FAILED: jest exited with status $jest_status (no sanitizer report; log: $log)"
  exit 1
fi
echo "test-asan: OK: ${#tests[@]} test files passed, no sanitizer reports"

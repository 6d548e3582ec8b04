#!/usr/bin/env bash
# fuzz.sh — build native/fuzz (libFuzzer, ASan + UBSan, clang) and run it.
#
# Usage: bash scripts/fuzz.sh [TARGET...]     (npm run fuzz [-- TARGET...])
#   TARGET: request, batch (default: all).
#   UNSHARE_FS_FUZZ_SECONDS: how long each target runs (default 60).
#
# 1. Configures native/fuzz/CMakeLists.txt into build-fuzz/ with clang++-19
#    (UNSHARE_FS_FUZZ_CXX; Debian: clang-19, libclang-rt-19-dev, the
#    toolchain of scripts/test-asan.sh) and builds it.
# 2. Runs core_test, the C++ unit tests of native/core.
# 3. Runs the fuzz targets at once, each for UNSHARE_FS_FUZZ_SECONDS on its
#    corpus, native/fuzz/corpus/<target>/: the committed seed-* inputs plus what
#    earlier runs found (kept, but not committed: see .gitignore).  A crash,
#    a sanitizer report or a failed CHECK stops that target; the input that
#    caused it is saved in build-fuzz/artifacts/<target>/ (replay it with
#    build-fuzz/<target>_fuzz FILE).  Full output: build-fuzz/<target>.log.
# Exits 1 if the build, core_test or any target failed.
set -uo pipefail

cd "$(dirname "$0")/.."
out=build-fuzz
seconds=${UNSHARE_FS_FUZZ_SECONDS:-60}
all_targets=(request batch)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${all_targets[@]}")

die() { echo "fuzz: $*" >&2; exit 1; }

[[ "$seconds" =~ ^[1-9][0-9]*$ ]] ||
  die "UNSHARE_FS_FUZZ_SECONDS must be a positive number of seconds, not '$seconds'"
for target in "${targets[@]}"; do
  [ -d "native/fuzz/corpus/$target" ] ||
    die "no fuzz target '$target' (targets: ${all_targets[*]})"
done

# --- build -----------------------------------------------------------------
cxx=${UNSHARE_FS_FUZZ_CXX:-clang++-19}
command -v "$cxx" >/dev/null ||
  die "$cxx not found: libFuzzer needs clang (Debian: apt-get install clang-19 libclang-rt-19-dev)"
if ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$(command -v "$cxx")" "$out/CMakeCache.txt" 2>/dev/null; then
  rm -rf "$out/CMakeCache.txt" "$out/CMakeFiles"
  cmake -S native/fuzz -B "$out" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null ||
    die "cmake could not configure native/fuzz (is libclang-rt-19-dev installed?)"
fi
cmake --build "$out" -j 2 >"$out/build.log" 2>&1 || {
  cat "$out/build.log"
  die "build failed"
}

# --- unit tests ------------------------------------------------------------
"$out/core_test" || die "core_test failed"

# --- fuzz targets ----------------------------------------------------------
# Reports end the process (no recovery), and libFuzzer then saves the input.
# The symbolizer of the same LLVM (Debian: llvm-19) beside the compiler;
# without one, report stacks are bare addresses.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  symbolizer=$(dirname "$(readlink -f "$(command -v "$cxx")")")/llvm-symbolizer
  [ -x "$symbolizer" ] || symbolizer=$(command -v llvm-symbolizer || true)
  [ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The targets run at once, one process each (libFuzzer is single-threaded):
# on CI's two cores both get a core, and the run takes one target's time.
run_target() {
  local target=$1 corpus=native/fuzz/corpus/$1 artifacts=$out/artifacts/$1/
  local log=$out/$1.log rc=0
  mkdir -p "$artifacts"
  "$out/${target}_fuzz" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
    "$corpus" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$out/$target.rc"
}

pids=()
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s (corpus native/fuzz/corpus/$target)"
  rm -f "$out/$target.rc"
  run_target "$target" &
  pids+=($!)
done
wait "${pids[@]}"

failed=()
for target in "${targets[@]}"; do
  artifacts=$out/artifacts/$target/
  log=$out/$target.log
  rc=$(cat "$out/$target.rc" 2>/dev/null || echo "no status")
  reports=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|CHECK failed' "$log")
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ "$rc" != 0 ] || [ -n "$reports" ]; then
    echo "fuzz: $target FAILED (exit $rc); the end of $log:"
    tail -n 60 "$log"
    echo "fuzz: inputs that failed: $(ls "$artifacts" 2>/dev/null | tr '\n' ' ')"
    failed+=("$target")
  else
    echo "fuzz: $target OK: ${runs:-?} runs; ${done_line:-no final stats}"
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: OK: ${targets[*]} (${seconds}s each)"

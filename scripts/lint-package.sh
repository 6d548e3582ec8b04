#!/usr/bin/env bash
# npm run lint:package: the tarball as npm would publish it, checked by
# publint (package.json fields, exports, files that exist) and by
# @arethetypeswrong/cli (the types of the require and the import entry, under
# every module resolution).  Packed with --ignore-scripts: the prepack step
# (the prebuilds) does not change what is checked here.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/index.mjs ] || npm run build:ts >/dev/null
dir="$(mktemp -d /tmp/unshare-fs-lint-package.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
tgz="$(npm pack --ignore-scripts --silent --pack-destination "$dir" | tail -n 1)"
tar -xzf "$dir/$tgz" -C "$dir"
npx --no-install publint run --strict --pack false "$dir/package"
npx --no-install attw "$dir/$tgz"

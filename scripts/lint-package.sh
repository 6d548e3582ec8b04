#!/usr/bin/env bash
# npm run lint:package: the tarball as npm would publish it, checked by
# publint (package.json fields, exports, files that exist) and by
# @arethetypeswrong/cli (the types of the require and the import entry, under
# every module resolution), and package.json's bin: the file is packed, starts
# with its #! line and runs (`--version`, with this checkout's node_modules for
# its dependencies; it loads no addon for that).  Packed with --ignore-scripts, and says so: the
# prepack step (npm run prebuild) builds nothing here, prebuilds/ goes in as it
# is (none is fine: the checks do not read the addons), so linting never
# starts a Zig build.  dist/ is built first when it is missing, also said.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/index.mjs ]; then
  echo "lint:package: no dist/index.mjs: npm run build:ts first"
  npm run build:ts >/dev/null
fi
dir="$(mktemp -d /tmp/unshare-fs-lint-package.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
prebuilt="$( (find prebuilds -name '*.node' 2>/dev/null || true) | wc -l)"
echo "lint:package: npm pack --ignore-scripts (no prebuild is built; prebuilds/ as it is: $prebuilt .node files)"
tgz="$(npm pack --ignore-scripts --silent --pack-destination "$dir" | tail -n 1)"
tar -xzf "$dir/$tgz" -C "$dir"
npx --no-install publint run --strict --pack false "$dir/package"
bin="$(node -p 'require("./package.json").bin["unshare-fs"]')"
[ -f "$dir/package/$bin" ] || { echo "lint:package: the bin $bin is not in the tarball" >&2; exit 1; }
[ "$(head -c 19 "$dir/package/$bin")" = '#!/usr/bin/env node' ] || { echo "lint:package: $bin does not start with #!/usr/bin/env node" >&2; exit 1; }
version="$(NODE_PATH="$PWD/node_modules" node "$dir/package/$bin" --version)"
[ "$version" = "$(node -p 'require("./package.json").version')" ] || { echo "lint:package: $bin --version printed '$version'" >&2; exit 1; }
echo "lint:package: bin unshare-fs -> $bin runs (--version $version)"
npx --no-install attw "$dir/$tgz"

#!/usr/bin/env bash
# newcomer.sh — the README's two commands as someone new to the project runs
# them, before .ci/run sets anything up for its full runs, and a check that
# they left nothing behind.
#
# Usage (as root, after `npm ci` built this checkout):
#   bash scripts/newcomer.sh RESULTS_DIR
#
# 1. root without a subordinate range (UNSHARE_FS_SUBUID/SUBGID name empty
#    files, as on a machine where /etc/subuid has no line for root), in a copy
#    of this checkout in a fresh 0700 directory of root's home: `npm run demo`,
#    then `npm test`;
# 2. a fresh ordinary user with no subordinate range and no XDG_RUNTIME_DIR
#    (made here with useradd, removed with userdel -r at the end), in a copy in
#    that user's home: `npm run demo`, then `npm test`.
# Neither sets UNSHARE_FS_REQUIRE_ALL: what the machine lacks is skipped, and
# must say so; nothing may fail. Then /tmp, the processes (those with a
# command line) and the mount table must be as they were before the runs.
#
# Leaves RESULTS_DIR/newcomer-root.json and newcomer-user.json
# (scripts/jest-counts-reporter.js) for scripts/jest-counts.js. Exit status:
# non-zero when a command failed or something was left behind.
set -uo pipefail

die() { echo "newcomer: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root"
results="${1:?usage: newcomer.sh RESULTS_DIR}"
src="$(cd "$(dirname "$0")/.." && pwd)"
[ -d "$src/node_modules" ] || die "$src/node_modules is missing: run npm ci first"

NEWCOMER=unsharefs-newcomer
rc=0
fail() { echo "newcomer: FAILED: $*"; rc=1; }

# What a run may leave: entries of /tmp, processes with a command line (not
# kernel threads), mount points.  One line each, sorted.
snapshot() {
  node -e '
    const fs = require("node:fs");
    const lines = fs.readdirSync("/tmp").map((n) => `tmp /tmp/${n}`);
    for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)) {
      let cmd = "";
      try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0+$/, "").replace(/\0/g, " "); } catch { continue; }
      if (cmd !== "") lines.push(`process ${pid} ${cmd}`);
    }
    // Rootful podman bind-mounts its own overlay directory the first time it
    // mounts a layer and keeps it until reboot: podman'"'"'s, not the tests'"'"'.
    const engines = new Set(["/var/lib/containers/storage/overlay"]);
    for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").trim().split("\n")) {
      const point = line.split(" ")[4];
      if (!engines.has(point)) lines.push(`mount ${point}`);
    }
    process.stdout.write(lines.sort().join("\n") + "\n");
  '
}

# A copy of the checkout (as a clone would be, with what npm ci made), owned by $2,
# less the Zig compiler (350 MB) and the prebuild cache, which only
# `npm run prebuild` uses.
copy_checkout() {
  local dest="$1" owner="$2"
  mkdir -p "$dest"
  tar -C "$src" --exclude=./.git --exclude=./node_modules/@ryoppippi --exclude=./node_modules/.cache --exclude=./prebuilds -cf - . | tar -C "$dest" -xf -
  chown -R "$owner" "$dest"
}

# The suites that behave the same whoever runs them and whatever the machine
# has (pure parsers and encoders, the server under load and over time, big
# trees, forks under stress, progress timing, the package's surface: none
# of them asks the machine for anything) are left to the full runs: these
# two runs are about the newcomer.
SAME_FOR_EVERYONE='/test/(load|soak|fork-stress|walk-big|progress|decode\.property|tar\.property|protocol|surface|channel|docs|node-version|prebuild-checks|types)\.|/test/helpers/'
jest_args=(--ci --reporters=default "--reporters=./scripts/jest-counts-reporter.js" "--testPathIgnorePatterns=$SAME_FOR_EVERYONE")
before="$(mktemp -d)"
snapshot >"$before/state"
rm -f "$results/newcomer-root.json" "$results/newcomer-user.json"

echo "== newcomer: root without a subordinate range, a checkout in a 0700 directory"
home_root="${HOME:-/root}"
root_dir="$(mktemp -d "$home_root/unshare-fs-newcomer.XXXXXX")"
chmod 700 "$root_dir"
copy_checkout "$root_dir/unshare-fs" root:root
: >"$before/subuid"
: >"$before/subgid"
(
  cd "$root_dir/unshare-fs" || exit 1
  unset UNSHARE_FS_REQUIRE_ALL UNSHARE_FS_TEST_USER
  export UNSHARE_FS_SUBUID="$before/subuid" UNSHARE_FS_SUBGID="$before/subgid"
  npm run demo </dev/null || { echo "newcomer: npm run demo failed as root"; exit 1; }
  UNSHARE_FS_COUNTS_FILE="$results/newcomer-root.json" npm test -- "${jest_args[@]}" </dev/null
) || fail "root's run (exit $?)"
rm -rf "$root_dir" || fail "removing $root_dir"

echo "== newcomer: a fresh ordinary user without a subordinate range"
userdel -r "$NEWCOMER" >/dev/null 2>&1 || true
# No range: Debian's useradd would add one where /etc/subuid exists.
useradd -m -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$NEWCOMER" || die "useradd $NEWCOMER failed"
user_home="$(getent passwd "$NEWCOMER" | cut -d: -f6)"
copy_checkout "$user_home/unshare-fs" "$NEWCOMER:$NEWCOMER"
counts_user="$user_home/counts.json"
(
  cd "$user_home/unshare-fs" || exit 1
  runuser -u "$NEWCOMER" -- env -i HOME="$user_home" USER="$NEWCOMER" LOGNAME="$NEWCOMER" SHELL=/bin/bash \
    PATH=/usr/local/bin:/usr/bin:/bin LANG="${LANG:-C.UTF-8}" CI="${CI:-}" \
    bash -c 'npm run demo && UNSHARE_FS_COUNTS_FILE="$0" npm test -- "$@"' "$counts_user" "${jest_args[@]}" </dev/null
) || fail "the ordinary user's run (exit $?)"
[ -f "$counts_user" ] && cp "$counts_user" "$results/newcomer-user.json"
# A process of the user still running is left behind. A zombie is not: its
# parent is gone and it waits for init to reap it (here PID 1 reaps late).
running="$(ps -u "$NEWCOMER" -o pid=,stat=,args= 2>/dev/null | awk '$2 !~ /^Z/' | head -5 | tr '\n' ';')"
if [ -n "$running" ]; then
  fail "processes of $NEWCOMER are still running: $running"
  pkill -KILL -u "$NEWCOMER" || true
fi
# userdel refuses a user with processes, zombies included: give init time to reap them.
for _ in $(seq 1 120); do
  ps -u "$NEWCOMER" >/dev/null 2>&1 || break
  sleep 0.25
done
userdel -r "$NEWCOMER" >/dev/null 2>&1 || fail "userdel -r $NEWCOMER"
[ ! -e "$user_home" ] || fail "$user_home is still there after userdel -r"

echo "== newcomer: what the runs left"
snapshot >"$before/after"
left="$(comm -13 "$before/state" "$before/after")"
if [ -n "$left" ]; then
  fail "left behind (new since the runs began):"
  echo "$left" | head -40
else
  echo "nothing: /tmp, the processes and the mounts are as before"
fi
rm -rf "$before"
exit "$rc"

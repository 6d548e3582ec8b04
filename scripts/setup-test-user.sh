#!/usr/bin/env bash
# setup-test-user.sh — make a user ready for the namespace tests.
#
# Usage (as root):  bash scripts/setup-test-user.sh [NAME ...]   (default: unsharefs)
#
# For each NAME, idempotently:
#   1. creates the user (useradd -m, shell /bin/bash) if it does not exist;
#   2. gives it a subordinate uid and gid range of at least 65536 ids in
#      /etc/subuid and /etc/subgid (the files ship empty here and useradd does
#      not always fill them); a range that is too small or overlaps another
#      entry's range is replaced by a fresh one past every existing range;
#   3. creates /run/user/UID, mode 700, owned by the user (there is no
#      systemd/logind on these machines to do it).
# NAME may be `root`: then only steps 2 and 3 apply (root's tests map
# 1..65536 to a subuid range with newuidmap just as an ordinary user does).
#
# Prints one summary line per user. Exits non-zero on any error.
set -euo pipefail

SUBID_COUNT=65536
SUBID_MIN=100000

die() { echo "setup-test-user: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# Print "START COUNT" of NAME's (or UID's) entry in FILE, if any.
subid_entry() {
  local file="$1" name="$2" uid="$3"
  awk -F: -v n="$name" -v u="$uid" '($1 == n || $1 == u) && NF >= 3 { print $2, $3; exit }' "$file"
}

# Does [START, START+COUNT) overlap a range of an entry that is not NAME/UID
# in /etc/subuid or /etc/subgid? Exit status 0 = overlaps.
subid_overlaps() {
  local name="$1" uid="$2" start="$3" count="$4"
  awk -F: -v n="$name" -v u="$uid" -v s="$start" -v c="$count" '
    $1 != n && $1 != u && NF >= 3 {
      if ($2 < s + c && s < $2 + $3) { found = 1 }
    }
    END { exit(found ? 0 : 1) }' /etc/subuid /etc/subgid
}

# First start >= SUBID_MIN past the end of every range in both files, so the
# same start serves uids and gids.
subid_next_start() {
  local name="$1" uid="$2"
  awk -F: -v n="$name" -v u="$uid" -v m="$SUBID_MIN" '
    BEGIN { end = m }
    $1 != n && $1 != u && NF >= 3 { if ($2 + $3 > end) end = $2 + $3 }
    END { printf "%d\n", end }' /etc/subuid /etc/subgid
}

# Remove NAME/UID's lines from FILE.
subid_remove() {
  local file="$1" name="$2" uid="$3" tmp
  tmp="$(mktemp "$file.XXXXXX")"
  awk -F: -v n="$name" -v u="$uid" '$1 != n && $1 != u' "$file" >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$file"
}

setup_user() {
  local name="$1" uid gid home changed=0 start count entry
  if ! getent passwd "$name" >/dev/null; then
    useradd -m -s /bin/bash "$name"
    echo "setup-test-user: created user $name"
  fi
  uid="$(id -u "$name")"
  gid="$(id -g "$name")"
  home="$(getent passwd "$name" | cut -d: -f6)"
  if [ "$name" != root ] && [ ! -d "$home" ]; then
    mkdir -p "$home"
    chown "$uid:$gid" "$home"
    chmod 755 "$home"
  fi

  touch /etc/subuid /etc/subgid
  chmod 644 /etc/subuid /etc/subgid
  # Keep an existing range only when it is large enough, the same in both
  # files and overlaps nobody else's.
  local keep=1 u_entry g_entry
  u_entry="$(subid_entry /etc/subuid "$name" "$uid")"
  g_entry="$(subid_entry /etc/subgid "$name" "$uid")"
  if [ -z "$u_entry" ] || [ -z "$g_entry" ] || [ "$u_entry" != "$g_entry" ]; then
    keep=0
  else
    read -r start count <<<"$u_entry"
    if [ "$count" -lt "$SUBID_COUNT" ] || subid_overlaps "$name" "$uid" "$start" "$count"; then
      keep=0
    fi
  fi
  if [ "$keep" = 0 ]; then
    subid_remove /etc/subuid "$name" "$uid"
    subid_remove /etc/subgid "$name" "$uid"
    start="$(subid_next_start "$name" "$uid")"
    count="$SUBID_COUNT"
    echo "$name:$start:$count" >>/etc/subuid
    echo "$name:$start:$count" >>/etc/subgid
    changed=1
  fi
  entry="$(subid_entry /etc/subuid "$name" "$uid")"
  read -r start count <<<"$entry"

  install -d -m 700 -o "$uid" -g "$gid" "/run/user/$uid"
  chown "$uid:$gid" "/run/user/$uid"
  chmod 700 "/run/user/$uid"

  # A running rootless podman keeps its old mapping until migrated.
  if [ "$changed" = 1 ] && [ "$name" != root ] && command -v podman >/dev/null \
     && [ -e "/run/user/$uid/libpod/tmp/pause.pid" ]; then
    (cd / && runuser -u "$name" -- env -i HOME="$home" USER="$name" LOGNAME="$name" \
       PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid" \
       podman system migrate) || echo "setup-test-user: podman system migrate failed for $name" >&2
  fi

  echo "setup-test-user: $name uid=$uid gid=$gid home=$home subuid/subgid=$start:$count" \
       "runtime-dir=/run/user/$uid$([ "$changed" = 1 ] && echo ' (range added)')"
}

[ "$#" -gt 0 ] || set -- unsharefs
for n in "$@"; do
  setup_user "$n"
done

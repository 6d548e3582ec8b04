#!/usr/bin/env bash
# podman-scenario.sh — the seed scenario: two running containers with files
# owned by different container users.
#
# Usage:  bash scripts/podman-scenario.sh [start] [USER]   (default USER: unsharefs)
#         bash scripts/podman-scenario.sh stop [USER]
#         bash scripts/podman-scenario.sh status [USER]
#         bash scripts/podman-scenario.sh check [USER]   (exit 1 unless both run)
#         bash scripts/podman-scenario.sh revive [USER]  (reset a dead pause process)
# Run it as root (it switches to USER with runuser), or as USER itself.
# USER=root runs rootful podman. Needs scripts/podman-setup.sh USER first.
#
# `start` removes stale contenedor1/contenedor2, starts both from
# localhost/unshare-fs-test with `--network none`, writes the files below with
# `podman exec`, and prints one container id per line on stdout (in order
# contenedor1, contenedor2). Everything else goes to stderr.
#
# Files written in each container NAME (N = 1 or 2):
#   /data/                       0755 root:root
#   /data/hello.txt              0644 root:root    "hello from NAME"
#   /data/root-only.txt          0600 root:root    "root secret of NAME"
#   /data/link-to-hello          symlink -> hello.txt
#   /data/user-dir/              0755 1000:1000
#   /data/user-dir/owned-by-user 0644 1000:1000    "user file of NAME"
#   /home/user/private/          0700 1000:1000
#   /home/user/private/secret.txt 0600 1000:1000   "user secret of NAME"
#   /data/only-in-cN             0644 root:root    (differs per container)
#   /data/tree/dD/fF             3 dirs x 4 files, 0644 root:root
#
# What was checked by hand with this scenario (rootless, uid 1001, subuid 100000):
#   podman inspect --format '{{json .GraphDriver.Data}}' contenedor1
#     -> {"LowerDir":".../overlay/<img>/diff","MergedDir":".../overlay/<ctr>/merged",
#         "UpperDir":".../overlay/<ctr>/diff","WorkDir":".../overlay/<ctr>/work"}
#   ls -l <MergedDir> on the host            -> empty (mounted only in podman's mount ns)
#   podman unshare ls -l <MergedDir>         -> bin data dev etc home ... (root root)
#   podman unshare ls -ln <MergedDir>/home/user/private -> 1000 1000 secret.txt
#   ls -ln <UpperDir>/home/user               -> 100999 100999 private (host view)
#   cat $XDG_RUNTIME_DIR/libpod/tmp/pause.pid -> pid of `catatonit -P`, whose
#     /proc/PID/environ has _PODMAN_PAUSE=1
#
# Pitfalls met (also in scripts/podman-setup.sh):
# - Without XDG_RUNTIME_DIR and without /run/user/$UID podman uses
#   ${TMPDIR:-/tmp}/podman-run-$UID and puts pause.pid, the runroot and
#   mountpoints.json there; podman-setup.sh creates /run/user/$UID, and we
#   export XDG_RUNTIME_DIR anyway.
# - `runuser -u USER` sets HOME but keeps the rest of root's environment and
#   does not set XDG_RUNTIME_DIR: we use `env -i` with HOME/USER/PATH set.
# - The first command after the pause process starts warns '"/" is not a
#   shared mount, this could cause issues or missing mounts with rootless
#   containers': harmless here (no volumes). `mount --make-rshared /` as root
#   silences it, but it changes propagation for the whole machine: left alone.
# - Rootful (USER=root): runc failed with "error setting rlimit type 7" then
#   "type 6" (root has no CAP_SYS_RESOURCE here; conmon runs with nproc
#   32768): podman-setup.sh root pins default_ulimits in containers.conf.
#   Rootful overlays are mounted in the host mount namespace (merged is
#   readable directly; uid 1000 shows as whatever host user has uid 1000).
# - `podman rm -f` of a container whose --rm cleanup is already running may
#   print "no such container": ignored (we check `container exists` first).
# - The pidfile holds the pid without a trailing newline.
# - A rootless pause process that died (seen once in CI, cause unknown)
#   leaves every later podman command failing with "invalid internal
#   status, try resetting the pause process with podman system migrate":
#   `start` and `check` run that migrate once and say so.
# - The containers run `sleep 1000000`: with --rm, a shorter sleep ends them
#   (and removes them) in the middle of a long CI run.
# - crun fails on this cgroup v1/hybrid host ("cgroups in hybrid mode not
#   supported"): containers.conf must say runtime = "runc"; with the default
#   systemd cgroup manager runc fails too (no systemd): cgroupfs.
# - The container's init pid (runroot/overlay-containers/<id>/userdata/pidfile)
#   is in a child user namespace of the pause process' one; the overlays are
#   mounted in the pause process' mount namespace (and propagate to the
#   container's), not in the host's.
# - `podman exec --user 1000` needs the user to exist in the image's
#   /etc/passwd only for names; numeric ids work regardless. Files created by
#   uid 1000 show up on the host as subuid_base + 999.
# - After the subuid/subgid ranges change, old pause processes keep the old
#   mapping until `podman system migrate`.
set -euo pipefail

# shellcheck source=scenario-files.sh
source "$(cd "$(dirname "$0")" && pwd)/scenario-files.sh"

CMD="start"
case "${1:-}" in
  start|stop|status|check|revive) CMD="$1"; shift ;;
esac
USER_NAME="${1:-unsharefs}"
IMAGE="localhost/unshare-fs-test"
NAMES=(contenedor1 contenedor2)

log() { printf '[podman-scenario] %s\n' "$*" >&2; }

USER_UID="$(id -u "$USER_NAME")"
USER_HOME="$(getent passwd "$USER_NAME" | cut -d: -f6)"
RUNTIME_DIR="/run/user/$USER_UID"

pod() {
  if [ "$USER_UID" -eq 0 ]; then
    (cd / && podman "$@")
  elif [ "$(id -u)" -eq "$USER_UID" ]; then
    (cd / && XDG_RUNTIME_DIR="$RUNTIME_DIR" podman "$@")
  elif [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$USER_NAME" -- env -i \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME="$USER_HOME" USER="$USER_NAME" LOGNAME="$USER_NAME" \
      XDG_RUNTIME_DIR="$RUNTIME_DIR" LANG=C.UTF-8 podman "$@")
  else
    echo "run as root or as $USER_NAME" >&2
    exit 1
  fi
}

# A dead pause process makes every podman command fail until it is reset.
# Where orphans are not reaped it stays a zombie, which podman takes for
# alive: its pid file goes, then `podman system migrate` resets the rest.
revive_pause_process() {
  local out pid_file pid state
  if out="$(pod info --format '{{.Host.OCIRuntime.Name}}' 2>&1)"; then return 0; fi
  log "podman info failed for $USER_NAME: $out"
  printf '%s' "$out" | grep -q 'system migrate' || return 1
  pid_file="$RUNTIME_DIR/libpod/tmp/pause.pid"
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)"
  log "pause process of $USER_NAME: pid '${pid}' state '${state:-gone}'; resetting it"
  if [ -z "$state" ] || [ "$state" = Z ]; then rm -f "$pid_file"; fi
  pod system migrate >&2 || true
  pod info --format '{{.Host.OCIRuntime.Name}}' >/dev/null
}

running_count() {
  pod ps --filter name=contenedor --filter status=running --format '{{.Names}}' 2>/dev/null | grep -c '^contenedor[12]$' || true
}

remove_all() {
  local n
  for n in "${NAMES[@]}"; do
    if pod container exists "$n" 2>/dev/null; then
      log "removing $n"
      pod rm -f -t 0 "$n" >/dev/null 2>&1 || true
    fi
  done
}

# exec_as CONTAINER UID SCRIPT
exec_as() {
  pod exec --user "$2" "$1" /bin/sh -ec "$3"
}

populate() {
  local name="$1" n="$2"
  exec_as "$name" 0 "$(scenario_root_files "$name" "$n")"
  exec_as "$name" 1000 "$(scenario_user_files "$name")"
}

case "$CMD" in
  stop)
    remove_all
    ;;
  revive)
    revive_pause_process
    ;;
  status)
    pod ps -a --filter name=contenedor --format '{{.ID}} {{.Names}} {{.Status}}'
    ;;
  check)
    revive_pause_process
    n="$(running_count)"
    if [ "$n" != 2 ]; then
      log "$n of 2 scenario containers running for $USER_NAME"
      exit 1
    fi
    ;;
  start)
    revive_pause_process
    if ! pod image exists "$IMAGE"; then
      echo "image $IMAGE missing for $USER_NAME: run scripts/podman-setup.sh $USER_NAME first" >&2
      exit 1
    fi
    remove_all
    ids=()
    i=0
    for n in "${NAMES[@]}"; do
      i=$((i + 1))
      log "starting $n"
      id="$(pod run -d --rm --network none --name "$n" "$IMAGE" sleep 1000000)"
      populate "$n" "$i"
      ids+=("$id")
    done
    for id in "${ids[@]}"; do echo "$id"; done
    ;;
esac

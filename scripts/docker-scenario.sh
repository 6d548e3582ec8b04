#!/usr/bin/env bash
# docker-scenario.sh — the seed scenario for Docker: two running containers
# and a stopped one, with files owned by different container users; plus a
# bench fixture with a large tree.
#
# Usage:  bash scripts/docker-scenario.sh [start] [USER]   (default USER: unsharefs)
#         bash scripts/docker-scenario.sh stop [USER]     (removes the 3 scenario containers)
#         bash scripts/docker-scenario.sh status [USER]
#         bash scripts/docker-scenario.sh check [USER]    (exit 1 unless the daemon
#                                                          answers and both run)
#         bash scripts/docker-scenario.sh bench [USER]    (ensures dbench, prints its id)
# Run it as root (it switches to USER with runuser), or as USER itself.
# USER=root uses the rootful daemon. Needs scripts/docker-setup.sh USER first
# (daemon running, image unshare-fs-test:latest present). Always the package's
# CLI /usr/bin/docker (/usr/local/bin/docker, first on PATH, is Docker 28).
#
# `start` removes stale dcontenedor1/dcontenedor2/dstopped, runs all three
# from unshare-fs-test:latest with `--network none` (`sleep 1000000`, no
# --rm), writes the files below with `docker exec`, stops dstopped with
# `docker stop -t 0` (it stays, created+written+exited), and prints one
# container id per line on stdout (dcontenedor1, dcontenedor2, dstopped).
# Everything else goes to stderr.
#
# Files written in each container NAME (N = 1 dcontenedor1, 2 dcontenedor2,
# 3 dstopped):
#   /data/                       0755 root:root
#   /data/hello.txt              0644 root:root    "hello from NAME"
#   /data/root-only.txt          0600 root:root    "root secret of NAME"
#   /data/link-to-hello          symlink -> hello.txt
#   /data/user-dir/              0755 1000:1000
#   /data/user-dir/owned-by-user 0644 1000:1000    "user file of NAME"
#   /home/user/private/          0700 1000:1000
#   /home/user/private/secret.txt 0600 1000:1000   "user secret of NAME"
#   /data/only-in-cN             0644 root:root    "only in NAME"
#   /data/tree/dD/fF             3 dirs x 4 files, 0644 root:root
#
# `bench` ensures a running container dbench whose own layer holds
#   /bench/dNN/sMM/fKK  50 dirs x 20 subdirs x 49 files (50,050 entries,
#   0644 root:root, content "NN.MM.KK"), plus /bench/.complete when done;
# written by a busybox sh loop inside the container (echo redirections are
# shell builtins: no fork per file; ~10 s on 2 cores). An existing complete
# dbench is reused (started again if it was stopped); an incomplete one is
# recreated. `stop` leaves dbench alone (remove it with docker rm -f dbench).
#
# What was checked by hand with this scenario (rootless, uid 1001, subuid 100000):
#   docker inspect dcontenedor1 .GraphDriver.Data ->
#     LowerDir  <root>/overlay2/<mount-id>-init/diff:<root>/overlay2/<image cache-id>/diff
#     MergedDir/UpperDir/WorkDir  <root>/overlay2/<mount-id>/{merged,diff,work}
#     (same for the stopped dstopped; its <mount-id>/merged dir does not exist)
#   <root>/image/overlay2/layerdb/mounts/<container id>/{mount-id,init-id,parent}
#   $XDG_RUNTIME_DIR/docker.pid -> dockerd's host pid (comm "dockerd"), in its
#     own user+mount ns (rootlesskit's); containers share that user ns,
#     .State.Pid is a host pid; merged is mounted only in dockerd's mount ns
#     (options ...,userxattr), the host sees it empty
#   ls -ln <UpperDir>/home/user -> 100999 100999 private (root's files: 1001)
#   rootful: everything in the host's namespaces; merged readable on the host.
#
# Pitfalls met (also in scripts/docker-setup.sh):
# - No --rm: dstopped must survive its stop, and a stopped container can
#   still be inspected. After a daemon restart the running ones are stopped
#   (no restart policy): `check` then fails and `start` recreates them.
# - `sleep` as the container's pid 1 ignores SIGTERM: `docker stop` without
#   -t 0 waits its 10 s timeout; `docker rm -f` kills at once.
# - `runuser -u USER` keeps root's environment (DOCKER_HOST, DOCKER_CONTEXT,
#   DOCKER_CONFIG): every docker call runs under `env -i` with DOCKER_HOST
#   set to USER's socket (root too).
# - Rootless docker has no `docker unshare`; to look into its mount namespace
#   use nsenter -U -m -t $(cat $XDG_RUNTIME_DIR/docker.pid) (the merged dirs
#   are mounted only there; the host sees them empty).
set -euo pipefail

# shellcheck source=scenario-files.sh
source "$(cd "$(dirname "$0")" && pwd)/scenario-files.sh"

CMD="start"
case "${1:-}" in
  start|stop|status|check|bench) CMD="$1"; shift ;;
esac
USER_NAME="${1:-unsharefs}"
DOCKER=/usr/bin/docker
IMAGE="unshare-fs-test:latest"
NAMES=(dcontenedor1 dcontenedor2 dstopped)
RUNNING=(dcontenedor1 dcontenedor2)
BENCH=dbench

log() { printf '[docker-scenario] %s\n' "$*" >&2; }

USER_UID="$(id -u "$USER_NAME")"
USER_HOME="$(getent passwd "$USER_NAME" | cut -d: -f6)"
if [ "$USER_UID" -eq 0 ]; then
  RUNTIME_DIR=/var/run
  SOCK=/var/run/docker.sock
else
  RUNTIME_DIR="/run/user/$USER_UID"
  SOCK="$RUNTIME_DIR/docker.sock"
fi
BASE_PATH=/usr/sbin:/usr/bin:/sbin:/bin

dock() {
  if [ "$(id -u)" -eq "$USER_UID" ]; then
    (cd / && env -i PATH="$BASE_PATH" HOME="$USER_HOME" USER="$USER_NAME" \
      LOGNAME="$USER_NAME" XDG_RUNTIME_DIR="$RUNTIME_DIR" LANG=C.UTF-8 \
      DOCKER_HOST="unix://$SOCK" "$DOCKER" "$@")
  elif [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$USER_NAME" -- env -i PATH="$BASE_PATH" \
      HOME="$USER_HOME" USER="$USER_NAME" LOGNAME="$USER_NAME" \
      XDG_RUNTIME_DIR="$RUNTIME_DIR" LANG=C.UTF-8 \
      DOCKER_HOST="unix://$SOCK" "$DOCKER" "$@")
  else
    echo "run as root or as $USER_NAME" >&2
    exit 1
  fi
}

require_daemon() {
  if ! dock version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    log "dockerd of $USER_NAME does not answer on $SOCK: run scripts/docker-setup.sh $USER_NAME"
    return 1
  fi
}

exists() { dock container inspect "$1" >/dev/null 2>&1; }
is_running() {
  [ "$(dock container inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]
}

remove_all() {
  local n
  for n in "${NAMES[@]}"; do
    if exists "$n"; then
      log "removing $n"
      dock rm -f "$n" >/dev/null
    fi
  done
}

# exec_as CONTAINER UID SCRIPT
exec_as() {
  dock exec --user "$2" "$1" /bin/sh -ec "$3"
}

populate() {
  local name="$1" n="$2"
  exec_as "$name" 0 "$(scenario_root_files "$name" "$n")"
  exec_as "$name" 1000 "$(scenario_user_files "$name")"
}

require_image() {
  if ! dock image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE missing for $USER_NAME: run scripts/docker-setup.sh $USER_NAME first"
    exit 1
  fi
}

bench() {
  local complete=""
  if exists "$BENCH"; then
    if ! is_running "$BENCH"; then
      log "starting stopped $BENCH"
      dock start "$BENCH" >/dev/null
    fi
    if dock exec "$BENCH" test -e /bench/.complete 2>/dev/null; then
      complete=1
    else
      log "$BENCH is incomplete: recreating it"
      dock rm -f "$BENCH" >/dev/null
    fi
  fi
  if [ -z "$complete" ]; then
    log "creating $BENCH (50,050 entries under /bench)"
    dock run -d --network none --name "$BENCH" "$IMAGE" sleep 1000000 >/dev/null
    exec_as "$BENCH" 0 '
      mkdir /bench && cd /bench
      for a in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 \
               25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49; do
        mkdir d$a
        for b in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19; do
          mkdir d$a/s$b
          k=0
          while [ $k -lt 49 ]; do
            echo "$a.$b.$k" > d$a/s$b/f$k
            k=$((k + 1))
          done
        done
      done
      : > /bench/.complete
    '
  fi
  dock container inspect --format '{{.Id}}' "$BENCH"
}

case "$CMD" in
  stop)
    require_daemon
    remove_all
    ;;
  status)
    require_daemon
    for n in "${NAMES[@]}" "$BENCH"; do
      if exists "$n"; then
        dock container inspect --format '{{.Id}} {{slice .Name 1}} {{.State.Status}} pid={{.State.Pid}}' "$n"
      else
        echo "- $n absent"
      fi
    done
    ;;
  check)
    require_daemon || exit 1
    ok=0
    for n in "${RUNNING[@]}"; do
      if is_running "$n"; then ok=$((ok + 1)); fi
    done
    if [ "$ok" != 2 ]; then
      log "$ok of 2 scenario containers running for $USER_NAME"
      exit 1
    fi
    ;;
  bench)
    require_daemon
    require_image
    bench
    ;;
  start)
    require_daemon
    require_image
    remove_all
    ids=()
    i=0
    for n in "${NAMES[@]}"; do
      i=$((i + 1))
      log "starting $n"
      id="$(dock run -d --network none --name "$n" "$IMAGE" sleep 1000000)"
      populate "$n" "$i"
      ids+=("$id")
    done
    log "stopping dstopped"
    dock stop -t 0 dstopped >/dev/null
    for id in "${ids[@]}"; do echo "$id"; done
    ;;
esac

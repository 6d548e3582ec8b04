#!/usr/bin/env bash
# docker-driver.sh — an extra dockerd of its own with another storage driver
# (fuse-overlayfs or vfs), beside the daemons of scripts/docker-setup.sh,
# which it never touches: its own data root, exec root, pid file, socket and
# (rootless) runtime dir, all under one temp dir, with the test image loaded
# offline: saved from WHO's own daemon (scripts/docker-setup.sh), else built
# as docker-setup.sh builds it (scripts/test-rootfs.sh + `docker import`).
#
# Usage:  bash scripts/docker-driver.sh start WHO DRIVER   (prints the base dir)
#         bash scripts/docker-driver.sh stop WHO DRIVER    (removes containers,
#                                                           daemon and base dir)
#         bash scripts/docker-driver.sh base WHO DRIVER    (prints the base dir)
# WHO: root (rootful dockerd) or an ordinary user (rootless, through
# /usr/share/docker.io/contrib/dockerd-rootless.sh, i.e. RootlessKit). Run it
# as root, or as WHO itself. DRIVER: fuse-overlayfs or vfs.
#
# Layout, BASE=/tmp/unshare-fs-dockerd-<uid>-<driver> (mode 0700, WHO's):
#   BASE/daemon.json   every setting of the daemon (dockerd refuses one given
#                      both as a flag and in the file): data-root, exec-root,
#                      pidfile, hosts, storage-driver, no network setup
#   BASE/data          data root;  BASE/exec  exec root (containerd too)
#   BASE/run           the socket (docker.sock) and pid file (docker.pid);
#                      rootless, the daemon's XDG_RUNTIME_DIR as well, with
#                      RootlessKit's state dir (dockerd-rootless)
#   BASE/dockerd.log   the daemon's log
# The library finds this daemon with { daemonConfig: BASE/daemon.json }
# (rootless: and runtimeDir: BASE/run); the CLI with
# DOCKER_HOST=unix://BASE/run/docker.sock.
#
# Found on these machines (Debian 12 docker.io 20.10, rootlesskit 1.1):
# - Rootless fuse-overlayfs needs /dev/fuse usable by the user (mode 0666
#   here); dockerd picks fuse-overlayfs only when told to (storage-driver).
# - Removing a rootless data root needs the subordinate ids: the files its
#   containers wrote belong to them. It is removed from inside a user
#   namespace RootlessKit makes with the user's ranges.
# - Containers are removed (`docker rm -f`) before SIGTERM: dockerd would
#   otherwise stop each (sleep as pid 1 ignores SIGTERM: 10 s).
set -euo pipefail

# shellcheck source=docker-common.sh
source "$(cd "$(dirname "$0")" && pwd)/docker-common.sh"
LOG_TAG=docker-driver
CMD="${1:-}"
WHO="${2:-}"
DRIVER="${3:-}"
case "$CMD" in start|stop|base) ;; *) echo "usage: $0 start|stop|base WHO fuse-overlayfs|vfs" >&2; exit 2 ;; esac
case "$DRIVER" in fuse-overlayfs|vfs) ;; *) echo "$0: DRIVER must be fuse-overlayfs or vfs" >&2; exit 2 ;; esac
[ -n "$WHO" ] || { echo "$0: WHO missing" >&2; exit 2; }

daemon_user "$WHO"
ME="$(id -u)"
if [ "$ME" -ne 0 ] && [ "$ME" -ne "$DAEMON_UID" ]; then
  echo "$0: run as root or as $WHO" >&2
  exit 1
fi
BASE="/tmp/unshare-fs-dockerd-$DAEMON_UID-$DRIVER"
RUN="$BASE/run"
DAEMON_RUNTIME_DIR="$RUN"
DAEMON_SOCK="$RUN/docker.sock"
DAEMON_PIDFILE="$RUN/docker.pid"
if [ "$CMD" = base ]; then echo "$BASE"; exit 0; fi

stop_daemon() {
  local pid ids procs
  pid="$(daemon_pid)"
  [ -n "$pid" ] || return 0
  ids="$(dock ps -aq 2>/dev/null || true)"
  # shellcheck disable=SC2086
  [ -z "$ids" ] || dock rm -f $ids >/dev/null 2>&1 || true
  procs="$(daemon_processes "$pid" "$BASE/" | sort -un | tr '\n' ' ')"
  log "stopping dockerd $pid ($DRIVER, $WHO)"
  terminate "$pid" "$procs"
}

remove_base() {
  [ -d "$BASE" ] || return 0
  # Nothing may stay mounted beneath it (fuse-overlayfs mounts of a killed daemon).
  local m
  for m in $(awk -v b="$BASE/" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null || true
  done
  if [ "$ROOTFUL" -eq 0 ] && [ -d "$BASE/data" ]; then
    as_daemon_user rootlesskit --net=host --disable-host-loopback --state-dir="$BASE/rk-rm" rm -rf "$BASE/data" >/dev/null 2>&1 || true
  fi
  rm -rf "$BASE"
}

if [ "$CMD" = stop ]; then
  stop_daemon
  remove_base
  log "stopped, $BASE removed"
  exit 0
fi

# ---------------------------------------------------------------- start
if [ -n "$(daemon_pid)" ] && daemon_answers; then
  log "dockerd ($DRIVER, $WHO) already running"
else
  stop_daemon
  remove_base
  install -d -m 700 -o "$DAEMON_UID" -g "$DAEMON_GID" "$BASE"
  as_daemon_user mkdir -m 700 "$BASE/run" "$BASE/data" "$BASE/exec"
  as_daemon_user sh -c 'cat >"$1"' sh "$BASE/daemon.json" <<EOF
{
  "data-root": "$BASE/data",
  "exec-root": "$BASE/exec",
  "pidfile": "$DAEMON_PIDFILE",
  "hosts": ["unix://$DAEMON_SOCK"],
  "storage-driver": "$DRIVER",
  "iptables": false,
  "ip-forward": false,
  "ip-masq": false,
  "bridge": "none"
}
EOF
  as_daemon_user touch "$BASE/dockerd.log"
  log "starting dockerd ($DRIVER, $WHO) in $BASE"
  launch_dockerd "$BASE/dockerd.log" --config-file "$BASE/daemon.json"
  wait_for_daemon "$BASE/dockerd.log"
fi

driver="$(dock info --format '{{.Driver}}')"
if [ "$driver" != "$DRIVER" ]; then
  log "the daemon runs with driver '$driver', not '$DRIVER'"
  exit 1
fi
if ! dock image inspect "$IMAGE" >/dev/null 2>&1; then
  # From WHO's own daemon (scripts/docker-setup.sh) when it has the image:
  # no root needed; else built as docker-setup.sh builds it (as root).
  if [ "$ROOTFUL" -eq 1 ]; then own=/var/run/docker.sock; else own="/run/user/$DAEMON_UID/docker.sock"; fi
  if as_daemon_user env DOCKER_HOST="unix://$own" "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
    as_daemon_user sh -c "DOCKER_HOST=unix://$own $DOCKER save $IMAGE | $DOCKER load" >/dev/null
  elif [ "$ME" -eq 0 ]; then
    import_test_image
  else
    log "no $IMAGE in $WHO's own dockerd ($own): run scripts/docker-setup.sh $WHO"
    exit 1
  fi
fi
echo "$BASE"

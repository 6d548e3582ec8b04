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

SCRIPTS_DIR="$(cd "$(dirname "$0")" && pwd)"
CMD="${1:-}"
WHO="${2:-}"
DRIVER="${3:-}"
case "$CMD" in start|stop|base) ;; *) echo "usage: $0 start|stop|base WHO fuse-overlayfs|vfs" >&2; exit 2 ;; esac
case "$DRIVER" in fuse-overlayfs|vfs) ;; *) echo "$0: DRIVER must be fuse-overlayfs or vfs" >&2; exit 2 ;; esac
[ -n "$WHO" ] || { echo "$0: WHO missing" >&2; exit 2; }

DOCKER=/usr/bin/docker
CONTRIB=/usr/share/docker.io/contrib
IMAGE="unshare-fs-test:latest"
BASE_PATH=/usr/sbin:/usr/bin:/sbin:/bin
WAIT_SECONDS=60

log() { printf '[docker-driver] %s\n' "$*" >&2; }

WHO_UID="$(id -u "$WHO")"
WHO_GID="$(id -g "$WHO")"
WHO_HOME="$(getent passwd "$WHO" | cut -d: -f6)"
ME="$(id -u)"
if [ "$ME" -ne 0 ] && [ "$ME" -ne "$WHO_UID" ]; then
  echo "$0: run as root or as $WHO" >&2
  exit 1
fi
BASE="/tmp/unshare-fs-dockerd-$WHO_UID-$DRIVER"
RUN="$BASE/run"
SOCK="$RUN/docker.sock"
PIDFILE="$RUN/docker.pid"
if [ "$CMD" = base ]; then echo "$BASE"; exit 0; fi

# A command as WHO, with a clean environment pointing the CLI at this daemon.
as_who() {
  local env=(env -i PATH="$CONTRIB:$BASE_PATH" HOME="$WHO_HOME" USER="$WHO" LOGNAME="$WHO" LANG=C.UTF-8
    DOCKER_HOST="unix://$SOCK")
  [ "$WHO_UID" -ne 0 ] && env+=(XDG_RUNTIME_DIR="$RUN")
  if [ "$ME" -eq "$WHO_UID" ]; then
    (cd / && exec "${env[@]}" "$@")
  else
    (cd / && exec runuser -u "$WHO" -- "${env[@]}" "$@")
  fi
}
dock() { as_who "$DOCKER" "$@"; }

proc_alive() {
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ]
}
# The pid in PIDFILE when it is a live dockerd of WHO, else nothing.
daemon_pid() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  proc_alive "$pid" || return 0
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 0
  [ "$(awk '/^Uid:/{print $2}' "/proc/$pid/status")" = "$WHO_UID" ] || return 0
  echo "$pid"
}

# Every process of the daemon: rootless, all in its user namespace and the
# rootlesskit parents; rootful, dockerd and what runs under its exec root.
daemon_processes() {
  local dpid="$1" p ns args
  if [ "$WHO_UID" -ne 0 ]; then
    ns="$(readlink "/proc/$dpid/ns/user" 2>/dev/null)" || return 0
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/ns/user" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
    done
    p="$(awk '/^PPid:/{print $2}' "/proc/$dpid/status" 2>/dev/null)"
    while [ -n "$p" ] && [ "$p" -gt 1 ]; do
      [ "$(cat "/proc/$p/comm" 2>/dev/null)" = rootlesskit ] && echo "$p"
      p="$(awk '/^PPid:/{print $2}' "/proc/$p/status" 2>/dev/null)"
    done
  else
    echo "$dpid"
    for p in /proc/[0-9]*; do
      args="$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)" || continue
      # containerd, its shims, and fuse-overlayfs (a daemon of its own per mount)
      case "$args" in *"$BASE/"*) echo "${p#/proc/}" ;; esac
    done
  fi
}

stop_daemon() {
  local pid procs left p i
  pid="$(daemon_pid)"
  [ -n "$pid" ] || return 0
  # shellcheck disable=SC2046
  ids="$(dock ps -aq 2>/dev/null || true)"
  # shellcheck disable=SC2086
  [ -z "$ids" ] || dock rm -f $ids >/dev/null 2>&1 || true
  procs="$(daemon_processes "$pid" | sort -un | tr '\n' ' ')"
  log "stopping dockerd $pid ($DRIVER, $WHO)"
  kill -TERM "$pid"
  for ((i = 0; i < 60 * 5; i++)); do
    left=""
    for p in $procs; do proc_alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.2
  done
  if [ -n "$left" ]; then
    log "still alive after 60 s:$left; SIGKILL"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    sleep 1
  fi
}

remove_base() {
  [ -d "$BASE" ] || return 0
  # Nothing may stay mounted beneath it (fuse-overlayfs mounts of a killed daemon).
  local m
  for m in $(awk -v b="$BASE/" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null || true
  done
  if [ "$WHO_UID" -ne 0 ] && [ -d "$BASE/data" ]; then
    as_who rootlesskit --net=host --disable-host-loopback --state-dir="$BASE/rk-rm" rm -rf "$BASE/data" >/dev/null 2>&1 || true
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
if [ -n "$(daemon_pid)" ] && dock version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  log "dockerd ($DRIVER, $WHO) already running"
else
  stop_daemon
  remove_base
  install -d -m 700 -o "$WHO_UID" -g "$WHO_GID" "$BASE"
  as_who mkdir -m 700 "$BASE/run" "$BASE/data" "$BASE/exec"
  as_who sh -c 'cat >"$1"' sh "$BASE/daemon.json" <<EOF
{
  "data-root": "$BASE/data",
  "exec-root": "$BASE/exec",
  "pidfile": "$PIDFILE",
  "hosts": ["unix://$SOCK"],
  "storage-driver": "$DRIVER",
  "iptables": false,
  "ip-forward": false,
  "ip-masq": false,
  "bridge": "none"
}
EOF
  as_who touch "$BASE/dockerd.log"
  log "starting dockerd ($DRIVER, $WHO) in $BASE"
  # In the background with every output to the log (no pipe of the caller
  # is held open), in a session of its own: it outlives the script.
  if [ "$WHO_UID" -eq 0 ]; then
    (cd / && exec setsid env -i PATH="$BASE_PATH" HOME=/root LANG=C.UTF-8 \
      /usr/sbin/dockerd --config-file "$BASE/daemon.json") >>"$BASE/dockerd.log" 2>&1 </dev/null &
  else
    as_who env DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none \
      DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="--state-dir=$RUN/dockerd-rootless" \
      setsid "$CONTRIB/dockerd-rootless.sh" --config-file "$BASE/daemon.json" >>"$BASE/dockerd.log" 2>&1 </dev/null &
  fi
  up=""
  for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
    if [ -n "$(daemon_pid)" ] && dock version --format '{{.Server.Version}}' >/dev/null 2>&1; then up=1; break; fi
    sleep 0.25
  done
  if [ -z "$up" ]; then
    log "dockerd did not answer within ${WAIT_SECONDS}s; log tail:"
    tail -n 30 "$BASE/dockerd.log" >&2 || true
    exit 1
  fi
fi

driver="$(dock info --format '{{.Driver}}')"
if [ "$driver" != "$DRIVER" ]; then
  log "the daemon runs with driver '$driver', not '$DRIVER'"
  exit 1
fi
if ! dock image inspect "$IMAGE" >/dev/null 2>&1; then
  # From WHO's own daemon (scripts/docker-setup.sh) when it has the image:
  # no root needed; else built as docker-setup.sh builds it (as root).
  if [ "$WHO_UID" -eq 0 ]; then own=/var/run/docker.sock; else own="/run/user/$WHO_UID/docker.sock"; fi
  if as_who env DOCKER_HOST="unix://$own" "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
    as_who sh -c "DOCKER_HOST=unix://$own $DOCKER save $IMAGE | $DOCKER load" >/dev/null
  elif [ "$ME" -eq 0 ]; then
    work="$(mktemp -d /tmp/unshare-fs-rootfs.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    bash "$SCRIPTS_DIR/test-rootfs.sh" "$work/rootfs.tar" >&2
    dock import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
      - "$IMAGE" <"$work/rootfs.tar" >/dev/null
    rm -rf "$work"
    trap - EXIT
  else
    log "no $IMAGE in $WHO's own dockerd ($own): run scripts/docker-setup.sh $WHO"
    exit 1
  fi
fi
echo "$BASE"

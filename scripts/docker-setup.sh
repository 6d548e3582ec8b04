#!/usr/bin/env bash
# docker-setup.sh — make real Docker (Debian 12 docker.io 20.10 + rootlesskit
# 1.1) usable on this kind of machine (no systemd, cgroup v1/hybrid, no
# registry, no network): rootless for an ordinary user, rootful for root.
#
# Usage (as root):  bash scripts/docker-setup.sh [USER]        (default: unsharefs)
#                   bash scripts/docker-setup.sh root          (rootful dockerd)
#                   bash scripts/docker-setup.sh stop [USER|root]
#
# Idempotent: every step checks before it changes anything. It:
#   1. installs docker.io rootlesskit uidmap busybox-static if missing
#   2. (rootless) ensures /run/user/$UID (mode 700, owned by USER) and that
#      USER has a subuid/subgid range (it only checks; podman-setup.sh adds one)
#   3. starts USER's dockerd unless the pid file names a live dockerd and the
#      socket answers `docker version`; waits (60 s) for the socket, printing
#      the daemon log tail on failure
#   4. builds the image unshare-fs-test:latest with `docker import` if missing
#      (same rootfs as podman-setup.sh: busybox-static + generated files)
# `stop` sends SIGTERM to the pid in the pid file and waits for dockerd (and,
# rootless, rootlesskit and everything in its user namespace) to be gone.
#
# Daemons (nothing collides; every path is passed explicitly):
#   rootful:  dockerd, socket /var/run/docker.sock, pid /var/run/docker.pid,
#             data root /var/lib/docker, exec root /var/run/docker,
#             containerd /var/run/docker/containerd/containerd.sock,
#             log /var/log/dockerd-unshare-fs.log
#   rootless: runuser -> rootlesskit -> rootlesskit child (comm "exe") -> dockerd
#             (started by /usr/share/docker.io/contrib/dockerd-rootless.sh),
#             socket $XDG_RUNTIME_DIR/docker.sock, pid $XDG_RUNTIME_DIR/docker.pid
#             (dockerd's host pid: rootlesskit makes no pid namespace),
#             data root ~/.local/share/docker, exec root $XDG_RUNTIME_DIR/docker,
#             rootlesskit state dir $XDG_RUNTIME_DIR/dockerd-rootless,
#             log $XDG_RUNTIME_DIR/dockerd-rootless.log
# Use the daemon:  root:  DOCKER_HOST=unix:///var/run/docker.sock /usr/bin/docker ...
#                  USER:  DOCKER_HOST=unix:///run/user/$UID/docker.sock /usr/bin/docker ...
#
# Pitfalls found on these machines (see also scripts/docker-scenario.sh):
# - /usr/local/bin/docker is a Docker 28 CLI and comes first on PATH. It does
#   work with the 20.10 daemon (it negotiates the API down: "API version:
#   1.41 (downgraded from 1.50)"), but the scripts always call the package's
#   CLI, DOCKER=/usr/bin/docker, so output formats match the daemon's version.
# - No systemd: the apt install made unit symlinks that nothing runs. Daemons
#   are started here with setsid + nohup in the background, stdin from
#   /dev/null, output to a log, so they survive the script and its session.
# - dockerd is /usr/sbin/dockerd (not in PATH for an ordinary user's shell).
# - dockerd-rootless.sh defaults to slirp4netns/vpnkit networking and the
#   "builtin" port driver; we have neither and want no network: it runs with
#   DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host and
#   DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none, and dockerd gets
#   --iptables=false --ip-forward=false --ip-masq=false --bridge=none (the
#   rootful daemon too: no docker0, no iptables rules on the host). Containers
#   must then run with --network none.
# - dockerd-rootless.sh runs `rootlesskit` and `dockerd` from PATH: PATH must
#   contain /usr/share/docker.io/contrib and /usr/sbin (runuser's env -i PATH
#   is ours, so it does). rootlesskit must not run as root ("This script must
#   be executed as a non-privileged user").
# - Without --state-dir rootlesskit uses a random /tmp/rootlesskitNNN dir; we
#   pin it to $XDG_RUNTIME_DIR/dockerd-rootless (holds child_pid, api.sock),
#   via DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS. rootlesskit removes it on exit.
# - cgroups: no extra flag is needed. Rootless dockerd on cgroup v1 runs with
#   "Cgroup Driver: none" by itself ("WARNING: Running in rootless-mode
#   without cgroups"); containerd logs a harmless "add cg to OOM monitor ...
#   permission denied" per container. Rootful dockerd uses cgroupfs
#   (/sys/fs/cgroup/*/docker/<id>); it works although root lacks
#   CAP_SYS_RESOURCE here (unlike rootful podman, docker sets no rlimits; the
#   containers inherit nofile 20000).
# - `runuser -u USER` keeps root's environment (DOCKER_HOST, DOCKER_CONFIG,
#   DOCKER_CONTEXT would leak): every docker/dockerd call runs under `env -i`
#   with a complete small environment (root too), from / (root's cwd /root is
#   not readable by the user).
# - runuser stays alive as the parent of rootlesskit (it waits to close the
#   PAM session) until the daemon stops: it is not a stray process.
# - A pid file naming a dead process is harmless (dockerd overwrites it), but
#   one naming another live process (pid reuse) makes dockerd refuse to start
#   ("pid file found, ensure docker is not running"): we remove pid files that
#   do not name a live dockerd of the right user. dockerd unlinks a stale
#   socket itself.
# - `docker import FILE` is read by the CLI, i.e. as USER: we feed the tar on
#   stdin (`docker import - < tar`) so the user needs no access to root's
#   temp dir. The tar keeps numeric owners (0, 1000); rootless dockerd maps
#   them through its user namespace (1000 -> subuid base + 999 on the host).
# - On SIGTERM dockerd stops every running container (SIGTERM, then SIGKILL
#   after the stop timeout: `sleep` as pid 1 ignores SIGTERM, so about 10 s),
#   then stops its containerd; the rootlesskit processes exit after dockerd.
#   `stop` waits up to 60 s, then SIGKILLs whatever is left (rootless: every
#   process in dockerd's user namespace, plus rootlesskit; rootful: the
#   containerd-shims of our containerd and their children).
# - Containers were not set to restart: after a daemon restart they are
#   stopped; run scripts/docker-scenario.sh start again.
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "$0")" && pwd)"

CMD="start"
case "${1:-}" in
  start|stop) CMD="$1"; shift ;;
esac
USER_NAME="${1:-unsharefs}"
DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
CONTRIB=/usr/share/docker.io/contrib
IMAGE="unshare-fs-test:latest"
PACKAGES=(docker.io rootlesskit uidmap busybox-static)
WAIT_SECONDS=60
STOP_SECONDS=60
DOCKERD_FLAGS=(--iptables=false --ip-forward=false --ip-masq=false --bridge=none)

log() { printf '[docker-setup] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "docker-setup.sh must run as root" >&2
  exit 1
fi

# ---------------------------------------------------------------- packages
if [ "$CMD" = start ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "packages already installed"
  fi
fi

# ---------------------------------------------------------------- user
if ! getent passwd "$USER_NAME" >/dev/null; then
  echo "no user $USER_NAME (scripts/podman-setup.sh $USER_NAME creates it with subuids)" >&2
  exit 1
fi
USER_UID="$(id -u "$USER_NAME")"
USER_GID="$(id -g "$USER_NAME")"
USER_HOME="$(getent passwd "$USER_NAME" | cut -d: -f6)"
BASE_PATH=/usr/sbin:/usr/bin:/sbin:/bin
if [ "$USER_UID" -eq 0 ]; then
  ROOTFUL=1
  RUNTIME_DIR=/var/run
  SOCK=/var/run/docker.sock
  PIDFILE=/var/run/docker.pid
  DATA_ROOT=/var/lib/docker
  EXEC_ROOT=/var/run/docker
  LOGFILE=/var/log/dockerd-unshare-fs.log
else
  ROOTFUL=0
  RUNTIME_DIR="/run/user/$USER_UID"
  SOCK="$RUNTIME_DIR/docker.sock"
  PIDFILE="$RUNTIME_DIR/docker.pid"
  DATA_ROOT="$USER_HOME/.local/share/docker"
  EXEC_ROOT="$RUNTIME_DIR/docker"
  LOGFILE="$RUNTIME_DIR/dockerd-rootless.log"
  STATE_DIR="$RUNTIME_DIR/dockerd-rootless"
fi

# Run a command as the user (root: as root) with a clean, complete
# environment that points the docker CLI at this user's daemon.
as_user() {
  if [ "$ROOTFUL" -eq 1 ]; then
    (cd / && env -i PATH="$BASE_PATH" HOME="$USER_HOME" USER=root LOGNAME=root \
      LANG=C.UTF-8 DOCKER_HOST="unix://$SOCK" "$@")
  else
    (cd / && runuser -u "$USER_NAME" -- env -i PATH="$BASE_PATH" \
      HOME="$USER_HOME" USER="$USER_NAME" LOGNAME="$USER_NAME" \
      XDG_RUNTIME_DIR="$RUNTIME_DIR" LANG=C.UTF-8 DOCKER_HOST="unix://$SOCK" "$@")
  fi
}

# Process helpers. A zombie (state Z) counts as dead.
proc_alive() {
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ]
}
# The pid in PIDFILE if it is a live dockerd of USER (rootless: in a user
# namespace other than the host's; rootful: in the host's), else nothing.
daemon_pid() {
  local pid uid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  proc_alive "$pid" || return 0
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 0
  uid="$(awk '/^Uid:/{print $2}' "/proc/$pid/status" 2>/dev/null)"
  [ "$uid" = "$USER_UID" ] || return 0
  if [ "$ROOTFUL" -eq 1 ]; then
    [ "$(readlink "/proc/$pid/ns/user")" = "$(readlink /proc/$$/ns/user)" ] || return 0
  else
    [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/$$/ns/user)" ] || return 0
  fi
  echo "$pid"
}
daemon_answers() {
  as_user "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# ---------------------------------------------------------------- stop
# Everything that belongs to the daemon with pid $1, dockerd included.
daemon_processes() {
  local dpid="$1" p ns pid args
  if [ "$ROOTFUL" -eq 0 ]; then
    # everything in dockerd's user namespace (rootlesskit child, dockerd,
    # containerd, shims, containers) plus the rootlesskit parent
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
    # containerd and shims started by this dockerd, and the shims' children
    for p in /proc/[0-9]*; do
      args="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
      case "$args" in
        *"$EXEC_ROOT/containerd/"*)
          pid="${p#/proc/}"
          echo "$pid"
          grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3
          ;;
      esac
    done
  fi
}

stop_daemon() {
  local pid procs left p i
  pid="$(daemon_pid)"
  if [ -z "$pid" ]; then
    log "no dockerd running for $USER_NAME ($PIDFILE)"
    return 0
  fi
  procs="$(daemon_processes "$pid" | sort -un | tr '\n' ' ')"
  log "stopping dockerd of $USER_NAME (pid $pid; processes: $procs)"
  kill -TERM "$pid"
  for ((i = 0; i < STOP_SECONDS * 5; i++)); do
    left=""
    for p in $procs; do proc_alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.2
  done
  if [ -n "$left" ]; then
    log "WARNING: still alive after ${STOP_SECONDS}s:$left; sending SIGKILL"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    sleep 1
  fi
  log "dockerd of $USER_NAME stopped"
}

if [ "$CMD" = stop ]; then
  stop_daemon
  exit 0
fi

# ---------------------------------------------------------------- subuid/runtime dir
if [ "$ROOTFUL" -eq 0 ]; then
  for f in /etc/subuid /etc/subgid; do
    if ! grep -q -e "^${USER_NAME}:" -e "^${USER_UID}:" "$f" 2>/dev/null; then
      echo "$USER_NAME has no range in $f: run scripts/podman-setup.sh $USER_NAME first" >&2
      exit 1
    fi
  done
  [ -d /run/user ] || install -d -m 755 -o root -g root /run/user
  install -d -m 700 -o "$USER_UID" -g "$USER_GID" "$RUNTIME_DIR"
  chown "$USER_UID:$USER_GID" "$RUNTIME_DIR"
  chmod 700 "$RUNTIME_DIR"
fi

# ---------------------------------------------------------------- daemon
start_daemon() {
  if [ -e "$PIDFILE" ]; then
    log "removing stale pid file $PIDFILE ($(cat "$PIDFILE" 2>/dev/null || true))"
    rm -f "$PIDFILE"
  fi
  log "starting dockerd for $USER_NAME (log: $LOGFILE)"
  # Launched as a background job of this (non-interactive) script, setsid
  # does not need to fork, so $! is the daemon (rootless: runuser): the wait
  # below stops early if it dies. The daemon outlives the script.
  cd /
  if [ "$ROOTFUL" -eq 1 ]; then
    setsid env -i PATH="$BASE_PATH" HOME=/root LANG=C.UTF-8 \
      nohup "$DOCKERD" "${DOCKERD_FLAGS[@]}" \
      --host "unix://$SOCK" --pidfile "$PIDFILE" \
      --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
      >>"$LOGFILE" 2>&1 </dev/null &
  else
    # the log is opened by root's shell: create it as the user's file first
    touch "$LOGFILE"
    chown "$USER_UID:$USER_GID" "$LOGFILE"
    # a state dir left by a killed rootlesskit would hold a stale lock
    if [ -d "$STATE_DIR" ]; then rm -rf "$STATE_DIR"; fi
    setsid runuser -u "$USER_NAME" -- env -i \
      PATH="$CONTRIB:$BASE_PATH" \
      HOME="$USER_HOME" USER="$USER_NAME" LOGNAME="$USER_NAME" \
      XDG_RUNTIME_DIR="$RUNTIME_DIR" LANG=C.UTF-8 \
      DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host \
      DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none \
      DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="--state-dir=$STATE_DIR" \
      nohup "$CONTRIB/dockerd-rootless.sh" "${DOCKERD_FLAGS[@]}" \
      --host "unix://$SOCK" --pidfile "$PIDFILE" \
      --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
      >>"$LOGFILE" 2>&1 </dev/null &
  fi
  local launcher=$! i rc
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    if [ -n "$(daemon_pid)" ] && daemon_answers; then
      log "dockerd for $USER_NAME up (pid $(daemon_pid))"
      return 0
    fi
    if [ -n "$launcher" ] && ! kill -0 "$launcher" 2>/dev/null; then
      rc=0
      wait "$launcher" || rc=$?
      launcher=""
      if [ "$rc" -ne 0 ]; then
        log "dockerd for $USER_NAME exited with status $rc; log tail ($LOGFILE):"
        tail -n 40 "$LOGFILE" >&2 || true
        return 1
      fi
    fi
    sleep 0.5
  done
  log "dockerd for $USER_NAME did not answer within ${WAIT_SECONDS}s; log tail ($LOGFILE):"
  tail -n 40 "$LOGFILE" >&2 || true
  return 1
}

pid="$(daemon_pid)"
if [ -n "$pid" ]; then
  # a live dockerd that is still starting: give it the same time
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    daemon_answers && break
    sleep 0.5
  done
  if daemon_answers; then
    log "dockerd for $USER_NAME already running (pid $pid)"
  else
    log "dockerd for $USER_NAME (pid $pid) does not answer; log tail ($LOGFILE):"
    tail -n 40 "$LOGFILE" >&2 || true
    exit 1
  fi
else
  start_daemon
fi

# ---------------------------------------------------------------- image
if as_user "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already present for $USER_NAME"
else
  log "building image $IMAGE for $USER_NAME"
  work="$(mktemp -d /tmp/unshare-fs-rootfs.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  bash "$SCRIPTS_DIR/test-rootfs.sh" "$work/rootfs.tar"
  as_user "$DOCKER" import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
    - "$IMAGE" <"$work/rootfs.tar" >/dev/null
  rm -rf "$work"
  trap - EXIT
fi

as_user "$DOCKER" info --format 'docker {{.ServerVersion}}: driver={{.Driver}} cgroups={{.CgroupDriver}} root={{.DockerRootDir}} security={{json .SecurityOptions}}' >&2
if [ "$ROOTFUL" -eq 1 ]; then
  log "ok: rootful dockerd ready: DOCKER_HOST=unix://$SOCK $DOCKER ..."
else
  log "ok: rootless dockerd of $USER_NAME (uid $USER_UID) ready; as root: runuser -u $USER_NAME -- env DOCKER_HOST=unix://$SOCK $DOCKER ..."
fi

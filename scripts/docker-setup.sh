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

# shellcheck source=docker-common.sh
source "$(cd "$(dirname "$0")" && pwd)/docker-common.sh"
LOG_TAG=docker-setup

CMD="start"
case "${1:-}" in
  start|stop) CMD="$1"; shift ;;
esac
USER_NAME="${1:-unsharefs}"
PACKAGES=(docker.io rootlesskit uidmap busybox-static)
DOCKERD_FLAGS=(--iptables=false --ip-forward=false --ip-masq=false --bridge=none)

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
daemon_user "$USER_NAME"
if [ "$ROOTFUL" -eq 1 ]; then
  DAEMON_SOCK=/var/run/docker.sock
  DAEMON_PIDFILE=/var/run/docker.pid
  DATA_ROOT=/var/lib/docker
  EXEC_ROOT=/var/run/docker
  LOGFILE=/var/log/dockerd-unshare-fs.log
else
  DAEMON_RUNTIME_DIR="/run/user/$DAEMON_UID"
  DAEMON_SOCK="$DAEMON_RUNTIME_DIR/docker.sock"
  DAEMON_PIDFILE="$DAEMON_RUNTIME_DIR/docker.pid"
  DATA_ROOT="$DAEMON_HOME/.local/share/docker"
  EXEC_ROOT="$DAEMON_RUNTIME_DIR/docker"
  LOGFILE="$DAEMON_RUNTIME_DIR/dockerd-rootless.log"
fi

# ---------------------------------------------------------------- stop
stop_daemon() {
  local pid procs
  pid="$(daemon_pid)"
  if [ -z "$pid" ]; then
    log "no dockerd running for $USER_NAME ($DAEMON_PIDFILE)"
    return 0
  fi
  procs="$(daemon_processes "$pid" "$EXEC_ROOT/containerd/" | sort -un | tr '\n' ' ')"
  log "stopping dockerd of $USER_NAME (pid $pid; processes: $procs)"
  terminate "$pid" "$procs"
  log "dockerd of $USER_NAME stopped"
}

if [ "$CMD" = stop ]; then
  stop_daemon
  exit 0
fi

# ---------------------------------------------------------------- subuid/runtime dir
if [ "$ROOTFUL" -eq 0 ]; then
  for f in /etc/subuid /etc/subgid; do
    if ! grep -q -e "^${USER_NAME}:" -e "^${DAEMON_UID}:" "$f" 2>/dev/null; then
      echo "$USER_NAME has no range in $f: run scripts/podman-setup.sh $USER_NAME first" >&2
      exit 1
    fi
  done
  [ -d /run/user ] || install -d -m 755 -o root -g root /run/user
  install -d -m 700 -o "$DAEMON_UID" -g "$DAEMON_GID" "$DAEMON_RUNTIME_DIR"
  chown "$DAEMON_UID:$DAEMON_GID" "$DAEMON_RUNTIME_DIR"
  chmod 700 "$DAEMON_RUNTIME_DIR"
fi

# ---------------------------------------------------------------- daemon
start_daemon() {
  if [ -e "$DAEMON_PIDFILE" ]; then
    log "removing stale pid file $DAEMON_PIDFILE ($(cat "$DAEMON_PIDFILE" 2>/dev/null || true))"
    rm -f "$DAEMON_PIDFILE"
  fi
  log "starting dockerd for $USER_NAME (log: $LOGFILE)"
  if [ "$ROOTFUL" -eq 0 ]; then
    # the log is opened by root's shell: create it as the user's file first
    touch "$LOGFILE"
    chown "$DAEMON_UID:$DAEMON_GID" "$LOGFILE"
  fi
  launch_dockerd "$LOGFILE" "${DOCKERD_FLAGS[@]}" \
    --host "unix://$DAEMON_SOCK" --pidfile "$DAEMON_PIDFILE" \
    --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT"
  wait_for_daemon "$LOGFILE"
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
if dock image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already present for $USER_NAME"
else
  log "building image $IMAGE for $USER_NAME"
  import_test_image
fi

dock info --format 'docker {{.ServerVersion}}: driver={{.Driver}} cgroups={{.CgroupDriver}} root={{.DockerRootDir}} security={{json .SecurityOptions}}' >&2
if [ "$ROOTFUL" -eq 1 ]; then
  log "ok: rootful dockerd ready: DOCKER_HOST=unix://$DAEMON_SOCK $DOCKER ..."
else
  log "ok: rootless dockerd of $USER_NAME (uid $DAEMON_UID) ready; as root: runuser -u $USER_NAME -- env DOCKER_HOST=unix://$DAEMON_SOCK $DOCKER ..."
fi

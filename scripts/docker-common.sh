# docker-common.sh — what starting, finding and stopping a dockerd takes, the
# same for the daemons of scripts/docker-setup.sh and the extra ones of
# scripts/docker-driver.sh (sourced by both; it only defines). The pitfalls
# behind each step are told in docker-setup.sh's header.
#
# The sourcing script calls daemon_user USER first, then sets:
#   DAEMON_SOCK, DAEMON_PIDFILE   the daemon's socket and pid file
#   DAEMON_RUNTIME_DIR            rootless: the daemon's XDG_RUNTIME_DIR
#   LOG_TAG                       the word its log lines start with

DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
CONTRIB=/usr/share/docker.io/contrib
IMAGE="unshare-fs-test:latest"
BASE_PATH=/usr/sbin:/usr/bin:/sbin:/bin
WAIT_SECONDS=60
STOP_SECONDS=60
DOCKER_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }

# daemon_user USER: the daemon's user (root: a rootful daemon) in DAEMON_USER,
# DAEMON_UID, DAEMON_GID, DAEMON_HOME and ROOTFUL (1 or 0); fails when there
# is no such user.
daemon_user() {
  if ! getent passwd "$1" >/dev/null; then
    echo "no user $1 (scripts/podman-setup.sh $1 creates it with subuids)" >&2
    return 1
  fi
  DAEMON_USER="$1"
  DAEMON_UID="$(id -u "$1")"
  DAEMON_GID="$(id -g "$1")"
  DAEMON_HOME="$(getent passwd "$1" | cut -d: -f6)"
  if [ "$DAEMON_UID" -eq 0 ]; then ROOTFUL=1; else ROOTFUL=0; fi
}

# A command as the daemon's user, in a clean and complete environment
# (runuser keeps root's: DOCKER_HOST, DOCKER_CONFIG would leak), from /
# (root's cwd is not the user's to read): the words, in RUN_AS, that come
# before the command and its own environment variables.
run_as_words() {
  RUN_AS=(env -i PATH="$CONTRIB:$BASE_PATH" HOME="$DAEMON_HOME" USER="$DAEMON_USER"
    LOGNAME="$DAEMON_USER" LANG=C.UTF-8)
  [ "$ROOTFUL" -eq 1 ] || RUN_AS+=(XDG_RUNTIME_DIR="$DAEMON_RUNTIME_DIR")
  [ "$(id -u)" -eq "$DAEMON_UID" ] || RUN_AS=(runuser -u "$DAEMON_USER" -- "${RUN_AS[@]}")
}

# A command as the daemon's user, the docker CLI pointed at the daemon.
as_daemon_user() {
  run_as_words
  (cd / && exec "${RUN_AS[@]}" DOCKER_HOST="unix://$DAEMON_SOCK" "$@")
}
dock() { as_daemon_user "$DOCKER" "$@"; }

# Whether process $1 lives; a zombie (state Z) counts as dead.
proc_alive() {
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ]
}

# The pid in DAEMON_PIDFILE when it is a live dockerd of the daemon's user
# (rootless: in a user namespace other than the host's; rootful: in the
# host's), else nothing: a pid file naming a reused pid is not the daemon.
daemon_pid() {
  local pid uid
  pid="$(cat "$DAEMON_PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  proc_alive "$pid" || return 0
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 0
  uid="$(awk '/^Uid:/{print $2}' "/proc/$pid/status" 2>/dev/null)"
  [ "$uid" = "$DAEMON_UID" ] || return 0
  if [ "$ROOTFUL" -eq 1 ]; then
    [ "$(readlink "/proc/$pid/ns/user")" = "$(readlink /proc/$$/ns/user)" ] || return 0
  else
    [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/$$/ns/user)" ] || return 0
  fi
  echo "$pid"
}

daemon_answers() {
  dock version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# daemon_processes PID WHERE: everything of the dockerd PID, itself included.
# Rootless: all in its user namespace (rootlesskit's child, dockerd,
# containerd, shims, containers) and the rootlesskit parents. Rootful: the
# processes whose command line names WHERE (its containerd, shims, and
# fuse-overlayfs mounts), and their children (the containers).
daemon_processes() {
  local dpid="$1" where="$2" p ns pid args
  if [ "$ROOTFUL" -eq 0 ]; then
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
      case "$args" in
        *"$where"*)
          pid="${p#/proc/}"
          echo "$pid"
          grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3 || true
          ;;
      esac
    done
  fi
  # Its status is the callers' (set -e, pipefail): a last process without
  # children, or one gone while grep read, is no failure.
  return 0
}

# terminate PID PROCS: SIGTERM to the dockerd PID, then waits STOP_SECONDS
# for every one of PROCS to be gone and SIGKILLs what is left.
terminate() {
  local pid="$1" procs="$2" left p i
  kill -TERM "$pid" 2>/dev/null || true
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
}

# launch_dockerd LOGFILE ARG...: dockerd (rootless: through
# dockerd-rootless.sh, i.e. RootlessKit, with the host's network, no port
# driver, its state dir in the runtime dir) with ARGs, in the background with
# every output to LOGFILE (no pipe of the caller held open), in a session of
# its own: it outlives the script. LAUNCHER is its pid (rootless, runuser's,
# which waits for the daemon to close the PAM session).
launch_dockerd() {
  local logfile="$1"
  shift
  run_as_words
  if [ "$ROOTFUL" -eq 1 ]; then
    (cd / && exec setsid "${RUN_AS[@]}" nohup "$DOCKERD" "$@") >>"$logfile" 2>&1 </dev/null &
  else
    # a state dir left by a killed rootlesskit would hold a stale lock
    rm -rf "$DAEMON_RUNTIME_DIR/dockerd-rootless"
    (cd / && exec setsid "${RUN_AS[@]}" DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host \
      DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none \
      DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="--state-dir=$DAEMON_RUNTIME_DIR/dockerd-rootless" \
      nohup "$CONTRIB/dockerd-rootless.sh" "$@") >>"$logfile" 2>&1 </dev/null &
  fi
  LAUNCHER=$!
}

# wait_for_daemon LOGFILE: until the daemon LAUNCHER started answers (for
# WAIT_SECONDS); fails, with the log's tail, when it does not or its
# launcher exits with an error.
wait_for_daemon() {
  local logfile="$1" launcher="$LAUNCHER" i rc
  for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
    if [ -n "$(daemon_pid)" ] && daemon_answers; then
      log "dockerd for $DAEMON_USER up (pid $(daemon_pid))"
      return 0
    fi
    if [ -n "$launcher" ] && ! kill -0 "$launcher" 2>/dev/null; then
      rc=0
      wait "$launcher" || rc=$?
      launcher=""
      if [ "$rc" -ne 0 ]; then
        log "dockerd for $DAEMON_USER exited with status $rc; log tail ($logfile):"
        tail -n 40 "$logfile" >&2 || true
        return 1
      fi
    fi
    sleep 0.25
  done
  log "dockerd for $DAEMON_USER did not answer within ${WAIT_SECONDS}s; log tail ($logfile):"
  tail -n 40 "$logfile" >&2 || true
  return 1
}

# The test image, imported into the daemon: the rootfs of
# scripts/test-rootfs.sh (needs root), fed on stdin so that the user's CLI
# needs no access to root's temp dir.
import_test_image() {
  local work rc=0
  work="$(mktemp -d /tmp/unshare-fs-rootfs.XXXXXX)"
  { bash "$DOCKER_SCRIPTS_DIR/test-rootfs.sh" "$work/rootfs.tar" >&2 &&
    dock import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
      - "$IMAGE" <"$work/rootfs.tar" >/dev/null; } || rc=$?
  rm -rf "$work"
  return "$rc"
}

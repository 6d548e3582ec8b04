#!/usr/bin/env bash
# podman-setup.sh — make real podman usable on this kind of machine
# (Debian 12, no systemd, cgroup v1/hybrid, no registry, no network).
#
# Usage (as root):  bash scripts/podman-setup.sh [USER]        (default: unsharefs)
#                   bash scripts/podman-setup.sh root          (rootful podman)
#
# Idempotent: every step checks before it changes anything, so CI can run it
# on every run. It:
#   1. installs podman runc uidmap catatonit fuse-overlayfs slirp4netns busybox-static
#   2. ensures USER exists (useradd -m), with a subuid/subgid range that does
#      not overlap any range already in /etc/subuid or /etc/subgid
#   3. ensures /run/user/$UID (mode 700, owned by USER) — no systemd/logind here
#   4. writes containers.conf (runc, cgroupfs, file events) and storage.conf
#      (overlay) for USER (~/.config/containers), or for root in /etc/containers
#   5. builds the image localhost/unshare-fs-test for USER if it is missing
#   6. makes /dev/fuse usable by ordinary users (mode 0666), for rootless
#      podman with mount_program = fuse-overlayfs (test/podman-fuse.test.ts)
#
# Pitfalls found on these machines (see also scripts/podman-scenario.sh):
# - crun fails here with "cgroups in hybrid mode not supported". Debian's
#   podman depends on "crun | runc": installing runc in the same apt command
#   keeps crun out, and containers.conf sets runtime = "runc" in any case.
# - Orphans are not always reaped here: a killed pause process can stay a
#   zombie ("[catatonit] <defunct>"); code must treat state Z as dead.
# - No systemd: cgroup_manager must be "cgroupfs" and events_logger "file"
#   (the journald logger needs systemd-journald, the systemd cgroup manager
#   needs a user D-Bus session). Rootless containers on this cgroup v1 host
#   get no resource limits, which is fine for our tests.
# - No logind: /run/user/$UID does not exist. Podman then falls back to
#   ${TMPDIR:-/tmp}/podman-run-$UID and the pause pid file and runroot move
#   with it. We create /run/user/$UID; podman uses it even when
#   XDG_RUNTIME_DIR is unset (checked), but we pass XDG_RUNTIME_DIR anyway.
# - `runuser -u USER` and `su USER` set HOME/USER/LOGNAME but not
#   XDG_RUNTIME_DIR (no pam_systemd), and keep the rest of root's environment
#   (TMPDIR, XDG_CONFIG_HOME, CONTAINERS_* would leak into the user's podman).
#   We run podman through `env -i` with a complete small environment, from /
#   (root's cwd /root is not readable by the user).
# - /etc/subuid and /etc/subgid ship empty here; Debian 12's `useradd -m`
#   fills them (SUB_UID_* in login.defs, files present) — checked — but a user
#   created otherwise may have none, so we check and add a range ourselves.
#   After a user's ranges change, `podman system migrate` must run (podman's
#   documented way to restart the pause process with the new mapping).
# - newuidmap/newgidmap from Debian's uidmap are setuid root: fine. Without
#   them (or without a subuid range) podman maps only the user's own uid, so
#   the image's uid 1000 files and `podman exec --user 1000` cannot work.
# - Root here lacks CAP_SYS_RESOURCE: rootful containers fail to start until
#   default_ulimits is set (see below). Rootless podman is not affected.
# - Podman prints '"/" is not a shared mount' on the first command after the
#   pause process starts: harmless for us (no volumes).
# - Native rootless overlay works on this kernel (>= 5.13) on ext4, so the
#   storage driver is "overlay" without mount_program; fuse-overlayfs is
#   installed as a fallback only (set mount_program in storage.conf to use it).
# - These VMs ship /dev/fuse as 0600 root:root (Debian's udev makes it 0666;
#   there is no udev here). Rootless fuse-overlayfs opens /dev/fuse as the
#   user, so without 0666 it cannot mount: step 6 sets Debian's usual mode.
# - Storage location: /home and /tmp are both on / (ext4) here, and native
#   overlay works there (checked with the default ~/.local/share graphroot).
#   A graphroot on an overlay filesystem itself would not work for overlay.
# - Rootful podman creates /run/user/0 (mode 700) on its first run; its
#   runroot is /run/containers/storage and it has no pause process.
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "$0")" && pwd)"

USER_NAME="${1:-unsharefs}"
IMAGE="localhost/unshare-fs-test"
PACKAGES=(podman runc uidmap catatonit fuse-overlayfs slirp4netns busybox-static)
MARKER="# written by unshare-fs scripts/podman-setup.sh"

log() { printf '[podman-setup] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "podman-setup.sh must run as root" >&2
  exit 1
fi

# ---------------------------------------------------------------- packages
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

# ---------------------------------------------------------------- /dev/fuse
# Debian's mode for it (see the pitfall above); only when it is there and not
# already usable by everyone.
if [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  log "chmod 666 /dev/fuse (was $(stat -c %a /dev/fuse); rootless fuse-overlayfs needs it)"
  chmod 666 /dev/fuse
fi

# ---------------------------------------------------------------- user
if [ "$USER_NAME" = root ]; then
  ROOTFUL=1
else
  ROOTFUL=0
  if ! getent passwd "$USER_NAME" >/dev/null; then
    log "creating user $USER_NAME"
    useradd -m -s /bin/bash "$USER_NAME"
  fi
fi
USER_UID="$(id -u "$USER_NAME")"
USER_GID="$(id -g "$USER_NAME")"
USER_HOME="$(getent passwd "$USER_NAME" | cut -d: -f6)"
RUNTIME_DIR="/run/user/$USER_UID"

# ---------------------------------------------------------------- subuid/subgid
# A range for USER is added to /etc/subuid and /etc/subgid unless USER
# already has one there. The new range starts past the end of every range in
# both files (so nothing overlaps) and is the same in both.
has_subid_range() {
  grep -q "^${USER_NAME}:" "$1" || grep -q "^${USER_UID}:" "$1"
}
next_subid_start() {
  local start=100000 s c end f
  for f in /etc/subuid /etc/subgid; do
    while IFS=: read -r _ s c; do
      [[ "$s" =~ ^[0-9]+$ && "$c" =~ ^[0-9]+$ ]] || continue
      end=$((s + c))
      if [ "$end" -gt "$start" ]; then start="$end"; fi
    done <"$f"
  done
  echo "$start"
}

changed_ids=0
if [ "$ROOTFUL" -eq 0 ]; then
  touch /etc/subuid /etc/subgid
  subid_start="$(next_subid_start)"
  for f in /etc/subuid /etc/subgid; do
    if ! has_subid_range "$f"; then
      log "adding ${USER_NAME}:${subid_start}:65536 to $f"
      echo "${USER_NAME}:${subid_start}:65536" >>"$f"
      changed_ids=1
    fi
  done
fi

# ---------------------------------------------------------------- runtime dir
if [ "$ROOTFUL" -eq 0 ]; then
  [ -d /run/user ] || install -d -m 755 -o root -g root /run/user
  install -d -m 700 -o "$USER_UID" -g "$USER_GID" "$RUNTIME_DIR"
  # install -d does not fix an existing dir's owner/mode
  chown "$USER_UID:$USER_GID" "$RUNTIME_DIR"
  chmod 700 "$RUNTIME_DIR"
fi

# Run a command as the user with a clean, complete environment.
as_user() {
  if [ "$ROOTFUL" -eq 1 ]; then
    (cd / && "$@")
  else
    (cd / && runuser -u "$USER_NAME" -- env -i \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME="$USER_HOME" USER="$USER_NAME" LOGNAME="$USER_NAME" \
      XDG_RUNTIME_DIR="$RUNTIME_DIR" LANG=C.UTF-8 "$@")
  fi
}

# ---------------------------------------------------------------- config files
# write_if_changed FILE CONTENT: writes only when content differs; never
# overwrites a file that we did not write (no marker) — it warns instead.
write_conf() {
  local file="$1" content="$2"
  local full="${MARKER}"$'\n'"${content}"
  if [ -f "$file" ]; then
    if ! head -n1 "$file" | grep -qF "$MARKER"; then
      log "WARNING: $file exists and was not written by this script; leaving it alone"
      return 0
    fi
    if [ "$(cat "$file")" = "$full" ]; then return 0; fi
  fi
  log "writing $file"
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$full" >"$file"
}

CONTAINERS_CONF='[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"'
STORAGE_CONF='[storage]
driver = "overlay"'

if [ "$ROOTFUL" -eq 1 ]; then
  # Rootful podman raises RLIMIT_NOFILE (1048576) and RLIMIT_NPROC for every
  # container; root here lacks CAP_SYS_RESOURCE and its hard limits are lower
  # (nofile 20000), so runc fails with "error setting rlimit type 7:
  # operation not permitted". Pin the container limits to our hard limits.
  # RLIMIT_NPROC (type 6) is subtler: the shell's hard limit is 96365 but
  # conmon (and the rootless pause process) run with 32768, so runc init
  # cannot raise it to the shell's value either, nor with `--ulimit host`.
  # A modest fixed cap that is always a lowering works.
  hard_nofile="$(ulimit -Hn)"
  hard_nproc="$(ulimit -Hu)"
  if [ "$hard_nofile" = unlimited ] || [ "$hard_nofile" -gt 1048576 ]; then hard_nofile=1048576; fi
  if [ "$hard_nproc" = unlimited ] || [ "$hard_nproc" -gt 16384 ]; then hard_nproc=16384; fi
  CONTAINERS_CONF="[containers]
default_ulimits = [\"nofile=${hard_nofile}:${hard_nofile}\", \"nproc=${hard_nproc}:${hard_nproc}\"]

${CONTAINERS_CONF}"
  # Rootful podman reads /etc/containers/containers.conf (overriding
  # /usr/share/containers/containers.conf). Rootless users read it too, which
  # is harmless: the settings are the same ones we give them.
  write_conf /etc/containers/containers.conf "$CONTAINERS_CONF"
  write_conf /etc/containers/storage.conf "$STORAGE_CONF
runroot = \"/run/containers/storage\"
graphroot = \"/var/lib/containers/storage\""
else
  cfg="$USER_HOME/.config/containers"
  if [ ! -d "$cfg" ]; then
    install -d -m 755 -o "$USER_UID" -g "$USER_GID" "$USER_HOME/.config" "$cfg"
  fi
  write_conf "$cfg/containers.conf" "$CONTAINERS_CONF"
  write_conf "$cfg/storage.conf" "$STORAGE_CONF"
  chown "$USER_UID:$USER_GID" "$USER_HOME/.config" "$cfg" "$cfg/containers.conf" "$cfg/storage.conf"
fi

# A pause process that died and left its pid file (and containers podman
# still takes for running) makes every podman command of the user fail with
# "invalid internal status": reset it first (seen on a CI machine, before
# the image step).  podman-scenario.sh keeps the one way of doing that.
if [ "$ROOTFUL" -eq 0 ]; then
  bash "$SCRIPTS_DIR/podman-scenario.sh" revive "$USER_NAME" ||
    log "WARNING: podman info still fails for $USER_NAME (see above)"
fi

# A new subuid range for an existing user is only seen after the pause
# process restarts with the new mapping.
if [ "$changed_ids" -eq 1 ]; then
  log "subordinate ids changed: podman system migrate"
  as_user podman system migrate >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- image
if as_user podman image exists "$IMAGE"; then
  log "image $IMAGE already present for $USER_NAME"
else
  log "building image $IMAGE for $USER_NAME"
  work="$(mktemp -d /tmp/unshare-fs-rootfs.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  bash "$SCRIPTS_DIR/test-rootfs.sh" "$work/rootfs.tar"
  chmod 755 "$work"
  as_user podman import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
    "$work/rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$work"
  trap - EXIT
fi

as_user podman info --format 'podman {{.Version.Version}}: runtime={{.Host.OCIRuntime.Name}} cgroups={{.Host.CgroupManager}} driver={{.Store.GraphDriverName}} graphroot={{.Store.GraphRoot}} runroot={{.Store.RunRoot}}' >&2
if [ "$ROOTFUL" -eq 1 ]; then
  log "ok: rootful podman ready (run podman as root)"
else
  log "ok: $USER_NAME (uid $USER_UID) ready; run podman as: runuser -u $USER_NAME -- env XDG_RUNTIME_DIR=$RUNTIME_DIR HOME=$USER_HOME podman ..."
fi

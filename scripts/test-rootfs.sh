#!/usr/bin/env bash
# test-rootfs.sh — the test image's root filesystem, as a tar, for
# scripts/podman-setup.sh (podman import) and scripts/docker-setup.sh
# (docker import): busybox-static with its applets linked in /bin, an
# /etc/passwd and /etc/group with root and user (1000), /etc/motd, and
# /home/user owned by 1000.
#
# Usage (as root: chroot and chown need it):  bash scripts/test-rootfs.sh OUT.tar
#
# --numeric-owner: the tar keeps 0/1000 so that a rootless engine maps them
# through its user namespace on import (1000 -> subuid base + 999 on the host).
set -euo pipefail

OUT="${1:?usage: test-rootfs.sh OUT.tar}"
work="$(mktemp -d /tmp/unshare-fs-rootfs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,home/user,proc,sys,dev,run,var/tmp}
busybox_bin="$(command -v busybox || echo /bin/busybox)"
cp "$busybox_bin" "$root/bin/busybox"
# --install -s makes absolute symlinks /bin/busybox in the chosen dirs;
# run it with the copied binary under chroot so the links are container paths.
chroot "$root" /bin/busybox --install -s /bin
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
echo 'unshare-fs-test' >"$root/etc/hostname"
printf 'NAME="unshare-fs test image"\nID=unshare-fs-test\n' >"$root/etc/os-release"
echo 'hello from the image layer' >"$root/etc/motd"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 700 "$root/root"
chown 1000:1000 "$root/home/user"
tar --numeric-owner -C "$root" -cf "$OUT" .
chmod 644 "$OUT"

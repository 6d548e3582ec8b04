# scenario-files.sh — the seed scenario's files, written in each container by
# scripts/podman-scenario.sh and scripts/docker-scenario.sh (sourced by both).
# Each function prints a /bin/sh script for `exec --user UID CONTAINER sh -ec`.

# scenario_root_files NAME N: the files of uid 0 (N: 1, 2 ... per container).
scenario_root_files() {
  local name="$1" n="$2"
  cat <<SCRIPT
mkdir -p /data/tree
chmod 0755 /data
echo 'hello from $name' > /data/hello.txt && chmod 0644 /data/hello.txt
echo 'root secret of $name' > /data/root-only.txt && chmod 0600 /data/root-only.txt
ln -sf hello.txt /data/link-to-hello
echo 'only in $name' > /data/only-in-c$n && chmod 0644 /data/only-in-c$n
for d in 1 2 3; do mkdir -p /data/tree/d\$d; for f in 1 2 3 4; do echo "\$d.\$f" > /data/tree/d\$d/f\$f; done; done
mkdir -p /data/user-dir && chown 1000:1000 /data/user-dir && chmod 0755 /data/user-dir
SCRIPT
}

# scenario_user_files NAME: the files of uid 1000, a 0700 directory among them.
scenario_user_files() {
  local name="$1"
  cat <<SCRIPT
echo 'user file of $name' > /data/user-dir/owned-by-user && chmod 0644 /data/user-dir/owned-by-user
mkdir -p /home/user/private && chmod 0700 /home/user/private
echo 'user secret of $name' > /home/user/private/secret.txt && chmod 0600 /home/user/private/secret.txt
SCRIPT
}

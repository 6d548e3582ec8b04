// Starting servers: a thread of this process (host paths) or a forked worker
// that joins a target's user and mount namespaces.  No N-API here.
#pragma once

#include <sys/types.h>

#include <string>

namespace unshare_fs {

struct SysError {
  int err = 0;               // errno, 0 when there was no error
  const char* syscall = "";  // what failed
  std::string path;          // what it failed on, may be empty
};

// Starts Serve() on a thread of this process.  Returns the client end.
int StartThreadServer(SysError& error);

struct Target {
  int user_ns_fd = -1;  // -1: already in the target's user namespace
  int mount_ns_fd = -1;
  int pid_ns_fd = -1;  // commands only; -1: stay in our pid namespace
};

// Opens /proc/<pid>/ns/{user,mnt}.  The user namespace is left unjoined
// (user_ns_fd -1) when it is the caller's own: setns into one's own user
// namespace is EINVAL.
bool OpenTarget(pid_t pid, Target& target, SysError& error);
void CloseTarget(Target& target);

// Opens /proc/<pid>/ns/pid_for_children for a command to run in (a holder's
// pid namespace); left -1 when it is our own.
bool OpenPidNamespace(pid_t pid, Target& target, SysError& error);

struct Worker {
  pid_t pid = -1;
  int pidfd = -1;  // taken right after fork, before anyone could reap it
  int fd = -1;     // client end of the socketpair
};

// Forks a worker that joins `target` and serves on its end of a socketpair;
// only a worker for a namespace of the library's own is let mount.
// The worker reports a failed join as an error frame with id 0, success as
// a ready frame with id 0.  Closes the target's fds in the parent.
bool SpawnWorker(Target& target, bool allow_mount, Worker& worker,
                 SysError& error);

// How a command runs: its working directory (in the target's mount
// namespace; null: the target's root), its environment (null: ours), and
// whether its stdio is ours or /dev/null.
struct CommandOptions {
  const char* cwd = nullptr;
  char* const* envp = nullptr;
  bool quiet = false;
};

// Forks a child that joins `target` the same way and execs argv[0] (searched
// in PATH) with no fd but its stdio.  Returns its pid and pidfd.  With a
// pid namespace in `target`, setns(2) moves only the children of the
// caller into it: the child forks the command there and relays its end
// (its exit code, or the signal that killed it); the command dies with it.
bool SpawnCommand(Target& target, char* const argv[],
                  const CommandOptions& options, pid_t& pid, int& pidfd,
                  SysError& error);

// Forks a holder: a process in a new mount namespace (propagation private)
// and, with `new_user_ns`, a new user namespace, like rootless podman's
// pause process.  It reports a ready frame (id 0) once unshared, then waits
// until the returned socket closes.  Its uid/gid maps are for the caller to
// write.  It also makes a pid namespace whose init is a child of its own:
// commands run in there (fuse-overlayfs's daemon, which leaves its parent)
// are killed by the kernel when that init ends, which it does with the
// holder, even when the holder is SIGKILLed.
bool SpawnHolder(bool new_user_ns, Worker& holder, SysError& error);

// How a child ended: an exit code, or the signal that killed it.
struct ExitStatus {
  int code = -1;  // -1 when killed
  int signal = 0;
};

// Reaps the child behind `pidfd`: 1 with `status` set, 0 while it runs
// (without `block`), -1 with errno set.
int Reap(int pidfd, ExitStatus& status, bool block);

// pidfd_send_signal(2): 0, or -1 with errno set.
int SignalChild(int pidfd, int sig);

}  // namespace unshare_fs

#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <system_error>
#include <thread>

#include "buffer.h"
#include "reply.h"
#include "server.h"
#include "stat_syscalls.h"

namespace unshare_fs {
namespace {

bool Fail(SysError& error, const char* syscall, std::string path = {}) {
  error.err = errno;
  error.syscall = syscall;
  error.path = std::move(path);
  return false;
}

bool SocketPair(int sv[2], SysError& error) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
    return Fail(error, "socketpair");
  }
  return true;
}

void WriteFrame(int fd, const ByteBuffer& b) {
  size_t off = 0;
  while (off < b.Size()) {
    ssize_t n = send(fd, b.Data() + off, b.Size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

[[noreturn]] void ChildFail(int sock, const char* syscall) {
  ByteBuffer b;
  ErrorFrame(b, 0, errno, syscall, "");
  WriteFrame(sock, b);
  _exit(127);
}

// Die with the thread that forked us, and catch a parent that died before
// the death signal was armed.  The kernel clears the death signal on a
// change of credentials that is not a plain subset (commit_creds): joining
// a user namespace another uid owns, or becoming uid 0 inside where that is
// another host uid.  So this runs again after every join.
void ArmDeathSignal(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);
}

// Node's supplementary groups (root's group 0, a user's docker group) must
// not follow a child into a namespace, where they would still grant host
// access.  Root may drop them before the join; a user only inside a
// namespace whose gid_map was written with setgroups allowed.  EPERM is the
// answer where neither may, and then there is nothing more to do.
bool DropGroups() { return setgroups(0, nullptr) == 0 || errno == EPERM; }

// Closes every fd from `first` up.
void CloseFrom(int first) {
  if (syscall(SYS_close_range, first, ~0U, 0) == 0) return;
  struct rlimit limit;
  int end = getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
                    limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 1 << 20
                ? static_cast<int>(limit.rlim_cur)
                : 1 << 20;
  for (int fd = first; fd < end; fd++) close(fd);
}

// The first steps of every forked child: the death signal, then drop the
// signal handlers and mask inherited from node.
void ResetChild(pid_t parent, const char* name) {
  ArmDeathSignal(parent);
  prctl(PR_SET_NAME, name);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Joins the target's namespaces; runs in a forked child, which is
// single-threaded, so setns(CLONE_NEWUSER) is allowed.  Returns the syscall
// that failed, or nullptr.
const char* JoinTarget(const Target& target, pid_t parent) {
  if (!DropGroups()) return "setgroups";
  // Order as runc and podman do it: user namespace first, then mount.
  if (target.user_ns_fd >= 0 && setns(target.user_ns_fd, CLONE_NEWUSER)) {
    return "setns";
  }
  if (setns(target.mount_ns_fd, CLONE_NEWNS)) return "setns";
  if (target.user_ns_fd >= 0) {
    if (setresgid(0, 0, 0)) return "setresgid";
    if (setresuid(0, 0, 0)) return "setresuid";
    if (!DropGroups()) return "setgroups";
  }
  ArmDeathSignal(parent);
  // The old working directory belongs to the old mount namespace.
  if (chdir("/")) return "chdir";
  return nullptr;
}

// Keeps only `sock` (moved to fd 3) and stderr, so that a crash or a
// sanitizer report reaches whoever runs the parent; stdin and stdout become
// /dev/null.
int KeepOnlySocket(int sock) {
  if (sock != 3) {
    if (dup2(sock, 3) < 0) ChildFail(sock, "dup2");
    sock = 3;
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
  }
  CloseFrom(4);
  return sock;
}

void ReadyFrame(int sock) {
  ByteBuffer ready;
  size_t at = ready.BeginFrame(0, Reply::kReady);
  ready.U32(static_cast<uint32_t>(getpid()));
  ready.U32(kProtocolVersion);
  ready.FinishFrame(at);
  WriteFrame(sock, ready);
}

// Ctrl-C signals the terminal's whole process group, our children with
// node: they must outlive it, so that node's handler (or the program's) can
// still unmount and remove, from inside, files owned by ids only that
// namespace maps.  They end with their creator anyway (the socket's end,
// the death signal).  Commands run in a namespace keep the default.
void OutliveInterrupts() {
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
}

// Runs in the forked child without exec: see the rule at ForkQuietly.
[[noreturn]] void WorkerMain(int sock, pid_t parent, const Target& target,
                             const ServeOptions& options) {
  ResetChild(parent, "unshare-fs");
  OutliveInterrupts();
  if (const char* failed = JoinTarget(target, parent)) ChildFail(sock, failed);
  sock = KeepOnlySocket(sock);
  ReadyFrame(sock);
  Serve(sock, options);
  _exit(0);
}

// fork(2) for a process forked from node already, which is single-threaded:
// the raw syscall, without the atfork handlers node's libraries registered
// (libuv's closes, in the child, the fd numbers of its signal lock pipe in
// node, which here are ours, and makes a new pipe).
pid_t ForkAgain() {
  return static_cast<pid_t>(
      syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

// The init of the holder's pid namespace, the first child the holder forks
// after unshare(CLONE_NEWPID).  When it ends the kernel kills everything
// else in there, daemons that left their parent included (a SIGKILLed node
// leaves no fuse-overlayfs behind).  It ends with the holder: when the
// holder's end of `alive` closes (on any death, SIGKILL too), or by the
// death signal; the pipe also covers a holder that died before the signal
// was armed, which getppid() cannot tell across a pid namespace (it is 0).
[[noreturn]] void PidInitMain(int alive_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_NAME, "unshare-fs-init");
  // The namespace's orphans become our children: let the kernel reap them.
  signal(SIGCHLD, SIG_IGN);
  char byte;
  for (;;) {
    ssize_t n = read(alive_fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    _exit(0);
  }
}

// Forks the pid namespace's init; it keeps no fd but stdio and `alive`'s
// read end, whose write end the holder keeps open for its whole life.
pid_t StartPidInit(int sock) {
  int alive[2];
  if (pipe(alive)) ChildFail(sock, "pipe");
  pid_t pid = ForkAgain();
  if (pid < 0) ChildFail(sock, "fork");
  if (pid == 0) {
    close(sock);
    close(alive[1]);
    PidInitMain(alive[0]);
  }
  close(alive[0]);
  return pid;
}

[[noreturn]] void HolderMain(int sock, pid_t parent, bool new_user_ns) {
  ResetChild(parent, "unshare-fs-ns");
  OutliveInterrupts();
  // The user namespace comes first in unshare(2), and owns the other two.
  if (unshare(CLONE_NEWNS | CLONE_NEWPID | (new_user_ns ? CLONE_NEWUSER : 0))) {
    ChildFail(sock, "unshare");
  }
  // Mounts made in here must not propagate back to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr)) {
    ChildFail(sock, "mount");
  }
  if (chdir("/")) ChildFail(sock, "chdir");
  sock = KeepOnlySocket(sock);
  pid_t init = StartPidInit(sock);
  ReadyFrame(sock);
  // Hold the namespaces until the creator closes its end (or dies).
  char byte;
  for (;;) {
    ssize_t n = read(sock, &byte, 1);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    break;
  }
  // Whatever ran in the pid namespace is gone once its init is reaped: a
  // close() that waits for the holder waits for all of it.
  kill(init, SIGKILL);
  while (waitpid(init, nullptr, 0) < 0 && errno == EINTR) {
  }
  _exit(0);
}

// Forks with every signal blocked, so that no handler of node's runs in the
// child before it resets them.
//
// The rule for every child forked here (README, Architecture: "Why the
// worker may be a fork without exec").  Node is multithreaded: a lock any
// other thread holds at the fork stays held in the child for ever.  The
// child may use plain syscalls, malloc/new, and threads, mutexes and
// condition variables it makes itself: glibc's fork resets malloc's, the
// loader's and the thread list's locks, musl's (from 1.2.2) all of libc's.
// It must never call V8, N-API or libuv, nor dlopen or what may load a
// library (getpwnam and any NSS lookup, iconv, setlocale), nor stdio or
// iostreams, nor anything taking another library's lock; and it throws no
// C++ exception it can avoid (the prebuilds' libunwind takes glibc's
// dl_iterate_phdr lock, which fork does not reset).  It ends in _exit or
// exec, never exit().  test/fork-stress.test.ts forks while other threads
// hold these locks.
pid_t ForkQuietly(SysError& error) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid != 0) {
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = fork_errno;
    if (pid < 0) Fail(error, "fork");
  }
  return pid;
}

// A pidfd for a child we just forked: until we reap it, its pid cannot name
// another process.  Without one the child is killed and reaped at once.
int ChildPidfd(pid_t pid, SysError& error) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    Fail(error, "pidfd_open", std::to_string(pid));
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return pidfd;
}

// Forks a child that runs `child_main(its socket, our pid)` and never
// returns; `child` gets its pid, a pidfd and our end of the socketpair.
template <typename ChildMain>
bool ForkWithSocket(Worker& child, SysError& error, ChildMain child_main) {
  int sv[2];
  if (!SocketPair(sv, error)) return false;
  pid_t parent = getpid();
  pid_t pid = ForkQuietly(error);
  if (pid == 0) {
    close(sv[0]);
    child_main(sv[1], parent);
  }
  close(sv[1]);
  int pidfd = pid < 0 ? -1 : ChildPidfd(pid, error);
  if (pidfd < 0) {
    close(sv[0]);
    return false;
  }
  child.pid = pid;
  child.pidfd = pidfd;
  child.fd = sv[0];
  return true;
}

// Before exec: the command gets our stdio (even where node opened it
// close-on-exec) and no other fd of node's, many of which lack
// close-on-exec.  `report_fd` moves to fd 3, close-on-exec, so the exec
// closes it too; returns its new number, or -1.
int KeepOnlyStdio(int report_fd) {
  if (report_fd != 3 && dup3(report_fd, 3, O_CLOEXEC) < 0) return -1;
  CloseFrom(4);
  for (int fd = 0; fd <= 2; fd++) fcntl(fd, F_SETFD, 0);
  return 3;
}

// Exits as `command` ended: its exit code, or the signal that killed it
// (raised again, without a core: the command dumped its own).
[[noreturn]] void ExitAs(pid_t command) {
  int status;
  while (waitpid(command, &status, 0) < 0) {
    if (errno != EINTR) _exit(127);
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  kill(getpid(), sig);
  _exit(128 + sig);
}

// After setns(CLONE_NEWPID), which moves only our children: forks the
// command's process into the pid namespace and returns true in it, with
// the death signal armed against us; we stay outside as its relay, with
// no fd but stdio, and exit as it does.  False (errno set) when the fork
// failed.
bool ForkIntoPidNamespace(int report_fd) {
  int alive[2];
  if (pipe2(alive, O_CLOEXEC)) return false;
  pid_t command = ForkAgain();
  if (command < 0) {
    int fork_errno = errno;
    close(alive[0]);
    close(alive[1]);
    errno = fork_errno;
    return false;
  }
  if (command == 0) {
    close(alive[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // getppid() is 0 across a pid namespace: our relay's end of `alive`
    // tells whether it died before the death signal was armed.
    struct pollfd relay = {alive[0], POLLIN, 0};
    if (poll(&relay, 1, 0) != 0) _exit(126);
    close(alive[0]);
    return true;
  }
  // The command's exec closes its copy of the report pipe: ours must not
  // keep it open.
  close(report_fd);
  close(alive[0]);
  ExitAs(command);
}

}  // namespace

int StartThreadServer(SysError& error) {
  int sv[2];
  if (!SocketPair(sv, error)) return -1;
  int server_fd = sv[1];
  // Host paths: no mounts, no root, and the thread may outlive a stuck job.
  try {
    std::thread([server_fd] { Serve(server_fd, ServeOptions()); }).detach();
  } catch (const std::system_error&) {
    close(sv[0]);
    close(sv[1]);
    errno = EAGAIN;
    Fail(error, "pthread_create");
    return -1;
  }
  return sv[0];
}

bool OpenTarget(pid_t pid, Target& target, SysError& error) {
  std::string dir = "/proc/" + std::to_string(pid);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return Fail(error, "pidfd_open", dir);
  close(pidfd);
  std::string user = dir + "/ns/user", mnt = dir + "/ns/mnt";
  int user_fd = open(user.c_str(), O_RDONLY | O_CLOEXEC);
  if (user_fd < 0) return Fail(error, "open", user);
  int mnt_fd = open(mnt.c_str(), O_RDONLY | O_CLOEXEC);
  if (mnt_fd < 0) {
    Fail(error, "open", mnt);
    close(user_fd);
    return false;
  }
  struct stat theirs, ours;
  if (Fstat(user_fd, &theirs) == 0 &&
      StatAt(AT_FDCWD, "/proc/self/ns/user", &ours, 0) == 0 &&
      theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
    close(user_fd);
    user_fd = -1;
  }
  target.user_ns_fd = user_fd;
  target.mount_ns_fd = mnt_fd;
  return true;
}

void CloseTarget(Target& target) {
  if (target.user_ns_fd >= 0) close(target.user_ns_fd);
  if (target.mount_ns_fd >= 0) close(target.mount_ns_fd);
  if (target.pid_ns_fd >= 0) close(target.pid_ns_fd);
  target.user_ns_fd = target.mount_ns_fd = target.pid_ns_fd = -1;
}

bool OpenPidNamespace(pid_t pid, Target& target, SysError& error) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/pid_for_children";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(error, "open", path);
  struct stat theirs, ours;
  if (Fstat(fd, &theirs) == 0 &&
      StatAt(AT_FDCWD, "/proc/self/ns/pid", &ours, 0) == 0 &&
      theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
    close(fd);
    fd = -1;
  }
  target.pid_ns_fd = fd;
  return true;
}

bool SpawnWorker(Target& target, bool allow_mount, Worker& worker,
                 SysError& error) {
  ServeOptions options;
  options.allow_set_root = true;
  options.allow_mount = allow_mount;
  bool ok = ForkWithSocket(worker, error, [&](int sock, pid_t parent) {
    WorkerMain(sock, parent, target, options);
  });
  CloseTarget(target);
  return ok;
}

bool SpawnCommand(Target& target, char* const argv[],
                  const CommandOptions& options, pid_t& pid, int& pidfd,
                  SysError& error) {
  // The child reports a failed join or exec through this pipe; a successful
  // exec closes it (O_CLOEXEC) with nothing written.
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC)) {
    CloseTarget(target);
    return Fail(error, "pipe2");
  }
  pid_t parent = getpid();
  pid = ForkQuietly(error);
  if (pid == 0) {
    close(pipefd[0]);
    ResetChild(parent, "unshare-fs-exec");
    int report_fd = pipefd[1];
    const char* failed = JoinTarget(target, parent);
    // After the user namespace: setns needs CAP_SYS_ADMIN over both.
    if (!failed && target.pid_ns_fd >= 0 &&
        setns(target.pid_ns_fd, CLONE_NEWPID)) {
      failed = "setns";
    }
    int exec_failed = 0;  // 1: exec, 2: chdir, 3: /dev/null, 4: fork
    if (!failed) {
      int moved = KeepOnlyStdio(report_fd);
      exec_failed = 1;
      if (moved >= 0) {
        report_fd = moved;
        if (target.pid_ns_fd >= 0 && !ForkIntoPidNamespace(report_fd)) {
          exec_failed = 4;
        }
        if (exec_failed == 1 && options.quiet) {
          int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
          if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
              dup2(null_fd, 2) < 0) {
            exec_failed = 3;
          }
        }
        if (exec_failed == 1 && options.cwd != nullptr && chdir(options.cwd)) {
          exec_failed = 2;
        }
        if (exec_failed == 1) {
          if (options.envp != nullptr) {
            execvpe(argv[0], argv, options.envp);
          } else {
            execvp(argv[0], argv);
          }
        }
      }
    }
    int report[2] = {errno, exec_failed};
    ssize_t ignored = write(report_fd, report, sizeof report);
    (void)ignored;
    _exit(127);
  }
  close(pipefd[1]);
  CloseTarget(target);
  pidfd = pid < 0 ? -1 : ChildPidfd(pid, error);
  if (pidfd < 0) {
    close(pipefd[0]);
    return false;
  }
  int report[2];
  ssize_t n;
  do {
    n = read(pipefd[0], report, sizeof report);
  } while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  if (n == static_cast<ssize_t>(sizeof report)) {
    int status;
    waitpid(pid, &status, 0);
    close(pidfd);
    pidfd = -1;
    errno = report[0];
    const char* what = report[1] == 0   ? "setns"
                       : report[1] == 2 ? "chdir"
                       : report[1] == 3 ? "open"
                       : report[1] == 4 ? "fork"
                                        : "spawn";
    return Fail(error, what,
                report[1] == 2   ? options.cwd
                : report[1] == 3 ? "/dev/null"
                                 : argv[0]);
  }
  return true;
}

bool SpawnHolder(bool new_user_ns, Worker& holder, SysError& error) {
  return ForkWithSocket(holder, error, [&](int sock, pid_t parent) {
    HolderMain(sock, parent, new_user_ns);
  });
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

constexpr int kBlockingReapMs = 1000;

int Reap(int pidfd, ExitStatus& status, bool block) {
  // A pidfd watched by libuv is non-blocking, and waitid() on it answers
  // EAGAIN instead of waiting: wait for it to be readable (exited) first.
  // Bounded: a child stuck in an uninterruptible wait (a lookup behind a
  // hung FUSE mount) dies only when that wait ends; nobody waits for ever.
  struct pollfd exited = {pidfd, POLLIN, 0};
  while (block && poll(&exited, 1, kBlockingReapMs) < 0 && errno == EINTR) {
  }
  siginfo_t info = {};
  int r;
  do {
    r = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
               WEXITED | WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EAGAIN) return 0;
  if (r < 0) return -1;
  if (info.si_pid == 0) return 0;
  if (info.si_code == CLD_EXITED) {
    status = {info.si_status, 0};
  } else {
    status = {-1, info.si_status};
  }
  return 1;
}

int SignalChild(int pidfd, int sig) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace unshare_fs

#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "buffer.h"
#include "ops.h"
#include "server.h"

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

// Runs in the forked child: single-threaded, so setns(CLONE_NEWUSER) is
// allowed.  Touches nothing of V8, N-API or libuv.
[[noreturn]] void ChildMain(int sock, pid_t parent, Target& target) {
  // Die with the thread that forked us, and catch a parent that died
  // before the death signal was armed.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);
  prctl(PR_SET_NAME, "unshare-fs");

  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  // Order as runc and podman do it: user namespace first, then mount.
  if (target.user_ns_fd >= 0) {
    if (setns(target.user_ns_fd, CLONE_NEWUSER)) ChildFail(sock, "setns");
  }
  if (setns(target.mount_ns_fd, CLONE_NEWNS)) ChildFail(sock, "setns");
  if (target.user_ns_fd >= 0) {
    if (setresgid(0, 0, 0)) ChildFail(sock, "setresgid");
    if (setresuid(0, 0, 0)) ChildFail(sock, "setresuid");
  }
  // The old working directory belongs to the old mount namespace.
  if (chdir("/")) ChildFail(sock, "chdir");

  // Keep only the socket, and stderr so that a crash or a sanitizer report
  // reaches whoever runs the parent.
  if (sock != 3) {
    if (dup2(sock, 3) < 0) ChildFail(sock, "dup2");
    sock = 3;
  }
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
  }
  if (syscall(SYS_close_range, 4, ~0U, 0)) {
    for (int fd = 4; fd < 65536; fd++) close(fd);
  }

  ByteBuffer ready;
  size_t at = ready.BeginFrame(0, Reply::kReady);
  ready.U32(static_cast<uint32_t>(getpid()));
  ready.FinishFrame(at);
  WriteFrame(sock, ready);
  Serve(sock);
  _exit(0);
}

}  // namespace

int StartThreadServer(SysError& error) {
  int sv[2];
  if (!SocketPair(sv, error)) return -1;
  int server_fd = sv[1];
  std::thread([server_fd] { Serve(server_fd); }).detach();
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
  if (fstat(user_fd, &theirs) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
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
  target.user_ns_fd = target.mount_ns_fd = -1;
}

bool SpawnWorker(Target& target, Worker& worker, SysError& error) {
  int sv[2];
  if (!SocketPair(sv, error)) {
    CloseTarget(target);
    return false;
  }
  // No handler of the parent's may run in the child between fork and the
  // reset of dispositions.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    ChildMain(sv[1], parent, target);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(sv[1]);
  CloseTarget(target);
  if (pid < 0) {
    close(sv[0]);
    errno = fork_errno;
    return Fail(error, "fork");
  }
  worker.pid = pid;
  worker.fd = sv[0];
  return true;
}

int Reap(pid_t pid, int grace_ms) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    struct pollfd p = {pidfd, POLLIN, 0};
    int n;
    do {
      n = poll(&p, 1, grace_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) kill(pid, SIGKILL);
    close(pidfd);
  }
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : status;
}

}  // namespace unshare_fs

#include "change.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "fs.h"
#include "reply.h"
#include "stat_syscalls.h"
#include "tree_job.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452  // the same number on every architecture
#endif

namespace unshare_fs {
namespace {

// The directory holding a path's last component, and that component.
struct Parent {
  Fd fd;
  std::string name;  // empty: the path is the root itself ("/", "//")
};

// Opens the parent of `path` as the session resolves paths.  A last
// component "." or ".." is EINVAL: an *at call on ".." from a parent
// resolved inside the root would reach out of it.
int OpenParent(int root_fd, const std::string& path, Parent& parent) {
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') end--;
  std::string dir;
  if (end == 0) {
    dir = "/";
  } else {
    size_t slash = path.rfind('/', end - 1);
    size_t start = slash == std::string::npos ? 0 : slash + 1;
    parent.name = path.substr(start, end - start);
    if (parent.name == "." || parent.name == "..") return EINVAL;
    dir = slash == std::string::npos ? "."
          : slash == 0               ? "/"
                                     : path.substr(0, slash);
  }
  parent.fd.reset(OpenPath(root_fd, dir, O_PATH | O_DIRECTORY));
  return parent.fd.get() < 0 ? errno : 0;
}

// chmod of an O_PATH fd: fchmodat2 (Linux 6.6) where there is one, else the
// fd's /proc link (a worker whose /proc is not its own gets ENOENT there).
int ChmodFd(int fd, mode_t mode) {
  if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL) return errno;
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return chmod(proc.c_str(), mode) == 0 ? 0 : errno;
}

// mkdir of one component, and the chown asked for.
int MkdirOne(int root_fd, const std::string& path, const req::Mkdir& args,
             const char*& syscall_name) {
  Parent parent;
  syscall_name = "mkdir";
  if (int err = OpenParent(root_fd, path, parent))
    return err == EINVAL ? EEXIST : err;
  if (parent.name.empty()) return EEXIST;
  if (mkdirat(parent.fd.get(), parent.name.c_str(), args.mode) != 0)
    return errno;
  if (args.uid != kNoId || args.gid != kNoId) {
    syscall_name = "chown";
    if (fchownat(parent.fd.get(), parent.name.c_str(), args.uid, args.gid,
                 AT_SYMLINK_NOFOLLOW) != 0) {
      return errno;
    }
  }
  return 0;
}

bool IsDirectory(int root_fd, const std::string& path) {
  int fd = OpenPath(root_fd, path, O_PATH | O_DIRECTORY);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// An *at call on the last component of `path` (unlink, rmdir, symlink):
// `at` makes it on the parent's fd and the name.
// `last_err` answers a path with no last component, `einval_as` (when
// not 0) an EINVAL.
template <typename At>
void OnName(ByteBuffer& out, uint32_t id, int root_fd, const std::string& path,
            const char* what, int last_err, At&& at, int einval_as = 0) {
  Parent parent;
  int err = OpenParent(root_fd, path, parent);
  if (err == 0 && parent.name.empty()) err = last_err;
  if (err == 0 && at(parent.fd.get(), parent.name.c_str()) != 0) err = errno;
  if (err == EINVAL && einval_as != 0) err = einval_as;
  if (err != 0) {
    ErrorFrame(out, id, err, what, path);
  } else {
    EndFrame(out, id);
  }
}

// rename and link: two names, `at` on their parents' fds and names.
template <typename At>
void OnTwoNames(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& from_path, const std::string& to_path,
                const char* what, bool rename, At&& at) {
  Parent from, to;
  int err = OpenParent(root_fd, from_path, from);
  if (err == 0) err = OpenParent(root_fd, to_path, to);
  if (err == 0 && (from.name.empty() || to.name.empty())) {
    err = rename ? EBUSY : from.name.empty() ? EPERM : EEXIST;
  }
  if (err == 0 && at(from, to) != 0) err = errno;
  if (err != 0) {
    ErrorFrame(out, id, err, what, from_path);
  } else {
    EndFrame(out, id);
  }
}

// chmod, chown, utimes, truncate: `change` on the file `path` names
// (opened with `flags`), which returns 0 or an errno.  A failed open is
// reported as `open_what` (node:fs's syscall for the op: "open" for
// truncate, the op's own name for the others), a failed change as `what`.
template <typename Change>
void OnFile(ByteBuffer& out, uint32_t id, int root_fd, const std::string& path,
            int flags, const char* open_what, const char* what,
            Change&& change) {
  int fd = OpenPath(root_fd, path, flags);
  int err = fd < 0 ? errno : 0;
  const char* failed = open_what;
  Fd closer(fd);
  if (err == 0) {
    failed = what;
    err = change(fd);
  }
  if (err != 0) {
    ErrorFrame(out, id, err, failed, path);
  } else {
    EndFrame(out, id);
  }
}

// A path's last symlink is followed (inside the root) unless kNoFollow.
int PathFlags(uint32_t flags) {
  return O_PATH | (flags & kNoFollow ? O_NOFOLLOW : 0);
}

}  // namespace

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Mkdir& args) {
  const char* syscall_name = "mkdir";
  const std::string& path = args.path;
  if (!(args.flags & kMkdirRecursive)) {
    if (int err = MkdirOne(root_fd, path, args, syscall_name)) {
      ErrorFrame(out, id, err, syscall_name, path);
    } else {
      EndFrame(out, id);
    }
    return;
  }
  // Each prefix in turn, as `mkdir -p` does: an existing one must be a
  // directory (following symlinks, inside the root); the first one made is
  // the answer, as node:fs has it.
  std::string first;
  size_t at = 0;
  while (at < path.size()) {
    size_t next = path.find('/', at);
    if (next == std::string::npos) next = path.size();
    if (next == at || path.compare(at, next - at, ".") == 0) {
      at = next + 1;
      continue;
    }
    std::string prefix = path.substr(0, next);
    int err = MkdirOne(root_fd, prefix, args, syscall_name);
    if (err == EEXIST && std::string_view(syscall_name) == "mkdir") {
      if (!IsDirectory(root_fd, prefix)) {
        ErrorFrame(out, id, next == path.size() ? EEXIST : ENOTDIR, "mkdir",
                   path);
        return;
      }
    } else if (err != 0) {
      ErrorFrame(out, id, err, syscall_name, path);
      return;
    } else if (first.empty()) {
      first = prefix;
    }
    at = next + 1;
  }
  size_t frame = out.BeginFrame(id, Reply::kEnd);
  out.Bytes(first);
  out.FinishFrame(frame);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Unlink& args) {
  OnName(out, id, root_fd, args.path, "unlink", EISDIR,
         [](int dir, const char* name) { return unlinkat(dir, name, 0); });
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Rmdir& args) {
  OnName(out, id, root_fd, args.path, "rmdir", EBUSY,
         [](int dir, const char* name) {
           return unlinkat(dir, name, AT_REMOVEDIR);
         });
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Symlink& args) {
  // A name that cannot be made ("a/..") exists, as node:fs has it.
  OnName(
      out, id, root_fd, args.path, "symlink", EEXIST,
      [&](int dir, const char* name) {
        return symlinkat(args.target.c_str(), dir, name);
      },
      EEXIST);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Mknod& args) {
  Parent parent;
  const char* what = "mknod";
  int err = OpenParent(root_fd, args.path, parent);
  if (err == 0 && parent.name.empty()) err = EEXIST;
  if (err == 0 && MknodAt(parent.fd.get(), parent.name.c_str(), args.mode,
                          static_cast<dev_t>(args.rdev)) != 0) {
    err = errno;
  }
  if (err == 0 && (args.uid != kNoId || args.gid != kNoId)) {
    what = "chown";
    if (fchownat(parent.fd.get(), parent.name.c_str(), args.uid, args.gid,
                 AT_SYMLINK_NOFOLLOW) != 0) {
      err = errno;
    }
  }
  if (err != 0) {
    ErrorFrame(out, id, err, what, args.path);
  } else {
    EndFrame(out, id);
  }
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Rename& args) {
  OnTwoNames(out, id, root_fd, args.from, args.to, "rename", true,
             [](const Parent& from, const Parent& to) {
               return renameat(from.fd.get(), from.name.c_str(), to.fd.get(),
                               to.name.c_str());
             });
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Link& args) {
  OnTwoNames(out, id, root_fd, args.existing, args.new_path, "link", false,
             [](const Parent& from, const Parent& to) {
               return linkat(from.fd.get(), from.name.c_str(), to.fd.get(),
                             to.name.c_str(), 0);
             });
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Chmod& args) {
  OnFile(out, id, root_fd, args.path, O_PATH, "chmod", "chmod",
         [&](int fd) { return ChmodFd(fd, args.mode); });
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Chown& args) {
  const bool follow = !(args.flags & kNoFollow);
  const char* what = follow ? "chown" : "lchown";
  OnFile(out, id, root_fd, args.path, PathFlags(args.flags), what, what,
         [&](int fd) {
           return fchownat(fd, "", args.uid, args.gid, AT_EMPTY_PATH) == 0
                      ? 0
                      : errno;
         });
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Utimes& args) {
  const bool follow = !(args.flags & kNoFollow);
  const char* what = follow ? "utime" : "lutime";
  OnFile(out, id, root_fd, args.path, PathFlags(args.flags), what, what,
         [&](int fd) {
           struct timespec times[2] = {
               {static_cast<time_t>(args.atime_sec),
                static_cast<long>(args.atime_nsec)},
               {static_cast<time_t>(args.mtime_sec),
                static_cast<long>(args.mtime_nsec)},
           };
           return utimensat(fd, "", times, AT_EMPTY_PATH) == 0 ? 0 : errno;
         });
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Truncate& args) {
  OnFile(out, id, root_fd, args.path, O_WRONLY | O_NONBLOCK | O_NOCTTY, "open",
         "ftruncate", [&](int fd) {
           return ftruncate(fd, static_cast<off_t>(args.length)) == 0 ? 0
                                                                      : errno;
         });
}

namespace {

// Moves the rest of `from` to `to` in the kernel: copy_file_range, or
// sendfile where the filesystems refuse it (EXDEV before Linux 5.3,
// overlay, fuse).  Stops at the end of the file as it was when opened, so a
// file growing while it is copied costs no more than its size then.
int CopyBytes(int from, int to, off_t size) {
  bool range = true;
  off_t done = 0;
  while (done < size) {
    size_t want = static_cast<size_t>(std::min<off_t>(size - done, 1 << 30));
    ssize_t n;
    if (range) {
      // syscall(2), not glibc's copy_file_range: glibc 2.17 (the prebuilds'
      // floor) has none, and Zig supplies a static wrapper that sets a
      // private errno (see stat_syscalls.h).
#ifdef SYS_copy_file_range
      n = syscall(SYS_copy_file_range, from, nullptr, to, nullptr, want, 0);
#else
      n = -1;
      errno = ENOSYS;
#endif
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                    errno == EOPNOTSUPP || errno == EPERM)) {
        range = false;
        continue;
      }
    } else {
      n = sendfile(to, from, nullptr, want);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;  // shrunk since: what there was is copied
    done += n;
  }
  return 0;
}

}  // namespace

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::CopyFile& args) {
  const char* what = "copyfile";
  int follow = args.flags & kCopyNoFollow ? O_NOFOLLOW : 0;
  Fd from(
      OpenPath(root_fd, args.from, O_RDONLY | O_NONBLOCK | O_NOCTTY | follow));
  int err = from.get() < 0 ? errno : 0;
  struct stat from_st = {};
  if (err == 0 && Fstat(from.get(), &from_st) != 0) err = errno;
  if (err == 0 && S_ISDIR(from_st.st_mode)) err = EISDIR;
  if (err == 0 && !S_ISREG(from_st.st_mode)) err = EINVAL;
  Parent parent;
  if (err == 0) err = OpenParent(root_fd, args.to, parent);
  if (err == 0 && parent.name.empty()) err = EISDIR;
  Fd to;
  if (err == 0) {
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                O_CLOEXEC | (args.flags & kCopyExclusive ? O_EXCL : 0);
    to.reset(openat(parent.fd.get(), parent.name.c_str(), flags,
                    from_st.st_mode & 07777));
    if (to.get() < 0) err = errno;
  }
  struct stat to_st = {};
  if (err == 0 && Fstat(to.get(), &to_st) != 0) err = errno;
  // The same file: nothing to do, as libuv's copyfile has it.
  bool same = err == 0 && to_st.st_dev == from_st.st_dev &&
              to_st.st_ino == from_st.st_ino;
  if (err == 0 && !same && !S_ISREG(to_st.st_mode)) err = EINVAL;
  if (err == 0 && !same && ftruncate(to.get(), 0) != 0) err = errno;
  if (err == 0 && !same && fchmod(to.get(), from_st.st_mode & 07777) != 0) {
    err = errno;
  }
  if (err == 0 && !same) err = CopyBytes(from.get(), to.get(), from_st.st_size);
  if (err != 0) {
    ErrorFrame(out, id, err, what, args.from);
  } else {
    EndFrame(out, id);
  }
}

void StreamOp(uint32_t id, const req::Write& args, int root_fd, Job& job,
              const SendFrames& send) {
  ByteBuffer out;
  auto fail = [&](int err, const char* syscall_name) {
    out.Clear();
    ErrorFrame(out, id, err, syscall_name, args.path);
    send(out);
  };
  int flags = O_WRONLY | O_NONBLOCK | O_NOCTTY;
  if (!(args.flags & kWriteNoCreate)) flags |= O_CREAT;
  if (args.flags & kWriteTruncate) flags |= O_TRUNC;
  if (args.flags & kWriteAppend) flags |= O_APPEND;
  if (args.flags & kWriteExclusive) flags |= O_EXCL;
  if (args.flags & kWriteSync) flags |= O_SYNC;
  Fd fd(OpenPath(root_fd, args.path, flags, args.mode));
  if (fd.get() < 0) return fail(errno, "open");
  // fs.createWriteStream's `start`: where the writes begin (with O_APPEND
  // the kernel appends anyway, as node's own positional writes do on Linux).
  if (args.position > 0 &&
      lseek(fd.get(), static_cast<off_t>(args.position), SEEK_SET) < 0) {
    return fail(errno, "write");
  }
  if ((args.uid != kNoId || args.gid != kNoId) &&
      fchown(fd.get(), args.uid, args.gid) != 0) {
    return fail(errno, "fchown");
  }
  ByteBuffer credit;
  size_t credit_at = credit.BeginFrame(id, Reply::kCredit);
  credit.U32(1);
  credit.FinishFrame(credit_at);
  std::string bytes;
  for (;;) {
    int got = job.TakeData(bytes);
    if (got < 0) {
      if (job.Overrun()) return fail(EPROTO, "write");
      out.Clear();
      out.FinishFrame(out.BeginFrame(id, Reply::kEnd, kEndCancelled));
      send(out);
      return;
    }
    if (got == 0) break;
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
      if (n >= 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return fail(errno, "write");
      int ready = job.WaitReady(fd.get(), POLLOUT);
      if (ready < 0) return fail(errno, "write");
      if (ready == 0) break;  // cancelled: TakeData says so next
    }
    if (!send(credit)) return;
  }
  // flush: the bytes reach the disk before the write is answered, as
  // node's `flush: true` fsyncs before it closes.
  if ((args.flags & kWriteFlush) && fsync(fd.get()) != 0) {
    return fail(errno, "fsync");
  }
  if (close(fd.release()) != 0) return fail(errno, "close");
  out.Clear();
  EndFrame(out, id);
  send(out);
}

namespace {

// Threads of one tree job: unlink and chown wait on the disk more than on
// a CPU, so a few at once keep it busy.
constexpr unsigned kTreeThreads = 4;
// Times a directory that entries came into meanwhile is listed again.
constexpr int kMaxRescans = 3;
// Directory fds a tree job keeps open between uses, besides the top's and
// those a thread is using: deeper than that, the shallowest are closed, so
// that a tree of any depth fits under RLIMIT_NOFILE.  A closed directory is
// reopened when needed from an open one, ".." of a child or a name of a
// parent, and checked against the (st_dev, st_ino) it had when first
// opened: a directory moved meanwhile fails the job, never leads it outside
// the tree.
constexpr size_t kMaxKeptFds = 64;

// A directory of a tree job.  One thread lists it; whichever thread
// finishes the last thing under it removes it (rm) from its parent.
struct Node {
  std::shared_ptr<Node> parent;  // null for the top
  int top_parent_fd = -1;        // the top's parent (-1: the root, kept)
  std::string name;              // in the parent
  std::string path;              // as the client named it, for errors
  uint32_t depth = 0;            // the top is 0
  // From its listing until it is done, or until closed to keep within
  // kMaxKeptFds (never the top's); under TreeJob::fds_mu_, as `users`.
  int fd = -1;
  int users = 0;       // threads using `fd`: not to be closed
  bool known = false;  // `dev` and `ino` are set: it was opened once
  dev_t dev = 0;
  ino_t ino = 0;
  std::atomic<int> pending{1};  // its listing, and subdirectories not done
  int rescans = 0;
  uint64_t errors_before = 0;  // entry errors reported before its listing

  ~Node() {
    if (fd >= 0) close(fd);
    // The chain of parents goes one at a time: a deep tree would recurse.
    std::shared_ptr<Node> up = std::move(parent);
    while (up && up.use_count() == 1) {
      std::shared_ptr<Node> next = std::move(up->parent);
      up = std::move(next);
    }
  }
};

enum class Did { kOk, kStop, kIsDir };

class TreeJob {
 public:
  // `args`: a remove's, or a chown-tree's fields (the same) when not
  // `remove`.
  TreeJob(uint32_t id, bool remove, const req::Remove& args, Job& job,
          const SendFrames& send)
      : id_(id),
        args_(args),
        job_(job),
        send_(send),
        remove_(remove),
        flags_(args.flags) {}

  // Does the job; every way out has sent its error (Fail) or owes the end
  // frame that End() sends.
  void Run(int root_fd) {
    Parent parent;
    const char* what = remove_ ? "rm" : "chown";
    int err = OpenParent(root_fd, args_.path, parent);
    if (err == ENOENT && (flags_ & kTreeForce)) return;
    if (err != 0) return Fail(err, what, args_.path);
    auto top = std::make_shared<Node>();
    top->path = args_.path;
    if (parent.name.empty()) {
      // The root: emptied only when asked; chowned as any directory.
      if (remove_ && !(flags_ & kTreeAllowRoot)) {
        return Fail(EPERM, "rm", args_.path);
      }
      top->fd = OpenPath(root_fd, "/", O_RDONLY | O_DIRECTORY);
      if (top->fd < 0) return Fail(errno, "open", args_.path);
      if (!Record(*top, top->fd)) return Fail(errno, "fstat", args_.path);
      if (!remove_) {
        if (fchownat(top->fd, "", args_.uid, args_.gid, AT_EMPTY_PATH)) {
          return Fail(errno, "chown", args_.path);
        }
        Count();
      }
      if (!(flags_ & kTreeRecursive)) {
        if (remove_) Fail(EISDIR, "rm", args_.path);
        return;
      }
      return RunNodes(std::move(top));
    }
    const int pfd = parent.fd.get();
    struct stat st;
    if (StatAt(pfd, parent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT && (flags_ & kTreeForce)) return;
      return Fail(errno, remove_ ? "rm" : "lstat", args_.path);
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    if (is_dir && remove_ && !(flags_ & kTreeRecursive)) {
      return Fail(EISDIR, "rm", args_.path);
    }
    if (!is_dir || !remove_) {
      Did did = Entry(pfd, parent.name, args_.path, is_dir);
      if (did == Did::kStop || (did == Did::kOk && !is_dir)) return;
      if (!(flags_ & kTreeRecursive)) return;
    }
    top->top_parent_fd = pfd;
    top->name = parent.name;
    top->fd = OpenChild(pfd, parent.name, args_.path);
    if (top->fd < 0) return;
    if (!Record(*top, top->fd)) return Fail(errno, "fstat", args_.path);
    RunNodes(std::move(top));
  }

  // The end frame with the counts, flagged when cut short; nothing after
  // an error answer.
  void End() {
    if (failed_.load()) return;
    ByteBuffer out;
    const bool cut = cancelled_.load() || job_.Cancelled();
    size_t at = out.BeginFrame(id_, Reply::kEnd, cut ? kEndCancelled : 0);
    out.U64(done_.load());
    out.U64(errors_.load());
    out.FinishFrame(at);
    send_(out);
  }

 private:
  bool Stopped() const {
    return failed_.load(std::memory_order_relaxed) ||
           cancelled_.load(std::memory_order_relaxed);
  }

  // Works through `top` (open) and everything under it with up to
  // kTreeThreads threads, this one included.
  void RunNodes(std::shared_ptr<Node> top) {
    Enqueue(std::move(top));
    std::vector<std::thread> helpers;
    for (unsigned i = 1; i < kTreeThreads; i++) {
      try {
        helpers.emplace_back([this] { Work(); });
      } catch (const std::system_error&) {
        break;  // fewer threads, same job
      }
    }
    Work();
    for (auto& thread : helpers) thread.join();
  }

  void Enqueue(std::shared_ptr<Node> node) { queue_.Push(std::move(node)); }

  // Takes directories to list until none is left and none is being listed
  // (which could add more), or the job stops.
  void Work() {
    for (;;) {
      std::shared_ptr<Node> node;
      if (!queue_.Take(node)) return;
      if (job_.Cancelled()) cancelled_.store(true);
      if (!Stopped()) List(node);
      queue_.Done();
    }
  }

  // Lists one directory: entries that are not directories are done at
  // once, subdirectories queued.
  void List(const std::shared_ptr<Node>& node) {
    int dfd = Hold(*node);
    if (dfd < 0 && node->known) dfd = Reopen(node);  // listed again
    if (dfd < 0 && !node->known && !Stopped()) {
      int pfd = HoldParent(*node, -1);
      int fd = pfd < 0 ? -1 : OpenChild(pfd, node->name, node->path);
      if (node->parent && pfd >= 0) Release(*node->parent);
      if (fd >= 0 && !Record(*node, fd)) {
        Report(errno, "fstat", node->path);
        close(fd);
        fd = -1;
      }
      if (fd >= 0) dfd = Keep(node, fd);
    }
    if (dfd < 0) {
      // Gone, done as what it became, or its error reported: nothing to
      // remove here.
      Done(node->parent);
      return;
    }
    int list_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    DIR* dir = list_fd < 0 ? nullptr : fdopendir(list_fd);
    if (dir == nullptr) {
      if (list_fd >= 0) close(list_fd);
      Report(errno, "opendir", node->path);
      Release(*node);
      Done(node->parent);
      return;
    }
    rewinddir(dir);  // the fd's offset is shared with earlier listings
    node->errors_before = errors_.load();
    for (;;) {
      if (Stopped()) break;
      if (job_.Cancelled()) {
        cancelled_.store(true);
        break;
      }
      errno = 0;
      struct dirent* e = readdir(dir);
      if (e == nullptr) {
        if (errno != 0) Report(errno, "scandir", node->path);
        break;
      }
      const char* n = e->d_name;
      if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
      std::string child = node->path;
      if (child.empty() || child.back() != '/') child += '/';
      child += n;
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (StatAt(dfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          if (errno != ENOENT) Report(errno, "lstat", child);
          continue;
        }
        type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
      }
      Did did = Entry(dfd, n, child, type == DT_DIR);
      if (did == Did::kStop) break;
      if (type == DT_DIR || did == Did::kIsDir) {
        auto sub = std::make_shared<Node>();
        sub->parent = node;
        sub->depth = node->depth + 1;
        sub->name = n;
        sub->path = std::move(child);
        node->pending.fetch_add(1);
        Enqueue(std::move(sub));
      }
    }
    closedir(dir);
    Release(*node);
    Done(node);
  }

  // One thing under `node` is done (its listing, or a subdirectory): once
  // all are, the directory itself is removed (rm) and its parent told.
  void Done(std::shared_ptr<Node> node) {
    while (node && node->pending.fetch_sub(1) == 1) {
      // The parent is reopened here if it was closed, from this directory
      // while it is open: its other subdirectories and its rmdir need it.
      const int own = Hold(*node);
      const int parent_fd = Stopped() ? -1 : HoldParent(*node, own);
      if (own >= 0) Release(*node);
      bool again = false;
      if (remove_ && parent_fd >= 0) {
        if (unlinkat(parent_fd, node->name.c_str(), AT_REMOVEDIR) == 0) {
          Count();
        } else if (errno == ENOTEMPTY && node->rescans < kMaxRescans &&
                   errors_.load() == node->errors_before) {
          // Entries came in while we worked (none of ours failed): list it
          // again.
          again = true;
        } else if (errno != ENOENT) {
          Report(errno, "rmdir", node->path);
        }
      }
      if (parent_fd >= 0 && node->parent) Release(*node->parent);
      if (again) {
        node->rescans++;
        node->pending.store(1);
        Enqueue(std::move(node));
        return;
      }
      Close(*node);
      node = node->parent;
    }
  }

  // Sets what `node` is from its fd, to check it by when it is reopened.
  static bool Record(Node& node, int fd) {
    struct stat st;
    if (Fstat(fd, &st) != 0) return false;
    node.dev = st.st_dev;
    node.ino = st.st_ino;
    node.known = true;
    return true;
  }

  // The fd of `node`, held (kept open) until Release; -1 when it is closed.
  int Hold(Node& node) {
    std::lock_guard<std::mutex> lk(fds_mu_);
    if (node.fd < 0) return -1;
    node.users++;
    return node.fd;
  }

  void Release(Node& node) {
    std::lock_guard<std::mutex> lk(fds_mu_);
    node.users--;
  }

  // Makes `fd` the fd of `node` (unless another thread reopened it first)
  // and holds it; then closes the shallowest fds not in use beyond
  // kMaxKeptFds.
  int Keep(const std::shared_ptr<Node>& node, int fd) {
    std::lock_guard<std::mutex> lk(fds_mu_);
    if (node->fd >= 0) {
      close(fd);
    } else {
      node->fd = fd;
      if (node->parent) kept_.emplace(Key(*node), node);
    }
    node->users++;
    for (auto it = kept_.begin();
         kept_.size() > kMaxKeptFds && it != kept_.end();) {
      Node& old = *it->second;
      if (old.users > 0) {
        ++it;
        continue;
      }
      close(old.fd);
      old.fd = -1;
      it = kept_.erase(it);
    }
    return node->fd;
  }

  // Closes the fd of a directory that is done.
  void Close(Node& node) {
    std::lock_guard<std::mutex> lk(fds_mu_);
    if (node.fd < 0 || node.users > 0) return;
    close(node.fd);
    node.fd = -1;
    if (node.parent) kept_.erase(Key(node));
  }

  static std::pair<uint32_t, const Node*> Key(const Node& node) {
    return {node.depth, &node};
  }

  // Whether `fd` is still the directory `node` was when first opened; the
  // job fails if not (the tree was moved while it ran).
  bool Same(int fd, const Node& node) {
    struct stat st;
    if (Fstat(fd, &st) != 0) {
      Fail(errno, "fstat", node.path);
      return false;
    }
    if (st.st_dev == node.dev && st.st_ino == node.ino) return true;
    Fail(ENOENT, remove_ ? "rm" : "chown", node.path);
    return false;
  }

  // The fd of the directory holding `node`, held until Release (not the
  // top's parent, never closed); reopened if it was closed: ".." of `own`
  // (the fd of `node`, -1 if closed), else from the nearest open ancestor.
  // -1 after the job failed.
  int HoldParent(const Node& node, int own) {
    if (!node.parent) return node.top_parent_fd;
    const std::shared_ptr<Node>& parent = node.parent;
    int fd = Hold(*parent);
    if (fd >= 0) return fd;
    if (own < 0) return Reopen(parent);
    int up = openat(own, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (up < 0) {
      Fail(errno, "open", parent->path);
      return -1;
    }
    if (!Same(up, *parent)) {
      close(up);
      return -1;
    }
    return Keep(parent, up);
  }

  // Reopens `target` (opened once, since closed) one name at a time down
  // from its nearest open ancestor (the top at worst: it stays open), each
  // checked against what it was, and holds it.  -1 after the job failed.
  int Reopen(const std::shared_ptr<Node>& target) {
    std::vector<Node*> down;  // target first
    Node* base = target.get();
    int base_fd;
    while ((base_fd = Hold(*base)) < 0) {
      down.push_back(base);
      base = base->parent.get();
      if (base == nullptr) {
        Fail(EBADF, "open", target->path);  // the top is done: cannot be
        return -1;
      }
    }
    int fd = -1;
    for (auto it = down.rbegin(); it != down.rend(); ++it) {
      const int from = fd >= 0 ? fd : base_fd;
      int next = openat(from, (*it)->name.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) close(fd);
      fd = next;
      if (fd < 0) {
        Fail(errno, "open", (*it)->path);
        break;
      }
      if (!Same(fd, **it)) {
        close(fd);
        fd = -1;
        break;
      }
    }
    Release(*base);
    return fd < 0 ? -1 : Keep(target, fd);
  }

  // Opens a subdirectory to descend into: never through a symlink, never
  // across a mount point unless asked.  -2 when it is gone or no longer a
  // directory (then done as what it is now), -1 after an error was
  // reported.
  int OpenChild(int dir_fd, const std::string& name, const std::string& path) {
    struct open_how how = {};
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    if (!(flags_ & kTreeCrossMounts)) how.resolve |= RESOLVE_NO_XDEV;
    for (;;) {
      int fd = static_cast<int>(
          syscall(SYS_openat2, dir_fd, name.c_str(), &how, sizeof how));
      if (fd >= 0) return fd;
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ENOENT) return -2;
      if (errno == ENOTDIR || errno == ELOOP) {
        // Swapped for a file or a symlink since it was listed: that is
        // what it is now.
        return Entry(dir_fd, name, path, false) == Did::kStop ? -1 : -2;
      }
      Report(errno == EXDEV ? EBUSY : errno,
             errno == EXDEV ? (remove_ ? "rm" : "chown") : "open", path);
      return -1;
    }
  }

  // Removes or chowns one entry that is not descended into (a directory's
  // own chown, before its contents).  kIsDir: a file that is a directory
  // now, to be descended into after all.
  Did Entry(int dir_fd, const std::string& name, const std::string& path,
            bool is_dir) {
    int rc;
    if (remove_) {
      if (is_dir) return Did::kIsDir;  // removed once emptied
      rc = unlinkat(dir_fd, name.c_str(), 0);
      if (rc != 0 && errno == EISDIR) return Did::kIsDir;
    } else {
      rc = fchownat(dir_fd, name.c_str(), args_.uid, args_.gid,
                    AT_SYMLINK_NOFOLLOW);
    }
    if (rc != 0) {
      if (errno == ENOENT) return Did::kOk;  // gone meanwhile
      return Report(errno, remove_ ? "unlink" : "lchown", path) ? Did::kOk
                                                                : Did::kStop;
    }
    return Count() ? Did::kOk : Did::kStop;
  }

  // Counts an entry done; every kProgressEvery, a progress frame with the
  // count at the time (frames only grow, whichever thread sends them).
  bool Count() {
    uint64_t now = done_.fetch_add(1) + 1;
    if (now % kProgressEvery != 0) return true;
    std::lock_guard<std::mutex> lk(progress_mu_);
    now = done_.load();
    if (now <= progress_sent_) return true;
    progress_sent_ = now;
    ByteBuffer out;
    size_t at = out.BeginFrame(id_, Reply::kProgress);
    out.U64(now);
    out.FinishFrame(at);
    if (!send_(out)) {
      cancelled_.store(true);
      return false;
    }
    return true;
  }

  // An entry's error: sent and counted with kTreeKeepGoing (true: go on),
  // else the job's answer (false: stop).
  bool Report(int err, const char* syscall_name, const std::string& path) {
    if (!(flags_ & kTreeKeepGoing)) {
      Fail(err, syscall_name, path);
      return false;
    }
    errors_.fetch_add(1);
    ByteBuffer out;
    ErrorFrame(out, id_, err, syscall_name, path, Reply::kEntryError);
    if (!send_(out)) {
      cancelled_.store(true);
      return false;
    }
    return true;
  }

  // The job's answer is this error (the first one only).
  void Fail(int err, const char* syscall_name, const std::string& path) {
    if (failed_.exchange(true)) return;
    ByteBuffer out;
    ErrorFrame(out, id_, err, syscall_name, path);
    send_(out);
  }

  const uint32_t id_;
  const req::Remove& args_;
  Job& job_;
  const SendFrames& send_;
  const bool remove_;
  const uint32_t flags_;
  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> cancelled_{false};

  // Directories to list, depth first.
  WorkQueue<std::shared_ptr<Node>> queue_{[this] { return Stopped(); }};

  std::mutex progress_mu_;
  uint64_t progress_sent_ = 0;

  // Directory fds kept open (all but the top's), shallowest first.
  std::mutex fds_mu_;
  std::map<std::pair<uint32_t, const Node*>, std::shared_ptr<Node>> kept_;
};

}  // namespace

void StreamOp(uint32_t id, const req::Remove& args, int root_fd, Job& job,
              const SendFrames& send) {
  TreeJob tree(id, true, args, job, send);
  tree.Run(root_fd);
  tree.End();
}

void StreamOp(uint32_t id, const req::ChownTree& args, int root_fd, Job& job,
              const SendFrames& send) {
  const req::Remove same{args.flags, args.uid, args.gid, args.path};
  TreeJob tree(id, false, same, job, send);
  tree.Run(root_fd);
  tree.End();
}

}  // namespace unshare_fs

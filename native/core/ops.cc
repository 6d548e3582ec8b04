#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "fs.h"
#include "reply.h"
#include "stat_syscalls.h"

namespace unshare_fs {
void StatOp(ByteBuffer& out, uint32_t id, int root_fd, const std::string& path,
            bool follow) {
  struct stat st;
  int rc;
  if (root_fd < 0) {
    rc = StatAt(AT_FDCWD, path.c_str(), &st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  } else {
    int fd = OpenPath(root_fd, path, O_PATH | (follow ? 0 : O_NOFOLLOW));
    rc = fd < 0 ? -1 : Fstat(fd, &st);
    if (fd >= 0) close(fd);
  }
  if (rc) {
    ErrorFrame(out, id, errno, follow ? "stat" : "lstat", path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kStat);
  out.Stat(st, kAllStat);
  out.FinishFrame(at);
}

void ReadlinkOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path) {
  char target[PATH_MAX];
  ssize_t n;
  if (root_fd < 0) {
    n = readlink(path.c_str(), target, sizeof target);
  } else {
    int fd = OpenPath(root_fd, path, O_PATH | O_NOFOLLOW);
    n = fd < 0 ? -1 : readlinkat(fd, "", target, sizeof target);
    if (fd >= 0) close(fd);
  }
  if (n < 0) {
    ErrorFrame(out, id, errno, "readlink", path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kData);
  out.Raw(target, static_cast<size_t>(n));
  out.FinishFrame(at);
}

namespace {

// The xattr calls on the entry at `path`: by path where there is no root;
// inside a root on an fd: a directory or a regular file opened for reading
// (checked to be what an O_PATH open of the same path found), anything
// else (a symlink, a device, a FIFO) through its O_PATH fd's /proc/self/fd
// link, which getxattr() follows to the entry itself; that one needs our
// own /proc in the namespace.  (Linux 6.13's getxattrat() refuses O_PATH
// fds: EBADF.)
class XattrTarget {
 public:
  XattrTarget(int root_fd, const std::string& path) : path_(path) {
    if (root_fd < 0) return;
    int path_fd = OpenPath(root_fd, path, O_PATH | O_NOFOLLOW);
    struct stat st;
    if (path_fd < 0 || Fstat(path_fd, &st) != 0) {
      failed_ = "open";
      if (path_fd >= 0) {
        failed_ = "fstat";
        CloseKeepingErrno(path_fd);
      }
      return;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
      fd_ = path_fd;
      proc_ = "/proc/self/fd/" + std::to_string(path_fd);
      return;
    }
    close(path_fd);
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
    fd_ = OpenPath(root_fd, path, flags);
    struct stat now;
    if (fd_ < 0 || Fstat(fd_, &now) != 0) {
      failed_ = fd_ < 0 ? "open" : "fstat";
      return;
    }
    if (now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
      failed_ = "open";  // swapped between the two opens
      errno = EAGAIN;
    }
  }
  ~XattrTarget() {
    if (fd_ >= 0) close(fd_);
  }
  // The syscall that failed while opening, or nullptr.
  const char* failed() const { return failed_; }

  ssize_t List(char* list, size_t size) {
    if (fd_ < 0) return llistxattr(path_.c_str(), list, size);
    if (!proc_.empty()) return listxattr(proc_.c_str(), list, size);
    return flistxattr(fd_, list, size);
  }

  ssize_t Get(const char* name, char* value, size_t size) {
    if (fd_ < 0) return lgetxattr(path_.c_str(), name, value, size);
    if (!proc_.empty()) return getxattr(proc_.c_str(), name, value, size);
    return fgetxattr(fd_, name, value, size);
  }

  int Set(const char* name, const std::string& value) {
    if (fd_ < 0) {
      return lsetxattr(path_.c_str(), name, value.data(), value.size(), 0);
    }
    if (!proc_.empty()) {
      return setxattr(proc_.c_str(), name, value.data(), value.size(), 0);
    }
    return fsetxattr(fd_, name, value.data(), value.size(), 0);
  }

 private:
  static void CloseKeepingErrno(int fd) {
    int err = errno;
    close(fd);
    errno = err;
  }

  const std::string& path_;
  int fd_ = -1;
  std::string proc_;
  const char* failed_ = nullptr;
};

}  // namespace

void XattrsOp(ByteBuffer& out, uint32_t id, int root_fd,
              const std::string& path) {
  XattrTarget target(root_fd, path);
  if (const char* failed = target.failed()) {
    ErrorFrame(out, id, errno, failed, path);
    return;
  }
  // The kernel's own limits: XATTR_LIST_MAX and XATTR_SIZE_MAX, 64 KiB.
  constexpr size_t kMax = 64 * 1024;
  auto names = std::make_unique<char[]>(kMax);
  auto value = std::make_unique<char[]>(kMax);
  ssize_t listed = target.List(names.get(), kMax);
  if (listed < 0 && (errno == ENOTSUP || errno == ENODATA)) listed = 0;
  if (listed < 0) {
    ErrorFrame(out, id, errno, "listxattr", path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kData);
  for (size_t i = 0; i < static_cast<size_t>(listed);) {
    const char* name = names.get() + i;
    size_t len = strnlen(name, static_cast<size_t>(listed) - i);
    i += len + 1;
    ssize_t n = target.Get(name, value.get(), kMax);
    // Gone between the list and the read: as if never listed.
    if (n < 0 && errno == ENODATA) continue;
    // A reply the client takes is at most a data frame's most.
    if (n >= 0 && out.Size() - at + 8 + len + static_cast<size_t>(n) >
                      kFrameHeader + kMaxChunk) {
      n = -1;
      errno = E2BIG;
    }
    if (n < 0) {
      int err = errno;
      out.Truncate(at);
      ErrorFrame(out, id, err, "getxattr", path);
      return;
    }
    out.U32(static_cast<uint32_t>(len));
    out.Raw(name, len);
    out.U32(static_cast<uint32_t>(n));
    out.Raw(value.get(), static_cast<size_t>(n));
  }
  out.FinishFrame(at);
}

void SetXattrOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path, const std::string& name,
                const std::string& value) {
  XattrTarget target(root_fd, path);
  if (const char* failed = target.failed()) {
    ErrorFrame(out, id, errno, failed, path);
  } else if (target.Set(name.c_str(), value) != 0) {
    ErrorFrame(out, id, errno, "setxattr", path);
  } else {
    out.FinishFrame(out.BeginFrame(id, Reply::kEnd));
  }
}

namespace {

// One read of at most `size` bytes at `offset` (-1: the file's position),
// retried on EINTR, waiting with the job's cancel when the file has nothing
// yet: bytes read, 0 at the end, -1 with errno, or -2 when cancelled.  A
// FIFO is waited on first: read() of one with no writer says "end" at once,
// where node:fs would wait for a writer; poll() waits for its data or for
// the writer it had to go away.
ssize_t ReadChunk(int fd, char* buffer, size_t size, off_t offset, Job& job,
                  bool wait_first) {
  if (wait_first) {
    int ready = job.WaitReady(fd, POLLIN);
    if (ready < 0) return -1;
    if (ready == 0) return -2;
  }
  for (;;) {
    ssize_t n =
        offset >= 0 ? pread(fd, buffer, size, offset) : read(fd, buffer, size);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    int ready = job.WaitReady(fd, POLLIN);
    if (ready < 0) return -1;
    if (ready == 0) return -2;
  }
}

}  // namespace

void StreamOp(uint32_t id, const req::ReadFile& args, int root_fd, Job& job,
              const SendFrames& send) {
  ByteBuffer out;
  auto fail = [&](int err, const char* syscall) {
    out.Clear();
    ErrorFrame(out, id, err, syscall, args.path);
    send(out);
  };
  // O_NONBLOCK: opening a FIFO does not wait for a writer, and reads of
  // FIFOs and devices wait in poll() below, where a cancel reaches them.
  int fd = OpenPath(root_fd, args.path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail(errno, "open");
  struct stat st;
  if (Fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return fail(err, "fstat");
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return fail(EISDIR, "read");
  }
  const bool regular = S_ISREG(st.st_mode);
  const bool fifo = S_ISFIFO(st.st_mode);
  uint64_t end = args.end;
  if (regular && st.st_size > 0) {
    // Known size: refuse at once what node:fs refuses (ERR_FS_FILE_TOO_LARGE).
    // Files of /proc and /sys say 0 and are read to their end, as node does.
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (end > size) end = size;
    if (end > args.start && end - args.start > args.limit) {
      close(fd);
      return fail(EFBIG, "read");
    }
  } else if (!regular && args.start > 0) {
    close(fd);
    return fail(ESPIPE, "read");
  }
  // The file's stat first, without credit: a reader that knows the size
  // can hold the bytes in one buffer instead of a list of chunks.
  out.Clear();
  size_t stat_at = out.BeginFrame(id, Reply::kStat);
  out.Stat(st, kAllStat);
  out.FinishFrame(stat_at);
  if (!send(out)) {
    close(fd);
    return;
  }
  std::unique_ptr<char[]> chunk(new char[args.chunk_bytes]);
  uint64_t position = args.start;
  bool cancelled = false;
  while (position < end) {
    if (!job.TakeCredit()) {
      cancelled = true;
      break;
    }
    uint64_t want = std::min<uint64_t>(args.chunk_bytes, end - position);
    ssize_t n =
        ReadChunk(fd, chunk.get(), static_cast<size_t>(want),
                  regular ? static_cast<off_t>(position) : -1, job, fifo);
    if (n == -2) {
      cancelled = true;
      break;
    }
    if (n < 0) {
      int err = errno;
      close(fd);
      return fail(err, "read");
    }
    if (n == 0) break;
    if (position - args.start + static_cast<uint64_t>(n) > args.limit) {
      close(fd);
      return fail(EFBIG, "read");
    }
    position += static_cast<uint64_t>(n);
    out.Clear();
    size_t at = out.BeginFrame(id, Reply::kData);
    out.Raw(chunk.get(), static_cast<size_t>(n));
    out.FinishFrame(at);
    if (!send(out)) {
      cancelled = true;
      break;
    }
  }
  close(fd);
  out.Clear();
  out.FinishFrame(
      out.BeginFrame(id, Reply::kEnd, cancelled ? kEndCancelled : 0));
  send(out);
}

void MountOp(ByteBuffer& out, uint32_t id, const std::string& source,
             const std::string& target, const std::string& fstype,
             uint64_t flags, const std::string& data) {
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags,
            data.empty() ? nullptr : data.c_str())) {
    ErrorFrame(out, id, errno, "mount", target);
    return;
  }
  EndFrame(out, id);
}

void UnmountOp(ByteBuffer& out, uint32_t id, const std::string& target,
               uint32_t flags) {
  if (umount2(target.c_str(), static_cast<int>(flags))) {
    ErrorFrame(out, id, errno, "umount", target);
    return;
  }
  EndFrame(out, id);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Lstat& args) {
  StatOp(out, id, root_fd, args.path, false);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Stat& args) {
  StatOp(out, id, root_fd, args.path, true);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Readlink& args) {
  ReadlinkOp(out, id, root_fd, args.path);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Xattrs& args) {
  XattrsOp(out, id, root_fd, args.path);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::SetXattr& args) {
  SetXattrOp(out, id, root_fd, args.path, args.name, args.value);
}

}  // namespace unshare_fs

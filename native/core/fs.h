// What ops share to reach files: paths opened as the session resolves
// them, owned fds, directory fds shared by the subdirectories still to be
// opened from them, and a getdents64 loop.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

namespace unshare_fs {

// Opens `path` as the session resolves paths: as given when `root_fd` is
// -1, else inside `root_fd` with openat2(RESOLVE_IN_ROOT), so that absolute
// symlinks and ".." in a container image never lead out of it.  `mode`
// is a created file's (with O_CREAT).
inline int OpenPath(int root_fd, const std::string& path, int flags,
                    mode_t mode = 0) {
  if (root_fd < 0) return open(path.c_str(), flags | O_CLOEXEC, mode);
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  if (flags & O_CREAT) how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do {
    fd = static_cast<int>(
        syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  return fd;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// An open directory; closed when the last subdirectory waiting to be opened
// relative to it has been opened.
struct DirFd {
  explicit DirFd(int f) : fd(f) {}
  ~DirFd() { close(fd); }
  DirFd(const DirFd&) = delete;
  DirFd& operator=(const DirFd&) = delete;
  int fd;
};

// Lists directories with getdents64 into one buffer of its own.
class DirReader {
 public:
  DirReader() : dents_(new char[kDentsBytes]) {}

  // Calls visit(name, d_type) for each entry of `fd` but "." and "..",
  // until it returns false.  Returns 0 (listed, or stopped by visit), or
  // the errno of a failed getdents64.
  template <typename Visit>
  int ForEach(int fd, Visit&& visit) {
    for (;;) {
      long n = syscall(SYS_getdents64, fd, dents_.get(), kDentsBytes);
      if (n == 0) return 0;
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<Dirent*>(dents_.get() + off);
        off += d->d_reclen;
        if (Dots(d->d_name)) continue;
        if (!visit(d->d_name, d->d_type)) return 0;
      }
    }
  }

  // As ForEach, for the entries of one getdents64 from the fd's offset
  // (whole entries: none is lost): the bytes it read, 0 at the end of the
  // directory, or -1 with errno.
  template <typename Visit>
  long ForSome(int fd, Visit&& visit) {
    long n;
    do {
      n = syscall(SYS_getdents64, fd, dents_.get(), kDentsBytes);
    } while (n < 0 && errno == EINTR);
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<Dirent*>(dents_.get() + off);
      off += d->d_reclen;
      if (!Dots(d->d_name)) visit(d->d_name, d->d_type);
    }
    return n;
  }

 private:
  static bool Dots(const char* name) {
    return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
  }
  static constexpr size_t kDentsBytes = 32 * 1024;
  struct Dirent {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
  };
  std::unique_ptr<char[]> dents_;
};

}  // namespace unshare_fs

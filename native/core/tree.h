// Pieces the tree jobs share (the walker, tar, diff, the change jobs): an
// owned fd, a directory fd shared by the subdirectories still to be opened
// from it, a getdents64 loop, a stream of data frames sent for credit, how
// a job ends, and overlay's markers.
#pragma once

#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "buffer.h"
#include "job.h"
#include "ops.h"

namespace unshare_fs {

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
        const char* name = d->d_name;
        if (name[0] == '.' &&
            (name[1] == 0 || (name[1] == '.' && name[2] == 0))) {
          continue;
        }
        if (!visit(name, d->d_type)) return 0;
      }
    }
  }

 private:
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

// Data frames of one request, each sent for a credit of `job` once it holds
// a chunk.
class FrameStream {
 public:
  FrameStream(uint32_t id, uint32_t chunk, Job& job, const SendFrames& send)
      : id_(id), chunk_(chunk), job_(job), send_(send) {
    out_.Reserve(kFrameHeader + chunk_);
    Begin();
  }

  // False once the stream has stopped (cancelled, or the client is gone).
  bool Put(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      size_t take = std::min(n, Room());
      out_.Raw(p, take);
      p += take;
      n -= take;
      if (Room() == 0 && !Flush()) return false;
    }
    return true;
  }
  bool Put(const std::string& s) { return Put(s.data(), s.size()); }

  // A record kept in one frame (unless it is larger than a frame), so that
  // each frame can be read alone.
  bool PutWhole(const std::string& s) {
    if (s.size() > Room() && Held() > 0 && !Flush()) return false;
    return Put(s);
  }

  bool Zeros(uint64_t n) {
    while (n > 0) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, Room()));
      std::memset(out_.Extend(take), 0, take);
      n -= take;
      if (Room() == 0 && !Flush()) return false;
    }
    return true;
  }

  // Reads at most `n` bytes of `fd` straight into the frame: the count, 0
  // at its end, -1 with errno, -2 once the stream has stopped.
  ssize_t ReadFrom(int fd, uint64_t n) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, Room()));
    size_t before = out_.Size();
    uint8_t* p = out_.Extend(take);
    ssize_t got;
    do {
      got = read(fd, p, take);
    } while (got < 0 && errno == EINTR);
    out_.Truncate(before + static_cast<size_t>(std::max<ssize_t>(got, 0)));
    if (got > 0 && Room() == 0 && !Flush()) return -2;
    return got;
  }

  // Sends what is held, after a credit.
  bool Flush() {
    if (Held() == 0) return true;
    out_.FinishFrame(frame_at_);
    if (!job_.TakeCredit() || !send_(out_)) return false;
    Begin();
    return true;
  }

 private:
  void Begin() {
    out_.Clear();
    frame_at_ = out_.BeginFrame(id_, Reply::kData);
  }
  size_t Held() const { return out_.Size() - frame_at_ - kFrameHeader; }
  size_t Room() const { return chunk_ - Held(); }

  const uint32_t id_;
  const size_t chunk_;
  Job& job_;
  const SendFrames& send_;
  ByteBuffer out_;
  size_t frame_at_ = 0;
};

// How a streamed tree job ends: run to its end, stopped (cancelled, or
// the client gone), or failed (`Failure` says where).
enum class Step { kGo, kStop, kFail };
struct Failure {
  int err = 0;
  const char* syscall = "";
  std::string path;
};

// A streamed job's last frame: the error when it failed, else an end frame,
// flagged when it was stopped.
inline void SendLast(const SendFrames& send, uint32_t id, Step step,
                     const Failure& failure) {
  ByteBuffer out;
  if (step == Step::kFail) {
    ErrorFrame(out, id, failure.err, failure.syscall, failure.path);
  } else {
    out.FinishFrame(out.BeginFrame(id, Reply::kEnd,
                                   step == Step::kStop ? kEndCancelled : 0));
  }
  send(out);
}

// An overlay whiteout: a character device 0/0.
inline bool IsWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}
// The xattrs that mark an opaque directory ("y"): trusted.* as the host's
// root writes them, user.* in a user namespace.
constexpr const char* kOpaqueXattrs[] = {"trusted.overlay.opaque",
                                         "user.overlay.opaque"};

}  // namespace unshare_fs

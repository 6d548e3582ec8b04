#include "request.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace unshare_fs {
namespace {

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// A path the server may open: not empty, no NUL.
bool GoodPath(const std::string& s) { return !s.empty() && !HasNul(s); }

// Reads little-endian fields out of one request's payload, one method per
// field type of the op table (protocol.h).
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool u32(uint32_t& v) { return Take(&v, 4); }
  bool u64(uint64_t& v) { return Take(&v, 8); }
  bool i64(int64_t& v) { return Take(&v, 8); }
  bool str(std::string& s) {
    uint32_t len;
    if (!u32(len) || len > n_) return false;
    s.assign(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return true;
  }
  // A count, then that many strings.  Each takes 4 bytes at least, so a
  // count past what the frame holds fails before anything is allocated.
  bool strs(std::vector<std::string>& v) {
    uint32_t count;
    if (!u32(count) || count > n_ / 4) return false;
    v.resize(count);
    for (std::string& s : v) {
      if (!str(s)) return false;
    }
    return true;
  }
  bool bytes(std::string& s) {
    s.assign(reinterpret_cast<const char*>(p_), n_);
    n_ = 0;
    return true;
  }
  bool path(std::string& s) { return bytes(s) && GoodPath(s); }

 private:
  bool Take(void* v, size_t k) {
    if (n_ < k) return false;
    std::memcpy(v, p_, k);
    p_ += k;
    n_ -= k;
    return true;
  }
  const uint8_t* p_;
  size_t n_;
};

bool GoodWindow(uint32_t window) { return window > 0 && window <= kMaxWindow; }
bool GoodMode(uint32_t mode) { return (mode & ~07777u) == 0; }

// What an op's fields must hold beyond their types; true when they do.
template <typename Args>
bool Check(const Args&) {
  return true;
}
bool Check(const req::ReadFile& a) {
  return GoodWindow(a.window) && a.chunk_bytes > 0 &&
         a.chunk_bytes <= kMaxChunk && a.start <= a.end;
}
bool Check(const req::Tar& a) {
  return GoodWindow(a.window) && a.chunk_bytes >= kMinTarChunk &&
         a.chunk_bytes <= kMaxChunk &&
         (a.flags & ~uint32_t{kTarXattrs | kTarLayer | kTarCopy |
                              kTarFuseOverlayfs}) == 0 &&
         ((a.flags & kTarFuseOverlayfs) == 0 || (a.flags & kTarLayer) != 0);
}
bool Check(const req::Diff& a) {
  if (!GoodWindow(a.window) || a.lowers.size() > kMaxLowers ||
      (a.flags & ~uint32_t{kDiffFuseOverlayfs}) != 0) {
    return false;
  }
  return std::all_of(a.lowers.begin(), a.lowers.end(), GoodPath);
}
bool Check(const req::Walk& a) {
  if (!GoodWindow(a.window) || a.batch_bytes < kMinBatchBytes ||
      a.batch_bytes > kMaxBatchBytes ||
      (a.stat_mask & ~uint32_t{kAllStat}) != 0 ||
      a.excludes.size() > kMaxExcludes) {
    return false;
  }
  return std::all_of(
      a.excludes.begin(), a.excludes.end(), [](const std::string& pattern) {
        return GoodPath(pattern) && pattern.size() <= kMaxExcludeBytes;
      });
}
bool Check(const req::Mount& a) {
  return GoodPath(a.target) && !HasNul(a.source) && !HasNul(a.fstype) &&
         !HasNul(a.data);
}
bool Check(const req::Mkdir& a) { return GoodMode(a.mode); }
bool Check(const req::Rename& a) { return GoodPath(a.from) && GoodPath(a.to); }
bool Check(const req::CopyFile& a) {
  return GoodPath(a.from) && GoodPath(a.to) &&
         (a.flags & ~uint32_t{kCopyExclusive | kCopyNoFollow}) == 0;
}
bool Check(const req::Link& a) {
  return GoodPath(a.existing) && GoodPath(a.new_path);
}
// A symlink's target is any bytes but NUL (it may be empty only where the
// kernel says so: ENOENT).
bool Check(const req::Symlink& a) {
  return !HasNul(a.target) && GoodPath(a.path);
}
bool Check(const req::Chmod& a) { return GoodMode(a.mode); }
bool Check(const req::Utimes& a) {
  return a.atime_nsec < 1000000000 && a.mtime_nsec < 1000000000;
}
bool Check(const req::Mknod& a) {
  const uint32_t type = a.mode & ~07777u;
  return type == S_IFCHR || type == S_IFBLK || type == S_IFIFO;
}
bool Check(const req::SetXattr& a) {
  return GoodPath(a.path) && !a.name.empty() && !HasNul(a.name);
}
bool Check(const req::Truncate& a) { return a.length <= INT64_MAX; }
bool Check(const req::Access& a) { return (a.mode & ~7u) == 0; }
bool Check(const req::Open& a) {
  return (a.flags & ~kOpenFlags) == 0 && (a.flags & 3) != 3 && GoodMode(a.mode);
}
bool GoodPosition(uint64_t position) {
  return position <= INT64_MAX || position == kToEnd;
}
bool Check(const req::HandleRead& a) {
  return a.length <= kMaxChunk && GoodPosition(a.position);
}
bool Check(const req::HandleWrite& a) { return GoodPosition(a.position); }
bool Check(const req::HandleTruncate& a) { return a.length <= INT64_MAX; }
bool Check(const req::HandleChmod& a) { return GoodMode(a.mode); }
bool Check(const req::HandleSync& a) { return (a.flags & ~kSyncData) == 0; }
bool Check(const req::Write& a) {
  return GoodWindow(a.window) && GoodMode(a.mode) && a.position <= INT64_MAX;
}

}  // namespace

void FrameSplitter::Append(const uint8_t* data, size_t size) {
  if (skip_ > 0) {
    size_t dropped = skip_ < size ? static_cast<size_t>(skip_) : size;
    skip_ -= dropped;
    data += dropped;
    size -= dropped;
  }
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), data, data + size);
}

bool FrameSplitter::Next(Frame& frame) {
  for (;;) {
    size_t held = buffer_.size() - start_;
    if (held < 4) break;
    uint32_t len;
    std::memcpy(&len, &buffer_[start_], 4);
    if (len < kFrameHeader - 4 || len > kMaxRequest) {
      // Too short to hold a header, or too long to be ours: report it with
      // what there is of an id, then drop its bytes as they come.
      if (len > kMaxRequest && held < kFrameHeader) break;
      frame.id = 0;
      frame.op = 0;
      if (len >= kFrameHeader - 4) {
        std::memcpy(&frame.id, &buffer_[start_ + 4], 4);
        frame.op = buffer_[start_ + 8];
      }
      frame.oversized = true;
      frame.payload.clear();
      uint64_t total = 4 + uint64_t{len};
      if (total <= held) {
        start_ += static_cast<size_t>(total);
      } else {
        skip_ = total - held;
        start_ = buffer_.size();
      }
      return true;
    }
    if (held < 4 + size_t{len}) break;
    const uint8_t* p = &buffer_[start_ + 4];
    std::memcpy(&frame.id, p, 4);
    frame.op = p[4];
    frame.oversized = false;
    frame.payload.assign(p + kFrameHeader - 4, p + len);
    start_ += 4 + size_t{len};
    return true;
  }
  // Keep what is left at the front, so the buffer never grows past one
  // frame and a read's worth.
  if (start_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(start_));
    start_ = 0;
  }
  return false;
}

int ParseRequest(const Frame& frame, Request& request) {
  request = Request();
  request.id = frame.id;
  request.op = static_cast<Op>(frame.op);
  if (frame.oversized) return E2BIG;
  Reader r(frame.payload.data(), frame.payload.size());
  switch (request.op) {
#define F(type, name) \
  if (!r.type(args.name)) return EINVAL;
#define X(name, number, kind, fields)       \
  case Op::k##name: {                       \
    req::name args;                         \
    fields if (!Check(args)) return EINVAL; \
    request.args = std::move(args);         \
    return 0;                               \
  }
    UNSHARE_FS_OPS(X)
#undef X
#undef F
  }
  return ENOSYS;
}

}  // namespace unshare_fs

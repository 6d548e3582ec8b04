#include "request.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>

namespace unshare_fs {
namespace {

// Reads little-endian fields out of one request's payload.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool U32(uint32_t& v) { return Take(&v, 4); }
  bool U64(uint64_t& v) { return Take(&v, 8); }
  bool I64(int64_t& v) { return Take(&v, 8); }
  bool String(std::string& s) {
    uint32_t len;
    if (!U32(len) || len > n_) return false;
    s.assign(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return true;
  }
  std::string Rest() {
    std::string s(reinterpret_cast<const char*>(p_), n_);
    n_ = 0;
    return s;
  }

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

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// A path the server may open: not empty, no NUL.
bool GoodPath(const std::string& s) { return !s.empty() && !HasNul(s); }

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
    case Op::kLstat:
    case Op::kStat:
    case Op::kReadlink:
    case Op::kXattrs:
    case Op::kSetRoot:
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kReadFile:
      if (!r.U64(request.start) || !r.U64(request.end) ||
          !r.U64(request.limit) || !r.U32(request.window) ||
          !r.U32(request.chunk_bytes)) {
        return EINVAL;
      }
      if (request.window == 0 || request.window > kMaxWindow ||
          request.chunk_bytes == 0 || request.chunk_bytes > kMaxChunk ||
          request.start > request.end) {
        return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kTar:
      if (!r.U32(request.flags) || !r.U32(request.window) ||
          !r.U32(request.chunk_bytes)) {
        return EINVAL;
      }
      if (request.window == 0 || request.window > kMaxWindow ||
          request.chunk_bytes < 4096 || request.chunk_bytes > kMaxChunk ||
          (request.flags & ~uint32_t{kTarXattrs | kTarLayer | kTarCopy}) != 0) {
        return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kDiff: {
      uint32_t count;
      if (!r.U32(request.window) || !r.U32(count) || request.window == 0 ||
          request.window > kMaxWindow || count > kMaxLowers) {
        return EINVAL;
      }
      request.lowers.resize(count);
      for (std::string& lower : request.lowers) {
        if (!r.String(lower) || !GoodPath(lower)) return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    }
    case Op::kWalk:
      if (!r.U32(request.max_depth) || !r.U32(request.stat_mask) ||
          !r.U32(request.flags) || !r.U32(request.window) ||
          !r.U32(request.batch_bytes)) {
        return EINVAL;
      }
      if (request.window == 0 || request.window > kMaxWindow ||
          request.batch_bytes < 4096 || request.batch_bytes > (8u << 20) ||
          (request.stat_mask & ~uint32_t{kAllStat}) != 0) {
        return EINVAL;
      }
      {
        uint32_t count;
        if (!r.U32(count) || count > kMaxExcludes) return EINVAL;
        request.excludes.resize(count);
        for (std::string& pattern : request.excludes) {
          if (!r.String(pattern) || !GoodPath(pattern) ||
              pattern.size() > kMaxExcludeBytes) {
            return EINVAL;
          }
        }
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kCredit:
      return r.U32(request.credit) ? 0 : EINVAL;
    case Op::kCancel:
      return 0;
    case Op::kMount:
      if (!r.U64(request.mount_flags) || !r.String(request.source) ||
          !r.String(request.path) || !r.String(request.fstype) ||
          !r.String(request.data)) {
        return EINVAL;
      }
      if (!GoodPath(request.path) || HasNul(request.source) ||
          HasNul(request.fstype) || HasNul(request.data)) {
        return EINVAL;
      }
      return 0;
    case Op::kUnmount:
      if (!r.U32(request.unmount_flags)) return EINVAL;
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kUnlink:
    case Op::kRmdir:
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kMkdir:
      if (!r.U32(request.mode) || !r.U32(request.change_flags) ||
          !r.U32(request.uid) || !r.U32(request.gid)) {
        return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) && (request.mode & ~07777u) == 0 ? 0
                                                                     : EINVAL;
    case Op::kRename:
    case Op::kLink:
    case Op::kSymlink:
      // A symlink's target is any bytes but NUL (it may be empty only
      // where the kernel says so: ENOENT).
      if (!r.String(request.source) || !r.String(request.path)) return EINVAL;
      if (request.op == Op::kSymlink) {
        request.target = std::move(request.source);
        request.source.clear();
        return HasNul(request.target) || !GoodPath(request.path) ? EINVAL : 0;
      }
      return GoodPath(request.source) && GoodPath(request.path) ? 0 : EINVAL;
    case Op::kChmod:
      if (!r.U32(request.mode)) return EINVAL;
      request.path = r.Rest();
      return GoodPath(request.path) && (request.mode & ~07777u) == 0 ? 0
                                                                     : EINVAL;
    case Op::kChown:
      if (!r.U32(request.uid) || !r.U32(request.gid) ||
          !r.U32(request.change_flags)) {
        return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kUtimes:
      if (!r.I64(request.atime_sec) || !r.U32(request.atime_nsec) ||
          !r.I64(request.mtime_sec) || !r.U32(request.mtime_nsec) ||
          !r.U32(request.change_flags)) {
        return EINVAL;
      }
      if (request.atime_nsec >= 1000000000 ||
          request.mtime_nsec >= 1000000000) {
        return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kMknod: {
      if (!r.U32(request.mode) || !r.U64(request.rdev) || !r.U32(request.uid) ||
          !r.U32(request.gid)) {
        return EINVAL;
      }
      const uint32_t type = request.mode & ~07777u;
      if (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO) return EINVAL;
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    }
    case Op::kSetXattr:
      if (!r.String(request.source) || !r.String(request.data) ||
          !r.String(request.path)) {
        return EINVAL;
      }
      return GoodPath(request.path) && !request.source.empty() &&
                     !HasNul(request.source)
                 ? 0
                 : EINVAL;
    case Op::kTruncate:
      if (!r.U64(request.length) || request.length > INT64_MAX) return EINVAL;
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kWrite:
      if (!r.U32(request.change_flags) || !r.U32(request.mode) ||
          !r.U32(request.uid) || !r.U32(request.gid) ||
          !r.U32(request.window)) {
        return EINVAL;
      }
      if (request.window == 0 || request.window > kMaxWindow ||
          (request.mode & ~07777u) != 0) {
        return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
    case Op::kWriteData:
      request.data = r.Rest();
      return 0;
    case Op::kWriteEnd:
      return 0;
    case Op::kRemove:
    case Op::kChownTree:
      if (!r.U32(request.change_flags) || !r.U32(request.uid) ||
          !r.U32(request.gid)) {
        return EINVAL;
      }
      request.path = r.Rest();
      return GoodPath(request.path) ? 0 : EINVAL;
  }
  return ENOSYS;
}

}  // namespace unshare_fs

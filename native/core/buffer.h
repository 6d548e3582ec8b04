// A growable little-endian byte buffer for frames and records.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "protocol.h"

namespace unshare_fs {

class ByteBuffer {
 public:
  void Reserve(size_t n) { bytes_.reserve(n); }
  void Clear() { bytes_.clear(); }
  size_t Size() const { return bytes_.size(); }
  const uint8_t* Data() const { return bytes_.data(); }
  uint8_t* MutableData() { return bytes_.data(); }

  void U8(uint8_t v) { bytes_.push_back(v); }
  void U16(uint16_t v) { Raw(&v, sizeof v); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void I32(int32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void I64(int64_t v) { Raw(&v, sizeof v); }
  void Bytes(std::string_view s) { Raw(s.data(), s.size()); }
  void Raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  void PatchU32(size_t at, uint32_t v) { std::memcpy(&bytes_[at], &v, 4); }

  // Starts a frame; FinishFrame fills in its length.
  size_t BeginFrame(uint32_t id, Reply kind) {
    size_t at = bytes_.size();
    U32(0);
    U32(id);
    U8(static_cast<uint8_t>(kind));
    U8(0);
    U16(0);
    return at;
  }
  void FinishFrame(size_t at) {
    PatchU32(at, static_cast<uint32_t>(bytes_.size() - at - 4));
  }

  // Packs the fields selected by `mask`, in protocol order.
  void Stat(const struct stat& st, uint32_t mask) {
    if (mask & kMode) U32(st.st_mode);
    if (mask & kUid) U32(st.st_uid);
    if (mask & kGid) U32(st.st_gid);
    if (mask & kNlink) U32(static_cast<uint32_t>(st.st_nlink));
    if (mask & kSize) U64(static_cast<uint64_t>(st.st_size));
    if (mask & kIno) U64(st.st_ino);
    if (mask & kDev) U64(st.st_dev);
    if (mask & kRdev) U64(st.st_rdev);
    if (mask & kBlocks) {
      U64(static_cast<uint64_t>(st.st_blocks));
      U32(static_cast<uint32_t>(st.st_blksize));
    }
    if (mask & kAtime) Time(st.st_atim);
    if (mask & kMtime) Time(st.st_mtim);
    if (mask & kCtime) Time(st.st_ctim);
  }

 private:
  void Time(const struct timespec& ts) {
    I64(ts.tv_sec);
    U32(static_cast<uint32_t>(ts.tv_nsec));
  }
  std::vector<uint8_t> bytes_;
};

}  // namespace unshare_fs

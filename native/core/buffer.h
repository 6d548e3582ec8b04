// A growable little-endian byte buffer for frames and records.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "protocol.h"

namespace unshare_fs {

class ByteBuffer {
 public:
  void Reserve(size_t n) {
    if (n > capacity_) Reallocate(n);
  }
  void Clear() { size_ = 0; }
  // Drops what was appended after `size` (a frame given up half-way).
  void Truncate(size_t size) { size_ = std::min(size_, size); }
  size_t Size() const { return size_; }
  const uint8_t* Data() const { return data_.get(); }
  uint8_t* MutableData() { return data_.get(); }

  void U8(uint8_t v) { *Grow(1) = v; }
  void U16(uint16_t v) { Raw(&v, sizeof v); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void I32(int32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void I64(int64_t v) { Raw(&v, sizeof v); }
  void Bytes(std::string_view s) { Raw(s.data(), s.size()); }
  void Raw(const void* p, size_t n) {
    if (n > 0) std::memcpy(Grow(n), p, n);
  }
  // Room for n more bytes, filled by the caller (Truncate gives back what
  // it did not fill).
  uint8_t* Extend(size_t n) { return Grow(n); }
  void PatchU32(size_t at, uint32_t v) { std::memcpy(data_.get() + at, &v, 4); }

  // Starts a frame; FinishFrame fills in its length.
  size_t BeginFrame(uint32_t id, Reply kind, uint8_t flags = 0) {
    size_t at = size_;
    U32(0);
    U32(id);
    U8(static_cast<uint8_t>(kind));
    U8(flags);
    U16(0);
    return at;
  }
  void FinishFrame(size_t at) {
    PatchU32(at, static_cast<uint32_t>(size_ - at - 4));
  }

  // Packs the fields selected by `mask`, in protocol order.
  void Stat(const struct stat& st, uint32_t mask) {
    uint8_t* p = Grow(kAllStatBytes);
    uint8_t* const start = p;
    if (mask & kMode) p = Put<uint32_t>(p, st.st_mode);
    if (mask & kUid) p = Put<uint32_t>(p, st.st_uid);
    if (mask & kGid) p = Put<uint32_t>(p, st.st_gid);
    if (mask & kNlink) p = Put<uint32_t>(p, st.st_nlink);
    if (mask & kSize) p = Put<uint64_t>(p, st.st_size);
    if (mask & kIno) p = Put<uint64_t>(p, st.st_ino);
    if (mask & kDev) p = Put<uint64_t>(p, st.st_dev);
    if (mask & kRdev) p = Put<uint64_t>(p, st.st_rdev);
    if (mask & kBlocks) {
      p = Put<uint64_t>(p, st.st_blocks);
      p = Put<uint32_t>(p, st.st_blksize);
    }
    if (mask & kAtime) p = PutTime(p, st.st_atim);
    if (mask & kMtime) p = PutTime(p, st.st_mtim);
    if (mask & kCtime) p = PutTime(p, st.st_ctim);
    size_ -= kAllStatBytes - static_cast<size_t>(p - start);
  }

 private:
  template <typename T, typename V>
  static uint8_t* Put(uint8_t* p, V v) {
    T t = static_cast<T>(v);
    std::memcpy(p, &t, sizeof t);
    return p + sizeof t;
  }
  static uint8_t* PutTime(uint8_t* p, const struct timespec& ts) {
    p = Put<int64_t>(p, ts.tv_sec);
    return Put<uint32_t>(p, ts.tv_nsec);
  }

  // Makes room for n more bytes and returns where they go.
  uint8_t* Grow(size_t n) {
    if (size_ + n > capacity_) {
      Reallocate(
          std::max(size_ + n, capacity_ == 0 ? size_t{256} : capacity_ * 2));
    }
    uint8_t* at = data_.get() + size_;
    size_ += n;
    return at;
  }
  void Reallocate(size_t capacity) {
    std::unique_ptr<uint8_t[]> grown(new uint8_t[capacity]);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace unshare_fs

// Reads a walk batch (protocol.h) back into its records, checking all of
// it: the inverse of BatchWriter (batch.h), for the fuzzer and the C++
// tests.  Any malformed batch ends the reading, never a read out of bounds.
// The addon itself does not use it: lib/wire/decode.ts reads batches in node.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "protocol.h"

namespace unshare_fs {

// An entry's stat fields as packed: those not in the batch's mask are 0.
struct PackedStat {
  uint32_t mode = 0, uid = 0, gid = 0, nlink = 0;
  uint64_t size = 0, ino = 0, dev = 0, rdev = 0, blocks = 0;
  uint32_t blksize = 0;
  int64_t atime_sec = 0, mtime_sec = 0, ctime_sec = 0;
  uint32_t atime_nsec = 0, mtime_nsec = 0, ctime_nsec = 0;
  bool operator==(const PackedStat&) const = default;
};

// Bytes of the stat fields `mask` selects in an entry record.
constexpr size_t PackedStatBytes(uint32_t mask) {
  size_t n = 0;
  for (uint32_t bit : {kMode, kUid, kGid, kNlink}) n += (mask & bit) ? 4 : 0;
  for (uint32_t bit : {kSize, kIno, kDev, kRdev}) n += (mask & bit) ? 8 : 0;
  if (mask & kBlocks) n += 12;
  for (uint32_t bit : {kAtime, kMtime, kCtime}) n += (mask & bit) ? 12 : 0;
  return n;
}

struct BatchRecord {
  RecordTag kind{};
  uint8_t type = 0;          // kEntry: d_type
  uint16_t depth = 0;        // kDir: the root is 0
  int32_t err = 0;           // kError: errno
  std::string_view syscall;  // kError
  std::string_view path;     // kDir, kError: relative path; kEntry: name
  PackedStat stat;           // kEntry
  uint64_t sums[kSummaryValues] = {};  // kSummary
  bool operator==(const BatchRecord&) const = default;
};

// Takes records out of one batch, in order.  What it accepts is what
// BatchWriter writes for a walk: known flags and tags, reserved bytes 0,
// every length inside the batch, an ENTRY only after a DIR record, entry
// names that are not empty and hold no NUL or '/', paths without NUL, names
// ASCII when the batch says so, and the names area used up exactly.
class BatchReader {
 public:
  BatchReader(const uint8_t* data, size_t size, uint32_t stat_mask)
      : data_(data), size_(size), stat_mask_(stat_mask) {
    uint32_t names_at;
    if (size < kBatchHeader || (stat_mask & ~uint32_t{kAllStat}) != 0) {
      malformed_ = true;
      return;
    }
    std::memcpy(&names_at, data, 4);
    std::memcpy(&flags_, data + 4, 4);
    if (names_at < kBatchHeader || names_at > size ||
        (flags_ & ~(kBatchNamesAscii | kBatchAsks)) != 0) {
      malformed_ = true;
      return;
    }
    at_ = kBatchHeader;
    records_end_ = names_at;
    name_at_ = names_at;
  }

  // The next record; false at the end of the batch or at a malformed
  // record (then Malformed()).
  bool Next(BatchRecord& record) {
    if (malformed_) return false;
    if (at_ == records_end_) {
      if (name_at_ != size_) malformed_ = true;  // names left over
      return false;
    }
    record = BatchRecord();
    record.kind = static_cast<RecordTag>(data_[at_]);
    bool ok = false;
    switch (record.kind) {
      case RecordTag::kDir:
        ok = ReadDir(record);
        break;
      case RecordTag::kEntry:
        ok = ReadEntry(record);
        break;
      case RecordTag::kError:
        ok = ReadError(record);
        break;
      case RecordTag::kSummary:
        ok = ReadSummary(record);
        break;
    }
    if (!ok) malformed_ = true;
    return ok;
  }

  bool Malformed() const { return malformed_; }
  uint32_t Flags() const { return flags_; }

 private:
  size_t RecordBytesLeft() const { return records_end_ - at_; }

  bool ReadDir(BatchRecord& record) {
    uint32_t len;
    if (RecordBytesLeft() < 8 || data_[at_ + 1] != 0) return false;
    std::memcpy(&record.depth, data_ + at_ + 2, 2);
    std::memcpy(&len, data_ + at_ + 4, 4);
    if (len > RecordBytesLeft() - 8) return false;
    record.path = Text(at_ + 8, len);
    if (record.path.find('\0') != std::string_view::npos) return false;
    at_ += 8 + size_t{len};
    in_dir_ = true;
    return true;
  }

  bool ReadEntry(BatchRecord& record) {
    const size_t stat_bytes = PackedStatBytes(stat_mask_);
    uint16_t name_len;
    if (!in_dir_ || RecordBytesLeft() < 4 + stat_bytes) return false;
    record.type = data_[at_ + 1];
    std::memcpy(&name_len, data_ + at_ + 2, 2);
    if (name_len == 0 || name_len > size_ - name_at_) return false;
    record.path = Text(name_at_, name_len);
    for (char c : record.path) {
      if (c == '\0' || c == '/') return false;
      if ((flags_ & kBatchNamesAscii) && (static_cast<uint8_t>(c) & 0x80)) {
        return false;
      }
    }
    ReadStat(at_ + 4, record.stat);
    at_ += 4 + stat_bytes;
    name_at_ += name_len;
    return true;
  }

  bool ReadError(BatchRecord& record) {
    uint16_t syscall_len;
    uint32_t path_len;
    if (RecordBytesLeft() < 12 || data_[at_ + 1] != 0) return false;
    std::memcpy(&syscall_len, data_ + at_ + 2, 2);
    std::memcpy(&record.err, data_ + at_ + 4, 4);
    std::memcpy(&path_len, data_ + at_ + 8, 4);
    if (syscall_len > RecordBytesLeft() - 12 ||
        path_len > RecordBytesLeft() - 12 - syscall_len) {
      return false;
    }
    record.syscall = Text(at_ + 12, syscall_len);
    record.path = Text(at_ + 12 + syscall_len, path_len);
    if (record.syscall.find('\0') != std::string_view::npos ||
        record.path.find('\0') != std::string_view::npos) {
      return false;
    }
    at_ += 12 + size_t{syscall_len} + path_len;
    return true;
  }

  bool ReadSummary(BatchRecord& record) {
    if (RecordBytesLeft() < kSummaryRecordBytes) return false;
    for (size_t i = 1; i < 8; i++) {
      if (data_[at_ + i] != 0) return false;
    }
    std::memcpy(record.sums, data_ + at_ + 8, sizeof record.sums);
    at_ += kSummaryRecordBytes;
    return true;
  }

  // The caller has checked that the fields are inside the records.
  void ReadStat(size_t at, PackedStat& st) const {
    const uint8_t* p = data_ + at;
    auto take = [&p](auto& field) {
      std::memcpy(&field, p, sizeof field);
      p += sizeof field;
    };
    if (stat_mask_ & kMode) take(st.mode);
    if (stat_mask_ & kUid) take(st.uid);
    if (stat_mask_ & kGid) take(st.gid);
    if (stat_mask_ & kNlink) take(st.nlink);
    if (stat_mask_ & kSize) take(st.size);
    if (stat_mask_ & kIno) take(st.ino);
    if (stat_mask_ & kDev) take(st.dev);
    if (stat_mask_ & kRdev) take(st.rdev);
    if (stat_mask_ & kBlocks) {
      take(st.blocks);
      take(st.blksize);
    }
    if (stat_mask_ & kAtime) {
      take(st.atime_sec);
      take(st.atime_nsec);
    }
    if (stat_mask_ & kMtime) {
      take(st.mtime_sec);
      take(st.mtime_nsec);
    }
    if (stat_mask_ & kCtime) {
      take(st.ctime_sec);
      take(st.ctime_nsec);
    }
  }

  std::string_view Text(size_t at, size_t len) const {
    return {reinterpret_cast<const char*>(data_ + at), len};
  }

  const uint8_t* data_;
  size_t size_;
  uint32_t stat_mask_;
  uint32_t flags_ = 0;
  size_t at_ = 0, records_end_ = 0, name_at_ = 0;
  bool in_dir_ = false;
  bool malformed_ = false;
};

// Reads a whole batch; false when it is malformed.
inline bool ReadBatch(const uint8_t* data, size_t size, uint32_t stat_mask,
                      std::vector<BatchRecord>& records, uint32_t& flags) {
  BatchReader reader(data, size, stat_mask);
  BatchRecord record;
  records.clear();
  while (reader.Next(record)) records.push_back(record);
  flags = reader.Flags();
  return !reader.Malformed();
}

}  // namespace unshare_fs

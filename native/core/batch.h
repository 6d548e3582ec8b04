// Packs one walk batch (protocol.h): the header, DIR, ENTRY and ERROR
// records, then the entries' names back to back.  Apart from the walker so
// that a fuzzer and tests can build batches without a file system; the walk
// is the hot path, so everything here is inline and copies nothing twice.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string_view>

#include "buffer.h"
#include "protocol.h"

namespace unshare_fs {

class BatchWriter {
 public:
  // `stat_mask` (StatField bits) selects the fields of every entry record;
  // `batch_bytes` is the size a batch is expected to grow to.
  BatchWriter(uint32_t stat_mask, size_t batch_bytes) : stat_mask_(stat_mask) {
    records_.Reserve(batch_bytes + 4096);
    names_.Reserve(batch_bytes / 4);
    Header();
  }

  // No record yet.
  bool Empty() const { return records_.Size() == kBatchHeader; }
  // The batch's size once finished.
  size_t Size() const { return records_.Size() + names_.Size(); }

  // The entries after it, up to the next DIR record, are in `rel_path`
  // (relative to the walk's root, "" for the root), at `depth` (the root is
  // 0; deeper than 0xffff is written as 0xffff).
  void DirRecord(uint32_t depth, std::string_view rel_path) {
    records_.U8(static_cast<uint8_t>(RecordTag::kDir));
    records_.U8(0);
    records_.U16(static_cast<uint16_t>(depth > 0xffff ? 0xffff : depth));
    records_.U32(static_cast<uint32_t>(rel_path.size()));
    records_.Bytes(rel_path);
  }

  // `name` is a d_name: NUL-terminated, shorter than 64 KiB.  `st` is read
  // only when the stat mask is not 0.
  void Entry(const char* name, uint8_t type, const struct stat& st) {
    // One pass finds the length and whether the name is ASCII.
    size_t name_len = 0;
    uint8_t high_bits = 0;
    for (const char* c = name; *c != 0; c++, name_len++) {
      high_bits |= static_cast<uint8_t>(*c);
    }
    records_.U8(static_cast<uint8_t>(RecordTag::kEntry));
    records_.U8(type);
    records_.U16(static_cast<uint16_t>(name_len));
    if (stat_mask_ != 0) records_.Stat(st, stat_mask_);
    names_.Raw(name, name_len);
    names_high_bits_ |= high_bits;
  }

  // `syscall_name` failed with `err` on `rel_path` (relative to the root).
  void ErrorRecord(int err, std::string_view syscall_name,
                   std::string_view rel_path) {
    records_.U8(static_cast<uint8_t>(RecordTag::kError));
    records_.U8(0);
    records_.U16(static_cast<uint16_t>(syscall_name.size()));
    records_.I32(err);
    records_.U32(static_cast<uint32_t>(rel_path.size()));
    records_.Bytes(syscall_name);
    records_.Bytes(rel_path);
  }

  // A summing walk's sums: kSummaryValues of them, a SummaryKind plus a
  // SummaryField each.
  void SummaryRecord(const uint64_t* sums) {
    records_.U8(static_cast<uint8_t>(RecordTag::kSummary));
    records_.U8(0);
    records_.U16(0);
    records_.U32(0);
    for (uint32_t i = 0; i < kSummaryValues; i++) records_.U64(sums[i]);
  }

  // Completes the batch: the header filled in and the names appended.  The
  // batch is valid until Clear(); no record may be added before it.
  // `flags`: batch flags beside kBatchNamesAscii (kBatchAsks).
  const ByteBuffer& Finish(uint32_t flags = 0) {
    records_.PatchU32(0, static_cast<uint32_t>(records_.Size()));
    records_.PatchU32(
        4, flags | ((names_high_bits_ & 0x80) == 0 ? kBatchNamesAscii : 0));
    records_.Raw(names_.Data(), names_.Size());
    return records_;
  }

  // Starts the next batch.
  void Clear() {
    records_.Clear();
    names_.Clear();
    names_high_bits_ = 0;
    Header();
  }

 private:
  void Header() {
    records_.U32(0);  // where the names start, filled in by Finish
    records_.U32(0);  // batch flags, filled in by Finish
  }

  const uint32_t stat_mask_;
  ByteBuffer records_;  // header and records; the names go after them
  ByteBuffer names_;    // the entries' names, back to back
  uint8_t names_high_bits_ = 0;
};

}  // namespace unshare_fs

// Fuzz target `batch`: walk batches through BatchWriter (batch.h) and
// BatchReader (batch_reader.h).
//
// Input byte 0, low bit 0: bytes 1-4 are a stat mask (only its known bits
// unless bit 1 of byte 0 is set), the rest a batch.
// The reader must not crash on it; a batch it accepts is one the writer
// writes: built again from its records, it is the same bytes.
// Low bit 1: the rest chooses batches of DIR, ENTRY, ERROR and SUMMARY
// records, written with one BatchWriter (cleared between batches); each
// batch read back gives the records that went in, and the flags they call
// for.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "../core/batch.h"
#include "../core/batch_reader.h"
#include "../core/protocol.h"
#include "check.h"

namespace unshare_fs {
namespace {

// The fields of `st` that `mask` selects, as the protocol packs them
// (written apart from ByteBuffer::Stat, to check it).
PackedStat Expected(const struct stat& st, uint32_t mask) {
  PackedStat p;
  if (mask & kMode) p.mode = static_cast<uint32_t>(st.st_mode);
  if (mask & kUid) p.uid = static_cast<uint32_t>(st.st_uid);
  if (mask & kGid) p.gid = static_cast<uint32_t>(st.st_gid);
  if (mask & kNlink) p.nlink = static_cast<uint32_t>(st.st_nlink);
  if (mask & kSize) p.size = static_cast<uint64_t>(st.st_size);
  if (mask & kIno) p.ino = static_cast<uint64_t>(st.st_ino);
  if (mask & kDev) p.dev = static_cast<uint64_t>(st.st_dev);
  if (mask & kRdev) p.rdev = static_cast<uint64_t>(st.st_rdev);
  if (mask & kBlocks) {
    p.blocks = static_cast<uint64_t>(st.st_blocks);
    p.blksize = static_cast<uint32_t>(st.st_blksize);
  }
  if (mask & kAtime) {
    p.atime_sec = st.st_atim.tv_sec;
    p.atime_nsec = static_cast<uint32_t>(st.st_atim.tv_nsec);
  }
  if (mask & kMtime) {
    p.mtime_sec = st.st_mtim.tv_sec;
    p.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  }
  if (mask & kCtime) {
    p.ctime_sec = st.st_ctim.tv_sec;
    p.ctime_nsec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  }
  return p;
}

// A stat that packs to `p`.
struct stat Unpacked(const PackedStat& p) {
  struct stat st;
  std::memset(&st, 0, sizeof st);
  st.st_mode = p.mode;
  st.st_uid = p.uid;
  st.st_gid = p.gid;
  st.st_nlink = p.nlink;
  st.st_size = static_cast<off_t>(p.size);
  st.st_ino = p.ino;
  st.st_dev = p.dev;
  st.st_rdev = p.rdev;
  st.st_blocks = static_cast<blkcnt_t>(p.blocks);
  st.st_blksize = p.blksize;
  st.st_atim = {p.atime_sec, p.atime_nsec};
  st.st_mtim = {p.mtime_sec, p.mtime_nsec};
  st.st_ctim = {p.ctime_sec, p.ctime_nsec};
  return st;
}

void Write(BatchWriter& writer, const BatchRecord& record) {
  switch (record.kind) {
    case RecordTag::kDir:
      writer.DirRecord(record.depth, record.path);
      break;
    case RecordTag::kEntry: {
      std::string name(record.path);  // NUL-terminated, as a d_name is
      writer.Entry(name.c_str(), record.type, Unpacked(record.stat));
      break;
    }
    case RecordTag::kError:
      writer.ErrorRecord(record.err, record.syscall, record.path);
      break;
    case RecordTag::kSummary:
      writer.SummaryRecord(record.sums);
      break;
  }
}

// (a) Arbitrary bytes as a batch.
void ReadAnyBatch(const uint8_t* data, size_t size, bool any_mask) {
  if (size < 4) return;
  uint32_t mask;
  std::memcpy(&mask, data, 4);
  if (!any_mask) mask &= kAllStat;
  data += 4;
  size -= 4;
  std::vector<BatchRecord> records;
  uint32_t flags;
  if (!ReadBatch(data, size, mask, records, flags)) return;
  CHECK((mask & ~uint32_t{kAllStat}) == 0);

  BatchWriter writer(mask, size);
  for (const BatchRecord& record : records) Write(writer, record);
  CHECK(writer.Size() == size);
  // kBatchAsks is the walk's to give (a pruning walk asks about each
  // batch's directories); the writer adds kBatchNamesAscii by itself.
  const ByteBuffer& batch = writer.Finish(flags & kBatchAsks);
  CHECK(batch.Size() == size);
  // The writer says ASCII whenever it is; a batch may leave that unsaid.
  uint32_t written_flags;
  std::memcpy(&written_flags, batch.Data() + 4, 4);
  CHECK(flags == written_flags || flags == (written_flags & ~kBatchNamesAscii));
  CHECK(std::memcmp(batch.Data(), data, 4) == 0);
  CHECK(std::memcmp(batch.Data() + 8, data + 8, size - 8) == 0);
}

std::string NameFrom(FuzzedDataProvider& input) {
  std::string name = input.ConsumeRandomLengthString(300);
  for (char& c : name) {
    if (c == '\0' || c == '/') c = '_';
  }
  if (name.empty()) name = "x";
  return name;
}

std::string PathFrom(FuzzedDataProvider& input) {
  std::string path = input.ConsumeRandomLengthString(1000);
  for (char& c : path) {
    if (c == '\0') c = '/';
  }
  return path;
}

bool Ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<uint8_t>(c) & 0x80) return false;
  }
  return true;
}

void CheckBatch(BatchWriter& writer, uint32_t mask,
                const std::vector<BatchRecord>& wrote) {
  size_t size = writer.Size();
  CHECK(writer.Empty() == wrote.empty());
  const ByteBuffer& batch = writer.Finish();
  CHECK(batch.Size() == size);
  std::vector<BatchRecord> read;
  uint32_t flags;
  CHECK(ReadBatch(batch.Data(), batch.Size(), mask, read, flags));
  CHECK(read == wrote);
  bool ascii = true;
  for (const BatchRecord& record : wrote) {
    if (record.kind == RecordTag::kEntry) ascii = ascii && Ascii(record.path);
  }
  CHECK(flags == (ascii ? kBatchNamesAscii : 0));
  writer.Clear();
  CHECK(writer.Empty());
}

// (b) Batches built from fuzz-chosen records.
void RoundTrip(FuzzedDataProvider& input) {
  const uint32_t mask = input.ConsumeIntegral<uint32_t>() & kAllStat;
  BatchWriter writer(mask, input.ConsumeIntegralInRange<size_t>(0, 1 << 16));
  std::vector<BatchRecord> wrote;
  std::deque<std::string> strings;  // what the records' views point into
  bool in_dir = false;
  while (input.remaining_bytes() > 0) {
    BatchRecord record;
    switch (input.ConsumeIntegralInRange<int>(0, 7)) {
      case 0: {  // the batch ends
        CheckBatch(writer, mask, wrote);
        wrote.clear();
        in_dir = false;
        continue;
      }
      case 1: {
        record.kind = RecordTag::kDir;
        uint32_t depth = input.ConsumeBool() ? input.ConsumeIntegral<uint32_t>()
                                             : input.ConsumeIntegral<uint8_t>();
        strings.push_back(PathFrom(input));
        writer.DirRecord(depth, strings.back());
        record.depth = depth > 0xffff ? 0xffff : depth;
        record.path = strings.back();
        in_dir = true;
        break;
      }
      case 2: {
        record.kind = RecordTag::kError;
        record.err = input.ConsumeIntegral<int32_t>();
        strings.push_back(NameFrom(input));
        record.syscall = strings.back();
        strings.push_back(PathFrom(input));
        record.path = strings.back();
        writer.ErrorRecord(record.err, record.syscall, record.path);
        break;
      }
      case 3: {  // a summing walk's sums
        record.kind = RecordTag::kSummary;
        for (uint64_t& sum : record.sums)
          sum = input.ConsumeIntegral<uint64_t>();
        writer.SummaryRecord(record.sums);
        break;
      }
      default: {
        if (!in_dir) {  // as the walker does: an entry's directory first
          BatchRecord dir;
          dir.kind = RecordTag::kDir;
          writer.DirRecord(0, "");
          wrote.push_back(dir);
          in_dir = true;
        }
        record.kind = RecordTag::kEntry;
        record.type = input.ConsumeIntegral<uint8_t>();
        struct stat st;
        std::memset(&st, 0, sizeof st);
        st.st_mode = input.ConsumeIntegral<mode_t>();
        st.st_uid = input.ConsumeIntegral<uid_t>();
        st.st_gid = input.ConsumeIntegral<gid_t>();
        st.st_nlink = input.ConsumeIntegral<nlink_t>();
        st.st_size = input.ConsumeIntegral<off_t>();
        st.st_ino = input.ConsumeIntegral<ino_t>();
        st.st_dev = input.ConsumeIntegral<dev_t>();
        st.st_rdev = input.ConsumeIntegral<dev_t>();
        st.st_blocks = input.ConsumeIntegral<blkcnt_t>();
        st.st_blksize = input.ConsumeIntegral<blksize_t>();
        st.st_atim.tv_sec = input.ConsumeIntegral<time_t>();
        st.st_atim.tv_nsec = input.ConsumeIntegral<long>();
        st.st_mtim.tv_sec = input.ConsumeIntegral<time_t>();
        st.st_mtim.tv_nsec = input.ConsumeIntegral<long>();
        st.st_ctim.tv_sec = input.ConsumeIntegral<time_t>();
        st.st_ctim.tv_nsec = input.ConsumeIntegral<long>();
        strings.push_back(NameFrom(input));
        writer.Entry(strings.back().c_str(), record.type, st);
        record.path = strings.back();
        record.stat = Expected(st, mask);
        break;
      }
    }
    wrote.push_back(record);
  }
  CheckBatch(writer, mask, wrote);
}

}  // namespace
}  // namespace unshare_fs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    unshare_fs::ReadAnyBatch(data + 1, size - 1, (data[0] & 2) != 0);
  } else {
    FuzzedDataProvider input(data + 1, size - 1);
    unshare_fs::RoundTrip(input);
  }
  return 0;
}

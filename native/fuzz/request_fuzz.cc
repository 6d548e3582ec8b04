// Fuzz target `request`: a byte stream cut into frames (FrameSplitter) at
// fuzz-chosen boundaries, each frame parsed (ParseRequest).
//
// Input: the stream's bytes come from the front of the input; from its end
// come, chunk by chunk, how many bytes to append next, or a run of one byte
// to append instead (so that frames longer than kMaxRequest, and what comes
// after them, are reachable from a short input), and whether to take every
// whole frame before the next chunk, as the server does, or only one.
//
// Checks: the frames are those of a simple model that reads the whole
// stream at once, however it was cut; once every whole frame is taken, the
// splitter holds less than one frame; ParseRequest answers only 0, EINVAL,
// ENOSYS or E2BIG, and a request it accepts is valid, and survives encoding
// and parsing again unchanged.
#include <errno.h>
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "../core/protocol.h"
#include "../core/request.h"
#include "check.h"
#include "request_encoder.h"

namespace unshare_fs {
namespace {

// Runs of one byte per input, at most: enough to pass two oversized frames.
constexpr size_t kMaxRunBytes = 3 * kMaxRequest;
// Frames parsed per input, at most: a run of zeros is 4-byte frames, and
// parsing thousands of them finds nothing the first ones did not.
constexpr size_t kMaxParsed = 1024;

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The frames of the whole stream, read the way protocol.h describes them.
class ModelFrames {
 public:
  explicit ModelFrames(const std::vector<uint8_t>& stream) : stream_(stream) {}

  // Checks that `frame` is the stream's next frame.
  void Expect(const Frame& frame) {
    size_t held = stream_.size() - at_;
    CHECK(held >= 4);
    uint32_t len = LoadU32(&stream_[at_]);
    if (len < kFrameHeader - 4 || len > kMaxRequest) {
      // Reported once with its id (if it has one), then skipped.
      CHECK(frame.oversized && frame.payload.empty());
      if (len > kMaxRequest) {
        CHECK(held >= kFrameHeader);
        CHECK(frame.id == LoadU32(&stream_[at_ + 4]));
        CHECK(frame.op == stream_[at_ + 8]);
      } else {
        CHECK(frame.id == 0 && frame.op == 0);
      }
      at_ += static_cast<size_t>(std::min<uint64_t>(4 + uint64_t{len}, held));
      return;
    }
    CHECK(held >= 4 + size_t{len});
    CHECK(!frame.oversized);
    CHECK(frame.id == LoadU32(&stream_[at_ + 4]));
    CHECK(frame.op == stream_[at_ + 8]);
    CHECK(frame.payload.size() == len - (kFrameHeader - 4));
    CHECK(std::equal(frame.payload.begin(), frame.payload.end(),
                     &stream_[at_ + kFrameHeader]));
    at_ += 4 + size_t{len};
  }

  // Checks that no whole frame is left, and that `held` bytes are: those
  // of an incomplete last frame.
  void ExpectEnd(size_t held) {
    size_t left = stream_.size() - at_;
    CHECK(held == left);
    if (left < 4) return;
    uint32_t len = LoadU32(&stream_[at_]);
    if (len > kMaxRequest) {
      CHECK(left < kFrameHeader);
    } else {
      CHECK(len >= kFrameHeader - 4 && left < 4 + size_t{len});
    }
  }

 private:
  const std::vector<uint8_t>& stream_;
  size_t at_ = 0;
};

bool KnownOp(uint8_t op) {
  switch (static_cast<Op>(op)) {
#define X(name, number, kind, fields) case Op::k##name:
    UNSHARE_FS_OPS(X)
#undef X
    return true;
  }
  return false;
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }
bool GoodPath(const std::string& s) { return !s.empty() && !HasNul(s); }
bool GoodWindow(uint32_t window) { return window >= 1 && window <= kMaxWindow; }

// Ops whose last field runs to the end of the payload (a path, bytes):
// nothing after it is ignored, so encoding gives back the very payload.
template <typename Args>
constexpr bool kEndsWithRest = false;
#define F(type, name) last = #type;
#define X(name, number, kind, fields)                \
  template <>                                        \
  constexpr bool kEndsWithRest<req::name> = [] {     \
    std::string_view last;                           \
    fields return last == "path" || last == "bytes"; \
  }();
UNSHARE_FS_OPS(X)
#undef X
#undef F

// What a request the parser accepted must hold, written apart from
// request.cc's checks: every path field is a path the server may open, and
// each op's own rules.
template <typename Value>
void CheckField(const Value&) {}
void CheckPath(const std::string& path) { CHECK(GoodPath(path)); }
#define CheckField_u32 CheckField
#define CheckField_u64 CheckField
#define CheckField_i64 CheckField
#define CheckField_str CheckField
#define CheckField_strs CheckField
#define CheckField_bytes CheckField
#define CheckField_path CheckPath
#define F(type, name) CheckField_##type(args.name);
#define X(name, number, kind, fields) \
  void CheckPaths(const req::name& args) { fields }
UNSHARE_FS_OPS(X)
#undef X
#undef F

template <typename Args>
void CheckArgs(const Args&) {}
void CheckArgs(const req::Mount& a) {
  CHECK(GoodPath(a.target));
  CHECK(!HasNul(a.source) && !HasNul(a.fstype) && !HasNul(a.data));
}
void CheckArgs(const req::ReadFile& a) {
  CHECK(GoodWindow(a.window));
  CHECK(a.chunk_bytes >= 1 && a.chunk_bytes <= kMaxChunk);
  CHECK(a.start <= a.end);
}
void CheckArgs(const req::Mkdir& a) { CHECK((a.mode & ~07777u) == 0); }
void CheckArgs(const req::Chmod& a) { CHECK((a.mode & ~07777u) == 0); }
void CheckArgs(const req::Write& a) {
  CHECK((a.mode & ~07777u) == 0);
  CHECK(GoodWindow(a.window));
  CHECK(a.position <= INT64_MAX);
}
void CheckArgs(const req::Utimes& a) {
  CHECK(a.atime_nsec < 1000000000 && a.mtime_nsec < 1000000000);
}
void CheckArgs(const req::Truncate& a) { CHECK(a.length <= INT64_MAX); }
void CheckArgs(const req::Access& a) { CHECK(a.mode <= 7); }
void CheckArgs(const req::Open& a) {
  const uint32_t allowed = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |
                           O_SYNC | O_DIRECTORY | O_NOFOLLOW | O_NOATIME;
  CHECK((a.flags & ~allowed) == 0);
  CHECK((a.flags & O_ACCMODE) != O_ACCMODE);
  CHECK((a.mode & ~07777u) == 0);
}
void CheckArgs(const req::HandleRead& a) {
  CHECK(a.length <= kMaxChunk);
  CHECK(a.position <= INT64_MAX || a.position == kToEnd);
}
void CheckArgs(const req::HandleWrite& a) {
  CHECK(a.position <= INT64_MAX || a.position == kToEnd);
}
void CheckArgs(const req::HandleTruncate& a) { CHECK(a.length <= INT64_MAX); }
void CheckArgs(const req::HandleChmod& a) { CHECK((a.mode & ~07777u) == 0); }
void CheckArgs(const req::HandleSync& a) { CHECK(a.flags <= kSyncData); }
void CheckArgs(const req::Mknod& a) {
  const uint32_t type = a.mode & ~07777u;
  CHECK(type == S_IFCHR || type == S_IFBLK || type == S_IFIFO);
}
void CheckArgs(const req::SetXattr& a) {
  CHECK(!a.name.empty() && !HasNul(a.name));
  CHECK(GoodPath(a.path));
}
void CheckArgs(const req::Symlink& a) {
  CHECK(!HasNul(a.target));
  CHECK(GoodPath(a.path));
}
void CheckArgs(const req::Rename& a) {
  CHECK(GoodPath(a.from) && GoodPath(a.to));
}
void CheckArgs(const req::CopyFile& a) {
  CHECK(GoodPath(a.from) && GoodPath(a.to));
  CHECK((a.flags & ~uint32_t{kCopyExclusive | kCopyNoFollow}) == 0);
}
void CheckArgs(const req::Link& a) {
  CHECK(GoodPath(a.existing) && GoodPath(a.new_path));
}
void CheckArgs(const req::Diff& a) {
  CHECK(GoodWindow(a.window));
  CHECK((a.flags & ~uint32_t{kDiffFuseOverlayfs}) == 0);
  CHECK(a.lowers.size() <= kMaxLowers);
  for (const std::string& lower : a.lowers) CHECK(GoodPath(lower));
}
void CheckArgs(const req::Tar& a) {
  CHECK(GoodWindow(a.window));
  CHECK(a.chunk_bytes >= kMinTarChunk && a.chunk_bytes <= kMaxChunk);
  CHECK((a.flags & ~uint32_t{kTarXattrs | kTarLayer | kTarCopy |
                             kTarFuseOverlayfs}) == 0);
  CHECK((a.flags & kTarFuseOverlayfs) == 0 || (a.flags & kTarLayer) != 0);
}
void CheckArgs(const req::Walk& a) {
  CHECK(GoodWindow(a.window));
  CHECK(a.batch_bytes >= kMinBatchBytes && a.batch_bytes <= kMaxBatchBytes);
  CHECK((a.stat_mask & ~uint32_t{kAllStat}) == 0);
  CHECK(a.excludes.size() <= kMaxExcludes);
  for (const std::string& pattern : a.excludes) {
    CHECK(GoodPath(pattern) && pattern.size() <= kMaxExcludeBytes);
  }
}

void CheckRequest(const Frame& frame) {
  Request request;
  int err = ParseRequest(frame, request);
  CHECK(request.id == frame.id);
  CHECK(static_cast<uint8_t>(request.op) == frame.op);
  if (frame.oversized) {
    CHECK(err == E2BIG);
    return;
  }
  if (!KnownOp(frame.op)) {
    CHECK(err == ENOSYS);
    return;
  }
  CHECK(err == 0 || err == EINVAL);
  if (err != 0) return;
  CHECK(!std::holds_alternative<std::monostate>(request.args));
  bool ends_with_rest = false;
  std::visit(
      [&](const auto& args) {
        using Args = std::decay_t<decltype(args)>;
        if constexpr (!std::is_same_v<Args, std::monostate>) {
          CHECK(Args::kOp == request.op);
          CheckPaths(args);
          CheckArgs(args);
          ends_with_rest = kEndsWithRest<Args>;
        }
      },
      request.args);

  // Encoded again, the request is the payload it came from (or the part of
  // it that was read), and parses to the same request.
  std::vector<uint8_t> bytes = RequestEncoder::Frame(request);
  CHECK(bytes.size() >= kFrameHeader);
  size_t payload_size = bytes.size() - kFrameHeader;
  CHECK(payload_size <= frame.payload.size());
  CHECK(std::equal(bytes.begin() + kFrameHeader, bytes.end(),
                   frame.payload.begin()));
  if (ends_with_rest) CHECK(payload_size == frame.payload.size());

  FrameSplitter splitter;
  splitter.Append(bytes.data(), bytes.size());
  Frame again;
  CHECK(splitter.Next(again));
  CHECK(!again.oversized);
  Request reparsed;
  CHECK(ParseRequest(again, reparsed) == 0);
  CHECK(reparsed == request);
  CHECK(!splitter.Next(again));
  CHECK(splitter.Buffered() == 0);
}

}  // namespace
}  // namespace unshare_fs

using namespace unshare_fs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The stream, and where it is cut.
  FuzzedDataProvider input(data, size);
  std::vector<uint8_t> stream;
  struct Cut {
    size_t at;
    bool take_all;  // every whole frame before the next chunk, or one
  };
  std::vector<Cut> cuts;
  size_t run_bytes = 0;
  while (input.remaining_bytes() > 0) {
    // Chunk sizes spread over 1 .. 128 KiB, small ones as likely as large.
    int bits = input.ConsumeIntegralInRange<int>(0, 17);
    size_t n = 1 + input.ConsumeIntegralInRange<size_t>(0, (1u << bits) - 1);
    // 0: a run of one byte; 1: bytes, then one frame taken; else bytes.
    int kind = input.ConsumeIntegralInRange<int>(0, 7);
    if (kind == 0) {
      n = std::min(n, kMaxRunBytes - run_bytes);
      run_bytes += n;
      stream.insert(stream.end(), n, input.ConsumeIntegral<uint8_t>());
    } else {
      std::vector<uint8_t> bytes = input.ConsumeBytes<uint8_t>(n);
      stream.insert(stream.end(), bytes.begin(), bytes.end());
    }
    cuts.push_back({stream.size(), kind != 1});
  }

  FrameSplitter splitter;
  ModelFrames model(stream);
  Frame frame;
  size_t parsed = 0, at = 0;
  auto take = [&] {
    if (!splitter.Next(frame)) return false;
    model.Expect(frame);
    if (parsed++ < kMaxParsed) CheckRequest(frame);
    return true;
  };
  for (const Cut& cut : cuts) {
    size_t before = splitter.Buffered();
    splitter.Append(stream.data() + at, cut.at - at);
    CHECK(splitter.Buffered() <= before + (cut.at - at));
    at = cut.at;
    if (!cut.take_all) {
      take();
      continue;
    }
    while (take()) {
    }
    // What is held is less than one whole frame: never more than that.
    CHECK(splitter.Buffered() < 4 + size_t{kMaxRequest});
  }
  while (take()) {
  }
  model.ExpectEnd(splitter.Buffered());
  return 0;
}

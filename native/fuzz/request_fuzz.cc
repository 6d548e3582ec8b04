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
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
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

bool TakesPath(Op op) {
  return op != Op::kCredit && op != Op::kCancel && op != Op::kWriteData &&
         op != Op::kWriteEnd;
}

// Ops whose fields are length-prefixed strings: bytes after them are
// ignored.
bool HasStrings(Op op) {
  return op == Op::kMount || op == Op::kRename || op == Op::kLink ||
         op == Op::kSymlink || op == Op::kSetXattr;
}

// Ops whose last field runs to the end of the payload: nothing after it is
// ignored, so encoding gives back the very payload.
bool EndsWithRest(Op op) {
  return (TakesPath(op) && !HasStrings(op)) || op == Op::kWriteData;
}

bool KnownOp(uint8_t op) {
  return op >= static_cast<uint8_t>(Op::kLstat) &&
         op <= static_cast<uint8_t>(Op::kDiff);
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

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

  if (TakesPath(request.op)) {
    CHECK(!request.path.empty());
    CHECK(!HasNul(request.path));
  }
  if (request.op == Op::kMount) {
    CHECK(!HasNul(request.source) && !HasNul(request.fstype) &&
          !HasNul(request.data));
  }
  if (request.op == Op::kReadFile) {
    CHECK(request.window >= 1 && request.window <= kMaxWindow);
    CHECK(request.chunk_bytes >= 1 && request.chunk_bytes <= kMaxChunk);
    CHECK(request.start <= request.end);
  }
  if (request.op == Op::kMkdir || request.op == Op::kChmod ||
      request.op == Op::kWrite) {
    CHECK((request.mode & ~07777u) == 0);
  }
  if (request.op == Op::kWrite) {
    CHECK(request.window >= 1 && request.window <= kMaxWindow);
  }
  if (request.op == Op::kUtimes) {
    CHECK(request.atime_nsec < 1000000000 && request.mtime_nsec < 1000000000);
  }
  if (request.op == Op::kTruncate) CHECK(request.length <= INT64_MAX);
  if (request.op == Op::kMknod) {
    const uint32_t type = request.mode & ~07777u;
    CHECK(type == S_IFCHR || type == S_IFBLK || type == S_IFIFO);
  }
  if (request.op == Op::kSetXattr) {
    CHECK(!request.source.empty() && !HasNul(request.source));
  }
  if (request.op == Op::kSymlink || request.op == Op::kRename ||
      request.op == Op::kLink) {
    CHECK(!HasNul(request.source) && !HasNul(request.target));
  }
  if (request.op == Op::kDiff) {
    CHECK(request.window >= 1 && request.window <= kMaxWindow);
    CHECK(request.lowers.size() <= kMaxLowers);
    for (const std::string& lower : request.lowers) {
      CHECK(!lower.empty() && !HasNul(lower));
    }
  }
  if (request.op == Op::kTar) {
    CHECK(request.window >= 1 && request.window <= kMaxWindow);
    CHECK(request.chunk_bytes >= 4096 && request.chunk_bytes <= kMaxChunk);
    CHECK((request.flags & ~uint32_t{kTarXattrs | kTarLayer}) == 0);
  }
  if (request.op == Op::kWalk) {
    CHECK(request.window >= 1 && request.window <= kMaxWindow);
    CHECK(request.batch_bytes >= 4096 && request.batch_bytes <= (8u << 20));
    CHECK((request.stat_mask & ~uint32_t{kAllStat}) == 0);
    CHECK(request.excludes.size() <= kMaxExcludes);
    for (const std::string& pattern : request.excludes) {
      CHECK(!pattern.empty() && !HasNul(pattern) &&
            pattern.size() <= kMaxExcludeBytes);
    }
  }

  // Encoded again, the request is the payload it came from (or the part of
  // it that was read), and parses to the same request.
  std::vector<uint8_t> bytes = RequestEncoder::Frame(request);
  CHECK(bytes.size() >= kFrameHeader);
  size_t payload_size = bytes.size() - kFrameHeader;
  CHECK(payload_size <= frame.payload.size());
  CHECK(std::equal(bytes.begin() + kFrameHeader, bytes.end(),
                   frame.payload.begin()));
  if (EndsWithRest(request.op)) CHECK(payload_size == frame.payload.size());

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

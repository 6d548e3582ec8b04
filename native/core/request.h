// Requests as the server reads them: a byte stream cut into frames, and a
// frame parsed into a Request.  Pure code over bytes (no syscalls), so that
// a fuzzer can drive it alone (native/fuzz/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol.h"

namespace unshare_fs {

// One request frame, without its length prefix.  An oversized frame is
// reported once, with what could be read of its id, and then skipped as
// its bytes arrive: a bad frame costs its own request, not the stream.
struct Frame {
  uint32_t id = 0;
  uint8_t op = 0;
  bool oversized = false;
  std::vector<uint8_t> payload;  // after the 12-byte header
};

class FrameSplitter {
 public:
  // Appends received bytes.
  void Append(const uint8_t* data, size_t size);
  // Takes the next whole frame; false when more bytes are needed.
  bool Next(Frame& frame);
  // Bytes held, for bounds checks and tests.
  size_t Buffered() const { return buffer_.size() - start_; }

 private:
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;
  uint64_t skip_ = 0;  // bytes of an oversized frame still to drop
};

struct Request {
  uint32_t id = 0;
  Op op{};
  std::string path;  // every request but credit and cancel names one
  // Walk.
  uint32_t max_depth = 0, stat_mask = 0, flags = 0;
  uint32_t window = 0, batch_bytes = 0;
  std::vector<std::string> excludes;  // fnmatch(3) patterns
  // Read.
  uint64_t start = 0, end = kToEnd, limit = 0;
  uint32_t chunk_bytes = 0;
  // Credit.
  uint32_t credit = 0;
  // Mount.
  uint64_t mount_flags = 0;
  std::string source, fstype, data;
  // Unmount.
  uint32_t unmount_flags = 0;
  // Changes: mkdir, chmod, chown, utimes, truncate, write, tree jobs.
  // `target` is a rename's or link's new path, a symlink's path.  A write
  // data frame's bytes are in `data`.
  std::string target;
  uint32_t mode = 0, change_flags = 0;
  uint32_t uid = kNoId, gid = kNoId;
  int64_t atime_sec = 0, mtime_sec = 0;
  uint32_t atime_nsec = 0, mtime_nsec = 0;
  uint64_t length = 0;
  uint64_t rdev = 0;  // mknod
  // Diff: the lower dirs, top first (the upper dir is `path`).
  std::vector<std::string> lowers;

  bool operator==(const Request&) const = default;
};

// Parses a frame into `request`.  Returns 0, or the errno to answer with:
// EINVAL for a malformed payload (fields missing, a NUL in a path, an empty
// path, a walk's exclude patterns past kMaxExcludes, empty, longer than
// kMaxExcludeBytes or holding a NUL, a window or chunk out of range, a time's
// nanoseconds past 10^9), ENOSYS for an unknown op, E2BIG for an oversized
// frame.
int ParseRequest(const Frame& frame, Request& request);

}  // namespace unshare_fs

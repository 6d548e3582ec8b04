// Requests as the server reads them: a byte stream cut into frames, and a
// frame parsed into a Request of the op's own type.  Pure code over bytes (no
// syscalls), so that a fuzzer can drive it alone (native/fuzz/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
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

// The C++ type of each field type of the op table (protocol.h).
namespace field {
using u32 = uint32_t;
using u64 = uint64_t;
using i64 = int64_t;
using str = std::string;
using strs = std::vector<std::string>;
using path = std::string;
using bytes = std::string;
}  // namespace field

// One struct per op, its fields named for what they mean to that op (a
// rename's `from` and `to`, a symlink's `target` and `path`), made from the
// op table so that the parser, the fuzz encoder, the addon's test export and
// the TypeScript layout cannot disagree.
namespace req {
#define F(type, name) field::type name{};
#define X(name, number, kind, fields)                    \
  struct name {                                          \
    static constexpr Op kOp = Op::k##name;               \
    static constexpr OpKind kKind = OpKind::kind;        \
    fields bool operator==(const name&) const = default; \
  };
UNSHARE_FS_OPS(X)
#undef X
#undef F
}  // namespace req

// A parsed request: its id, its op, and the op's fields (monostate when
// the frame could not be parsed).
struct Request {
  uint32_t id = 0;
  Op op{};
  std::variant<std::monostate
#define X(name, number, kind, fields) , req::name
                   UNSHARE_FS_OPS(X)
#undef X
               >
      args;

  template <typename T>
  const T& As() const {
    return std::get<T>(args);
  }
  template <typename T>
  T& As() {
    return std::get<T>(args);
  }

  bool operator==(const Request&) const = default;
};

// How the server runs `op` (the table's kind); 0 for an unknown op.
constexpr OpKind KindOf(Op op) {
  switch (op) {
#define X(name, number, kind, fields) \
  case Op::k##name:                   \
    return OpKind::kind;
    UNSHARE_FS_OPS(X)
#undef X
  }
  return OpKind{};
}

// Parses a frame into `request`.  Returns 0, or the errno to answer with:
// EINVAL for a malformed payload (fields missing, a NUL in a path, an empty
// path, a walk's exclude patterns past kMaxExcludes, empty, longer than
// kMaxExcludeBytes or holding a NUL, a window or chunk out of range, a time's
// nanoseconds past 10^9), ENOSYS for an unknown op, E2BIG for an oversized
// frame.
int ParseRequest(const Frame& frame, Request& request);

}  // namespace unshare_fs

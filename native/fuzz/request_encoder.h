// Encodes a Request as the frame ParseRequest reads (the inverse of
// request.cc), for the fuzzer's round trip and the C++ tests, from the same
// op table (protocol.h) as the parser.  lib/ has its own encoders, checked
// against the parser through the addon's __parseRequest
// (test/protocol.test.ts).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "../core/protocol.h"
#include "../core/request.h"

namespace unshare_fs {

class RequestEncoder {
 public:
  // The whole frame, length prefix included.
  static std::vector<uint8_t> Frame(const Request& request) {
    RequestEncoder e;
    e.U32(0);  // length, filled in below
    e.U32(request.id);
    e.bytes_.push_back(static_cast<uint8_t>(request.op));
    e.bytes_.push_back(0);  // flags
    e.U16(0);               // reserved
    e.Payload(request);
    uint32_t len = static_cast<uint32_t>(e.bytes_.size() - 4);
    for (int i = 0; i < 4; i++)
      e.bytes_[i] = static_cast<uint8_t>(len >> 8 * i);
    return std::move(e.bytes_);
  }

 private:
  // Each op's fields in the table's order (protocol.h), one writer per
  // field type.
  void Payload(const Request& r) {
    std::visit([&](const auto& args) { Fields(args); }, r.args);
  }
  void Fields(const std::monostate&) {}
#define F(type, name) Put_##type(args.name);
#define X(name, number, kind, fields) \
  void Fields(const req::name& args) { fields }
  UNSHARE_FS_OPS(X)
#undef X
#undef F

  void Put_u32(uint32_t v) { U32(v); }
  void Put_u64(uint64_t v) { U64(v); }
  void Put_i64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Put_str(std::string_view s) { String(s); }
  void Put_strs(const std::vector<std::string>& v) {
    U32(static_cast<uint32_t>(v.size()));
    for (const std::string& s : v) String(s);
  }
  void Put_path(std::string_view s) { Bytes(s); }
  void Put_bytes(std::string_view s) { Bytes(s); }

  void U16(uint16_t v) { Int(v, 2); }
  void U32(uint32_t v) { Int(v, 4); }
  void U64(uint64_t v) { Int(v, 8); }
  void Int(uint64_t v, int n) {
    for (int i = 0; i < n; i++)
      bytes_.push_back(static_cast<uint8_t>(v >> 8 * i));
  }
  void Bytes(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void String(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Bytes(s);
  }

  std::vector<uint8_t> bytes_;
};

}  // namespace unshare_fs

// Encodes a Request as the frame ParseRequest reads (the inverse of
// request.cc), for the fuzzer's round trip and the C++ tests.  lib/ has
// its own encoder; this one exists only to check the parser against.
#pragma once

#include <cstdint>
#include <string_view>
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
  void Payload(const Request& r) {
    switch (r.op) {
      case Op::kLstat:
      case Op::kStat:
      case Op::kReadlink:
      case Op::kXattrs:
      case Op::kSetRoot:
        Bytes(r.path);
        break;
      case Op::kMknod:
        U32(r.mode);
        U64(r.rdev);
        U32(r.uid);
        U32(r.gid);
        Bytes(r.path);
        break;
      case Op::kSetXattr:
        String(r.source);
        String(r.data);
        String(r.path);
        break;
      case Op::kReadFile:
        U64(r.start);
        U64(r.end);
        U64(r.limit);
        U32(r.window);
        U32(r.chunk_bytes);
        Bytes(r.path);
        break;
      case Op::kDiff:
        U32(r.window);
        U32(static_cast<uint32_t>(r.lowers.size()));
        for (const std::string& lower : r.lowers) String(lower);
        Bytes(r.path);
        break;
      case Op::kTar:
        U32(r.flags);
        U32(r.window);
        U32(r.chunk_bytes);
        Bytes(r.path);
        break;
      case Op::kWalk:
        U32(r.max_depth);
        U32(r.stat_mask);
        U32(r.flags);
        U32(r.window);
        U32(r.batch_bytes);
        U32(static_cast<uint32_t>(r.excludes.size()));
        for (const std::string& pattern : r.excludes) String(pattern);
        Bytes(r.path);
        break;
      case Op::kCredit:
        U32(r.credit);
        break;
      case Op::kCancel:
        break;
      case Op::kMount:
        U64(r.mount_flags);
        String(r.source);
        String(r.path);
        String(r.fstype);
        String(r.data);
        break;
      case Op::kUnmount:
        U32(r.unmount_flags);
        Bytes(r.path);
        break;
      case Op::kUnlink:
      case Op::kRmdir:
        Bytes(r.path);
        break;
      case Op::kMkdir:
        U32(r.mode);
        U32(r.change_flags);
        U32(r.uid);
        U32(r.gid);
        Bytes(r.path);
        break;
      case Op::kRename:
      case Op::kLink:
        String(r.source);
        String(r.path);
        break;
      case Op::kSymlink:
        String(r.target);
        String(r.path);
        break;
      case Op::kChmod:
        U32(r.mode);
        Bytes(r.path);
        break;
      case Op::kChown:
        U32(r.uid);
        U32(r.gid);
        U32(r.change_flags);
        Bytes(r.path);
        break;
      case Op::kUtimes:
        U64(static_cast<uint64_t>(r.atime_sec));
        U32(r.atime_nsec);
        U64(static_cast<uint64_t>(r.mtime_sec));
        U32(r.mtime_nsec);
        U32(r.change_flags);
        Bytes(r.path);
        break;
      case Op::kTruncate:
        U64(r.length);
        Bytes(r.path);
        break;
      case Op::kWrite:
        U32(r.change_flags);
        U32(r.mode);
        U32(r.uid);
        U32(r.gid);
        U32(r.window);
        Bytes(r.path);
        break;
      case Op::kWriteData:
        Bytes(r.data);
        break;
      case Op::kWriteEnd:
        break;
      case Op::kRemove:
      case Op::kChownTree:
        U32(r.change_flags);
        U32(r.uid);
        U32(r.gid);
        Bytes(r.path);
        break;
    }
  }

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

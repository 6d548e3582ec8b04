// Reply frames every op writes: an error, an end, the frames a streamed
// op sends for credit, and how a streamed job's last frame is chosen.
#pragma once

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "buffer.h"
#include "job.h"
#include "protocol.h"

namespace unshare_fs {

// Sends whole frames; false once the client is gone.
using SendFrames = std::function<bool(const ByteBuffer& frames)>;

// An error frame (or, `kind` kEntryError, one entry's error within a tree
// job): i32 errno, u16 syscall length, syscall, path.
inline void ErrorFrame(ByteBuffer& out, uint32_t id, int err,
                       std::string_view syscall, std::string_view path,
                       Reply kind = Reply::kError) {
  size_t at = out.BeginFrame(id, kind);
  out.I32(err);
  out.U16(static_cast<uint16_t>(syscall.size()));
  out.Bytes(syscall);
  out.Bytes(path);
  out.FinishFrame(at);
}

// An end frame with no payload: a change done, a session rooted.
inline void EndFrame(ByteBuffer& out, uint32_t id) {
  out.FinishFrame(out.BeginFrame(id, Reply::kEnd));
}

// Data frames of one request, each sent for a credit of `job` once it holds
// a chunk.
class FrameStream {
 public:
  FrameStream(uint32_t id, uint32_t chunk, Job& job, const SendFrames& send)
      : id_(id), chunk_(chunk), job_(job), send_(send) {
    out_.Reserve(kFrameHeader + chunk_);
    Begin();
  }

  // False once the stream has stopped (cancelled, or the client is gone).
  bool Put(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      size_t take = std::min(n, Room());
      out_.Raw(p, take);
      p += take;
      n -= take;
      if (Room() == 0 && !Flush()) return false;
    }
    return true;
  }
  bool Put(const std::string& s) { return Put(s.data(), s.size()); }

  // A record kept in one frame (unless it is larger than a frame), so that
  // each frame can be read alone.
  bool PutWhole(const std::string& s) {
    if (s.size() > Room() && Held() > 0 && !Flush()) return false;
    return Put(s);
  }

  bool Zeros(uint64_t n) {
    while (n > 0) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, Room()));
      std::memset(out_.Extend(take), 0, take);
      n -= take;
      if (Room() == 0 && !Flush()) return false;
    }
    return true;
  }

  // Reads at most `n` bytes of `fd` straight into the frame: the count, 0
  // at its end, -1 with errno, -2 once the stream has stopped.
  ssize_t ReadFrom(int fd, uint64_t n) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, Room()));
    size_t before = out_.Size();
    uint8_t* p = out_.Extend(take);
    ssize_t got;
    do {
      got = read(fd, p, take);
    } while (got < 0 && errno == EINTR);
    out_.Truncate(before + static_cast<size_t>(std::max<ssize_t>(got, 0)));
    if (got > 0 && Room() == 0 && !Flush()) return -2;
    return got;
  }

  // Sends what is held, after a credit.
  bool Flush() {
    if (Held() == 0) return true;
    out_.FinishFrame(frame_at_);
    if (!job_.TakeCredit() || !send_(out_)) return false;
    Begin();
    return true;
  }

 private:
  void Begin() {
    out_.Clear();
    frame_at_ = out_.BeginFrame(id_, Reply::kData);
  }
  size_t Held() const { return out_.Size() - frame_at_ - kFrameHeader; }
  size_t Room() const { return chunk_ - Held(); }

  const uint32_t id_;
  const size_t chunk_;
  Job& job_;
  const SendFrames& send_;
  ByteBuffer out_;
  size_t frame_at_ = 0;
};

// How a streamed tree job ends: run to its end, stopped (cancelled, or
// the client gone), or failed (`Failure` says where).
enum class Step { kGo, kStop, kFail };
struct Failure {
  int err = 0;
  const char* syscall = "";
  std::string path;
};

// A streamed job's last frame: the error when it failed, else an end frame,
// flagged when it was stopped.
inline void SendLast(const SendFrames& send, uint32_t id, Step step,
                     const Failure& failure) {
  ByteBuffer out;
  if (step == Step::kFail) {
    ErrorFrame(out, id, failure.err, failure.syscall, failure.path);
  } else {
    out.FinishFrame(out.BeginFrame(id, Reply::kEnd,
                                   step == Step::kStop ? kEndCancelled : 0));
  }
  send(out);
}

}  // namespace unshare_fs

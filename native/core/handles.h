// Files a session holds open for node:fs's FileHandle and Dir (open(),
// opendir() and the handle ops of protocol.h): a table of the server's own fds,
// at most kMaxHandles of them, closed by close requests or with the server.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "buffer.h"
#include "fs.h"
#include "request.h"

namespace unshare_fs {

// The open files of one server.  Requests run on several threads: an op
// holds its file by a shared_ptr, so a close that comes meanwhile takes
// the handle away at once and the fd is closed when the op is done with
// it (its number is never reused under a running op).
class HandleTable {
 public:
  // Takes `fd`; its handle (the fd's number), or -1 with EMFILE (and `fd`
  // closed) when the session holds kMaxHandles already.
  int Add(int fd);
  // The file of `handle`, or nullptr.
  std::shared_ptr<Fd> Find(uint32_t handle);
  // Takes `handle` away: its file, or nullptr.
  std::shared_ptr<Fd> Remove(uint32_t handle);

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, std::shared_ptr<Fd>> files_;
};

// open: the file opened as the session resolves paths, always with
// O_NONBLOCK (a FIFO without a writer opens at once, one without a reader
// is ENXIO, a read with nothing to read is EAGAIN: none holds a thread),
// answered by a data frame of its u32 handle.
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd, HandleTable& handles,
              const req::Open& args);
// The handle ops: EBADF for a handle not in `handles`.
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleRead& args);
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleWrite& args);
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleStat& args);
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleTruncate& args);
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleChmod& args);
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleChown& args);
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleSync& args);
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::Close& args);
// readdir: a Dir's next entries, from the directory the handle holds open
// (no request thread is held between reads).
void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleReaddir& args);

}  // namespace unshare_fs

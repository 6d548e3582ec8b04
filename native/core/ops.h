// Single-shot file operations answered inline by the server.  Each appends
// whole reply frames for request `id` to `out`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "buffer.h"
#include "job.h"
#include "reply.h"
#include "request.h"

namespace unshare_fs {

void StatOp(ByteBuffer& out, uint32_t id, int root_fd, const std::string& path,
            bool follow);
void ReadlinkOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path);
void XattrsOp(ByteBuffer& out, uint32_t id, int root_fd,
              const std::string& path);
void SetXattrOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path, const std::string& name,
                const std::string& value);

// The quick ops and set-xattr, as the server dispatches them.
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Lstat& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd, const req::Stat& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Readlink& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Xattrs& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::SetXattr& args);

// Streams a file's bytes from args.start to args.end: a stat frame (the
// open file's), then data frames, one per credit of `job`, then an end
// frame (flagged when cancelled); or an error.  Opens non-blocking and waits
// for readiness with the job's cancel, so a FIFO or a device costs only this
// request; EFBIG once more than args.limit bytes would be read.
void StreamOp(uint32_t id, const req::ReadFile& args, int root_fd, Job& job,
              const SendFrames& send);
void MountOp(ByteBuffer& out, uint32_t id, const std::string& source,
             const std::string& target, const std::string& fstype,
             uint64_t flags, const std::string& data);
void UnmountOp(ByteBuffer& out, uint32_t id, const std::string& target,
               uint32_t flags);

}  // namespace unshare_fs

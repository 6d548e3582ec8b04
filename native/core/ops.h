// Single-shot file operations answered inline by the server.  Each appends
// whole reply frames for request `id` to `out`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "buffer.h"
#include "job.h"
#include "request.h"

namespace unshare_fs {

void ErrorFrame(ByteBuffer& out, uint32_t id, int err, std::string_view syscall,
                std::string_view path);
// Opens `path` as the session resolves paths: as given when `root_fd` is
// -1, else inside `root_fd` with openat2(RESOLVE_IN_ROOT), so that absolute
// symlinks and ".." in a container image never lead out of it.  `mode`
// is a created file's (with O_CREAT).
int OpenPath(int root_fd, const std::string& path, int flags, mode_t mode = 0);

void StatOp(ByteBuffer& out, uint32_t id, int root_fd, const std::string& path,
            bool follow);
void ReadlinkOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path);
void XattrsOp(ByteBuffer& out, uint32_t id, int root_fd,
              const std::string& path);
void SetXattrOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path, const std::string& name,
                const std::string& value);
// Sends whole frames; false once the client is gone.
using SendFrames = std::function<bool(const ByteBuffer& frames)>;

// Streams a file's bytes from request.start to request.end: a stat frame
// (the open file's), then data frames, one per credit of `job`, then an end
// frame (flagged when cancelled); or an error.  Opens non-blocking and waits
// for readiness with the job's cancel, so a FIFO or a device costs only this
// request; EFBIG once more than request.limit bytes would be read.
void ReadOp(const Request& request, int root_fd, Job& job,
            const SendFrames& send);
void MountOp(ByteBuffer& out, uint32_t id, const std::string& source,
             const std::string& target, const std::string& fstype,
             uint64_t flags, const std::string& data);
void UnmountOp(ByteBuffer& out, uint32_t id, const std::string& target,
               uint32_t flags);

}  // namespace unshare_fs

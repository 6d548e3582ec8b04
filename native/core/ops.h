// Single-shot file operations answered inline by the server.  Each appends
// whole reply frames for request `id` to `out`.
#pragma once

#include <cstdint>
#include <string>

#include "buffer.h"

namespace unshare_fs {

void ErrorFrame(ByteBuffer& out, uint32_t id, int err, std::string_view syscall,
                std::string_view path);
// Opens `path` as the session resolves paths: as given when `root_fd` is
// -1, else inside `root_fd` with openat2(RESOLVE_IN_ROOT), so that absolute
// symlinks and ".." in a container image never lead out of it.
int OpenPath(int root_fd, const std::string& path, int flags);

void StatOp(ByteBuffer& out, uint32_t id, int root_fd, const std::string& path,
            bool follow);
void ReadlinkOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path);
// Calls `flush` whenever `out` holds a chunk worth sending.
void ReadFileOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path,
                void (*flush)(void* ctx, ByteBuffer& out), void* ctx);
void MountOp(ByteBuffer& out, uint32_t id, const std::string& source,
             const std::string& target, const std::string& fstype,
             uint64_t flags, const std::string& data);
void UnmountOp(ByteBuffer& out, uint32_t id, const std::string& target,
               uint32_t flags);

}  // namespace unshare_fs

// node:fs's path calls that read no content: access, realpath, statfs.
// Each resolves `path` as the session does (OpenPath: inside the root with
// RESOLVE_IN_ROOT when there is one), so a symlink in a container never
// leads out of it, and answers one frame (protocol.h).
#pragma once

#include <cstdint>

#include "buffer.h"
#include "request.h"

namespace unshare_fs {

// access(2) with the server's own credentials (in a namespace: the
// worker's, the container's root): an end frame, or the error.
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Access& args);
// The canonical path: every symlink followed (at most 40, then ELOOP, as
// the kernel and glibc count), "." and ".." gone, resolved by the server
// in its own mount namespace; inside a root, component by component
// fd-relative, the root standing for "/".  A data frame of the path.
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Realpath& args);
// statfs(2) of the file system holding `path`: a data frame of
// kStatfsFields u64s.
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Statfs& args);

}  // namespace unshare_fs

// Operations that change files: single-shot ones answered by an end frame
// or an error, the streamed write, and the tree jobs (recursive remove and
// chown).  Every path is resolved as the session resolves paths (see
// OpenPath): inside the root with RESOLVE_IN_ROOT when there is one.  An
// operation on a name (mkdir, unlink, rmdir, rename, link, symlink, and the
// no-follow ones) resolves the parent directory that way and then acts on
// the last component with an *at call that does not follow it, so a
// symlink planted or swapped in as that component is never written through.
#pragma once

#include <cstdint>
#include <string>

#include "buffer.h"
#include "job.h"
#include "reply.h"
#include "request.h"

namespace unshare_fs {

// mkdir, unlink, rmdir, rename, link, symlink, mknod, chmod, chown,
// utimes, truncate: one end frame (a recursive mkdir's carries the first
// directory it made, if any) or one error frame.
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Mkdir& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Unlink& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Rmdir& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Rename& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd, const req::Link& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Symlink& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Mknod& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Chmod& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Chown& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Utimes& args);
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Truncate& args);

// Copies the regular file `args.from` to `args.to` inside the server, the
// bytes never leaving the kernel.  The source is opened non-blocking and
// must be a regular file once open (a FIFO or a device swapped in is
// EINVAL, never read); the destination's last component is created or
// truncated with O_NOFOLLOW, so a symlink planted there is ELOOP, never
// written through.
void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::CopyFile& args);

// Writes the data frames the job receives to `args.path`, giving back a
// credit frame for each; an end frame once the data ended and the file is
// closed, flagged when cancelled; or an error.  Opens non-blocking, so a
// FIFO without a reader is ENXIO and a full pipe waits with the job's
// cancel.
void StreamOp(uint32_t id, const req::Write& args, int root_fd, Job& job,
              const SendFrames& send);

// Removes or chowns `args.path` and, with kTreeRecursive, everything under
// it, fd-relative, never following a symlink.  A mount point inside the
// tree is an EBUSY entry error, not descended into, unless
// kTreeCrossMounts.  Sends a progress frame every kProgressEvery entries,
// an entry-error frame per failed entry with kTreeKeepGoing (else the first
// one is the answer), and an end frame with the counts, flagged when
// cancelled.
void StreamOp(uint32_t id, const req::Remove& args, int root_fd, Job& job,
              const SendFrames& send);
void StreamOp(uint32_t id, const req::ChownTree& args, int root_fd, Job& job,
              const SendFrames& send);

}  // namespace unshare_fs

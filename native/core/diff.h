// What an overlay upper dir changed against its lower dirs, worked out
// where the layers are: one thread walks the upper dir (openat +
// getdents64 + fstatat) and looks each entry up in the lower dirs that
// have its directory, with the rules containers/storage's overlay driver
// applies for `podman diff`:
//
// - a whiteout (a character device 0/0) is a deletion;
// - an opaque directory (trusted.overlay.opaque or user.overlay.opaque
//   "y") is a deletion where a lower layer still shows its path (what it
//   holds is then added);
// - anything else is a change where a lower layer has the path, not hidden
//   by a whiteout of it or of a directory above it in that layer, and an
//   addition where none has;
// - a directory equal to the one below (size, mode, mtime to the
//   nanosecond, or to the second where either has none) is no change.
//
// With kDiffFuseOverlayfs (layers made by containers/storage with a
// mount_program, which diffs the two mounted trees instead): overlay.h's
// fuse-overlayfs markers are read and never listed, `.wh.<name>` is a
// whiteout of <name>, and an opaque directory a lower layer still shows is
// compared as any directory is, a deletion listed for each name the lower
// layers show there and it does not; a directory is equal to the one below
// where its mode and owner are (lib/layers/diff.ts then adds the
// directories above every change, as that diff does).
//
// Entries are never followed.  The records (protocol.h) come in walk
// order; lib/layers/diff.ts adds the directories above additions and deletions
// and sorts.  An entry gone while the diff runs is left out; a lower dir
// that is missing is an empty layer; any other error ends the answer with
// an error frame.
#pragma once

#include "job.h"
#include "reply.h"
#include "request.h"

namespace unshare_fs {

void StreamOp(uint32_t id, const req::Diff& args, int root_fd, Job& job,
              const SendFrames& send);

}  // namespace unshare_fs

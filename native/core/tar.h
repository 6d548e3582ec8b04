// A directory tree as a POSIX tar stream, made where the files are: one
// thread walks the tree (openat + getdents64 + fstatat, as the walker
// does), reads each file and packs header and bytes into data frames sent
// against the job's credit.  lib/layers/export.ts turns the frames into a
// Readable.
//
// What goes in: every entry under the root (not the root itself), names
// relative to it, with ids, modes and mtimes as seen here; a hard-linked
// file once, then links to its first name; symlinks, devices, FIFOs;
// xattrs (kTarXattrs) but never overlay's own (trusted.overlay.*,
// user.overlay.*).  Sockets have no tar type and stay out.  With kTarLayer
// (an overlay upper dir as an OCI layer): a whiteout (a character device
// 0/0) becomes an empty file `.wh.<name>`, and an opaque directory is
// followed by `<dir>/.wh..wh..opq`.  With kTarFuseOverlayfs besides
// (overlay.h): a directory with fuse-overlayfs's opaque xattr or
// `.wh..wh..opq` is opaque, its `.wh.<name>` entries (of any type) are
// whiteouts, written as empty files, none written in an opaque directory
// (the marker covers them), and its user.fuseoverlayfs.* xattrs stay
// out.  With kTarCopy (copyToHost): the root
// itself comes first, named ".", opened without following it (a symlink
// goes in as a symlink, a file as a file: the copy never reads through a
// path), and every entry carries its atime and mtime to the nanosecond.
//
// A tree that changes while it is read: an entry gone before it is read
// is left out; a file is opened (non-blocking) before it is looked at, so
// one swapped for a FIFO or a device goes in as what it now is, and is
// never read or waited on; a file that shrank is padded with zeros, one
// that grew is cut at its size, as GNU tar does.  Any other error ends the
// stream with an error frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "job.h"
#include "reply.h"
#include "request.h"

namespace unshare_fs {

using Xattrs = std::vector<std::pair<std::string, std::string>>;

struct TarEntry {
  std::string_view name;  // relative, without a directory's trailing '/'
  char type = '0';        // the ustar type flag
  uint32_t mode = 0;      // 07777 bits
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;  // bytes that follow (regular files only)
  int64_t mtime = 0;  // seconds
  // With exact_times, pax atime and mtime records to the nanosecond.
  bool exact_times = false;
  uint32_t mtime_nsec = 0;
  int64_t atime = 0;
  uint32_t atime_nsec = 0;
  std::string_view link;
  uint32_t dev_major = 0, dev_minor = 0;
  const Xattrs* xattrs = nullptr;
};

// Appends the header blocks of `entry` to `out`: a pax header ('x') first
// when ustar cannot hold its name, link, ids, size or mtime, or it has
// xattrs.  The body and its padding are the caller's.  lib/layers/tar.ts's
// encodeHeader writes the same bytes.
void EncodeTarHeader(const TarEntry& entry, std::string& out);

void StreamOp(uint32_t id, const req::Tar& args, int root_fd, Job& job,
              const SendFrames& send);

}  // namespace unshare_fs

// Overlay's markers, as the ops that read or write upper dirs (tar's
// layers, diff) see them.
#pragma once

#include <sys/stat.h>

#include <string_view>

namespace unshare_fs {

// An overlay whiteout: a character device 0/0.
inline bool IsWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}
// The xattrs that mark an opaque directory ("y"): trusted.* as the host's
// root writes them, user.* in a user namespace.
constexpr const char* kOpaqueXattrs[] = {"trusted.overlay.opaque",
                                         "user.overlay.opaque"};

// fuse-overlayfs's own markers, in the layers containers/storage makes
// with a mount_program (fuse-overlayfs 1.10's main.c, and what its upper
// dirs held on these machines): every name that starts with ".wh." is
// hidden from its merged view, and `.wh.<name>` of any type whites out
// <name> (AUFS's form, which containers/storage also unpacks layers to
// when it runs a mount program); a directory is opaque with one of
// kOpaqueXattrs or kFuseOpaqueXattr "y", or with a `.wh..wh..opq` in it
// (fuse-overlayfs writes the xattr and that file, and beside them a 0/0
// `.wh..opq`, by its own rule a whiteout of ".opq").
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr const char kOpaqueMarker[] = ".wh..wh..opq";
constexpr const char kFuseOpaqueXattr[] = "user.fuseoverlayfs.opaque";
// fuse-overlayfs's xattrs, its bookkeeping (user.* where it cannot write
// trusted.*), never a file's own.
constexpr std::string_view kFuseXattrPrefix = "user.fuseoverlayfs.";

// A name fuse-overlayfs keeps for itself (a whiteout or a marker).
inline bool IsFuseMarkerName(std::string_view name) {
  return name.starts_with(kWhiteoutPrefix);
}

}  // namespace unshare_fs

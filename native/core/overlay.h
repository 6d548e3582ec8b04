// Overlay's markers, as the ops that read or write upper dirs (tar's
// layers, diff) see them.
#pragma once

#include <sys/stat.h>

namespace unshare_fs {

// An overlay whiteout: a character device 0/0.
inline bool IsWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}
// The xattrs that mark an opaque directory ("y"): trusted.* as the host's
// root writes them, user.* in a user namespace.
constexpr const char* kOpaqueXattrs[] = {"trusted.overlay.opaque",
                                         "user.overlay.opaque"};

}  // namespace unshare_fs

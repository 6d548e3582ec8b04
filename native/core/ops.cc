#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>

namespace unshare_fs {
namespace {

void EndFrame(ByteBuffer& out, uint32_t id) {
  out.FinishFrame(out.BeginFrame(id, Reply::kEnd));
}

}  // namespace

void ErrorFrame(ByteBuffer& out, uint32_t id, int err, std::string_view syscall,
                std::string_view path) {
  size_t at = out.BeginFrame(id, Reply::kError);
  out.I32(err);
  out.U16(static_cast<uint16_t>(syscall.size()));
  out.Bytes(syscall);
  out.Bytes(path);
  out.FinishFrame(at);
}

int OpenPath(int root_fd, const std::string& path, int flags) {
  if (root_fd < 0) return open(path.c_str(), flags | O_CLOEXEC);
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do {
    fd = static_cast<int>(
        syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  return fd;
}

void StatOp(ByteBuffer& out, uint32_t id, int root_fd, const std::string& path,
            bool follow) {
  struct stat st;
  int rc;
  if (root_fd < 0) {
    rc = fstatat(AT_FDCWD, path.c_str(), &st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  } else {
    int fd = OpenPath(root_fd, path, O_PATH | (follow ? 0 : O_NOFOLLOW));
    rc = fd < 0 ? -1 : fstat(fd, &st);
    if (fd >= 0) close(fd);
  }
  if (rc) {
    ErrorFrame(out, id, errno, follow ? "stat" : "lstat", path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kStat);
  out.Stat(st, kAllStat);
  out.FinishFrame(at);
}

void ReadlinkOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path) {
  char target[PATH_MAX];
  ssize_t n;
  if (root_fd < 0) {
    n = readlink(path.c_str(), target, sizeof target);
  } else {
    int fd = OpenPath(root_fd, path, O_PATH | O_NOFOLLOW);
    n = fd < 0 ? -1 : readlinkat(fd, "", target, sizeof target);
    if (fd >= 0) close(fd);
  }
  if (n < 0) {
    ErrorFrame(out, id, errno, "readlink", path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kData);
  out.Raw(target, static_cast<size_t>(n));
  out.FinishFrame(at);
}

void ReadFileOp(ByteBuffer& out, uint32_t id, int root_fd,
                const std::string& path,
                void (*flush)(void* ctx, ByteBuffer& out), void* ctx) {
  int fd = OpenPath(root_fd, path, O_RDONLY | O_NOCTTY);
  if (fd < 0) {
    ErrorFrame(out, id, errno, "open", path);
    return;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    ErrorFrame(out, id, EISDIR, "read", path);
    return;
  }
  constexpr size_t kChunk = 256 * 1024;
  std::unique_ptr<char[]> chunk(new char[kChunk]);
  for (;;) {
    ssize_t n = read(fd, chunk.get(), kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      ErrorFrame(out, id, err, "read", path);
      return;
    }
    if (n == 0) break;
    size_t at = out.BeginFrame(id, Reply::kData);
    out.Raw(chunk.get(), static_cast<size_t>(n));
    out.FinishFrame(at);
    flush(ctx, out);
  }
  close(fd);
  EndFrame(out, id);
}

void MountOp(ByteBuffer& out, uint32_t id, const std::string& source,
             const std::string& target, const std::string& fstype,
             uint64_t flags, const std::string& data) {
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags,
            data.empty() ? nullptr : data.c_str())) {
    ErrorFrame(out, id, errno, "mount", target);
    return;
  }
  EndFrame(out, id);
}

void UnmountOp(ByteBuffer& out, uint32_t id, const std::string& target,
               uint32_t flags) {
  if (umount2(target.c_str(), static_cast<int>(flags))) {
    ErrorFrame(out, id, errno, "umount", target);
    return;
  }
  EndFrame(out, id);
}

}  // namespace unshare_fs

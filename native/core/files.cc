#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "fs.h"
#include "reply.h"
#include "stat_syscalls.h"

// faccessat2 (Linux 5.8): its number where older libc headers lack it
// (the glibc 2.17 prebuilds), the same on every architecture.
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

namespace unshare_fs {
namespace {

// Symlinks one resolution follows before ELOOP: Linux's own count
// (fs/namei.c MAXSYMLINKS) and glibc realpath's.
constexpr int kMaxSymlinks = 40;

// The components of `path` pushed to the front of `todo`, in order.  A
// trailing slash becomes ".", so that what comes before it must be a
// directory, as the kernel says of "file/".
void PushComponents(const std::string& path, std::deque<std::string>& todo) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (!path.empty() && path.back() == '/' && !parts.empty()) {
    parts.push_back(".");
  }
  todo.insert(todo.begin(), parts.begin(), parts.end());
}

// The directory `names` (below the root) opened again from the root, no
// symlink followed: where ".." goes, never above the root.
int ReopenBelowRoot(int root_fd, const std::vector<std::string>& names) {
  std::string path = "/";
  for (const std::string& name : names) path += name + "/";
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd;
  do {
    fd = static_cast<int>(
        syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  return fd;
}

// Resolves `path` inside `root_fd` one component at a time, each opened
// O_NOFOLLOW relative to the directory before it and each symlink read
// and expanded here: 0 and the path in `result`, or an errno.
int RealpathInRoot(int root_fd, const std::string& path, std::string& result) {
  std::deque<std::string> todo;
  PushComponents(path, todo);
  std::vector<std::string> names;
  Fd current(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (current.get() < 0) return errno;
  bool is_dir = true;
  int links = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == "." || name == "..") {
      if (!is_dir) return ENOTDIR;
      if (name == "." || names.empty()) continue;
      names.pop_back();
      current.reset(ReopenBelowRoot(root_fd, names));
      if (current.get() < 0) return errno;
      continue;
    }
    Fd next(
        openat(current.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) return errno;
    struct stat st;
    if (Fstat(next.get(), &st) != 0) return errno;
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return ELOOP;
      char target[PATH_MAX];
      ssize_t n = readlinkat(next.get(), "", target, sizeof target);
      if (n < 0) return errno;
      if (n == 0) return ENOENT;
      if (static_cast<size_t>(n) >= sizeof target) return ENAMETOOLONG;
      std::string link(target, static_cast<size_t>(n));
      PushComponents(link, todo);
      if (link[0] == '/') {
        names.clear();
        current.reset(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
        if (current.get() < 0) return errno;
        is_dir = true;
      }
      continue;
    }
    names.push_back(std::move(name));
    current.reset(next.release());
    is_dir = S_ISDIR(st.st_mode);
  }
  result = "/";
  for (size_t i = 0; i < names.size(); i++) {
    if (i > 0) result += '/';
    result += names[i];
  }
  return result.size() >= PATH_MAX ? ENAMETOOLONG : 0;
}

}  // namespace

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Access& args) {
  int rc;
  if (root_fd < 0) {
    rc = access(args.path.c_str(), static_cast<int>(args.mode));
  } else {
    // The open checks search permission on the way, as access(2) does;
    // then the entry itself, by fd (faccessat2, Linux 5.8).
    Fd fd(OpenPath(root_fd, args.path, O_PATH));
    rc = fd.get() < 0 ? -1
                      : static_cast<int>(syscall(SYS_faccessat2, fd.get(), "",
                                                 args.mode, AT_EMPTY_PATH));
  }
  if (rc != 0) {
    ErrorFrame(out, id, errno, "access", args.path);
    return;
  }
  EndFrame(out, id);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Realpath& args) {
  std::string result;
  int err = 0;
  if (root_fd < 0) {
    char* resolved = realpath(args.path.c_str(), nullptr);
    if (resolved == nullptr) {
      err = errno;
    } else {
      result = resolved;
      free(resolved);
    }
  } else {
    err = RealpathInRoot(root_fd, args.path, result);
  }
  if (err != 0) {
    ErrorFrame(out, id, err, "realpath", args.path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kData);
  out.Bytes(result);
  out.FinishFrame(at);
}

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd,
              const req::Statfs& args) {
  struct statfs st;
  int rc;
  if (root_fd < 0) {
    rc = statfs(args.path.c_str(), &st);
  } else {
    Fd fd(OpenPath(root_fd, args.path, O_PATH));
    rc = fd.get() < 0 ? -1 : fstatfs(fd.get(), &st);
  }
  if (rc != 0) {
    ErrorFrame(out, id, errno, "statfs", args.path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kData);
  const uint64_t fields[kStatfsFields] = {
      static_cast<uint64_t>(st.f_type),   static_cast<uint64_t>(st.f_bsize),
      static_cast<uint64_t>(st.f_blocks), static_cast<uint64_t>(st.f_bfree),
      static_cast<uint64_t>(st.f_bavail), static_cast<uint64_t>(st.f_files),
      static_cast<uint64_t>(st.f_ffree),  static_cast<uint64_t>(st.f_frsize)};
  for (uint64_t value : fields) out.U64(value);
  out.FinishFrame(at);
}

}  // namespace unshare_fs

#include "tar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <unordered_map>

#include "buffer.h"
#include "fs.h"
#include "overlay.h"
#include "reply.h"
#include "stat_syscalls.h"

namespace unshare_fs {
namespace {

constexpr size_t kBlock = 512;
constexpr uint64_t kMaxUstarId = 07777777;
constexpr uint64_t kMaxUstarNumber = 077777777777;  // size, mtime

// `width - 1` octal digits; the field's last byte stays as it is (NUL).
void Octal(char* field, size_t width, uint64_t value) {
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

// "<length> <key>=<value>\n", the length counting its own digits.
void PaxRecord(std::string& out, std::string_view key, std::string_view value) {
  const size_t body = key.size() + value.size() + 3;
  size_t length = body + 1;
  while (std::to_string(length).size() + body != length) {
    length = std::to_string(length).size() + body;
  }
  out += std::to_string(length);
  out += ' ';
  out += key;
  out += '=';
  out += value;
  out += '\n';
}

// A pax time: seconds and nanoseconds as one decimal number, so a time
// before the epoch is "-1.500000000" for 1.5 s before it.
std::string PaxTime(int64_t seconds, uint32_t nanoseconds) {
  const bool negative = seconds < 0;
  uint64_t whole = static_cast<uint64_t>(seconds);
  uint32_t fraction = nanoseconds;
  if (negative) {
    whole = nanoseconds == 0 ? 0 - whole : 0 - whole - 1;
    fraction = nanoseconds == 0 ? 0 : 1000000000u - nanoseconds;
  }
  char digits[9];
  for (int i = 8; i >= 0; i--, fraction /= 10) {
    digits[i] = static_cast<char>('0' + fraction % 10);
  }
  return (negative ? "-" : "") + std::to_string(whole) + "." +
         std::string(digits, sizeof digits);
}

size_t Padding(uint64_t size) {
  return static_cast<size_t>((kBlock - size % kBlock) % kBlock);
}

// At most `width` bytes of `s` into a field (copy() copies nothing for an
// empty view, whose data may be null; memcpy may not be given null).
void Field(char* field, std::string_view s, size_t width) {
  s.substr(0, width).copy(field, width);
}

void Ustar(std::string& out, std::string_view name, std::string_view prefix,
           char type, const TarEntry& e, uint64_t size, uint32_t mode,
           std::string_view link) {
  const size_t at = out.size();
  out.append(kBlock, '\0');
  char* b = &out[at];
  Field(b, name, 100);
  Octal(b + 100, 8, mode & 07777);
  Octal(b + 108, 8, std::min<uint64_t>(e.uid, kMaxUstarId));
  Octal(b + 116, 8, std::min<uint64_t>(e.gid, kMaxUstarId));
  Octal(b + 124, 12, std::min(size, kMaxUstarNumber));
  Octal(b + 136, 12,
        e.mtime < 0
            ? 0
            : std::min(static_cast<uint64_t>(e.mtime), kMaxUstarNumber));
  std::memset(b + 148, ' ', 8);  // the checksum counts as spaces
  b[156] = type;
  Field(b + 157, link, 100);
  Field(b + 257,
        std::string_view("ustar\0"
                         "00",
                         8),
        8);
  Octal(b + 329, 8, e.dev_major);
  Octal(b + 337, 8, e.dev_minor);
  Field(b + 345, prefix, 155);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; i++) sum += static_cast<unsigned char>(b[i]);
  Octal(b + 148, 7, sum);
  b[154] = '\0';
  b[155] = ' ';
}

// ustar's name and prefix for `name`; false where they cannot hold it.
bool SplitName(std::string_view name, std::string_view& last,
               std::string_view& prefix) {
  if (name.size() <= 100) {
    last = name;
    prefix = {};
    return true;
  }
  for (size_t cut = name.rfind('/', 155);
       cut != std::string_view::npos && cut > 0;
       cut = name.rfind('/', cut - 1)) {
    if (name.size() - cut - 1 <= 100) {
      last = name.substr(cut + 1);
      prefix = name.substr(0, cut);
      return true;
    }
  }
  return false;
}

}  // namespace

void EncodeTarHeader(const TarEntry& e, std::string& out) {
  std::string name(e.name);
  if (e.type == '5') name += '/';
  const uint64_t size = e.type == '0' ? e.size : 0;
  std::string records;
  std::string_view last, prefix;
  if (!SplitName(name, last, prefix)) {
    PaxRecord(records, "path", name);
    last = std::string_view(name).substr(0, 100);
    prefix = {};
  }
  if (e.link.size() > 100) PaxRecord(records, "linkpath", e.link);
  if (e.uid > kMaxUstarId) PaxRecord(records, "uid", std::to_string(e.uid));
  if (e.gid > kMaxUstarId) PaxRecord(records, "gid", std::to_string(e.gid));
  if (size > kMaxUstarNumber) PaxRecord(records, "size", std::to_string(size));
  if (e.exact_times) {
    PaxRecord(records, "mtime", PaxTime(e.mtime, e.mtime_nsec));
    PaxRecord(records, "atime", PaxTime(e.atime, e.atime_nsec));
  } else if (e.mtime < 0 || static_cast<uint64_t>(e.mtime) > kMaxUstarNumber) {
    PaxRecord(records, "mtime", std::to_string(e.mtime));
  }
  if (e.xattrs != nullptr) {
    for (const auto& [key, value] : *e.xattrs) {
      PaxRecord(records, "SCHILY.xattr." + key, value);
    }
  }
  if (!records.empty()) {
    Ustar(out, "PaxHeader/", {}, 'x', e, records.size(), 0644, {});
    out += records;
    out.append(Padding(records.size()), '\0');
  }
  Ustar(out, last, prefix, e.type, e, size, e.mode, e.link.substr(0, 100));
}

namespace {

// A directory whose header and entries are still to come.
struct Pending {
  std::shared_ptr<DirFd> parent;
  std::string name;  // in parent
  std::string rel;   // relative to the root
};

struct FileKey {
  dev_t dev;
  ino_t ino;
  bool operator==(const FileKey&) const = default;
};
struct FileKeyHash {
  size_t operator()(const FileKey& k) const {
    return std::hash<uint64_t>()(k.ino * 0x9e3779b97f4a7c15ull ^ k.dev);
  }
};

bool IsOverlayXattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") ||
         name.starts_with("user.overlay.");
}

// One tar job: a depth-first walk whose directories are written when they
// are opened (so a directory's header is its open fd's stat), each after
// its parent's entries.
class TarWalk {
 public:
  TarWalk(uint32_t id, const req::Tar& args, Job& job, const SendFrames& send)
      : root_(args.path),
        out_(id, args.chunk_bytes, job, send),
        job_(job),
        xattrs_(args.flags & kTarXattrs),
        layer_(args.flags & kTarLayer),
        fuse_(args.flags & kTarFuseOverlayfs),
        copy_(args.flags & kTarCopy),
        names_(new char[kXattrMax]),
        value_(new char[kXattrMax]) {}

  // Walks the tree under `root_fd` (closed here).
  Step Run(int root_fd) {
    Step step = Under(std::make_shared<DirFd>(root_fd));
    return step == Step::kGo ? End() : step;
  }

  // A copy's archive: `path` itself first, as ".", whatever it is, opened
  // without following it; then, a directory, what is under it.
  Step RunCopy(int root_fd, const std::string& path) {
    struct stat st;
    int fd =
        OpenPath(root_fd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
      // ELOOP: a symlink; ENXIO: a socket.  Looked at, not opened.
      if (errno != ELOOP && errno != ENXIO) return Fail(errno, "open", "");
      Fd link(OpenPath(root_fd, path, O_PATH | O_NOFOLLOW));
      if (link.get() < 0) return Fail(errno, "open", "");
      if (Fstat(link.get(), &st) != 0) return Fail(errno, "fstat", "");
      if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(link.get(), "", target, sizeof target);
        if (n < 0) return Fail(errno, "readlink", "");
        TarEntry e = Describe(".", '2', st);
        e.link = std::string_view(target, static_cast<size_t>(n));
        if (Step step = Write(e); step != Step::kGo) return step;
      }
      return End();  // a socket: tar has no type for it
    }
    Fd closer(fd);
    if (Fstat(fd, &st) != 0) return Fail(errno, "fstat", "");
    Step step = Step::kGo;
    if (S_ISDIR(st.st_mode)) {
      Xattrs xattrs;
      bool opaque = false;
      if (!ReadXattrs(fd, nullptr, xattrs, opaque)) {
        return Fail(errno, "flistxattr", "");
      }
      TarEntry e = Describe(".", '5', st);
      e.xattrs = &xattrs;
      step = Write(e);
      if (step == Step::kGo)
        step = Under(std::make_shared<DirFd>(closer.release()));
    } else if (S_ISREG(st.st_mode)) {
      step = File(fd, ".", st);
    } else {
      // A FIFO or a device: what it is, never read.
      step = Write(DescribeSpecial(".", st));
    }
    return step == Step::kGo ? End() : step;
  }

  Failure failure;

 private:
  // Everything under the open directory `root`, depth first.
  Step Under(std::shared_ptr<DirFd> root) {
    std::vector<Pending> stack, found;
    in_opaque_ = false;
    Step step = List(root, "", found);
    root.reset();
    for (;;) {
      for (auto it = found.rbegin(); it != found.rend(); ++it) {
        stack.push_back(std::move(*it));
      }
      if (step != Step::kGo || stack.empty()) break;
      Pending next = std::move(stack.back());
      stack.pop_back();
      found.clear();
      step = Directory(next, found);
    }
    return step;
  }

  // The end of an archive: two zero blocks.
  Step End() {
    return out_.Zeros(2 * kBlock) && out_.Flush() ? Step::kGo : Step::kStop;
  }

  // The kernel's own limits: XATTR_LIST_MAX and XATTR_SIZE_MAX.
  static constexpr size_t kXattrMax = 64 * 1024;

  // `rel` (relative to the root) failed.
  Step Fail(int error, const char* syscall, const std::string& rel) {
    failure.err = error;
    failure.syscall = syscall;
    failure.path = root_;
    if (!rel.empty()) {
      if (root_.empty() || root_.back() != '/') failure.path += '/';
      failure.path += rel;
    }
    return Step::kFail;
  }

  Step Write(const TarEntry& e) {
    header_.clear();
    EncodeTarHeader(e, header_);
    return out_.Put(header_) ? Step::kGo : Step::kStop;
  }

  TarEntry Describe(std::string_view name, char type,
                    const struct stat& st) const {
    TarEntry e;
    e.exact_times = copy_;
    e.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
    e.atime = st.st_atim.tv_sec;
    e.atime_nsec = static_cast<uint32_t>(st.st_atim.tv_nsec);
    e.name = name;
    e.type = type;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.size = type == '0' ? static_cast<uint64_t>(st.st_size) : 0;
    e.mtime = st.st_mtim.tv_sec;
    return e;
  }

  // A FIFO or a device, with its device numbers.
  TarEntry DescribeSpecial(std::string_view name, const struct stat& st) const {
    TarEntry e = Describe(name,
                          S_ISFIFO(st.st_mode)  ? '6'
                          : S_ISCHR(st.st_mode) ? '3'
                                                : '4',
                          st);
    if (!S_ISFIFO(st.st_mode)) {
      e.dev_major = major(st.st_rdev);
      e.dev_minor = minor(st.st_rdev);
    }
    return e;
  }

  // Opens a subdirectory, writes its header (and an opaque one's marker)
  // and its entries.  One gone, or no longer a directory, is left out.
  Step Directory(Pending& dir, std::vector<Pending>& found) {
    int fd = openat(dir.parent->fd, dir.name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    dir.parent.reset();
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        return Step::kGo;
      }
      return Fail(errno, "open", dir.rel);
    }
    auto open = std::make_shared<DirFd>(fd);
    struct stat st;
    if (Fstat(fd, &st) != 0) return Fail(errno, "fstat", dir.rel);
    Xattrs xattrs;
    bool opaque = false;
    if (!ReadXattrs(fd, nullptr, xattrs, opaque)) {
      return Fail(errno, "flistxattr", dir.rel);
    }
    if (fuse_ && !opaque) {
      struct stat marker;
      opaque = StatAt(fd, kOpaqueMarker, &marker, AT_SYMLINK_NOFOLLOW) == 0;
      if (!opaque && errno != ENOENT) {
        return Fail(errno, "lstat", dir.rel + "/" + kOpaqueMarker);
      }
    }
    TarEntry e = Describe(dir.rel, '5', st);
    e.xattrs = &xattrs;
    if (Step step = Write(e); step != Step::kGo) return step;
    if (layer_ && opaque) {
      std::string marker = dir.rel + "/.wh..wh..opq";
      TarEntry m = Describe(marker, '0', st);
      m.mode = 0;
      m.size = 0;
      if (Step step = Write(m); step != Step::kGo) return step;
    }
    in_opaque_ = layer_ && opaque;
    return List(open, dir.rel, found);
  }

  // Writes the entries of a directory; subdirectories go to `found`.
  Step List(const std::shared_ptr<DirFd>& dir, const std::string& dir_rel,
            std::vector<Pending>& found) {
    Step step = Step::kGo;
    int failed =
        dirs_.ForEach(dir->fd, [&](const char* name, unsigned char type) {
          std::string entry_rel =
              dir_rel.empty() ? std::string(name) : dir_rel + "/" + name;
          step = Entry(dir, name, type, entry_rel, found);
          return step == Step::kGo && !job_.Cancelled();
        });
    if (failed != 0) return Fail(failed, "scandir", dir_rel);
    if (step == Step::kGo && job_.Cancelled()) return Step::kStop;
    return step;
  }

  // Opens an entry for reading without waiting on it (a FIFO, a device)
  // and without following it.
  static int OpenNoWait(int dir_fd, const char* name) {
    return openat(dir_fd, name,
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  }

  // A regular file (as the directory says) is opened before anything else,
  // and what the open fd is is what goes in: a FIFO or a device swapped in
  // since the listing is opened without waiting (O_NONBLOCK), never read,
  // and written as what it now is.
  Step Entry(const std::shared_ptr<DirFd>& dir, const char* name,
             unsigned char d_type, std::string& entry_rel,
             std::vector<Pending>& found) {
    if (fuse_ && IsFuseMarkerName(name))
      return FuseMarker(dir, name, entry_rel);
    struct stat st;
    if (d_type == DT_REG) {
      int fd = OpenNoWait(dir->fd, name);
      if (fd >= 0) {
        Fd closer(fd);
        if (Fstat(fd, &st) != 0) return Fail(errno, "fstat", entry_rel);
        if (S_ISREG(st.st_mode)) return File(fd, entry_rel, st);
      } else if (errno == ENOENT) {
        return Step::kGo;
      } else if (errno != ELOOP && errno != ENXIO) {
        // ELOOP, ENXIO: a symlink or a socket now; looked at below.
        return Fail(errno, "open", entry_rel);
      }
    }
    // Not a regular file (any more), or its type not listed: lstat it.
    if (StatAt(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Step::kGo;
      return Fail(errno, "lstat", entry_rel);
    }
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        found.push_back(Pending{dir, name, std::move(entry_rel)});
        return Step::kGo;
      case S_IFREG: {
        // Listed as something else, or its type unknown: open it now.
        int fd = OpenNoWait(dir->fd, name);
        if (fd < 0)
          return errno == ENOENT ? Step::kGo : Fail(errno, "open", entry_rel);
        Fd closer(fd);
        if (Fstat(fd, &st) != 0) return Fail(errno, "fstat", entry_rel);
        // Swapped once more: left out rather than chased.
        return S_ISREG(st.st_mode) ? File(fd, entry_rel, st) : Step::kGo;
      }
      case S_IFLNK:
        return Symlink(dir->fd, name, entry_rel, st);
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
        return Special(dir->fd, name, entry_rel, st);
      default:
        return Step::kGo;  // a socket: tar has no type for it
    }
  }

  // A regular file, open: its header (or a hard link to its first name),
  // its bytes (as many as its stat said: a file that shrank is padded with
  // zeros, as GNU tar pads it; one that grew is cut) and their padding.
  Step File(int fd, const std::string& entry_rel, const struct stat& st) {
    const FileKey key{st.st_dev, st.st_ino};
    if (st.st_nlink > 1) {
      auto it = first_names_.find(key);
      if (it != first_names_.end()) {
        TarEntry e = Describe(entry_rel, '1', st);
        e.link = it->second;
        return Write(e);
      }
      first_names_.emplace(key, entry_rel);
    }
    TarEntry e = Describe(entry_rel, '0', st);
    Xattrs xattrs;
    bool opaque = false;
    if (!ReadXattrs(fd, nullptr, xattrs, opaque)) {
      return Fail(errno, "flistxattr", entry_rel);
    }
    e.xattrs = &xattrs;
    if (Step step = Write(e); step != Step::kGo) return step;
    uint64_t left = e.size;
    while (left > 0) {
      ssize_t n = out_.ReadFrom(fd, left);
      if (n == -2) return Step::kStop;
      if (n < 0) return Fail(errno, "read", entry_rel);
      if (n == 0) break;
      left -= static_cast<uint64_t>(n);
    }
    return out_.Zeros(left + Padding(e.size)) ? Step::kGo : Step::kStop;
  }

  Step Symlink(int dir_fd, const char* name, const std::string& entry_rel,
               const struct stat& st) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dir_fd, name, target, sizeof target);
    if (n < 0) {
      // Gone, or no longer a symlink.
      if (errno == ENOENT || errno == EINVAL) return Step::kGo;
      return Fail(errno, "readlink", entry_rel);
    }
    TarEntry e = Describe(entry_rel, '2', st);
    e.link = std::string_view(target, static_cast<size_t>(n));
    Xattrs xattrs;
    ReadXattrsAt(dir_fd, name, xattrs);
    e.xattrs = &xattrs;
    return Write(e);
  }

  // fuse-overlayfs's `.wh.<name>` (a whiteout, of any type) as an OCI
  // whiteout: an empty file of that name.  None in an opaque directory,
  // whose marker hides all below already (fuse-overlayfs keeps a `.wh..opq`
  // there), and `.wh..wh..opq` only as Directory wrote it.
  Step FuseMarker(const std::shared_ptr<DirFd>& dir, const char* name,
                  const std::string& entry_rel) {
    if (in_opaque_ || std::string_view(name) == kOpaqueMarker ||
        std::string_view(name) == kWhiteoutPrefix) {
      return Step::kGo;
    }
    struct stat st;
    if (StatAt(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Step::kGo;
      return Fail(errno, "lstat", entry_rel);
    }
    TarEntry e = Describe(entry_rel, '0', st);
    e.size = 0;
    return Write(e);
  }

  Step Special(int dir_fd, const char* name, const std::string& entry_rel,
               const struct stat& st) {
    if (fuse_ && in_opaque_ && IsWhiteout(st)) return Step::kGo;
    if (layer_ && IsWhiteout(st)) {
      size_t slash = entry_rel.rfind('/');
      std::string marker = slash == std::string::npos
                               ? ".wh." + entry_rel
                               : entry_rel.substr(0, slash + 1) + ".wh." +
                                     entry_rel.substr(slash + 1);
      TarEntry e = Describe(marker, '0', st);
      e.size = 0;
      return Write(e);
    }
    TarEntry e = DescribeSpecial(entry_rel, st);
    Xattrs xattrs;
    ReadXattrsAt(dir_fd, name, xattrs);
    e.xattrs = &xattrs;
    return Write(e);
  }

  // An entry that is not opened (a symlink, a device, a FIFO): its xattrs
  // through its directory's fd in /proc, the final name not followed.
  // Where /proc is not this process's (a container's mount namespace),
  // none are read.
  void ReadXattrsAt(int dir_fd, const char* name, Xattrs& kept) {
    if (!xattrs_) return;
    std::string path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
    bool opaque = false;
    if (!ReadXattrs(-1, path.c_str(), kept, opaque)) kept.clear();
  }

  // The xattrs to write (`kept`), and whether they mark an opaque
  // directory.  False with errno on an error.
  bool ReadXattrs(int fd, const char* path, Xattrs& kept, bool& opaque) {
    if (!xattrs_ && !layer_) return true;
    ssize_t listed = fd >= 0 ? flistxattr(fd, names_.get(), kXattrMax)
                             : llistxattr(path, names_.get(), kXattrMax);
    if (listed < 0) return errno == ENOTSUP || errno == ENODATA;
    for (ssize_t at = 0; at < listed;) {
      const char* key = names_.get() + at;
      const size_t key_len = strnlen(key, static_cast<size_t>(listed - at));
      at += static_cast<ssize_t>(key_len) + 1;
      const std::string_view key_view(key, key_len);
      const bool fuse_key = fuse_ && key_view.starts_with(kFuseXattrPrefix);
      const bool overlay = IsOverlayXattr(key_view) || fuse_key;
      const bool opaque_key =
          std::find(std::begin(kOpaqueXattrs), std::end(kOpaqueXattrs),
                    key_view) != std::end(kOpaqueXattrs) ||
          (fuse_key && key_view == kFuseOpaqueXattr);
      if (overlay ? !(layer_ && opaque_key) : !xattrs_) continue;
      ssize_t n = fd >= 0 ? fgetxattr(fd, key, value_.get(), kXattrMax)
                          : lgetxattr(path, key, value_.get(), kXattrMax);
      if (n < 0) {
        if (errno == ENODATA || errno == ENOTSUP) continue;  // gone meanwhile
        return false;
      }
      if (overlay) {
        opaque = opaque || (n == 1 && value_[0] == 'y');
        continue;
      }
      kept.emplace_back(std::string(key_view),
                        std::string(value_.get(), static_cast<size_t>(n)));
    }
    return true;
  }

  const std::string& root_;
  FrameStream out_;
  Job& job_;
  const bool xattrs_, layer_, fuse_, copy_;
  // The directory being listed is opaque (Directory, for the layer).
  bool in_opaque_ = false;
  DirReader dirs_;
  std::unique_ptr<char[]> names_, value_;
  std::string header_;
  std::unordered_map<FileKey, std::string, FileKeyHash> first_names_;
};

}  // namespace

void StreamOp(uint32_t id, const req::Tar& args, int root_fd, Job& job,
              const SendFrames& send) {
  if (args.flags & kTarCopy) {
    TarWalk walk(id, args, job, send);
    Step step = walk.RunCopy(root_fd, args.path);
    return SendLast(send, id, step, walk.failure);
  }
  int fd = OpenPath(root_fd, args.path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    return SendLast(send, id, Step::kFail, {errno, "scandir", args.path});
  }
  TarWalk walk(id, args, job, send);
  Step step = walk.Run(fd);
  SendLast(send, id, step, walk.failure);
}

}  // namespace unshare_fs

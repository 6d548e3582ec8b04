#include "walker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace unshare_fs {
namespace {

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

uint8_t TypeFromMode(mode_t mode) { return IFTODT(mode); }

// One open directory on the walk's stack.
struct Frame {
  int fd;
  std::string rel_path;  // relative to the root, "" for the root itself
  uint32_t depth;        // the root is depth 0; its entries depth 1
  std::string
      subdirs;      // names of subdirectories to descend into, NUL-separated
  size_t next = 0;  // offset of the next name in `subdirs`
};

class Walker {
 public:
  Walker(const WalkOptions& options, const BatchSink& sink,
         const std::atomic<bool>& cancelled)
      : options_(options), sink_(sink), cancelled_(cancelled) {
    batch_.Reserve(options.batch_bytes + 4096);
    dents_.reset(new char[kDentsBytes]);
  }

  void Run(int root_fd) {
    struct stat root_st;
    if (fstat(root_fd, &root_st) == 0) root_dev_ = root_st.st_dev;
    std::vector<Frame> stack;
    stack.push_back(Frame{root_fd, std::string(), 0, std::string()});
    if (!ListDirectory(stack.back())) stopped_ = true;
    while (!stack.empty() && !stopped_) {
      Frame& top = stack.back();
      if (top.next >= top.subdirs.size()) {
        close(top.fd);
        stack.pop_back();
        continue;
      }
      const char* name = top.subdirs.c_str() + top.next;
      size_t name_len = std::strlen(name);
      top.next += name_len + 1;
      std::string rel = top.rel_path.empty()
                            ? std::string(name, name_len)
                            : top.rel_path + "/" + std::string(name, name_len);
      int fd =
          openat(top.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        ErrorRecord(errno, "scandir", rel);
        continue;
      }
      if (options_.flags & kOneFileSystem) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_dev != root_dev_) {
          close(fd);
          continue;
        }
      }
      uint32_t depth = top.depth + 1;
      stack.push_back(Frame{fd, std::move(rel), depth, std::string()});
      if (!ListDirectory(stack.back())) stopped_ = true;
    }
    for (Frame& f : stack) close(f.fd);
    if (!stopped_) Flush();
  }

 private:
  static constexpr size_t kDentsBytes = 32 * 1024;

  // Emits the directory's entries and remembers its subdirectories.
  bool ListDirectory(Frame& dir) {
    dir_record_written_ = false;
    const bool descend = dir.depth + 1 < options_.max_depth;
    for (;;) {
      long n = syscall(SYS_getdents64, dir.fd, dents_.get(), kDentsBytes);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        ErrorRecord(errno, "scandir", dir.rel_path);
        break;
      }
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<LinuxDirent64*>(dents_.get() + off);
        off += d->d_reclen;
        const char* name = d->d_name;
        if (name[0] == '.' &&
            (name[1] == 0 || (name[1] == '.' && name[2] == 0))) {
          continue;
        }
        if (!Entry(dir, name, d->d_type, descend)) return false;
      }
      if (cancelled_.load(std::memory_order_relaxed)) return false;
    }
    return true;
  }

  bool Entry(Frame& dir, const char* name, uint8_t type, bool descend) {
    size_t name_len = std::strlen(name);
    struct stat st;
    bool have_stat = false;
    if (options_.stat_mask != 0 || type == DT_UNKNOWN) {
      if (fstatat(dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        have_stat = true;
        type = TypeFromMode(st.st_mode);
      } else {
        int err = errno;
        std::string rel = dir.rel_path.empty() ? std::string(name, name_len)
                                               : dir.rel_path + "/" + name;
        ErrorRecord(err, "lstat", rel);
        return !stopped_;
      }
    }
    if (batch_.Size() >= options_.batch_bytes && !Flush()) return false;
    if (!dir_record_written_) DirRecord(dir);
    batch_.U8(static_cast<uint8_t>(Record::kEntry));
    batch_.U8(type);
    batch_.U16(static_cast<uint16_t>(name_len));
    batch_.Raw(name, name_len);
    if (options_.stat_mask != 0) {
      if (!have_stat) std::memset(&st, 0, sizeof st);
      batch_.Stat(st, options_.stat_mask);
    }
    if (type == DT_DIR && descend) {
      dir.subdirs.append(name, name_len + 1);
    }
    return true;
  }

  void DirRecord(const Frame& dir) {
    batch_.U8(static_cast<uint8_t>(Record::kDir));
    batch_.U8(0);
    batch_.U16(static_cast<uint16_t>(dir.depth > 0xffff ? 0xffff : dir.depth));
    batch_.U32(static_cast<uint32_t>(dir.rel_path.size()));
    batch_.Bytes(dir.rel_path);
    dir_record_written_ = true;
  }

  void ErrorRecord(int err, std::string_view syscall_name,
                   std::string_view rel) {
    if (batch_.Size() >= options_.batch_bytes && !Flush()) {
      stopped_ = true;
      return;
    }
    batch_.U8(static_cast<uint8_t>(Record::kError));
    batch_.U8(0);
    batch_.U16(static_cast<uint16_t>(syscall_name.size()));
    batch_.I32(err);
    batch_.U32(static_cast<uint32_t>(rel.size()));
    batch_.Bytes(syscall_name);
    batch_.Bytes(rel);
  }

  // Hands the batch to the sink; the next batch restates its directory.
  bool Flush() {
    if (batch_.Size() == 0) return true;
    bool go_on = sink_(batch_);
    batch_.Clear();
    dir_record_written_ = false;
    if (!go_on || cancelled_.load(std::memory_order_relaxed)) {
      stopped_ = true;
      return false;
    }
    return true;
  }

  const WalkOptions& options_;
  const BatchSink& sink_;
  const std::atomic<bool>& cancelled_;
  ByteBuffer batch_;
  std::unique_ptr<char[]> dents_;
  bool dir_record_written_ = false;
  bool stopped_ = false;
  dev_t root_dev_ = 0;
};

}  // namespace

int Walk(int root_fd, const WalkOptions& options, const BatchSink& sink,
         const std::atomic<bool>& cancelled) {
  if (options.max_depth == 0) {
    close(root_fd);
    return 0;
  }
  Walker walker(options, sink, cancelled);
  walker.Run(root_fd);
  return 0;
}

}  // namespace unshare_fs

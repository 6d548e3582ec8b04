#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "buffer.h"
#include "stat_syscalls.h"
#include "tree.h"

namespace unshare_fs {
namespace {

constexpr uint32_t kChunk = 256 * 1024;

// Go's sameFsTime, as containers/storage compares directories: equal, or
// equal seconds where either side has no nanoseconds.
bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec &&
         (a.tv_nsec == b.tv_nsec || a.tv_nsec == 0 || b.tv_nsec == 0);
}

// One lower layer, at a directory of the upper one.
struct Lower {
  std::shared_ptr<DirFd> dir;  // null: the layer has no such directory
  bool hidden = false;  // the layer whites out this directory or one above
};

// What a directory's listing gives, in the order it is answered: an
// entry's change record (`key` its name), or a subdirectory's entries
// (`key` its name and '/', so that with the records sorted by key the
// answer comes sorted by path, as the bytes compare).
struct Item {
  std::string key;
  char kind = 0;  // 'A', 'C', 'D'; 0: no change, no record
  bool is_dir = false;
  bool descend = false;
  std::vector<char> lower_has;  // descend: the layer has a directory there
  std::vector<char> hidden;     // descend: the layer hides it
};

// A directory being answered.
struct Frame {
  std::shared_ptr<DirFd> upper;
  std::vector<Lower> lowers;
  std::string rel;  // "" for the upper dir itself, else "/a/b"
  std::vector<Item> items;
  size_t next = 0;
};

class DiffWalk {
 public:
  DiffWalk(const Request& request, Job& job, const SendFrames& send)
      : request_(request), out_(request.id, kChunk, job, send), job_(job) {}

  // Depth first, each directory's items in key order.
  Step Run(int upper_fd, std::vector<Lower> lowers) {
    std::vector<Frame> stack(1);
    stack[0].upper = std::make_shared<DirFd>(upper_fd);
    stack[0].lowers = std::move(lowers);
    Step step = List(stack[0]);
    while (step == Step::kGo && !stack.empty()) {
      Frame& frame = stack.back();
      if (frame.next == frame.items.size()) {
        stack.pop_back();
        continue;
      }
      Item& item = frame.items[frame.next++];
      if (!item.descend) {
        if (item.kind != 0) step = Record(item, frame.rel);
        continue;
      }
      Frame child;
      step = Open(frame, item, child);
      if (step != Step::kGo || !child.upper) continue;
      stack.push_back(std::move(child));
      step = List(stack.back());
    }
    if (step != Step::kGo) return step;
    return out_.Flush() ? Step::kGo : Step::kStop;
  }

  Failure failure;

 private:
  // `rel` in the upper dir (-1) or in lower dir `layer`.
  Step Fail(int error, const char* syscall, const std::string& rel,
            int layer = -1) {
    failure.err = error;
    failure.syscall = syscall;
    failure.path = (layer < 0 ? request_.path : request_.lowers[layer]) + rel;
    return Step::kFail;
  }

  // "<kind><d or -></path>\0": the path is never empty and holds no NUL.
  Step Record(const Item& item, const std::string& dir_rel) {
    std::string& r = record_;
    r.clear();
    r += item.kind;
    r += item.is_dir ? 'd' : '-';
    r += dir_rel;
    r += '/';
    r += item.key;
    r += '\0';
    return out_.PutWhole(r) ? Step::kGo : Step::kStop;
  }

  // Opens subdirectory `item` of `parent`, in the upper dir and in each
  // lower dir that has it.  Gone, or no longer a directory: `child` stays
  // without an fd, and is left out.
  Step Open(const Frame& parent, const Item& item, Frame& child) {
    const std::string name = item.key.substr(0, item.key.size() - 1);
    child.rel = parent.rel + "/" + name;
    int fd = openat(parent.upper->fd, name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        return Step::kGo;
      }
      return Fail(errno, "open", child.rel);
    }
    child.upper = std::make_shared<DirFd>(fd);
    child.lowers.resize(parent.lowers.size());
    for (size_t i = 0; i < child.lowers.size(); i++) {
      child.lowers[i].hidden = item.hidden[i];
      if (!item.lower_has[i]) continue;
      int lower = openat(parent.lowers[i].dir->fd, name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (lower >= 0) {
        child.lowers[i].dir = std::make_shared<DirFd>(lower);
      } else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
        return Fail(errno, "open", child.rel, static_cast<int>(i));
      }
    }
    return Step::kGo;
  }

  // Classifies every entry of `frame`'s directory into its items, sorted.
  Step List(Frame& frame) {
    any_lower_ = false;
    for (const Lower& lower : frame.lowers)
      any_lower_ = any_lower_ || lower.dir;
    Step step = Step::kGo;
    int error = dirs_.ForEach(frame.upper->fd,
                              [&](const char* name, unsigned char type) {
                                step = Entry(frame, name, type);
                                return step == Step::kGo && !job_.Cancelled();
                              });
    if (error != 0) return Fail(error, "scandir", frame.rel);
    if (step == Step::kGo && job_.Cancelled()) return Step::kStop;
    std::sort(frame.items.begin(), frame.items.end(),
              [](const Item& a, const Item& b) { return a.key < b.key; });
    return step;
  }

  // Whether the upper directory `name` is opaque.
  bool Opaque(int dir_fd, const char* name, const std::string& rel,
              Step& step) {
    Fd fd(openat(dir_fd, name,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
        step = Fail(errno, "open", rel);
      }
      return false;
    }
    for (const char* key : kOpaqueXattrs) {
      char value[2];
      ssize_t n = fgetxattr(fd.get(), key, value, sizeof value);
      if (n == 1 && value[0] == 'y') return true;
      if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != ERANGE) {
        step = Fail(errno, "fgetxattr", rel);
        return false;
      }
    }
    return false;
  }

  // One entry.  The upper entry is stat'ed only where its type does not
  // say enough: unknown, a character device (a whiteout?), or a directory
  // some lower layer may have (equal to it?).  Where no lower layer has
  // this directory, everything in it is added but whiteouts.
  Step Entry(Frame& frame, const char* name, unsigned char type) {
    const std::string rel = frame.rel + "/" + name;
    struct stat st;
    if (type == DT_UNKNOWN || type == DT_CHR ||
        (type == DT_DIR && any_lower_)) {
      if (StatAt(frame.upper->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return Step::kGo;
        return Fail(errno, "lstat", rel);
      }
    } else {
      st.st_mode = DTTOIF(type);
      st.st_rdev = 1;  // not a whiteout: not a character device
    }
    const size_t count = frame.lowers.size();
    below_.resize(count);
    present_.assign(count, 0);
    bool in_some = false;
    for (size_t i = 0; i < count; i++) {
      if (!frame.lowers[i].dir) continue;
      if (StatAt(frame.lowers[i].dir->fd, name, &below_[i],
                 AT_SYMLINK_NOFOLLOW) == 0) {
        present_[i] = 1;
        in_some = true;
      } else if (errno != ENOENT) {
        return Fail(errno, "lstat", rel, static_cast<int>(i));
      }
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    Step step = Step::kGo;
    const bool opaque =
        is_dir && in_some && Opaque(frame.upper->fd, name, rel, step);
    if (step != Step::kGo) return step;

    char kind = 0;
    if (IsWhiteout(st)) {
      kind = 'D';
    } else {
      if (opaque) {
        // A deletion where a lower layer still shows the path.
        for (size_t i = 0; i < count; i++) {
          if (present_[i]) {
            if (!IsWhiteout(below_[i])) kind = 'D';
            break;
          }
          if (frame.lowers[i].hidden) break;
        }
      }
      if (kind == 0) {
        kind = 'A';
        for (size_t i = 0; i < count; i++) {
          if (frame.lowers[i].hidden ||
              (present_[i] && IsWhiteout(below_[i]))) {
            break;
          }
          if (!present_[i]) continue;
          const struct stat& b = below_[i];
          const bool same =
              is_dir && S_ISDIR(b.st_mode) && b.st_size == st.st_size &&
              b.st_mode == st.st_mode && SameTime(b.st_mtim, st.st_mtim);
          kind = same ? 0 : 'C';
          break;
        }
      }
    }
    Item item;
    item.key = name;
    item.kind = kind;
    item.is_dir = is_dir;
    if (is_dir) {
      Item sub;
      sub.key = item.key + "/";
      sub.descend = true;
      sub.lower_has.resize(count);
      sub.hidden.resize(count);
      for (size_t i = 0; i < count; i++) {
        sub.lower_has[i] = present_[i] && S_ISDIR(below_[i].st_mode);
        sub.hidden[i] =
            frame.lowers[i].hidden || (present_[i] && IsWhiteout(below_[i]));
      }
      frame.items.push_back(std::move(sub));
    }
    if (kind != 0) frame.items.push_back(std::move(item));
    return Step::kGo;
  }

  const Request& request_;
  FrameStream out_;
  Job& job_;
  DirReader dirs_;
  std::string record_;
  std::vector<struct stat> below_;
  std::vector<char> present_;
  bool any_lower_ = false;
};

}  // namespace

void DiffOp(const Request& request, int root_fd, Job& job,
            const SendFrames& send) {
  Fd upper(OpenPath(root_fd, request.path, O_RDONLY | O_DIRECTORY));
  if (upper.get() < 0) {
    return SendLast(send, request.id, Step::kFail,
                    {errno, "scandir", request.path});
  }
  std::vector<Lower> lowers(request.lowers.size());
  for (size_t i = 0; i < lowers.size(); i++) {
    int fd = OpenPath(root_fd, request.lowers[i], O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      lowers[i].dir = std::make_shared<DirFd>(fd);
    } else if (errno != ENOENT && errno != ENOTDIR) {
      return SendLast(send, request.id, Step::kFail,
                      {errno, "scandir", request.lowers[i]});
    }
  }
  DiffWalk walk(request, job, send);
  Step step = walk.Run(upper.release(), std::move(lowers));
  SendLast(send, request.id, step, walk.failure);
}

}  // namespace unshare_fs

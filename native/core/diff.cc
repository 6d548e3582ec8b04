#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "buffer.h"
#include "fs.h"
#include "overlay.h"
#include "reply.h"
#include "stat_syscalls.h"

namespace unshare_fs {
namespace {

constexpr uint32_t kChunk = 256 * 1024;
// Directory fds kept open below the top directory's (one for the upper dir
// and one per lower layer at each level, so 64 / (1 + layers) levels, at
// least one): deeper than that, the shallowest levels are closed, so that
// a tree of any depth fits under RLIMIT_NOFILE, and reopened on the way back
// up, ".." of the child where it has one, else name by name down from the
// nearest open directory; each checked against the (st_dev, st_ino) it had when
// first opened: a directory moved meanwhile fails the job, never leads it
// outside the tree.
constexpr size_t kMaxOpenFds = 64;

// What a directory was when first opened.
struct DirId {
  dev_t dev = 0;
  ino_t ino = 0;
};

// Go's sameFsTime, as containers/storage compares directories: equal, or
// equal seconds where either side has no nanoseconds.
bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec &&
         (a.tv_nsec == b.tv_nsec || a.tv_nsec == 0 || b.tv_nsec == 0);
}

// One lower layer, at a directory of the upper one.
struct Lower {
  std::shared_ptr<DirFd> dir;  // null: no such directory, or closed
  bool present = false;        // the layer has this directory
  bool hidden = false;  // the layer whites out this directory or one above
  DirId id;
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
  bool opaque = false;          // descend: FuseOpaque
};

// A directory being answered.
struct Frame {
  std::shared_ptr<DirFd> upper;  // null: closed (kMaxOpenFds)
  DirId upper_id;
  std::vector<Lower> lowers;
  std::string name;  // in the parent
  std::string rel;   // "" for the upper dir itself, else "/a/b"
  // fuse-overlayfs: the directory is opaque over lower layers that show it,
  // so what they hold and it does not is deleted (containers/storage diffs
  // the two mounted trees there).
  bool opaque = false;
  std::vector<Item> items;
  size_t next = 0;
};

class DiffWalk {
 public:
  DiffWalk(uint32_t id, const req::Diff& args, Job& job, const SendFrames& send)
      : args_(args),
        fuse_(args.flags & kDiffFuseOverlayfs),
        out_(id, kChunk, job, send),
        job_(job) {}

  // Depth first, each directory's items in key order.
  Step Run(int upper_fd, std::vector<Lower> lowers) {
    const size_t keep = std::max<size_t>(1, kMaxOpenFds / (1 + lowers.size()));
    std::vector<Frame> stack(1);
    stack[0].upper = std::make_shared<DirFd>(upper_fd);
    stack[0].lowers = std::move(lowers);
    Step step = Identify(stack[0]);
    if (step == Step::kGo) step = List(stack[0]);
    while (step == Step::kGo && !stack.empty()) {
      Frame& frame = stack.back();
      if (frame.next == frame.items.size()) {
        if (stack.size() > 1 && !stack[stack.size() - 2].upper) {
          step = Reopen(stack, stack.size() - 2);
        }
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
      if (stack.size() > keep + 1) {
        Frame& old = stack[stack.size() - 1 - keep];
        old.upper.reset();
        for (Lower& lower : old.lowers) lower.dir.reset();
      }
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
    failure.path = (layer < 0 ? args_.path : args_.lowers[layer]) + rel;
    return Step::kFail;
  }

  // Records what the (open) directories of `frame` are.
  Step Identify(Frame& frame) {
    struct stat st;
    if (Fstat(frame.upper->fd, &st) != 0) return Fail(errno, "fstat", "");
    frame.upper_id = {st.st_dev, st.st_ino};
    for (size_t i = 0; i < frame.lowers.size(); i++) {
      Lower& lower = frame.lowers[i];
      lower.present = lower.dir != nullptr;
      if (!lower.present) continue;
      if (Fstat(lower.dir->fd, &st) != 0) {
        return Fail(errno, "fstat", frame.rel, static_cast<int>(i));
      }
      lower.id = {st.st_dev, st.st_ino};
    }
    return Step::kGo;
  }

  // Reopens the directories of stack[at], closed, from stack[at + 1]'s
  // (open) or down from the nearest open frame above.
  Step Reopen(std::vector<Frame>& stack, size_t at) {
    Frame& frame = stack[at];
    int fd = -1;
    Step step = ReopenLayer(stack, at, -1, fd);
    if (step != Step::kGo) return step;
    frame.upper = std::make_shared<DirFd>(fd);
    for (size_t i = 0; i < frame.lowers.size(); i++) {
      if (!frame.lowers[i].present) continue;
      step = ReopenLayer(stack, at, static_cast<int>(i), fd);
      if (step != Step::kGo) return step;
      frame.lowers[i].dir = std::make_shared<DirFd>(fd);
    }
    return Step::kGo;
  }

  // The fd of layer `layer` (-1: the upper dir) of stack[at].
  static const std::shared_ptr<DirFd>& Dir(const Frame& frame, int layer) {
    return layer < 0 ? frame.upper : frame.lowers[layer].dir;
  }

  // Reopens layer `layer` of stack[at] into `fd`: ".." of stack[at + 1]'s
  // where that is open, else name by name down from the nearest frame above
  // that has it open (frame 0 always has), each directory checked.
  Step ReopenLayer(const std::vector<Frame>& stack, size_t at, int layer,
                   int& fd) {
    const Frame& frame = stack[at];
    const DirId& id = layer < 0 ? frame.upper_id : frame.lowers[layer].id;
    const std::shared_ptr<DirFd>& below = Dir(stack[at + 1], layer);
    if (below) {
      fd = openat(below->fd, "..",
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return Fail(errno, "open", frame.rel, layer);
      return Check(fd, id, frame.rel, layer);
    }
    size_t base = at;  // frame 0 stays open
    while (!Dir(stack[base], layer)) base--;
    fd = -1;
    for (size_t j = base + 1; j <= at; j++) {
      const Frame& step_frame = stack[j];
      const int from = fd >= 0 ? fd : Dir(stack[base], layer)->fd;
      int next = openat(from, step_frame.name.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) close(fd);
      fd = next;
      if (fd < 0) return Fail(errno, "open", step_frame.rel, layer);
      const DirId& step_id =
          layer < 0 ? step_frame.upper_id : step_frame.lowers[layer].id;
      Step step = Check(fd, step_id, step_frame.rel, layer);
      if (step != Step::kGo) return step;
    }
    return Step::kGo;
  }

  // Whether `fd` is still the directory `id` says; closed if not.
  Step Check(int& fd, const DirId& id, const std::string& rel, int layer) {
    struct stat st;
    int err = Fstat(fd, &st) != 0 ? errno : 0;
    if (err == 0 && st.st_dev == id.dev && st.st_ino == id.ino) {
      return Step::kGo;
    }
    close(fd);
    fd = -1;
    return err != 0 ? Fail(err, "fstat", rel, layer)
                    : Fail(ENOENT, "open", rel, layer);
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
    child.name = name;
    child.rel = parent.rel + "/" + name;
    child.opaque = item.opaque;
    int fd = openat(parent.upper->fd, name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        return Step::kGo;
      }
      return Fail(errno, "open", child.rel);
    }
    child.upper = std::make_shared<DirFd>(fd);
    struct stat st;
    if (Fstat(fd, &st) != 0) return Fail(errno, "fstat", child.rel);
    child.upper_id = {st.st_dev, st.st_ino};
    child.lowers.resize(parent.lowers.size());
    for (size_t i = 0; i < child.lowers.size(); i++) {
      child.lowers[i].hidden = item.hidden[i];
      if (!item.lower_has[i]) continue;
      int lower = openat(parent.lowers[i].dir->fd, name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (lower >= 0) {
        child.lowers[i].dir = std::make_shared<DirFd>(lower);
        child.lowers[i].present = true;
        if (Fstat(lower, &st) != 0) {
          return Fail(errno, "fstat", child.rel, static_cast<int>(i));
        }
        child.lowers[i].id = {st.st_dev, st.st_ino};
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
    upper_names_.clear();
    int error = dirs_.ForEach(frame.upper->fd,
                              [&](const char* name, unsigned char type) {
                                if (frame.opaque) upper_names_.insert(name);
                                step = Entry(frame, name, type);
                                return step == Step::kGo && !job_.Cancelled();
                              });
    if (error != 0) return Fail(error, "scandir", frame.rel);
    if (step == Step::kGo && job_.Cancelled()) return Step::kStop;
    if (step == Step::kGo && frame.opaque) step = LowerOnly(frame);
    if (step != Step::kGo) return step;
    std::sort(frame.items.begin(), frame.items.end(),
              [](const Item& a, const Item& b) { return a.key < b.key; });
    return step;
  }

  // A directory equal to the one below: containers/storage's overlay diff
  // compares size, mode and mtime; its diff of mounted trees (fuse) mode
  // and owner only, directories' sizes and mtimes being no measure there.
  bool SameDir(const struct stat& below, const struct stat& upper) const {
    if (fuse_) {
      return below.st_mode == upper.st_mode && below.st_uid == upper.st_uid &&
             below.st_gid == upper.st_gid;
    }
    return below.st_size == upper.st_size && below.st_mode == upper.st_mode &&
           SameTime(below.st_mtim, upper.st_mtim);
  }

  // fuse-overlayfs's opaque directory `frame`: a deletion of each name its
  // lower layers show (top down, to the first that hides what is below)
  // and it has not, whited out in none of them.  Whiteouts of its own it
  // has left out (Entry): this covers what they hid.
  Step LowerOnly(Frame& frame) {
    std::unordered_set<std::string>& seen = upper_names_;
    for (size_t i = 0; i < frame.lowers.size(); i++) {
      const Lower& lower = frame.lowers[i];
      if (lower.hidden) break;
      if (!lower.dir) continue;
      Step step = Step::kGo;
      bool lower_opaque = false;
      int error = dirs_.ForEach(
          lower.dir->fd, [&](const char* name, unsigned char type) {
            std::string_view view(name);
            if (IsFuseMarkerName(view)) {
              if (view == kOpaqueMarker) lower_opaque = true;
              seen.insert(std::string(view.substr(kWhiteoutPrefix.size())));
              return !job_.Cancelled();
            }
            if (!seen.insert(name).second) return !job_.Cancelled();
            struct stat st;
            if (type == DT_UNKNOWN || type == DT_CHR) {
              if (StatAt(lower.dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno == ENOENT) return !job_.Cancelled();
                step = Fail(errno, "lstat", frame.rel + "/" + name,
                            static_cast<int>(i));
                return false;
              }
              if (IsWhiteout(st)) return !job_.Cancelled();
            } else {
              st.st_mode = DTTOIF(type);
            }
            Item item;
            item.key = name;
            item.kind = 'D';
            item.is_dir = S_ISDIR(st.st_mode);
            frame.items.push_back(std::move(item));
            return !job_.Cancelled();
          });
      if (error != 0) {
        return Fail(error, "scandir", frame.rel, static_cast<int>(i));
      }
      if (step != Step::kGo) return step;
      if (job_.Cancelled()) return Step::kStop;
      if (lower_opaque) break;
      for (const char* key : kOpaqueXattrs) {
        char value[2];
        if (fgetxattr(lower.dir->fd, key, value, sizeof value) == 1 &&
            value[0] == 'y') {
          lower_opaque = true;
        }
      }
      if (lower_opaque) break;
    }
    return Step::kGo;
  }

  // fuse-overlayfs's whiteout `.wh.<target>` in the upper directory of
  // `frame`: a deletion of what the layers below still show there, unless
  // the upper dir has <target> itself (then that entry says what it is).
  Step FuseWhiteout(Frame& frame, const std::string& target) {
    if (target.empty() || target == "." || target == "..") return Step::kGo;
    struct stat st;
    if (StatAt(frame.upper->fd, target.c_str(), &st, AT_SYMLINK_NOFOLLOW) ==
        0) {
      return Step::kGo;
    }
    for (size_t i = 0; i < frame.lowers.size(); i++) {
      if (frame.lowers[i].hidden) break;
      if (!frame.lowers[i].dir) continue;
      bool present = false;
      Step step = LookUp(frame, i, target.c_str(), st, present);
      if (step != Step::kGo) return step;
      if (!present) continue;
      if (IsWhiteout(st)) break;
      Item item;
      item.key = target;
      item.kind = 'D';
      item.is_dir = S_ISDIR(st.st_mode);
      frame.items.push_back(std::move(item));
      break;
    }
    return Step::kGo;
  }

  // `name` in lower layer `i` of `frame`: its stat, or (fuse-overlayfs)
  // a whiteout's where the layer has `.wh.<name>` instead.
  Step LookUp(const Frame& frame, size_t i, const char* name, struct stat& st,
              bool& present) {
    const int fd = frame.lowers[i].dir->fd;
    present = StatAt(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (present) return Step::kGo;
    if (errno != ENOENT) {
      return Fail(errno, "lstat", frame.rel + "/" + name, static_cast<int>(i));
    }
    if (!fuse_) return Step::kGo;
    const std::string whiteout = std::string(kWhiteoutPrefix) + name;
    struct stat marker;
    if (StatAt(fd, whiteout.c_str(), &marker, AT_SYMLINK_NOFOLLOW) == 0) {
      present = true;
      st = marker;
      st.st_mode = S_IFCHR;
      st.st_rdev = 0;
    } else if (errno != ENOENT && errno != ENAMETOOLONG) {
      return Fail(errno, "lstat", frame.rel + "/" + whiteout,
                  static_cast<int>(i));
    }
    return Step::kGo;
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
      if (HasOpaqueXattr(fd.get(), key, rel, step)) return true;
      if (step != Step::kGo) return false;
    }
    if (!fuse_) return false;
    if (HasOpaqueXattr(fd.get(), kFuseOpaqueXattr, rel, step)) return true;
    if (step != Step::kGo) return false;
    struct stat st;
    if (StatAt(fd.get(), kOpaqueMarker, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      return true;
    }
    if (errno != ENOENT) step = Fail(errno, "lstat", rel + "/" + kOpaqueMarker);
    return false;
  }

  // Whether the open directory `fd` has the xattr `key` "y".
  bool HasOpaqueXattr(int fd, const char* key, const std::string& rel,
                      Step& step) {
    char value[2];
    ssize_t n = fgetxattr(fd, key, value, sizeof value);
    if (n == 1 && value[0] == 'y') return true;
    if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != ERANGE) {
      step = Fail(errno, "fgetxattr", rel);
    }
    return false;
  }

  // One entry.  The upper entry is stat'ed only where its type does not
  // say enough: unknown, a character device (a whiteout?), or a directory
  // some lower layer may have (equal to it?).  Where no lower layer has
  // this directory, everything in it is added but whiteouts.
  Step Entry(Frame& frame, const char* name, unsigned char type) {
    if (fuse_ && IsFuseMarkerName(name)) {
      // In an opaque directory LowerOnly lists what is gone.
      if (frame.opaque || std::string_view(name) == kOpaqueMarker) {
        return Step::kGo;
      }
      return FuseWhiteout(frame, name + kWhiteoutPrefix.size());
    }
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
      bool present = false;
      Step step = LookUp(frame, i, name, below_[i], present);
      if (step != Step::kGo) return step;
      present_[i] = present;
      in_some = in_some || present;
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    Step step = Step::kGo;
    const bool opaque =
        is_dir && in_some && Opaque(frame.upper->fd, name, rel, step);
    if (step != Step::kGo) return step;

    char kind = 0;
    if (IsWhiteout(st)) {
      kind = 'D';
      // fuse-overlayfs (the mounted trees compared): a deletion only where
      // the layers below still show the name; it leaves whiteouts over
      // names no lower layer has (made and removed in the container).
      if (fuse_) {
        kind = 0;
        for (size_t i = 0; i < count; i++) {
          if (present_[i]) {
            if (!IsWhiteout(below_[i])) kind = 'D';
            break;
          }
          if (frame.lowers[i].hidden) break;
        }
      }
    } else {
      // fuse-overlayfs: an opaque directory is compared as any other is
      // (containers/storage compares the mounted trees), LowerOnly adding
      // what it no longer shows.
      if (opaque && !fuse_) {
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
          const bool same = is_dir && S_ISDIR(b.st_mode) && SameDir(b, st);
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
      sub.opaque = fuse_ && opaque;
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

  const req::Diff& args_;
  const bool fuse_;
  FrameStream out_;
  Job& job_;
  DirReader dirs_;
  std::string record_;
  std::vector<struct stat> below_;
  std::vector<char> present_;
  // An opaque directory's own names, for LowerOnly.
  std::unordered_set<std::string> upper_names_;
  bool any_lower_ = false;
};

}  // namespace

void StreamOp(uint32_t id, const req::Diff& args, int root_fd, Job& job,
              const SendFrames& send) {
  Fd upper(OpenPath(root_fd, args.path, O_RDONLY | O_DIRECTORY));
  if (upper.get() < 0) {
    return SendLast(send, id, Step::kFail, {errno, "scandir", args.path});
  }
  std::vector<Lower> lowers(args.lowers.size());
  for (size_t i = 0; i < lowers.size(); i++) {
    int fd = OpenPath(root_fd, args.lowers[i], O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      lowers[i].dir = std::make_shared<DirFd>(fd);
    } else if (errno != ENOENT && errno != ENOTDIR) {
      return SendLast(send, id, Step::kFail,
                      {errno, "scandir", args.lowers[i]});
    }
  }
  DiffWalk walk(id, args, job, send);
  Step step = walk.Run(upper.release(), std::move(lowers));
  SendLast(send, id, step, walk.failure);
}

}  // namespace unshare_fs

#include "walker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "batch.h"
#include "fs.h"
#include "stat_syscalls.h"
#include "tree_job.h"

namespace unshare_fs {
namespace {

// A directory waiting to be listed.
struct Task {
  std::shared_ptr<DirFd> parent;  // null for the root
  std::string name;               // relative to parent
  std::string rel_path;           // relative to the root, "" for the root
  uint32_t depth;                 // the root is 0; its entries are depth 1
  int open_fd = -1;               // the root comes already open
};

// What the walking threads share: the directories to list (tree_job.h)
// and the stop flag.
class Shared {
 public:
  Shared(const WalkOptions& options, const BatchSink& sink,
         const std::atomic<bool>& cancelled)
      : options(options),
        sink(sink),
        cancelled(cancelled),
        tasks_([this] { return Stopped(); }) {}
  ~Shared() { Close(tasks_.Stop()); }

  // Blocks until there is a directory to list or the walk is over.
  bool Pop(Task& task) { return tasks_.Take(task); }

  // The directories a listing found, listed next in the order read.
  void Done(std::vector<Task>& found) { tasks_.Done(found); }

  void Start(Task root) { tasks_.Push(std::move(root)); }

  void Stop() {
    stop_.store(true, std::memory_order_relaxed);
    Close(tasks_.Stop());
  }

  bool Stopped() const {
    return stop_.load(std::memory_order_relaxed) ||
           cancelled.load(std::memory_order_relaxed);
  }

  // A summing walk: true for the first name of the hard-linked inode
  // `st` found by any thread, false for its further names.
  bool FirstName(const struct stat& st) {
    std::lock_guard<std::mutex> lk(links_mu_);
    return links_.emplace(uint64_t{st.st_dev}, uint64_t{st.st_ino}).second;
  }

  const WalkOptions& options;
  const BatchSink& sink;
  const std::atomic<bool>& cancelled;
  dev_t root_dev = 0;

 private:
  struct InodeHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& id) const {
      return static_cast<size_t>(id.second * 0x9e3779b97f4a7c15ull ^ id.first);
    }
  };
  static void Close(const std::vector<Task>& left) {
    for (const Task& task : left) {
      if (task.open_fd >= 0) close(task.open_fd);
    }
  }

  std::atomic<bool> stop_{false};
  WorkQueue<Task> tasks_;
  std::mutex links_mu_;
  std::unordered_set<std::pair<uint64_t, uint64_t>, InodeHash> links_;
};

// One walking thread: lists directories into its own batches.
class Walker {
 public:
  explicit Walker(Shared& shared)
      : shared_(shared),
        options_(shared.options),
        batch_(options_.stat_mask, options_.batch_bytes),
        summing_((options_.flags & kSummarize) != 0) {}

  void Run() {
    Task task;
    std::vector<Task> found;
    while (shared_.Pop(task)) {
      int fd = task.open_fd;
      if (task.parent) {
        fd = openat(task.parent->fd, task.name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        task.parent.reset();
      }
      found.clear();
      if (fd < 0) {
        ErrorRecord(errno, "scandir", task.rel_path);
      } else if (!OtherDevice(fd, task)) {
        auto dir = std::make_shared<DirFd>(fd);
        if (!ListDirectory(dir, task, found)) shared_.Stop();
      } else {
        close(fd);
      }
      shared_.Done(found);
    }
    if (summed_ > 0 && !shared_.Stopped()) PutSums();
    if (!shared_.Stopped() && !Flush()) shared_.Stop();
  }

 private:
  bool OtherDevice(int fd, const Task& task) {
    if (!(options_.flags & kOneFileSystem) || task.depth == 0) return false;
    struct stat st;
    return Fstat(fd, &st) == 0 && st.st_dev != shared_.root_dev;
  }

  // Emits the directory's entries; subdirectories to descend into go to
  // `found`.  Returns false when the walk must stop.
  bool ListDirectory(const std::shared_ptr<DirFd>& dir, const Task& task,
                     std::vector<Task>& found) {
    dir_record_written_ = false;
    const bool descend = task.depth + 1 < options_.max_depth;
    bool go_on = true;
    const bool excluding =
        !options_.exclude_names.empty() || !options_.exclude_paths.empty();
    const bool pruning = (options_.flags & kPrune) != 0;
    size_t asked = 0;  // found[0, asked) has been answered for
    int err = dirs_.ForEach(dir->fd, [&](const char* name, unsigned char type) {
      // Before its stat and its listing: an excluded entry costs a match.
      if (excluding && Excluded(task, name)) return true;
      go_on = Entry(dir->fd, task, name, type);
      if (!go_on) return false;
      if (type == DT_DIR && descend) {
        std::string rel = task.rel_path.empty() ? std::string(name)
                                                : task.rel_path + "/" + name;
        found.push_back(Task{dir, name, std::move(rel), task.depth + 1});
        if (pruning && found.size() - asked == kPruneAsk) {
          go_on = Ask(found, asked);
          if (!go_on) return false;
        }
      }
      return true;
    });
    if (err != 0) ErrorRecord(err, "scandir", task.rel_path);
    if (go_on && pruning && found.size() > asked) go_on = Ask(found, asked);
    return go_on && !shared_.Stopped();
  }

  // Sends the batch flagged kBatchAsks and waits for the client's answer
  // about found[asked, end): the pruned directories are dropped, never
  // opened.  False when the walk must stop (cancelled, or an answer of
  // the wrong length: the client broke the protocol).
  bool Ask(std::vector<Task>& found, size_t& asked) {
    if (!Flush(kBatchAsks)) return false;
    const size_t count = found.size() - asked;
    std::string verdicts;
    if (!options_.descend || !options_.descend(verdicts) ||
        verdicts.size() != count) {
      return false;
    }
    size_t kept = asked;
    for (size_t i = 0; i < count; i++) {
      if (verdicts[i] == 0) continue;
      // Never a self-move: it may leave the strings empty.
      if (kept != asked + i) found[kept] = std::move(found[asked + i]);
      kept++;
    }
    found.resize(kept);
    asked = kept;
    return true;
  }

  bool Excluded(const Task& dir, const char* name) {
    for (const std::string& pattern : options_.exclude_names) {
      if (fnmatch(pattern.c_str(), name, 0) == 0) return true;
    }
    if (options_.exclude_paths.empty()) return false;
    std::string rel =
        dir.rel_path.empty() ? std::string(name) : dir.rel_path + "/" + name;
    for (const std::string& pattern : options_.exclude_paths) {
      if (fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME) == 0) return true;
    }
    return false;
  }

  // Packs one entry (a summing walk: adds it up); `type` becomes the type
  // from lstat when stat ran.
  bool Entry(int dir_fd, const Task& dir, const char* name, uint8_t& type) {
    struct stat st;
    if (options_.stat_mask != 0 || type == DT_UNKNOWN || summing_) {
      if (StatAt(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = IFTODT(st.st_mode);
      } else {
        int err = errno;
        type = DT_UNKNOWN;
        std::string rel = dir.rel_path.empty() ? std::string(name)
                                               : dir.rel_path + "/" + name;
        return ErrorRecord(err, "lstat", rel);
      }
    }
    if (summing_) return Sum(st);
    if (!MakeRoom()) return false;
    if (!dir_record_written_) {
      batch_.DirRecord(dir.depth, dir.rel_path);
      dir_record_written_ = true;
    }
    batch_.Entry(name, type, st);
    return true;
  }

  // Adds one entry to the thread's sums, and sends them every
  // kSummaryEvery entries: the consumer's progress.
  bool Sum(const struct stat& st) {
    if ((options_.flags & kOneFileSystem) && st.st_dev != shared_.root_dev) {
      return true;  // a mount point: du -x leaves it out
    }
    uint32_t kind = kSumFiles;
    if (S_ISDIR(st.st_mode)) {
      kind = kSumDirs;
    } else if (st.st_nlink > 1 && !shared_.FirstName(st)) {
      kind = kSumLinks;
    }
    sums_[kind + kSumEntries] += 1;
    sums_[kind + kSumApparent] += static_cast<uint64_t>(st.st_size);
    sums_[kind + kSumAllocated] += static_cast<uint64_t>(st.st_blocks) * 512;
    if (++summed_ < kSummaryEvery) return true;
    return PutSums() && Flush();
  }

  // The sums since the last SUMMARY record, as one more.
  bool PutSums() {
    if (!MakeRoom()) return false;
    batch_.SummaryRecord(sums_);
    std::fill(std::begin(sums_), std::end(sums_), 0);
    summed_ = 0;
    return true;
  }

  // Flushes a full batch.
  bool MakeRoom() { return batch_.Size() < options_.batch_bytes || Flush(); }

  bool ErrorRecord(int err, std::string_view syscall_name,
                   std::string_view rel) {
    if (!MakeRoom()) return false;
    batch_.ErrorRecord(err, syscall_name, rel);
    return true;
  }

  // Hands the batch to the sink; the next batch restates its directory.
  // A batch that asks is sent even when empty (its entries went before).
  bool Flush(uint32_t flags = 0) {
    if (batch_.Empty() && flags == 0) return true;
    bool go_on = shared_.sink(batch_.Finish(flags));
    batch_.Clear();
    dir_record_written_ = false;
    return go_on && !shared_.Stopped();
  }

  Shared& shared_;
  const WalkOptions& options_;
  BatchWriter batch_;
  DirReader dirs_;
  bool dir_record_written_ = false;
  const bool summing_;
  uint64_t sums_[kSummaryValues] = {};
  uint32_t summed_ = 0;  // entries in sums_
};

}  // namespace

int Walk(int root_fd, const WalkOptions& options, const BatchSink& sink,
         const std::atomic<bool>& cancelled) {
  if (options.max_depth == 0) {
    close(root_fd);
    return 0;
  }
  Shared shared(options, sink, cancelled);
  struct stat root_st;
  if (Fstat(root_fd, &root_st) == 0) shared.root_dev = root_st.st_dev;
  shared.Start(Task{nullptr, std::string(), std::string(), 0, root_fd});
  unsigned threads = options.threads < 1 ? 1 : options.threads;
  std::vector<std::thread> helpers;
  for (unsigned i = 1; i < threads; i++) {
    try {
      helpers.emplace_back([&shared] { Walker(shared).Run(); });
    } catch (const std::system_error&) {
      break;  // no thread to be had: walk with those there are
    }
  }
  Walker(shared).Run();
  for (auto& t : helpers) t.join();
  return 0;
}

}  // namespace unshare_fs

// The directory work queue of the jobs that go through a tree on several
// threads (the walk, the change jobs): directories still to be listed,
// taken depth first (the newest), so that open directory fds stay near the
// tree's depth; the work is over once none is left and no thread is
// listing one (which could add more), or once the job stops.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace unshare_fs {

template <typename Task>
class WorkQueue {
 public:
  // `stopped` is asked under the queue's lock whenever a thread wakes.
  explicit WorkQueue(std::function<bool()> stopped)
      : stopped_(std::move(stopped)) {}

  // One more directory to list.
  void Push(Task task) {
    std::lock_guard<std::mutex> lk(mu_);
    tasks_.push_back(std::move(task));
    cv_.notify_one();
  }

  // The directory taken is listed, and these are the directories it
  // held, pushed in reverse so that they are taken in the order read: one
  // lock and one wake-up for the lot (a walk of many small directories
  // does this for each).
  void Done(std::vector<Task>& found) {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      tasks_.push_back(std::move(*it));
    }
    busy_--;
    cv_.notify_all();
  }

  // Waits for a directory to list, and counts this thread busy with it;
  // false once the work is over.
  bool Take(Task& task) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !tasks_.empty() || busy_ == 0 || stopped_(); });
    if (tasks_.empty() || stopped_()) {
      cv_.notify_all();
      return false;
    }
    task = std::move(tasks_.back());
    tasks_.pop_back();
    busy_++;
    return true;
  }

  // The directory taken is listed (what it held is pushed already).
  void Done() {
    std::lock_guard<std::mutex> lk(mu_);
    if (--busy_ == 0 || !tasks_.empty()) cv_.notify_all();
  }

  // The job stopped: wakes every waiting thread, and hands back what was
  // left (for its fds to be closed).
  std::vector<Task> Stop() {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<Task> left = std::move(tasks_);
    tasks_.clear();
    cv_.notify_all();
    return left;
  }

 private:
  const std::function<bool()> stopped_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Task> tasks_;
  int busy_ = 0;
};

}  // namespace unshare_fs

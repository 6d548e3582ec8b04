// A streaming request in progress (a walk, a read, a write, a tree job):
// its credit, the data a write receives, and how a cancel reaches it
// wherever it waits.
#pragma once

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace unshare_fs {

class Job {
 public:
  explicit Job(uint32_t credit) : credit_(credit), window_(credit) {}
  ~Job() {
    if (wake_fd_ >= 0) close(wake_fd_);
  }
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // Waits for a credit and takes it; false once cancelled.  Called by every
  // thread of a walk at once, so credit and cancel wake them all.
  bool TakeCredit() {
    std::unique_lock<std::mutex> lk(mu_);
    if (credit_ == 0 && !Cancelled()) {
      credit_waits_++;
      cv_.wait(lk, [&] { return credit_ > 0 || Cancelled(); });
      credit_waits_--;
    }
    if (Cancelled()) return false;
    credit_--;
    return true;
  }

  void AddCredit(uint32_t n) {
    std::lock_guard<std::mutex> lk(mu_);
    credit_ = credit_ + n < credit_ ? UINT32_MAX : credit_ + n;
    cv_.notify_all();
  }

  void Cancel() {
    std::lock_guard<std::mutex> lk(mu_);
    cancelled_.store(true, std::memory_order_relaxed);
    cv_.notify_all();
    if (wake_fd_ >= 0) {
      uint64_t one = 1;
      ssize_t ignored = write(wake_fd_, &one, sizeof one);
      (void)ignored;
    }
  }

  // A write's data, queued by the reading thread.  The client sends at most
  // the window ahead of the credit the job gives back; one that sends more
  // cancels its job (false), so memory stays bounded whatever it sends.
  bool PushData(std::string&& bytes, bool end) {
    std::lock_guard<std::mutex> lk(mu_);
    if (ended_ || (!end && inbox_.size() >= window_)) {
      overrun_ = true;
      cancelled_.store(true, std::memory_order_relaxed);
      cv_.notify_all();
      return false;
    }
    if (end) {
      ended_ = true;
    } else {
      inbox_.push_back(std::move(bytes));
    }
    cv_.notify_all();
    return true;
  }

  // The next data frame (1), the end of the data (0), or cancelled (-1).
  int TakeData(std::string& bytes) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !inbox_.empty() || ended_ || Cancelled(); });
    if (Cancelled()) return -1;
    if (inbox_.empty()) return 0;
    bytes = std::move(inbox_.front());
    inbox_.pop_front();
    return 1;
  }

  // Whether the client broke the window (a protocol error, not a cancel).
  bool Overrun() {
    std::lock_guard<std::mutex> lk(mu_);
    return overrun_;
  }

  bool Cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  // Whether a thread of the job waits for credit now (the server's
  // counters, for tests).
  bool WaitingForCredit() {
    std::lock_guard<std::mutex> lk(mu_);
    return credit_waits_ > 0;
  }
  const std::atomic<bool>& CancelFlag() const { return cancelled_; }

  // Waits until `fd` has `events` or the job is cancelled: 1 when ready,
  // 0 when cancelled, -1 with errno on error.  For reads that may block
  // for ever (a FIFO whose writer never writes, a character device).
  int WaitReady(int fd, short events) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (wake_fd_ < 0) wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wake_fd_ < 0) return -1;
      if (Cancelled()) return 0;
    }
    struct pollfd fds[2] = {{fd, events, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
      int n = poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      if (fds[1].revents != 0 || Cancelled()) return 0;
      return 1;
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t credit_;
  unsigned credit_waits_ = 0;  // threads in TakeCredit, waiting
  const uint32_t window_;
  std::deque<std::string> inbox_;
  bool ended_ = false;
  bool overrun_ = false;
  std::atomic<bool> cancelled_{false};
  int wake_fd_ = -1;
};

}  // namespace unshare_fs

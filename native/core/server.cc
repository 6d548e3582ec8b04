#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ops.h"
#include "walker.h"

namespace unshare_fs {
namespace {

// Reads little-endian fields out of one request's payload.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool U32(uint32_t& v) { return Take(&v, 4); }
  bool U64(uint64_t& v) { return Take(&v, 8); }
  bool String(std::string& s) {
    uint32_t len;
    if (!U32(len) || len > n_) return false;
    s.assign(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return true;
  }
  std::string Rest() {
    std::string s(reinterpret_cast<const char*>(p_), n_);
    n_ = 0;
    return s;
  }

 private:
  bool Take(void* v, size_t k) {
    if (n_ < k) return false;
    std::memcpy(v, p_, k);
    p_ += k;
    n_ -= k;
    return true;
  }
  const uint8_t* p_;
  size_t n_;
};

constexpr long kSpinNanos = 100 * 1000;
constexpr int kSendBufferBytes = 2 << 20;

struct WalkJob {
  std::mutex mu;
  std::condition_variable cv;
  uint32_t credit = 0;
  std::atomic<bool> cancelled{false};
};

class Server {
 public:
  explicit Server(int fd) : fd_(fd) {
    // A walk's credit window (WALK_WINDOW batches in lib/walk-stream.ts)
    // must fit in the socket: with the default send buffer (about three
    // batches) the walker threads block in sendmsg whenever the client is
    // busy (JIT warm-up, GC), and a CPU idles.  The kernel caps this at
    // net.core.wmem_max; failing is harmless.
    int bytes = kSendBufferBytes;
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }

  void Run() {
    std::vector<uint8_t> in;
    in.reserve(64 * 1024);
    size_t start = 0;
    uint8_t chunk[64 * 1024];
    for (;;) {
      ssize_t n = Receive(chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      in.insert(in.end(), chunk, chunk + n);
      while (in.size() - start >= 4) {
        uint32_t len;
        std::memcpy(&len, &in[start], 4);
        if (len < kFrameHeader - 4 || len > kMaxRequest) {
          goto done;  // not our protocol: drop the connection
        }
        if (in.size() - start < 4 + len) break;
        Dispatch(&in[start + 4], len);
        start += 4 + len;
      }
      in.erase(in.begin(), in.begin() + static_cast<long>(start));
      start = 0;
    }
  done:
    Shutdown();
  }

 private:
  // After a reply, a client issuing calls one after another sends its next
  // request within tens of microseconds.  Polling the socket for a short
  // while first spares both sides a sleep and a cross-CPU wakeup, which is
  // most of a round trip's latency.  Not while a walk runs: its threads
  // need the CPU more.
  ssize_t Receive(uint8_t* buf, size_t size) {
    if (spin_ && running_.load(std::memory_order_relaxed) == 0) {
      spin_ = false;
      struct timespec start, now;
      clock_gettime(CLOCK_MONOTONIC, &start);
      for (;;) {
        ssize_t n = recv(fd_, buf, size, MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000000000L +
                       (now.tv_nsec - start.tv_nsec);
        if (elapsed > kSpinNanos) break;
        sched_yield();  // a runnable client on this CPU goes first
      }
    }
    return read(fd_, buf, size);
  }

  void Dispatch(const uint8_t* frame, size_t len) {
    uint32_t id;
    std::memcpy(&id, frame, 4);
    auto op = static_cast<Op>(frame[4]);
    Reader r(frame + 8, len - 8);
    ByteBuffer out;
    switch (op) {
      case Op::kLstat:
      case Op::kStat:
      case Op::kReadlink:
      case Op::kReadFile: {
        std::string path = r.Rest();
        if (path.empty() || path.find('\0') != std::string::npos) {
          ErrorFrame(out, id, EINVAL, "request", path);
        } else if (op == Op::kReadlink) {
          ReadlinkOp(out, id, root_fd_, path);
        } else if (op == Op::kReadFile) {
          ReadFileOp(
              out, id, root_fd_, path,
              [](void* self, ByteBuffer& b) {
                static_cast<Server*>(self)->Send(b);
                b.Clear();
              },
              this);
        } else {
          StatOp(out, id, root_fd_, path, op == Op::kStat);
        }
        break;
      }
      case Op::kSetRoot: {
        std::string path = r.Rest();
        int fd = path.find('\0') == std::string::npos
                     ? open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)
                     : (errno = EINVAL, -1);
        if (fd < 0) {
          ErrorFrame(out, id, errno, "open", path);
        } else {
          if (root_fd_ >= 0) close(root_fd_);
          root_fd_ = fd;
          size_t at = out.BeginFrame(id, Reply::kEnd);
          out.FinishFrame(at);
        }
        break;
      }
      case Op::kWalk:
        StartWalk(id, r, out);
        break;
      case Op::kCredit: {
        uint32_t n = 0;
        if (!r.U32(n)) break;
        if (auto job = FindJob(id)) {
          std::lock_guard<std::mutex> lk(job->mu);
          job->credit += n;
          job->cv.notify_one();
        }
        break;
      }
      case Op::kCancel:
        if (auto job = FindJob(id)) {
          std::lock_guard<std::mutex> lk(job->mu);
          job->cancelled = true;
          job->cv.notify_one();
        }
        break;
      case Op::kMount: {
        uint64_t flags = 0;
        std::string source, target, fstype, data;
        if (r.U64(flags) && r.String(source) && r.String(target) &&
            r.String(fstype) && r.String(data)) {
          MountOp(out, id, source, target, fstype, flags, data);
        } else {
          ErrorFrame(out, id, EINVAL, "request", "");
        }
        break;
      }
      case Op::kUnmount: {
        uint32_t flags = 0;
        if (r.U32(flags)) {
          UnmountOp(out, id, r.Rest(), flags);
        } else {
          ErrorFrame(out, id, EINVAL, "request", "");
        }
        break;
      }
      default:
        ErrorFrame(out, id, ENOSYS, "request", "");
    }
    if (out.Size() > 0) {
      Send(out);
      spin_ = true;
    }
  }

  void StartWalk(uint32_t id, Reader& r, ByteBuffer& out) {
    WalkOptions options;
    uint32_t window = 0, batch_bytes = 0;
    if (!r.U32(options.max_depth) || !r.U32(options.stat_mask) ||
        !r.U32(options.flags) || !r.U32(window) || !r.U32(batch_bytes)) {
      ErrorFrame(out, id, EINVAL, "request", "");
      return;
    }
    std::string path = r.Rest();
    if (path.empty() || path.find('\0') != std::string::npos) {
      ErrorFrame(out, id, EINVAL, "request", path);
      return;
    }
    options.stat_mask &= kAllStat;
    options.threads = (options.flags & kThreadsMask) >> kThreadsShift;
    if (options.threads > 16) options.threads = 16;
    if (batch_bytes >= 4096 && batch_bytes <= (8u << 20)) {
      options.batch_bytes = batch_bytes;
    }
    int root_fd = OpenPath(root_fd_, path, O_RDONLY | O_DIRECTORY);
    if (root_fd < 0) {
      ErrorFrame(out, id, errno, "scandir", path);
      return;
    }
    auto job = std::make_shared<WalkJob>();
    job->credit = window == 0 ? 1 : window;
    {
      std::lock_guard<std::mutex> lk(jobs_mu_);
      jobs_[id] = job;
      running_++;
    }
    std::thread([this, id, job, options, root_fd] {
      BatchSink sink = [this, id, &job](const ByteBuffer& batch) {
        {
          std::unique_lock<std::mutex> lk(job->mu);
          job->cv.wait(lk, [&] { return job->credit > 0 || job->cancelled; });
          if (job->cancelled) return false;
          job->credit--;
        }
        return SendBatch(id, batch);
      };
      Walk(root_fd, options, sink, job->cancelled);
      ByteBuffer end;
      size_t at = end.BeginFrame(id, Reply::kEnd);
      end.FinishFrame(at);
      if (job->cancelled) end.MutableData()[at + 9] = 1;
      Send(end);
      std::lock_guard<std::mutex> lk(jobs_mu_);
      jobs_.erase(id);
      if (--running_ == 0) jobs_cv_.notify_all();
    }).detach();
  }

  std::shared_ptr<WalkJob> FindJob(uint32_t id) {
    std::lock_guard<std::mutex> lk(jobs_mu_);
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second;
  }

  bool SendBatch(uint32_t id, const ByteBuffer& batch) {
    ByteBuffer header;
    size_t at = header.BeginFrame(id, Reply::kBatch);
    header.PatchU32(at, static_cast<uint32_t>(kFrameHeader - 4 + batch.Size()));
    struct iovec iov[2] = {
        {const_cast<uint8_t*>(header.Data()), header.Size()},
        {const_cast<uint8_t*>(batch.Data()), batch.Size()},
    };
    return WriteAll(iov, 2);
  }

  bool Send(const ByteBuffer& out) {
    struct iovec iov = {const_cast<uint8_t*>(out.Data()), out.Size()};
    return WriteAll(&iov, 1);
  }

  // Writes whole frames; MSG_NOSIGNAL because the worker runs with default
  // signal dispositions and a closed peer must not kill it with SIGPIPE.
  bool WriteAll(struct iovec* iov, int count) {
    std::lock_guard<std::mutex> lk(write_mu_);
    if (broken_) return false;
    while (count > 0) {
      struct msghdr msg = {};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(count);
      ssize_t n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        broken_ = true;
        return false;
      }
      auto left = static_cast<size_t>(n);
      while (count > 0 && left >= iov->iov_len) {
        left -= iov->iov_len;
        iov++;
        count--;
      }
      if (count > 0) {
        iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
    }
    return true;
  }

  void Shutdown() {
    std::unique_lock<std::mutex> lk(jobs_mu_);
    for (auto& [id, job] : jobs_) {
      std::lock_guard<std::mutex> jl(job->mu);
      job->cancelled = true;
      job->cv.notify_one();
    }
    // A walk blocked in sendmsg wakes up once the peer is gone.
    shutdown(fd_, SHUT_RDWR);
    jobs_cv_.wait(lk, [&] { return running_ == 0; });
    lk.unlock();
    if (root_fd_ >= 0) close(root_fd_);
    close(fd_);
  }

  int fd_;
  int root_fd_ = -1;  // set by kSetRoot; read by walk threads after that
  std::mutex write_mu_;
  bool broken_ = false;
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::unordered_map<uint32_t, std::shared_ptr<WalkJob>> jobs_;
  std::atomic<int> running_{0};  // walks in progress
  bool spin_ = false;            // a reply just went out
};

}  // namespace

void Serve(int fd) {
  Server server(fd);
  server.Run();
}

}  // namespace unshare_fs

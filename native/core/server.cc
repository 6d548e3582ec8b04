#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "change.h"
#include "diff.h"
#include "files.h"
#include "fs.h"
#include "handles.h"
#include "job.h"
#include "ops.h"
#include "reply.h"
#include "request.h"
#include "tar.h"
#include "walker.h"

namespace unshare_fs {
namespace {

constexpr long kSpinNanos = 100 * 1000;
// Request threads of one server: what many blocked requests can hold.
constexpr unsigned kMaxThreads = 32;
// Extra walker threads of all walks of one server together.
constexpr unsigned kMaxWalkHelpers = 32;
// Idle threads kept (the one a quick request hands reading to); more exit
// after kIdleExit.
constexpr unsigned kKeepIdle = 1;
constexpr auto kIdleExit = std::chrono::seconds(2);
// A job running this long may never end (a FIFO, a hung mount, a paused
// consumer): a queued request then gets a thread of its own.
constexpr int64_t kSlowJobNanos = 1000 * 1000;
constexpr int kSlowCheckMs = 1;
// How often a follower looks at a leader running quick requests, and for
// how long after the last one.
constexpr auto kWatchEvery = std::chrono::milliseconds(2);
constexpr int64_t kWatchLinger = 100 * 1000 * 1000;
// Threads that run only quick requests (stats), on top of kMaxThreads: a
// quick request never waits behind longer ones, however many of those
// block.  More than one only while one hangs (a hung FUSE or NFS file).
constexpr unsigned kMaxQuickThreads = 4;
constexpr size_t kReadBytes = 64 * 1024;

int64_t NowNanos() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

// The window of a streaming request's fields: the credit its job starts
// with (0 for tree jobs, which send progress without credit).
template <typename Args>
uint32_t WindowOf(const Args& args) {
  if constexpr (requires { args.window; }) {
    return args.window;
  } else {
    return 0;
  }
}

// Leader/followers: one thread at a time reads the socket.  A quick request
// (a stat) it runs itself, inline, while an idle follower watches: should
// the request hang (a hung FUSE or NFS file), the follower takes reading
// over after kSlowJobNanos.  With no follower idle, a quick request goes
// to the quick threads instead, which run nothing else.  A longer request
// (a walk, a read, a mount) it hands reading to an idle thread for and
// then runs itself.  With no thread idle, requests wait in a queue for the
// next free thread, and when the busy threads look stuck, a new thread (up
// to kMaxThreads) takes them.  The leader never waits for room in a queue:
// running jobs need the frames behind the requests it reads (a write's
// data, credit, a cancel), and only the leader reads them.
class Server : public std::enable_shared_from_this<Server> {
 public:
  Server(int fd, const ServeOptions& options)
      : fd_(fd), options_(options), read_buffer_(new uint8_t[kReadBytes]) {
    // A walk's credit window (kWalkWindow batches) must fit in the socket:
    // with the default send buffer (about three batches) the walker
    // threads block in sendmsg whenever the client is busy (JIT warm-up,
    // GC), and a CPU idles.  Failing is harmless.
    int bytes = kSendBufferBytes;
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }

  ~Server() {
    int root = root_fd_.load();
    if (root >= 0) close(root);
    close(fd_);
  }

  // Runs the calling thread as the first request thread until the client
  // is gone, then waits at most the grace for the other threads.
  void Run() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      threads_ = 1;
      StartThreadLocked();  // so that the first request finds one idle
    }
    ThreadMain(true);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait_for(lk, std::chrono::milliseconds(options_.exit_grace_ms),
                      [&] { return threads_ == 0 && quick_threads_ == 0; });
  }

 private:
  struct ThreadState {
    int64_t busy_since = 0;  // when its job started; 0 when not running one
  };

  // `primary`: the thread that called Run(), which leaves only when the
  // client is gone (the others also leave when idle for long).
  void ThreadMain(bool primary) {
    auto keep_alive = shared_from_this();
    ThreadState state;
    std::unique_lock<std::mutex> lk(mu_);
    if (!primary) starting_--;
    states_.push_back(&state);
    for (;;) {
      if (stopping_) break;
      if (!quick_queue_.empty()) {
        Request request = std::move(quick_queue_.front());
        quick_queue_.pop_front();
        RunJob(lk, state, request);
        continue;
      }
      if (!queue_.empty()) {
        Request request = std::move(queue_.front());
        queue_.pop_front();
        queued_.store(queue_.size(), std::memory_order_relaxed);
        RunJob(lk, state, request);
        continue;
      }
      if (!leader_) {
        leader_ = true;
        exec_since_.store(0, std::memory_order_relaxed);
        bool spin = spin_next_;
        spin_next_ = false;
        lk.unlock();
        Request request;
        Led led = Lead(request, spin);
        lk.lock();
        if (led == Led::kEnd) {
          Stop(lk);
          break;
        }
        if (led == Led::kRun) RunJob(lk, state, request);
        continue;  // kDeposed: reading went to another thread meanwhile
      }
      idle_++;
      idle_count_++;
      bool woken = cv_.wait_for(lk, watching_ ? kWatchEvery : kIdleExit, [&] {
        return stopping_ || !queue_.empty() || !quick_queue_.empty() ||
               !leader_;
      });
      idle_--;
      idle_count_--;
      if (woken) continue;
      if (watching_) {
        Watch();
        continue;
      }
      if (!primary && idle_ >= kKeepIdle) break;
    }
    states_.erase(std::find(states_.begin(), states_.end(), &state));
    if (--threads_ == 0 && quick_threads_ == 0) done_cv_.notify_all();
  }

  // A quick thread: runs quick requests only, so that requests that block
  // (FIFO reads, paused streams, as many as kMaxThreads) never hold up a
  // stat.  Leaves when idle for kIdleExit.
  void QuickMain() {
    auto keep_alive = shared_from_this();
    ThreadState state;
    std::unique_lock<std::mutex> lk(mu_);
    quick_starting_--;
    for (;;) {
      if (stopping_) break;
      if (!quick_queue_.empty()) {
        Request request = std::move(quick_queue_.front());
        quick_queue_.pop_front();
        RunJob(lk, state, request);
        continue;
      }
      quick_idle_++;
      bool woken = quick_cv_.wait_for(
          lk, kIdleExit, [&] { return stopping_ || !quick_queue_.empty(); });
      quick_idle_--;
      if (!woken) break;
    }
    if (--quick_threads_ == 0 && threads_ == 0) done_cv_.notify_all();
  }

  // Hands a quick request to the quick threads (no follower is idle to
  // watch it run inline): starts one when every quick thread is busy,
  // up to kMaxQuickThreads; runs it here when none can be made.
  void QueueQuick(Request&& request) {
    std::unique_lock<std::mutex> lk(mu_);
    quick_queue_.push_back(std::move(request));
    cv_.notify_one();  // a request thread that came free meanwhile
    if (quick_idle_ > 0) {
      quick_cv_.notify_one();
      return;
    }
    if (quick_starting_ >= quick_queue_.size()) return;
    if (quick_threads_ < kMaxQuickThreads) {
      try {
        std::thread([self = shared_from_this()] {
          self->QuickMain();
        }).detach();
        quick_threads_++;
        quick_starting_++;
        return;
      } catch (const std::system_error&) {
      }
    }
    if (quick_threads_ > 0) return;  // the next free one takes it
    Request alone = std::move(quick_queue_.back());
    quick_queue_.pop_back();
    lk.unlock();
    Execute(alone);
  }

  void RunJob(std::unique_lock<std::mutex>& lk, ThreadState& state,
              Request& request) {
    state.busy_since = NowNanos();
    lk.unlock();
    Execute(request);
    lk.lock();
    state.busy_since = 0;
  }

  // Starts a request thread; false when none can be made.  mu_ held.
  bool StartThreadLocked() {
    if (threads_ >= kMaxThreads) return false;
    try {
      std::thread([self = shared_from_this()] {
        self->ThreadMain(false);
      }).detach();
    } catch (const std::system_error&) {
      return false;
    }
    threads_++;
    starting_++;
    return true;
  }

  // A queued request waits for a busy thread only while the busy threads
  // look like they will be free soon.  mu_ held.
  void MaybeStartForQueueLocked() {
    if (queue_.empty() || idle_ > 0) return;
    int64_t now = NowNanos();
    bool all_stuck = true;
    for (const ThreadState* s : states_) {
      if (s->busy_since != 0 && now - s->busy_since < kSlowJobNanos) {
        all_stuck = false;
      }
    }
    if (all_stuck) StartThreadLocked();
  }

  // A follower's look at the leader while quick requests run inline: one
  // that has run one request for longer than kSlowJobNanos (a stat on a
  // hung FUSE or NFS file) loses reading to this thread.  Stops watching
  // once no quick request came for kWatchLinger.  mu_ held.
  void Watch() {
    int64_t now = NowNanos();
    int64_t since = exec_since_.load();
    if (since > 0 && now - since > kSlowJobNanos &&
        exec_since_.compare_exchange_strong(since, -1)) {
      leader_ = false;  // the stuck thread finds out when it returns
      return;
    }
    if (now - last_inline_.load(std::memory_order_relaxed) > kWatchLinger) {
      watching_ = false;
      watching_relaxed_.store(false, std::memory_order_relaxed);
    }
  }

  // Runs a quick request (a stat, a readlink) in the reading thread: no
  // hand-off, as cheap as a request can be.  False when this thread was
  // deposed meanwhile (see Watch) and must not read any more.
  bool RunInline(Request& request) {
    int64_t started = NowNanos();
    exec_since_.store(started);
    last_inline_.store(started, std::memory_order_relaxed);
    if (!watching_relaxed_.load(std::memory_order_relaxed)) {
      // The first quick request after a quiet spell wakes a watcher; the
      // rest cost nothing.
      std::lock_guard<std::mutex> lk(mu_);
      watching_ = true;
      watching_relaxed_.store(true, std::memory_order_relaxed);
      cv_.notify_one();
    }
    Execute(request);
    return exec_since_.compare_exchange_strong(started, 0);
  }

  enum class Led { kRun, kEnd, kDeposed };

  // Reads frames as the leader: answers control frames and bad frames
  // itself, runs quick requests inline, and returns the first longer
  // request to run once reading is handed to another thread (kRun).
  // kEnd when the client is gone.
  Led Lead(Request& out, bool spin) {
    for (;;) {
      while (!splitter_.Next(frame_)) {
        ssize_t n = Receive(spin);
        spin = false;
        if (n <= 0) return Led::kEnd;
        splitter_.Append(read_buffer_.get(), static_cast<size_t>(n));
      }
      Request request;
      int err = ParseRequest(frame_, request);
      if (err != 0) {
        ReplyError(request.id, err, "request");
        continue;
      }
      const OpKind kind = KindOf(request.op);
      if (kind == OpKind::kControl) {
        std::visit([&](auto& args) { Control(request.id, args); },
                   request.args);
        continue;
      }
      // Inline only with a follower to watch; else on a quick thread.
      if (kind == OpKind::kQuick) {
        if (idle_count_.load() == 0) {
          QueueQuick(std::move(request));
          continue;
        }
        if (!RunInline(request)) return Led::kDeposed;
        // The client of a quick request sends its next one right after
        // the reply: poll a little before sleeping.
        spin = streams_.load(std::memory_order_relaxed) == 0;
        continue;
      }
      if (kind == OpKind::kStream && !RegisterJob(request)) {
        ReplyError(request.id, EEXIST, "request");
        continue;
      }
      std::unique_lock<std::mutex> lk(mu_);
      if (idle_ > 0) {
        leader_ = false;
        spin_next_ = streams_.load(std::memory_order_relaxed) == 0;
        cv_.notify_one();
        out = std::move(request);
        return Led::kRun;
      }
      // No bound: what waits here, the client holds too until it is
      // answered, and running jobs may depend on frames not yet read.
      queue_.push_back(std::move(request));
      queued_.store(queue_.size(), std::memory_order_relaxed);
      MaybeStartForQueueLocked();
      if (idle_ == 0 && starting_ == 0 && !AnyBusyLocked()) {
        // No thread could be made and none will come back for it: the
        // request is refused (a walk run here would wait for credit nobody
        // reads).
        Request alone = std::move(queue_.back());
        queue_.pop_back();
        queued_.store(queue_.size(), std::memory_order_relaxed);
        lk.unlock();
        {
          std::lock_guard<std::mutex> jl(jobs_mu_);
          jobs_.erase(alone.id);
        }
        ReplyError(alone.id, EAGAIN, "pthread_create");
      }
    }
  }

  bool AnyBusyLocked() const {
    for (const ThreadState* s : states_) {
      if (s->busy_since != 0) return true;
    }
    return false;
  }

  // Reads more bytes: the count, 0 at the end of the stream, -1 on error.
  // Polls briefly first after a quick reply (see Lead); wakes up every
  // kSlowCheckMs while requests are queued, to give them a thread when the
  // busy ones are stuck.
  ssize_t Receive(bool spin) {
    uint8_t* buffer = read_buffer_.get();
    if (spin) {
      int64_t start = NowNanos();
      do {
        ssize_t n = recv(fd_, buffer, kReadBytes, MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
        sched_yield();  // a runnable client on this CPU goes first
      } while (NowNanos() - start < kSpinNanos);
    }
    for (;;) {
      if (queued_.load(std::memory_order_relaxed) > 0) {
        struct pollfd p = {fd_, POLLIN, 0};
        int ready = poll(&p, 1, kSlowCheckMs);
        if (ready == 0) {
          std::lock_guard<std::mutex> lk(mu_);
          MaybeStartForQueueLocked();
          continue;
        }
      }
      ssize_t n = recv(fd_, buffer, kReadBytes, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  // Control frames, for a running job; a finished one's (after its error)
  // are dropped.
  template <typename Args>
  void Control(uint32_t id, Args& args) {
    static_assert(Args::kKind != OpKind::kControl, "a control op unhandled");
  }
  void Control(uint32_t, std::monostate&) {}
  void Control(uint32_t id, req::Credit& args) {
    if (auto job = FindJob(id)) job->AddCredit(args.credit);
  }
  void Control(uint32_t id, req::Cancel&) {
    if (auto job = FindJob(id)) job->Cancel();
  }
  void Control(uint32_t id, req::WriteData& args) {
    if (auto job = FindJob(id)) job->PushData(std::move(args.data), false);
  }
  void Control(uint32_t id, req::WriteEnd&) {
    if (auto job = FindJob(id)) job->PushData({}, true);
  }
  void Control(uint32_t id, req::Descend& args) {
    if (auto job = FindJob(id)) job->PushData(std::move(args.verdicts), false);
  }
  // What the server holds now, for tests that must see that something did
  // not happen (no job left waiting, nothing queued) without sleeping:
  // one data frame of kCounterCount u32s, in Counter's order.
  void Control(uint32_t id, req::Counters&) {
    uint32_t counters[kCounterCount] = {};
    {
      std::lock_guard<std::mutex> lk(mu_);
      counters[kCounterThreads] = threads_;
      counters[kCounterQuickThreads] = quick_threads_;
      counters[kCounterQueued] = static_cast<uint32_t>(queue_.size());
      counters[kCounterQuickQueued] =
          static_cast<uint32_t>(quick_queue_.size());
      counters[kCounterIdle] = idle_;
    }
    {
      std::lock_guard<std::mutex> lk(jobs_mu_);
      counters[kCounterJobs] = static_cast<uint32_t>(jobs_.size());
      for (auto& [job_id, job] : jobs_) {
        if (job->WaitingForCredit()) counters[kCounterCreditWaits]++;
      }
    }
    counters[kCounterWalkHelpers] = walk_helpers_.load();
    ByteBuffer out;
    size_t at = out.BeginFrame(id, Reply::kData);
    for (uint32_t value : counters) out.U32(value);
    out.FinishFrame(at);
    Send(out);
  }

  // Runs a request on this thread, as its op's kind says.
  void Execute(Request& request) {
    std::visit([&](auto& args) { Dispatch(request.id, args); }, request.args);
  }

  template <typename Args>
  void Dispatch(uint32_t id, const Args& args) {
    if constexpr (Args::kKind == OpKind::kStream) {
      RunStream(id, args);
    } else if constexpr (Args::kKind == OpKind::kControl) {
      // Answered by the reading thread (Lead), never run as a request.
    } else {
      ByteBuffer out;
      Answer(out, id, args);
      Send(out);
    }
  }
  void Dispatch(uint32_t, const std::monostate&) {}  // answered by Lead

  // Single and quick ops: those of the session's own state here, the rest
  // in their files (ops.h, change.h).
  template <typename Args>
  void Answer(ByteBuffer& out, uint32_t id, const Args& args) {
    AnswerOp(out, id, RootFd(), args);
  }
  void Answer(ByteBuffer& out, uint32_t id, const req::Mount& args) {
    if (!options_.allow_mount) {
      ErrorFrame(out, id, EPERM, "mount", args.target);
    } else {
      MountOp(out, id, args.source, args.target, args.fstype, args.flags,
              args.data);
    }
  }
  void Answer(ByteBuffer& out, uint32_t id, const req::Unmount& args) {
    if (!options_.allow_mount) {
      ErrorFrame(out, id, EPERM, "umount", args.target);
    } else {
      UnmountOp(out, id, args.target, args.flags);
    }
  }

  int RootFd() const { return root_fd_.load(std::memory_order_acquire); }

  // open and the handle ops: the session's open files (handles.h).
  void Answer(ByteBuffer& out, uint32_t id, const req::Open& args) {
    AnswerOp(out, id, RootFd(), handles_, args);
  }
  template <typename Args>
  requires requires(Args a) { a.handle; }
  void Answer(ByteBuffer& out, uint32_t id, const Args& args) {
    AnswerOp(out, id, handles_, args);
  }

  // A session is rooted once, by enter(), before anything else runs.
  void Answer(ByteBuffer& out, uint32_t id, const req::SetRoot& args) {
    if (!options_.allow_set_root || RootFd() >= 0) {
      ErrorFrame(out, id, EPERM, "open", args.path);
      return;
    }
    int fd = open(args.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      ErrorFrame(out, id, errno, "open", args.path);
      return;
    }
    int none = -1;
    if (!root_fd_.compare_exchange_strong(none, fd)) {
      close(fd);
      ErrorFrame(out, id, EPERM, "open", args.path);
      return;
    }
    out.FinishFrame(out.BeginFrame(id, Reply::kEnd));
  }

  template <typename Args>
  void RunStream(uint32_t id, const Args& args) {
    std::shared_ptr<Job> job = FindJob(id);
    if (!job) return;  // cannot happen: registered when read
    streams_++;
    if constexpr (std::is_same_v<Args, req::Walk>) {
      RunWalk(id, args, *job);
    } else {
      SendFrames send = [this](const ByteBuffer& frames) {
        return Send(frames);
      };
      StreamOp(id, args, RootFd(), *job, send);
    }
    streams_--;
    std::lock_guard<std::mutex> lk(jobs_mu_);
    jobs_.erase(id);
  }

  void RunWalk(uint32_t id, const req::Walk& args, Job& job) {
    // A summing walk lists nothing for the client to prune.
    const bool invalid = (args.flags & kSummarize) && (args.flags & kPrune);
    int root_fd =
        invalid ? -1 : OpenPath(RootFd(), args.path, O_RDONLY | O_DIRECTORY);
    if (root_fd < 0) {
      ByteBuffer out;
      ErrorFrame(out, id, invalid ? EINVAL : errno, "scandir", args.path);
      Send(out);
      return;
    }
    WalkOptions options;
    options.max_depth = args.max_depth;
    options.stat_mask = args.stat_mask;
    options.flags = args.flags;
    options.batch_bytes = args.batch_bytes;
    for (const std::string& pattern : args.excludes) {
      // A leading slash anchors a pattern at the root: "/proc" is the path
      // "proc" below it, not every entry named proc.
      if (pattern[0] == '/') {
        if (pattern.size() > 1)
          options.exclude_paths.push_back(pattern.substr(1));
      } else {
        (pattern.find('/') == std::string::npos ? options.exclude_names
                                                : options.exclude_paths)
            .push_back(pattern);
      }
    }
    unsigned wanted = (args.flags & kThreadsMask) >> kThreadsShift;
    wanted = std::clamp(wanted, 1u, kMaxWalkThreads);
    if (args.flags & kPrune) {
      // One thread: the answers come in the order of the batches that ask.
      wanted = 1;
      options.descend = [&job](std::string& verdicts) {
        return job.TakeData(verdicts) == 1;
      };
    }
    unsigned helpers = ReserveWalkHelpers(wanted - 1);
    options.threads = 1 + helpers;
    BatchSink sink = [this, id, &job](const ByteBuffer& batch) {
      return job.TakeCredit() && SendBatch(id, batch);
    };
    Walk(root_fd, options, sink, job.CancelFlag());
    walk_helpers_ -= helpers;
    ByteBuffer end;
    end.FinishFrame(
        end.BeginFrame(id, Reply::kEnd, job.Cancelled() ? kEndCancelled : 0));
    Send(end);
  }

  unsigned ReserveWalkHelpers(unsigned wanted) {
    unsigned used = walk_helpers_.load();
    for (;;) {
      unsigned got =
          std::min(wanted, kMaxWalkHelpers - std::min(used, kMaxWalkHelpers));
      if (walk_helpers_.compare_exchange_weak(used, used + got)) return got;
    }
  }

  bool RegisterJob(const Request& request) {
    const uint32_t window = std::visit(
        [](const auto& args) -> uint32_t {
          if constexpr (std::is_same_v<std::decay_t<decltype(args)>,
                                       std::monostate>) {
            return 0;
          } else {
            return WindowOf(args);
          }
        },
        request.args);
    std::lock_guard<std::mutex> lk(jobs_mu_);
    auto job = std::make_shared<Job>(window);
    return jobs_.emplace(request.id, std::move(job)).second;
  }

  std::shared_ptr<Job> FindJob(uint32_t id) {
    std::lock_guard<std::mutex> lk(jobs_mu_);
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second;
  }

  // The client is gone: every job is cancelled, idle threads leave, and
  // the socket is shut down so that a reply stuck in sendmsg returns.
  void Stop(std::unique_lock<std::mutex>&) {
    stopping_ = true;
    leader_ = false;
    cv_.notify_all();
    quick_cv_.notify_all();
    {
      std::lock_guard<std::mutex> jl(jobs_mu_);
      for (auto& [id, job] : jobs_) job->Cancel();
    }
    shutdown(fd_, SHUT_RDWR);
  }

  void ReplyError(uint32_t id, int err, const char* syscall) {
    ByteBuffer out;
    ErrorFrame(out, id, err, syscall, "");
    Send(out);
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
    if (out.Size() == 0) return true;
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

  const int fd_;
  const ServeOptions options_;
  std::atomic<int> root_fd_{-1};
  // Closed with the server: a session's close closes its files.
  HandleTable handles_;

  // Reading: only the leader touches these.
  std::unique_ptr<uint8_t[]> read_buffer_;
  FrameSplitter splitter_;
  Frame frame_;

  // The threads, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;        // idle threads: leadership or a request
  std::condition_variable quick_cv_;  // idle quick threads: a request
  std::condition_variable done_cv_;   // Run(): every thread gone
  std::deque<Request> queue_;
  std::deque<Request> quick_queue_;  // for the quick threads
  std::atomic<size_t> queued_{0};
  std::vector<ThreadState*> states_;
  unsigned threads_ = 0;
  unsigned idle_ = 0;
  unsigned starting_ = 0;  // started, not yet in ThreadMain's loop
  unsigned quick_threads_ = 0;
  unsigned quick_idle_ = 0;
  unsigned quick_starting_ = 0;  // started, not yet in QuickMain's loop
  bool leader_ = false;
  bool spin_next_ = false;
  bool watching_ = false;  // a follower looks at the leader (see Watch)
  std::atomic<bool> watching_relaxed_{false};  // the same, read without mu_
  // When the leader started the quick request it runs inline; 0 while it
  // reads, -1 once a watcher took reading from it.
  std::atomic<int64_t> exec_since_{0};
  std::atomic<int64_t> last_inline_{0};
  std::atomic<unsigned> idle_count_{0};  // idle_, read without mu_
  bool stopping_ = false;

  std::mutex jobs_mu_;
  std::unordered_map<uint32_t, std::shared_ptr<Job>> jobs_;
  std::atomic<int> streams_{0};
  std::atomic<unsigned> walk_helpers_{0};

  std::mutex write_mu_;
  bool broken_ = false;
};

}  // namespace

void Serve(int fd, const ServeOptions& options) {
  auto server = std::make_shared<Server>(fd, options);
  server->Run();
}

}  // namespace unshare_fs

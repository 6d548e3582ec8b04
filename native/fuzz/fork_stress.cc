// The fork question on musl, where no musl Node runs (README, Architecture:
// "Why the worker may be a fork without exec"): native/core built by the
// prebuilds' Zig for x86_64-linux-musl (static, with Zig's libc++ as in the
// musl prebuilds) forks workers into this process's mount namespace while
// other threads allocate, and each worker must answer an lstat and exit 0.
// A worker stuck on a malloc lock it inherited held would hang the run.
// Built and run by scripts/musl-fork-stress.sh (root: the worker's setns).
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../core/protocol.h"
#include "../core/worker.h"

namespace {

using namespace unshare_fs;

std::atomic<bool> stop{false};

// Allocations on both sides of the mmap threshold, as fast as it can.
void Allocate(std::atomic<long>* rounds) {
  std::vector<std::string> keep;
  for (long round = 0; !stop.load(std::memory_order_relaxed); round++) {
    size_t size = 64 + static_cast<size_t>(round * 7919 % 300000);
    void* block = std::malloc(size);
    std::memset(block, static_cast<int>(round), size < 4096 ? size : 4096);
    keep.emplace_back(64 + round % 512, 'x');
    if (keep.size() > 64) keep.erase(keep.begin(), keep.begin() + 32);
    std::free(block);
    rounds->fetch_add(1, std::memory_order_relaxed);
  }
}

bool ReadAll(int fd, uint8_t* to, size_t size) {
  for (size_t got = 0; got < size;) {
    ssize_t n = recv(fd, to + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// One reply frame: its id and kind (protocol.h), the payload skipped.
bool ReadFrame(int fd, uint32_t& id, uint8_t& kind) {
  uint8_t head[kFrameHeader];
  if (!ReadAll(fd, head, sizeof head)) return false;
  uint32_t length;
  std::memcpy(&length, head, 4);
  std::memcpy(&id, head + 4, 4);
  kind = head[8];
  if (length < kFrameHeader - 4) return false;
  std::vector<uint8_t> payload(length + 4 - kFrameHeader);
  return ReadAll(fd, payload.data(), payload.size());
}

// A worker's whole life: ready frame, lstat("/") answered, exit 0.
bool OneSession(int i) {
  Target target;
  SysError error;
  Worker worker;
  if (!OpenTarget(getpid(), target, error) ||
      !SpawnWorker(target, false, worker, error)) {
    std::fprintf(stderr, "session %d: %s: %s\n", i, error.syscall,
                 std::strerror(error.err));
    return false;
  }
  uint32_t id = 0;
  uint8_t kind = 0;
  bool ok = ReadFrame(worker.fd, id, kind) &&
            kind == static_cast<uint8_t>(Reply::kReady);
  // lstat "/": u32 length, u32 id, u8 op, u8 flags, u16 0, the path.
  const uint8_t lstat[kFrameHeader + 1] = {kFrameHeader + 1 - 4,
                                           0,
                                           0,
                                           0,
                                           7,
                                           0,
                                           0,
                                           0,
                                           static_cast<uint8_t>(Op::kLstat),
                                           0,
                                           0,
                                           0,
                                           '/'};
  ok = ok && send(worker.fd, lstat, sizeof lstat, MSG_NOSIGNAL) ==
                 static_cast<ssize_t>(sizeof lstat);
  ok = ok && ReadFrame(worker.fd, id, kind) && id == 7 &&
       kind == static_cast<uint8_t>(Reply::kStat);
  close(worker.fd);
  ExitStatus status;
  bool reaped = Reap(worker.pidfd, status, true) == 1;
  close(worker.pidfd);
  if (!ok || !reaped || status.code != 0) {
    std::fprintf(stderr, "session %d: answered %d, exit %d, signal %d\n", i, ok,
                 status.code, status.signal);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int sessions = argc > 1 ? std::atoi(argv[1]) : 1000;
  int threads = argc > 2 ? std::atoi(argv[2]) : 3;
  if (sessions < 1 || threads < 1) {
    std::fprintf(stderr, "usage: fork_stress [SESSIONS [THREADS]]\n");
    return 2;
  }
  std::vector<std::atomic<long>> rounds(static_cast<size_t>(threads));
  std::vector<std::thread> allocators;
  for (auto& r : rounds) allocators.emplace_back(Allocate, &r);
  for (auto& r : rounds) {
    while (r.load() == 0) sched_yield();
  }
  long before = 0, after = 0;
  for (auto& r : rounds) before += r.load();
  int ok = 0;
  for (int i = 0; i < sessions && OneSession(i); i++) ok++;
  for (auto& r : rounds) after += r.load();
  stop = true;
  for (auto& t : allocators) t.join();
  std::printf(
      "fork_stress: %d of %d workers forked, answered and exited 0 while %d "
      "threads made %ld allocation rounds\n",
      ok, sessions, threads, after - before);
  return ok == sessions ? 0 : 1;
}

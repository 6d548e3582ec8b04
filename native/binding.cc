// The only file that speaks N-API: argument checks, errors, async plumbing.
// Everything else lives in core/ as plain C++ over syscalls.
#include <errno.h>
#include <napi.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cctype>
#include <climits>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/protocol.h"
#include "core/request.h"
#include "core/worker.h"

namespace {

using unshare_fs::SysError;

// A Port hands libuv's readiness bits on as they are: lib/ knows them as
// the protocol's.
static_assert(unshare_fs::kPortReadable == UV_READABLE);
static_assert(unshare_fs::kPortWritable == UV_WRITABLE);

// A plain Error carrying errno, syscall and path; lib/wire/native.ts turns it
// into a node:fs style error with the caller's stack.
Napi::Error SysErrorValue(Napi::Env env, const SysError& e) {
  Napi::Error error = Napi::Error::New(env, e.syscall);
  error.Set("errno", Napi::Number::New(env, e.err));
  error.Set("syscall", Napi::String::New(env, e.syscall));
  if (!e.path.empty()) error.Set("path", Napi::String::New(env, e.path));
  return error;
}

[[noreturn]] void ThrowSysError(Napi::Env env, const SysError& e) {
  throw SysErrorValue(env, e);
}

// A number that is an integer from `min` to `max`: 2**32 + N must not reach
// the kernel as N, nor 1.5 as 1.
int32_t IntegerArg(const Napi::CallbackInfo& info, size_t i, const char* name,
                   int32_t min, int32_t max) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(),
                               std::string("Expected a number for ") + name);
  }
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (!(value >= min && value <= max) || std::trunc(value) != value) {
    throw Napi::RangeError::New(
        info.Env(), std::string("Expected an integer from ") +
                        std::to_string(min) + " to " + std::to_string(max) +
                        " for " + name);
  }
  return static_cast<int32_t>(value);
}

int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return IntegerArg(info, i, name, INT32_MIN, INT32_MAX);
}

// A pid as the kernel takes one: a positive pid_t.
pid_t PidArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return IntegerArg(info, i, name, 1, INT32_MAX);
}

// A child of ours, watched through its pidfd on the event loop: no thread,
// and no libuv pool slot least of all, sits waiting for it.  Adopted right
// after fork (we are its parent, so its pid names nobody else until we reap
// it); gone once reaped, or when the environment is torn down.  Found by pid,
// so that JavaScript holds pids only, as before.
class ChildWatch {
 public:
  static void Adopt(napi_env env, pid_t pid, int pidfd) {
    auto* watch = new ChildWatch(env, pid, pidfd);
    {
      std::lock_guard<std::mutex> lock(registry_mutex_);
      registry_[pid] = watch;
    }
    // Async, so that teardown waits for our handles' close callbacks: they
    // are code of this addon, which may be unloaded right after.
    napi_add_async_cleanup_hook(env, OnTeardown, watch, &watch->teardown_);
  }

  // The watch of our child `pid` in this environment, or nullptr.
  static ChildWatch* Find(napi_env env, pid_t pid) {
    std::lock_guard<std::mutex> lock(registry_mutex_);
    auto it = registry_.find(pid);
    return it != registry_.end() && it->second->env_ == env ? it->second
                                                            : nullptr;
  }

  // Resolves with { code, signal } once the child has exited and been
  // reaped; kills it after `grace_ms` (negative: never).  The watch holds
  // the event loop only while somebody waits.
  Napi::Promise Wait(Napi::Env env, int grace_ms) {
    uv_loop_t* loop = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_get_uv_event_loop(env, &loop),
                         Napi::Promise());
    if (!polling_) {
      int r = uv_poll_init(loop, &poll_, pidfd_);
      if (r != 0) ThrowSysError(env, SysError{-r, "uv_poll_init", ""});
      polling_ = true;  // closed with us from now on
      poll_.data = this;
      r = uv_poll_start(&poll_, UV_READABLE, OnReadable);
      if (r != 0) ThrowSysError(env, SysError{-r, "uv_poll_start", ""});
      context_ = std::make_unique<Napi::AsyncContext>(env, "unshare-fs:reap");
    }
    if (grace_ms >= 0) KillAfter(loop, grace_ms);
    waiters_.push_back(Napi::Promise::Deferred::New(env));
    return waiters_.back().Promise();
  }

  int Kill(int sig) { return unshare_fs::SignalChild(pidfd_, sig); }

  // Still reaped when it exits, but no longer keeping the process alive
  // for it: a child that cannot die yet (stuck in an uninterruptible
  // wait, such as a lookup behind a hung FUSE mount).
  void Unref() {
    if (polling_) uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
  }

 private:
  ChildWatch(napi_env env, pid_t pid, int pidfd)
      : env_(env), pid_(pid), pidfd_(pidfd) {}

  // The earliest deadline asked for wins.  The timer never holds the loop:
  // the poll does, while somebody waits.
  void KillAfter(uv_loop_t* loop, int grace_ms) {
    uint64_t deadline = uv_now(loop) + static_cast<uint64_t>(grace_ms);
    if (timing_ && deadline >= deadline_) return;
    if (!timing_) {
      uv_timer_init(loop, &timer_);
      uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
      timer_.data = this;
      timing_ = true;
    }
    deadline_ = deadline;
    uv_timer_start(
        &timer_,
        [](uv_timer_t* t) { static_cast<ChildWatch*>(t->data)->Kill(SIGKILL); },
        static_cast<uint64_t>(grace_ms), 0);
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<ChildWatch*>(handle->data);
    unshare_fs::ExitStatus exit;
    SysError error{0, "", std::to_string(self->pid_)};
    if (status < 0) {
      error.err = -status;
      error.syscall = "uv_poll";
    } else {
      int r = unshare_fs::Reap(self->pidfd_, exit, false);
      if (r == 0) return;
      if (r < 0) error = SysError{errno, "waitid", error.path};
    }
    // Gone before anyone is told, so that a reap() called from their
    // callbacks finds no child, as waitpid would.
    Napi::Env env(self->env_);
    auto waiters = std::move(self->waiters_);
    auto context = std::move(self->context_);
    self->Close();
    Napi::HandleScope scope(env);
    Napi::CallbackScope callback_scope(env, *context);
    try {
      for (auto& waiter : waiters) {
        if (error.err != 0) {
          waiter.Reject(SysErrorValue(env, error).Value());
          continue;
        }
        Napi::Object result = Napi::Object::New(env);
        result.Set("code", exit.code >= 0 ? Napi::Number::New(env, exit.code)
                                          : env.Null());
        result.Set("signal", exit.signal > 0
                                 ? Napi::Number::New(env, exit.signal)
                                 : env.Null());
        waiter.Resolve(result);
      }
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  // The environment goes away (a worker_thread ends, or node exits): the
  // child would die of its death signal, unreaped, a zombie for as long as
  // this process lives.  It dies now, and is reaped; nobody is told.
  static void OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
    auto* self = static_cast<ChildWatch*>(arg);
    self->waiters_.clear();
    self->context_.reset();
    unshare_fs::ExitStatus exit;
    if (self->Kill(SIGKILL) == 0) unshare_fs::Reap(self->pidfd_, exit, true);
    self->Close();
  }

  // Forgets the child and closes the handles, then the pidfd; the last
  // close callback deletes us.  Idempotent.
  void Close() {
    if (closing_) return;
    closing_ = true;
    {
      std::lock_guard<std::mutex> lock(registry_mutex_);
      auto it = registry_.find(pid_);
      if (it != registry_.end() && it->second == this) registry_.erase(it);
    }
    if (polling_) {
      open_handles_++;
      uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnClosed);
    }
    if (timing_) {
      open_handles_++;
      uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnClosed);
    }
    close(pidfd_);
    if (open_handles_ == 0) Finish();
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* self = static_cast<ChildWatch*>(handle->data);
    if (--self->open_handles_ == 0) self->Finish();
  }

  // Also tells a teardown in progress that we are done.
  void Finish() {
    napi_remove_async_cleanup_hook(teardown_);
    delete this;
  }

  static std::mutex registry_mutex_;
  static std::unordered_map<pid_t, ChildWatch*> registry_;

  napi_env env_;
  pid_t pid_;
  int pidfd_;
  napi_async_cleanup_hook_handle teardown_ = nullptr;
  uv_poll_t poll_;
  bool polling_ = false;
  uv_timer_t timer_;
  bool timing_ = false;
  uint64_t deadline_ = 0;
  int open_handles_ = 0;
  bool closing_ = false;
  std::vector<Napi::Promise::Deferred> waiters_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

std::mutex ChildWatch::registry_mutex_;
std::unordered_map<pid_t, ChildWatch*> ChildWatch::registry_;

// { pid, fd } of a forked child and our end of its socket; the child is
// watched from now on.
Napi::Object ChildObject(Napi::Env env, const unshare_fs::Worker& child) {
  ChildWatch::Adopt(env, child.pid, child.pidfd);
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", child.pid);
  result.Set("fd", child.fd);
  return result;
}

Napi::Value StartHostServer(const Napi::CallbackInfo& info) {
  SysError error;
  int fd = unshare_fs::StartThreadServer(error);
  if (fd < 0) ThrowSysError(info.Env(), error);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value SpawnWorker(const Napi::CallbackInfo& info) {
  pid_t pid = PidArg(info, 0, "pid");
  SysError error;
  unshare_fs::Target target;
  if (!unshare_fs::OpenTarget(pid, target, error)) {
    ThrowSysError(info.Env(), error);
  }
  bool join_user = target.user_ns_fd >= 0;
  bool allow_mount = info.Length() > 1 && info[1].ToBoolean().Value();
  unshare_fs::Worker worker;
  if (!unshare_fs::SpawnWorker(target, allow_mount, worker, error)) {
    ThrowSysError(info.Env(), error);
  }
  Napi::Object result = ChildObject(info.Env(), worker);
  result.Set("joinedUserNamespace", join_user);
  return result;
}

Napi::Value SpawnHolder(const Napi::CallbackInfo& info) {
  bool new_user_ns = info.Length() < 1 || info[0].ToBoolean().Value();
  SysError error;
  unshare_fs::Worker holder;
  if (!unshare_fs::SpawnHolder(new_user_ns, holder, error)) {
    ThrowSysError(info.Env(), error);
  }
  return ChildObject(info.Env(), holder);
}

// Strings of a JS array, each without NUL (execve takes C strings).
std::vector<std::string> StringList(const Napi::Env& env, Napi::Value value,
                                    const char* name) {
  if (!value.IsArray()) {
    throw Napi::TypeError::New(env,
                               std::string("Expected an array for ") + name);
  }
  Napi::Array list = value.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsString()) {
      throw Napi::TypeError::New(env,
                                 std::string("Expected strings in ") + name);
    }
    out.push_back(v.As<Napi::String>().Utf8Value());
    if (out.back().find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, std::string(name) + "[" +
                                          std::to_string(i) +
                                          "] contains a NUL byte");
    }
  }
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// spawnCommand(pid, argv, options?): options.cwd (a string), options.env
// (an array of "NAME=value"), options.quiet (stdio to /dev/null),
// options.pidNamespace (in the pid namespace `pid` makes its children in).
Napi::Value SpawnCommand(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = PidArg(info, 0, "pid");
  std::vector<std::string> args =
      StringList(env, info.Length() > 1 ? info[1] : env.Undefined(), "argv");
  if (args.empty()) throw Napi::TypeError::New(env, "argv is empty");
  std::vector<char*> argv = CStrings(args);
  unshare_fs::CommandOptions options;
  std::string cwd;
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  bool join_pid_ns = false;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    Napi::Value c = o.Get("cwd");
    if (c.IsString()) {
      cwd = c.As<Napi::String>().Utf8Value();
      if (cwd.empty() || cwd.find('\0') != std::string::npos) {
        throw Napi::TypeError::New(env, "cwd is empty or contains a NUL byte");
      }
      options.cwd = cwd.c_str();
    }
    Napi::Value e = o.Get("env");
    if (!e.IsUndefined()) {
      env_strings = StringList(env, e, "env");
      envp = CStrings(env_strings);
      options.envp = envp.data();
    }
    options.quiet = o.Get("quiet").ToBoolean();
    join_pid_ns = o.Get("pidNamespace").ToBoolean();
  }
  SysError error;
  unshare_fs::Target target;
  if (!unshare_fs::OpenTarget(pid, target, error)) {
    ThrowSysError(env, error);
  }
  if (join_pid_ns && !unshare_fs::OpenPidNamespace(pid, target, error)) {
    unshare_fs::CloseTarget(target);
    ThrowSysError(env, error);
  }
  pid_t child = -1;
  int pidfd = -1;
  if (!unshare_fs::SpawnCommand(target, argv.data(), options, child, pidfd,
                                error)) {
    ThrowSysError(env, error);
  }
  ChildWatch::Adopt(env, child, pidfd);
  return Napi::Number::New(env, child);
}

// reap(pid, graceMs): the exit of a child we spawned, killing it after
// graceMs; rejects with ECHILD for a pid that is no child of ours (or was
// reaped already).
Napi::Value Reap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = PidArg(info, 0, "pid");
  int grace_ms = IntArg(info, 1, "graceMs");
  ChildWatch* watch = ChildWatch::Find(env, pid);
  if (watch == nullptr) {
    auto deferred = Napi::Promise::Deferred::New(env);
    SysError e{ECHILD, "waitpid", std::to_string(pid)};
    deferred.Reject(SysErrorValue(env, e).Value());
    return deferred.Promise();
  }
  return watch->Wait(env, grace_ms);
}

// unrefReap(pid): the reap of `pid` no longer holds the event loop.
Napi::Value UnrefReap(const Napi::CallbackInfo& info) {
  ChildWatch* watch = ChildWatch::Find(info.Env(), PidArg(info, 0, "pid"));
  if (watch != nullptr) watch->Unref();
  return info.Env().Undefined();
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(IntArg(info, 0, "fd"));
  return info.Env().Undefined();
}

class Port;

// A port's poll handle, and the teardown hook that waits for its close
// callback (code of this addon, which may be unloaded right after the
// teardown): both outlive the Port until that callback has run.
struct PortPoll {
  uv_poll_t handle;  // first: the close callback gets a pointer to it
  Port* port;        // nullptr once closing
  napi_async_cleanup_hook_handle teardown = nullptr;
};

// Our end of a server's socket, watched by the event loop: the transport of
// lib/wire/channel.ts.  JavaScript reads and writes it without blocking and is
// called with the loop's readiness events (UV_READABLE, UV_WRITABLE) or a
// negative libuv status.  Reads land in buffers JavaScript owns, so frames
// reach the decoder without a copy or a stream layer in between.
class Port : public Napi::ObjectWrap<Port> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Port",
                       {
                           InstanceMethod<&Port::Read>("read"),
                           InstanceMethod<&Port::Write>("write"),
                           InstanceMethod<&Port::Watch>("watch"),
                           InstanceMethod<&Port::Ref>("ref"),
                           InstanceMethod<&Port::Unref>("unref"),
                           InstanceMethod<&Port::Shutdown>("shutdown"),
                           InstanceMethod<&Port::Close>("close"),
                       });
  }

  explicit Port(const Napi::CallbackInfo& info) : ObjectWrap(info) {
    Napi::Env env = info.Env();
    int fd = IntArg(info, 0, "fd");
    if (info.Length() < 2 || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "Expected a function for onEvents");
    }
    uv_loop_t* loop = nullptr;
    NAPI_THROW_IF_FAILED_VOID(env, napi_get_uv_event_loop(env, &loop));
    auto poll = std::make_unique<PortPoll>();
    int r = uv_poll_init(loop, &poll->handle, fd);
    if (r != 0) {
      close(fd);  // the port owns the fd, started or not
      ThrowSysError(env, SysError{-r, "uv_poll_init", ""});
    }
    poll->port = this;
    poll->handle.data = this;
    napi_add_async_cleanup_hook(env, OnTeardown, poll.get(), &poll->teardown);
    poll_ = &poll.release()->handle;
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    fd_ = fd;
    on_events_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "unshare-fs:channel");
  }

  ~Port() override { Release(); }

 private:
  // read(buffer, offset, length): bytes read, 0 at the end, or -errno.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return Transfer(info, [](int fd, uint8_t* p, size_t n) {
      return recv(fd, p, n, MSG_DONTWAIT);
    });
  }

  // write(buffer, offset, length): bytes written or -errno (EAGAIN: full).
  Napi::Value Write(const Napi::CallbackInfo& info) {
    return Transfer(info, [](int fd, uint8_t* p, size_t n) {
      return send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    });
  }

  // watch(events): the readiness events to be called for; 0 for none.
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    int events = IntArg(info, 0, "events") &
                 (unshare_fs::kPortReadable | unshare_fs::kPortWritable);
    if (poll_ == nullptr) return info.Env().Undefined();
    int r = events == 0 ? uv_poll_stop(poll_)
                        : uv_poll_start(poll_, events, OnPoll);
    if (r != 0) ThrowSysError(info.Env(), SysError{-r, "uv_poll_start", ""});
    return info.Env().Undefined();
  }

  // While referenced, the port keeps the event loop alive.
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  // Ends our direction: the server sees the end of its requests.
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    int r = fd_ < 0 ? -EBADF : shutdown(fd_, SHUT_WR) == 0 ? 0 : -errno;
    return Napi::Number::New(info.Env(), r);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  // One non-blocking recv or send on (buffer, offset, length), retried on
  // EINTR: the byte count or -errno.
  template <typename Io>
  Napi::Value Transfer(const Napi::CallbackInfo& info, Io io) {
    if (info.Length() < 3 || !info[0].IsTypedArray()) {
      throw Napi::TypeError::New(info.Env(), "Expected a Uint8Array");
    }
    auto bytes = info[0].As<Napi::Uint8Array>();
    uint32_t offset = info[1].As<Napi::Number>().Uint32Value();
    uint32_t length = info[2].As<Napi::Number>().Uint32Value();
    if (offset > bytes.ByteLength() || length > bytes.ByteLength() - offset) {
      throw Napi::RangeError::New(info.Env(), "offset and length overrun");
    }
    ssize_t n;
    do {
      n = fd_ < 0 ? (errno = EBADF, -1)
                  : io(fd_, bytes.Data() + offset, length);
    } while (n < 0 && errno == EINTR);
    return Napi::Number::New(info.Env(), n < 0 ? -errno : n);
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Port*>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    try {
      self->on_events_.MakeCallback(
          self->Value(), {Napi::Number::New(env, status < 0 ? status : events)},
          *self->context_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  // The environment goes away with the port still open.
  static void OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
    Port* port = static_cast<PortPoll*>(arg)->port;
    if (port != nullptr) port->Release();
  }

  // Stops watching and closes the fd; idempotent.  Once the handle is
  // closed, the teardown hook is removed (or told that we are done).
  void Release() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    reinterpret_cast<PortPoll*>(poll_)->port = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) {
      auto* poll = reinterpret_cast<PortPoll*>(h);
      napi_remove_async_cleanup_hook(poll->teardown);
      delete poll;
    });
    poll_ = nullptr;
    close(fd_);
    fd_ = -1;
    on_events_.Reset();  // the callback holds the channel that holds us
  }

  uv_poll_t* poll_ = nullptr;
  int fd_ = -1;
  Napi::FunctionReference on_events_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

// The wire format as the addon was built with it, every name as
// protocol.h spells it: { constants, enums, ops }, for test/protocol.test.ts
// to compare with lib/wire/protocol.generated.ts (which
// scripts/gen-protocol.js makes from the same protocol.h).  64-bit
// constants are BigInts, a constant array an array.
Napi::Value ConstantValue(Napi::Env env, uint64_t value) {
  return Napi::BigInt::New(env, value);
}
Napi::Value ConstantValue(Napi::Env env, uint32_t value) {
  return Napi::Number::New(env, value);
}
Napi::Value ConstantValue(Napi::Env env, uint8_t value) {
  return Napi::Number::New(env, value);
}
template <size_t N>
Napi::Value ConstantValue(Napi::Env env, const uint32_t (&values)[N]) {
  Napi::Array array = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; i++)
    array.Set(i, Napi::Number::New(env, values[i]));
  return array;
}

// "kStream" -> "stream".
std::string KindName(const char* kind) {
  std::string name(kind + 1);
  name[0] = static_cast<char>(tolower(name[0]));
  return name;
}

Napi::Object ProtocolTable(Napi::Env env) {
  using namespace unshare_fs;
  Napi::Object constants = Napi::Object::New(env);
#define C(name) constants.Set(#name, ConstantValue(env, name));
  UNSHARE_FS_CONSTANTS(C)
#undef C
  Napi::Object enums = Napi::Object::New(env);
  auto member = [&](const char* type, const char* name, uint64_t value) {
    if (!enums.Has(type)) enums.Set(type, Napi::Object::New(env));
    enums.Get(type).As<Napi::Object>().Set(
        name, Napi::Number::New(env, static_cast<double>(value)));
  };
#define E(type, name) member(#type, #name, static_cast<uint64_t>(type::name));
  UNSHARE_FS_ENUMS(E)
#undef E
  Napi::Object ops = Napi::Object::New(env);
#define F(type, name)                             \
  {                                               \
    Napi::Array field = Napi::Array::New(env, 2); \
    field.Set(0u, Napi::String::New(env, #type)); \
    field.Set(1u, Napi::String::New(env, #name)); \
    fields.Set(fields.Length(), field);           \
  }
#define X(name, number, kind, fields_)                       \
  {                                                          \
    Napi::Object op = Napi::Object::New(env);                \
    op.Set("op", Napi::Number::New(env, number));            \
    op.Set("kind", Napi::String::New(env, KindName(#kind))); \
    Napi::Array fields = Napi::Array::New(env);              \
    fields_ op.Set("fields", fields);                        \
    ops.Set(#name, op);                                      \
  }
  UNSHARE_FS_OPS(X)
#undef X
#undef F
  Napi::Object table = Napi::Object::New(env);
  table.Set("constants", constants);
  table.Set("enums", enums);
  table.Set("ops", ops);
  return table;
}

// A parsed field as JavaScript: numbers as numbers, 64-bit ones as BigInts,
// strings as Buffers (paths are bytes), string lists as arrays of them.
Napi::Value FieldValue(Napi::Env env, uint32_t value) {
  return Napi::Number::New(env, value);
}
Napi::Value FieldValue(Napi::Env env, uint64_t value) {
  return Napi::BigInt::New(env, value);
}
Napi::Value FieldValue(Napi::Env env, int64_t value) {
  return Napi::BigInt::New(env, value);
}
Napi::Value FieldValue(Napi::Env env, const std::string& value) {
  return Napi::Buffer<char>::Copy(env, value.data(), value.size());
}
Napi::Value FieldValue(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) {
    array.Set(i, FieldValue(env, values[i]));
  }
  return array;
}

// __parseRequest(frame): a whole request frame (length prefix included)
// through the server's own splitter and parser, for tests of the TypeScript
// encoders: { errno, id, op, ...the op's fields by name }, errno 0 when it
// parsed.  Pure code over bytes; nothing is run.
Napi::Value ParseRequestForTest(const Napi::CallbackInfo& info) {
  using namespace unshare_fs;
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    throw Napi::TypeError::New(env, "frame: expected a Buffer");
  }
  Napi::Buffer<uint8_t> bytes = info[0].As<Napi::Buffer<uint8_t>>();
  FrameSplitter splitter;
  splitter.Append(bytes.Data(), bytes.Length());
  Frame frame;
  Napi::Object result = Napi::Object::New(env);
  if (!splitter.Next(frame) || splitter.Buffered() != 0) {
    // Not exactly one frame: as malformed as a request can be.
    result.Set("errno", Napi::Number::New(env, EINVAL));
    return result;
  }
  Request request;
  int err = ParseRequest(frame, request);
  result.Set("errno", Napi::Number::New(env, err));
  result.Set("id", Napi::Number::New(env, request.id));
  result.Set("op", Napi::Number::New(env, static_cast<uint8_t>(request.op)));
  std::visit(
      [&](const auto& args) {
        using Args = std::decay_t<decltype(args)>;
        if constexpr (!std::is_same_v<Args, std::monostate>) {
#define F(type, name) result.Set(#name, FieldValue(env, args.name));
#define X(name, number, kind, fields)              \
  if constexpr (std::is_same_v<Args, req::name>) { \
    fields                                         \
  }
          UNSHARE_FS_OPS(X)
#undef X
#undef F
        }
      },
      request.args);
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object protocol = Napi::Object::New(env);
  protocol.Set("version", Napi::Number::New(env, unshare_fs::kProtocolVersion));
  exports.Set("protocol", protocol);
  exports.Set("protocolTable", ProtocolTable(env));
  exports.Set("__parseRequest", Napi::Function::New(env, ParseRequestForTest));
  exports.Set("Port", Port::Define(env));
  exports.Set("startHostServer", Napi::Function::New(env, StartHostServer));
  exports.Set("spawnWorker", Napi::Function::New(env, SpawnWorker));
  exports.Set("spawnHolder", Napi::Function::New(env, SpawnHolder));
  exports.Set("spawnCommand", Napi::Function::New(env, SpawnCommand));
  exports.Set("reap", Napi::Function::New(env, Reap));
  exports.Set("unrefReap", Napi::Function::New(env, UnrefReap));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  return exports;
}

}  // namespace

NODE_API_MODULE(unshare_fs, Init)

// Node unloads an addon (dlclose) that only a worker_thread loaded when that
// thread ends.  Destructors of this object's statics were registered with
// __cxa_atexit under its __dso_handle; a g++ link runs them at dlclose
// (crtbeginS calls __cxa_finalize), the Zig link of the prebuilds does not,
// and exit() then called into unmapped code (SIGSEGV).  Run them here, at
// unload; a second __cxa_finalize finds nothing left to run.
extern "C" void* __dso_handle;
extern "C" void __cxa_finalize(void*) __attribute__((weak));
__attribute__((destructor)) static void RunStaticDestructorsAtUnload() {
  if (__cxa_finalize != nullptr) __cxa_finalize(&__dso_handle);
}

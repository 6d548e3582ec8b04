// The only file that speaks N-API: argument checks, errors, async plumbing.
// Everything else lives in core/ as plain C++ over syscalls.
#include <errno.h>
#include <napi.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <climits>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/worker.h"

namespace {

using unshare_fs::SysError;

// A plain Error carrying errno, syscall and path; lib/session.ts turns it
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

// { pid, fd } of a forked child and our end of its socket.
Napi::Object ChildObject(Napi::Env env, const unshare_fs::Worker& child) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", child.pid);
  result.Set("fd", child.fd);
  return result;
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
  unshare_fs::Worker worker;
  if (!unshare_fs::SpawnWorker(target, worker, error)) {
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

Napi::Value SpawnCommand(const Napi::CallbackInfo& info) {
  pid_t pid = PidArg(info, 0, "pid");
  if (info.Length() < 2 || !info[1].IsArray()) {
    throw Napi::TypeError::New(info.Env(), "Expected an array for argv");
  }
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsString()) {
      throw Napi::TypeError::New(info.Env(), "Expected strings in argv");
    }
    args.push_back(v.As<Napi::String>().Utf8Value());
    // execve takes C strings: a NUL byte would cut the argument short.
    if (args.back().find('\0') != std::string::npos) {
      throw Napi::TypeError::New(
          info.Env(), "argv[" + std::to_string(i) + "] contains a NUL byte");
    }
  }
  if (args.empty()) throw Napi::TypeError::New(info.Env(), "argv is empty");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  SysError error;
  unshare_fs::Target target;
  if (!unshare_fs::OpenTarget(pid, target, error)) {
    ThrowSysError(info.Env(), error);
  }
  pid_t child = -1;
  if (!unshare_fs::SpawnCommand(target, argv.data(), child, error)) {
    ThrowSysError(info.Env(), error);
  }
  return Napi::Number::New(info.Env(), child);
}

// Waiting for a child is a blocking call: keep it off the event loop.
class ReapWorker : public Napi::AsyncWorker {
 public:
  ReapWorker(Napi::Env env, pid_t pid, int grace_ms)
      : Napi::AsyncWorker(env, "unshare-fs:reap"),
        deferred_(Napi::Promise::Deferred::New(env)),
        pid_(pid),
        grace_ms_(grace_ms) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    status_ = unshare_fs::Reap(pid_, grace_ms_);
    if (status_ < 0) err_ = errno;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (status_ < 0) {
      SysError e{err_, "waitpid", std::to_string(pid_)};
      deferred_.Reject(SysErrorValue(env, e).Value());
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("code", WIFEXITED(status_)
                           ? Napi::Number::New(env, WEXITSTATUS(status_))
                           : env.Null());
    result.Set("signal", WIFSIGNALED(status_)
                             ? Napi::Number::New(env, WTERMSIG(status_))
                             : env.Null());
    deferred_.Resolve(result);
  }

 private:
  Napi::Promise::Deferred deferred_;
  pid_t pid_;
  int grace_ms_;
  int status_ = 0;
  int err_ = 0;
};

Napi::Value Reap(const Napi::CallbackInfo& info) {
  pid_t pid = PidArg(info, 0, "pid");
  int grace_ms = IntArg(info, 1, "graceMs");
  auto* worker = new ReapWorker(info.Env(), pid, grace_ms);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(IntArg(info, 0, "fd"));
  return info.Env().Undefined();
}

// Our end of a server's socket, watched by the event loop: the transport of
// lib/channel.ts.  JavaScript reads and writes it without blocking and is
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
    auto poll = std::make_unique<uv_poll_t>();
    int r = uv_poll_init(loop, poll.get(), fd);
    if (r != 0) {
      close(fd);  // the port owns the fd, started or not
      ThrowSysError(env, SysError{-r, "uv_poll_init", ""});
    }
    poll_ = poll.release();
    poll_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    fd_ = fd;
    on_events_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "unshare-fs:channel");
    napi_add_env_cleanup_hook(env, CleanupHook, this);
  }

  ~Port() override { Release(false); }

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
    int events = IntArg(info, 0, "events") & (UV_READABLE | UV_WRITABLE);
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
    Release(false);
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

  static void CleanupHook(void* arg) { static_cast<Port*>(arg)->Release(true); }

  // Stops watching and closes the fd; idempotent.  The hook is gone by
  // itself once it has run.
  void Release(bool from_hook) {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
    close(fd_);
    fd_ = -1;
    on_events_.Reset();  // the callback holds the channel that holds us
    if (!from_hook) napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
  }

  uv_poll_t* poll_ = nullptr;
  int fd_ = -1;
  Napi::FunctionReference on_events_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Port", Port::Define(env));
  exports.Set("startHostServer", Napi::Function::New(env, StartHostServer));
  exports.Set("spawnWorker", Napi::Function::New(env, SpawnWorker));
  exports.Set("spawnHolder", Napi::Function::New(env, SpawnHolder));
  exports.Set("spawnCommand", Napi::Function::New(env, SpawnCommand));
  exports.Set("reap", Napi::Function::New(env, Reap));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  return exports;
}

}  // namespace

NODE_API_MODULE(unshare_fs, Init)

// The only file that speaks N-API: argument checks, errors, async plumbing.
// Everything else lives in core/ as plain C++ over syscalls.
#include <napi.h>
#include <sys/wait.h>
#include <unistd.h>

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

int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(),
                               std::string("Expected a number for ") + name);
  }
  return info[i].As<Napi::Number>().Int32Value();
}

Napi::Value StartHostServer(const Napi::CallbackInfo& info) {
  SysError error;
  int fd = unshare_fs::StartThreadServer(error);
  if (fd < 0) ThrowSysError(info.Env(), error);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value SpawnWorker(const Napi::CallbackInfo& info) {
  pid_t pid = IntArg(info, 0, "pid");
  if (pid <= 0) throw Napi::RangeError::New(info.Env(), "pid must be > 0");
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
  pid_t pid = IntArg(info, 0, "pid");
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
  pid_t pid = IntArg(info, 0, "pid");
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
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

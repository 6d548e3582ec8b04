#include "handles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "batch.h"
#include "reply.h"
#include "stat_syscalls.h"

namespace unshare_fs {

static_assert(kOpenFlags == (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |
                             O_SYNC | O_DIRECTORY | O_NOFOLLOW | O_NOATIME),
              "protocol.h's kOpenFlags are not this libc's O_* bits");

int HandleTable::Add(int fd) {
  std::lock_guard<std::mutex> lk(mu_);
  if (files_.size() >= kMaxHandles) {
    close(fd);
    errno = EMFILE;
    return -1;
  }
  files_[static_cast<uint32_t>(fd)] = std::make_shared<Fd>(fd);
  return fd;
}

std::shared_ptr<Fd> HandleTable::Find(uint32_t handle) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = files_.find(handle);
  return it == files_.end() ? nullptr : it->second;
}

std::shared_ptr<Fd> HandleTable::Remove(uint32_t handle) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = files_.find(handle);
  if (it == files_.end()) return nullptr;
  std::shared_ptr<Fd> file = std::move(it->second);
  files_.erase(it);
  return file;
}

namespace {

// The file of a handle op, or an EBADF frame for `syscall` (node's
// FileHandle errors carry no path).
std::shared_ptr<Fd> FileOf(ByteBuffer& out, uint32_t id, HandleTable& handles,
                           uint32_t handle, const char* syscall) {
  std::shared_ptr<Fd> file = handles.Find(handle);
  if (!file) ErrorFrame(out, id, EBADF, syscall, "");
  return file;
}

// An end frame when `rc` is 0, else the errno's error frame.
void EndOrError(ByteBuffer& out, uint32_t id, int rc, const char* syscall) {
  if (rc != 0) {
    ErrorFrame(out, id, errno, syscall, "");
  } else {
    EndFrame(out, id);
  }
}

}  // namespace

void AnswerOp(ByteBuffer& out, uint32_t id, int root_fd, HandleTable& handles,
              const req::Open& args) {
  int flags = static_cast<int>(args.flags) | O_NONBLOCK | O_NOCTTY;
  int fd = OpenPath(root_fd, args.path, flags, static_cast<mode_t>(args.mode));
  if (fd < 0 || handles.Add(fd) < 0) {
    ErrorFrame(out, id, errno, "open", args.path);
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kData);
  out.U32(static_cast<uint32_t>(fd));
  out.FinishFrame(at);
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleRead& args) {
  auto file = FileOf(out, id, handles, args.handle, "read");
  if (!file) return;
  size_t at = out.BeginFrame(id, Reply::kData);
  uint8_t* into = out.Extend(args.length);
  ssize_t n;
  do {
    n = args.position == kToEnd ? read(file->get(), into, args.length)
                                : pread(file->get(), into, args.length,
                                        static_cast<off_t>(args.position));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    out.Truncate(at);
    ErrorFrame(out, id, err, "read", "");
    return;
  }
  out.Truncate(at + kFrameHeader + static_cast<size_t>(n));
  out.FinishFrame(at);
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleWrite& args) {
  auto file = FileOf(out, id, handles, args.handle, "write");
  if (!file) return;
  ssize_t n;
  do {
    n = args.position == kToEnd
            ? write(file->get(), args.data.data(), args.data.size())
            : pwrite(file->get(), args.data.data(), args.data.size(),
                     static_cast<off_t>(args.position));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    ErrorFrame(out, id, errno, "write", "");
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kData);
  out.U32(static_cast<uint32_t>(n));
  out.FinishFrame(at);
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleStat& args) {
  auto file = FileOf(out, id, handles, args.handle, "fstat");
  if (!file) return;
  struct stat st;
  if (Fstat(file->get(), &st) != 0) {
    ErrorFrame(out, id, errno, "fstat", "");
    return;
  }
  size_t at = out.BeginFrame(id, Reply::kStat);
  out.Stat(st, kAllStat);
  out.FinishFrame(at);
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleTruncate& args) {
  auto file = FileOf(out, id, handles, args.handle, "ftruncate");
  if (!file) return;
  EndOrError(out, id, ftruncate(file->get(), static_cast<off_t>(args.length)),
             "ftruncate");
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleChmod& args) {
  auto file = FileOf(out, id, handles, args.handle, "fchmod");
  if (!file) return;
  EndOrError(out, id, fchmod(file->get(), static_cast<mode_t>(args.mode)),
             "fchmod");
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleChown& args) {
  auto file = FileOf(out, id, handles, args.handle, "fchown");
  if (!file) return;
  EndOrError(out, id,
             fchown(file->get(), static_cast<uid_t>(args.uid),
                    static_cast<gid_t>(args.gid)),
             "fchown");
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleSync& args) {
  const bool data = (args.flags & kSyncData) != 0;
  const char* syscall = data ? "fdatasync" : "fsync";
  auto file = FileOf(out, id, handles, args.handle, syscall);
  if (!file) return;
  EndOrError(out, id, data ? fdatasync(file->get()) : fsync(file->get()),
             syscall);
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::Close& args) {
  std::shared_ptr<Fd> file = handles.Remove(args.handle);
  if (!file) {
    ErrorFrame(out, id, EBADF, "close", "");
    return;
  }
  // Closed here unless an op still holds it (then when that op is done).
  file.reset();
  EndFrame(out, id);
}

void AnswerOp(ByteBuffer& out, uint32_t id, HandleTable& handles,
              const req::HandleReaddir& args) {
  auto file = FileOf(out, id, handles, args.handle, "scandir");
  if (!file) return;
  const int fd = file->get();
  DirReader reader;
  BatchWriter batch(0, kWalkBatchBytes);
  bool listed = false;
  long n;
  // A getdents64 may give only "." and "..": one more, until an entry or
  // the end comes.
  do {
    n = reader.ForSome(fd, [&](const char* name, unsigned char type) {
      struct stat st = {};
      if (type == DT_UNKNOWN &&
          StatAt(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = IFTODT(st.st_mode);
      }
      if (!listed) batch.DirRecord(0, "");
      listed = true;
      batch.Entry(name, type, st);
    });
  } while (n > 0 && !listed);
  if (n < 0) {
    ErrorFrame(out, id, errno, "scandir", "");
    return;
  }
  const ByteBuffer& records = batch.Finish();
  size_t at = out.BeginFrame(id, Reply::kData);
  out.Raw(records.Data(), records.Size());
  out.FinishFrame(at);
}

}  // namespace unshare_fs

// The stat family and mknodat, straight to the kernel through syscall(2),
// so that a failure always sets the errno the code then reads.
//
// Why not the libc functions: before glibc 2.33 these were not functions of
// libc.so but static wrappers in libc_nonshared.a.  Zig (the compiler of the
// prebuilds, targeting glibc 2.17) supplies that archive from glibc 2.33's
// sources, and with it csu/errno.c, which defines a thread-local `errno` of
// its own: the wrappers make the syscall inline and store a failure in that
// private copy, linked into the addon, while every `errno` read here goes
// through libc.so's __errno_location().  The prebuild then saw whatever errno
// held before (EAGAIN from a recv, or 0) instead of ENOENT.  syscall(2) is
// libc.so's own function and sets its errno in every build.
//
// On x86-64 and arm64 the kernel's struct stat is glibc's and musl's struct
// stat, so the buffer passes through unchanged.  Elsewhere (32-bit, x32,
// mips64) it differs; there the libc functions serve, as only source builds
// reach those machines.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace unshare_fs {

#if (defined(__x86_64__) && !defined(__ILP32__)) || defined(__aarch64__)

inline int StatAt(int dir_fd, const char* path, struct stat* st, int flags) {
  return static_cast<int>(syscall(SYS_newfstatat, dir_fd, path, st, flags));
}

inline int Fstat(int fd, struct stat* st) {
  return static_cast<int>(syscall(SYS_fstat, fd, st));
}

inline int MknodAt(int dir_fd, const char* path, mode_t mode, dev_t rdev) {
  return static_cast<int>(syscall(SYS_mknodat, dir_fd, path, mode, rdev));
}

#else

inline int StatAt(int dir_fd, const char* path, struct stat* st, int flags) {
  return fstatat(dir_fd, path, st, flags);
}

inline int Fstat(int fd, struct stat* st) { return fstat(fd, st); }

inline int MknodAt(int dir_fd, const char* path, mode_t mode, dev_t rdev) {
  return mknodat(dir_fd, path, mode, rdev);
}

#endif

}  // namespace unshare_fs

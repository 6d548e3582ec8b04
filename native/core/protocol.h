// Wire format shared by the in-process server thread, the namespace worker
// and the TypeScript decoder.  lib/protocol.ts mirrors these constants; the
// addon exports them (binding.cc) and a test compares the two, and the
// ready frame and the loader check kProtocolVersion.
//
// Every frame, in both directions:  u32 length (of what follows), u32 id,
// u8 op-or-kind, u8 flags, u16 reserved, payload.  All integers are little
// endian.
//
// A walk batch: u32 names offset, u32 batch flags, records, then the names
// of its ENTRY records back to back (each ENTRY gives its name's length), so
// a decoder can turn all of a batch's names into one string.  Batches are
// self-contained: the first record is a DIR record, so a decoder needs no
// state carried from one batch to the next.
#pragma once

#include <cstddef>
#include <cstdint>

namespace unshare_fs {

// Bump whenever a frame's layout or meaning changes.
constexpr uint32_t kProtocolVersion = 6;

constexpr size_t kFrameHeader = 12;  // length + id + op + flags + reserved
// Requests longer than this are answered with E2BIG and skipped; the stream
// goes on.  Paths are at most PATH_MAX long, so no valid request is this big.
constexpr uint32_t kMaxRequest = 64 * 1024;

enum class Op : uint8_t {
  kLstat = 1,
  kStat = 2,
  kReadlink = 3,
  kReadFile = 4,
  kWalk = 5,
  kCredit = 6,
  kCancel = 7,
  kMount = 8,
  kUnmount = 9,
  kSetRoot = 10,  // resolve later paths inside this directory (once)
  // Changes, answered by an end frame or an error.  Ids are the server's
  // own (the ids seen inside the namespace); kNoId leaves one unchanged.
  kMkdir = 11,     // u32 mode, u32 mkdir flags, u32 uid, u32 gid, path
  kUnlink = 12,    // path
  kRmdir = 13,     // path
  kRename = 14,    // strings: from, to
  kLink = 15,      // strings: existing, new
  kSymlink = 16,   // strings: target, path
  kChmod = 17,     // u32 mode, path
  kChown = 18,     // u32 uid, u32 gid, u32 change flags, path
  kUtimes = 19,    // i64 atime s, u32 ns, i64 mtime s, u32 ns, u32 flags, path
  kTruncate = 20,  // u64 length, path
  // A write: u32 write flags, u32 mode, u32 uid, u32 gid, u32 window, path.
  // The client then sends data frames (at most `window` ahead of the
  // credit frames the server answers each with) and a write-end frame.
  kWrite = 21,
  kWriteData = 22,  // payload: the bytes
  kWriteEnd = 23,
  // Tree jobs: u32 tree flags, u32 uid, u32 gid, path.  Answered by
  // progress frames, entry-error frames (with kTreeKeepGoing), and an end
  // frame carrying u64 entries done, u64 entry errors.
  kRemove = 24,
  kChownTree = 25,
  // Extended attributes of an entry itself (a final symlink not followed):
  // answered by one data frame of records u32 name length, name, u32 value
  // length, value; empty where the filesystem has none.
  kXattrs = 26,
  // A device, a FIFO (or an overlay whiteout: a character device 0/0):
  // u32 mode (the type bits and 07777), u64 rdev, u32 uid, u32 gid, path.
  kMknod = 27,
  // Sets one extended attribute of an entry itself: strings name, value,
  // path.
  kSetXattr = 28,
  // The tree under a directory as a POSIX tar stream (tar.h): u32 tar
  // flags, u32 window, u32 chunk bytes, path.  Answered by data frames,
  // one per credit, then an end frame (flagged when cancelled); or an
  // error, which ends the stream wherever it comes.
  kTar = 29,
  // What an overlay upper dir changed against its lower dirs (diff.h):
  // u32 window, u32 lower count, that many strings (top first), then the
  // upper dir's path.  Answered by data frames of change records, one per
  // credit, then an end frame; or an error.
  kDiff = 30,
};

constexpr uint32_t kNoId = UINT32_MAX;
// Mkdir flags.
constexpr uint32_t kMkdirRecursive = 1u << 0;
// Chown and utimes flags.
constexpr uint32_t kNoFollow = 1u << 0;
// Write flags (the node:fs flag letters).
enum WriteFlag : uint32_t {
  kWriteTruncate = 1u << 0,   // "w"
  kWriteAppend = 1u << 1,     // "a"
  kWriteExclusive = 1u << 2,  // "x"
};
// Tree flags.
enum TreeFlag : uint32_t {
  kTreeRecursive = 1u << 0,    // descend into directories
  kTreeForce = 1u << 1,        // a missing path or entry is no error
  kTreeKeepGoing = 1u << 2,    // report an entry's error and go on
  kTreeAllowRoot = 1u << 3,    // the session's root may be emptied
  kTreeCrossMounts = 1u << 4,  // descend into mount points
};
// Tar flags.
enum TarFlag : uint32_t {
  kTarXattrs = 1u << 0,  // each entry's xattrs as SCHILY.xattr.* records
  kTarLayer = 1u << 1,   // an overlay upper dir as an OCI layer (whiteouts)
  // A copy (copyToHost): the root itself first, as ".", opened without
  // following it; every entry's atime and mtime to the nanosecond (pax).
  kTarCopy = 1u << 2,
};
// A change record of a diff: a kind ('A' added, 'C' changed, 'D'
// deleted), 'd' for a directory or '-', the path as seen inside ("/a/b"),
// NUL.  Records come sorted by path (bytes compared), and a data frame
// holds whole records.
// Lower dirs a diff takes at most (overlay stacks 500 at most).
constexpr uint32_t kMaxLowers = 500;
// Entries done between two progress frames.
constexpr uint32_t kProgressEvery = 1024;

// A read request's answer: a stat frame of the open file, data frames, an
// end frame.  Its fields, before its path: u64 start, u64 end (exclusive,
// kToEnd for the whole file), u64 limit (EFBIG once more would be read),
// u32 window (data frames sent ahead of credit), u32 chunk bytes.
constexpr uint64_t kToEnd = UINT64_MAX;
constexpr uint32_t kMaxChunk = 1u << 20;
constexpr uint32_t kMaxWindow = 64;

enum class Reply : uint8_t {
  kStat = 1,
  kData = 2,
  kBatch = 3,
  kEnd = 4,
  kError = 5,
  kReady = 6,       // u32 worker pid, u32 protocol version
  kCredit = 7,      // u32 data frames written (a write's flow control)
  kProgress = 8,    // u64 entries done (a tree job)
  kEntryError = 9,  // an error frame's payload, for one entry of a tree job
};

// Flags of an end frame.
constexpr uint8_t kEndCancelled = 1;  // cut short: not the whole answer

constexpr size_t kBatchHeader = 8;  // names offset + batch flags
// Batch flags.
constexpr uint32_t kBatchNamesAscii = 1u << 0;  // every name is 7-bit ASCII

enum class Record : uint8_t {
  kDir = 1,    // u8 tag, u8 0, u16 depth, u32 len, relative path bytes
  kEntry = 2,  // u8 tag, u8 d_type, u16 name len, stat fields (name: below)
  kError = 3,  // u8 tag, u8 0, u16 syscall len, i32 errno, u32 path len,
               // syscall, relative path
};

// Stat fields, in the order they are packed in an entry record.
enum StatField : uint32_t {
  kMode = 1u << 0,    // u32
  kUid = 1u << 1,     // u32
  kGid = 1u << 2,     // u32
  kNlink = 1u << 3,   // u32
  kSize = 1u << 4,    // u64
  kIno = 1u << 5,     // u64
  kDev = 1u << 6,     // u64
  kRdev = 1u << 7,    // u64
  kBlocks = 1u << 8,  // u64 blocks, u32 blksize
  kAtime = 1u << 9,   // i64 seconds, u32 nanoseconds
  kMtime = 1u << 10,  // i64 seconds, u32 nanoseconds
  kCtime = 1u << 11,  // i64 seconds, u32 nanoseconds
  kAllStat = (1u << 12) - 1,
};

// A walk request: u32 max depth, u32 stat mask, u32 walk flags, u32 window,
// u32 batch bytes, u32 exclude count, that many strings (u32 length, bytes:
// fnmatch(3) patterns, matched against an entry's name, or with a '/'
// against its path below the root, a leading '/' standing for the root),
// then the root's path.  An excluded
// entry is not listed, and an excluded directory is not opened.
constexpr uint32_t kMaxExcludes = 256;
constexpr uint32_t kMaxExcludeBytes = 4095;  // one pattern, PATH_MAX less NUL

// Walk flags.
enum WalkFlag : uint32_t {
  kOneFileSystem = 1u << 0,
  // Bits 8-15: how many threads list directories at once (0 means 1).
  kThreadsShift = 8,
  kThreadsMask = 0xffu << 8,
};
constexpr uint32_t kMaxWalkThreads = 16;

}  // namespace unshare_fs

// Wire format shared by the in-process server thread, the namespace worker
// and the TypeScript side.  This file is the one source: the addon exports
// its constants and op table (binding.cc), scripts/gen-protocol.js writes
// lib/wire/protocol.generated.ts from it (`npm run lint` fails when that
// file is stale), and test/protocol.test.ts compares the addon's table with
// the generated one; the ready frame and the loader check kProtocolVersion.
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
constexpr uint32_t kProtocolVersion = 13;

constexpr uint32_t kFrameHeader = 12;  // length + id + op + flags + reserved
// Requests longer than this are answered with E2BIG and skipped; the stream
// goes on.  Paths are at most PATH_MAX long, so no valid request is this big.
constexpr uint32_t kMaxRequest = 64 * 1024;

// How the server runs a request (server.cc dispatches on it):
enum class OpKind : uint8_t {
  kQuick = 1,    // a syscall or two: run by the thread that reads the socket
  kSingle = 2,   // one answer, from a request thread
  kStream = 3,   // a job: credit, cancel and a write's data reach it
  kControl = 4,  // for a running job or the server, answered by the reader
};

// The op table: X(name, number, kind, fields), each field F(type, name) in
// the order the payload carries them.  Types: u32, u64, i64 (little
// endian); str (u32 length, bytes); strs (u32 count, that many str); path
// (the rest of the frame: not empty, no NUL); bytes (the rest of the
// frame).  request.h makes a struct per op from it, request.cc its parser,
// binding.cc its exported table, scripts/gen-protocol.js the TypeScript.
//
// Changes are answered by an end frame or an error; their ids (uid, gid)
// are the server's own (the ids seen inside the namespace) and kNoId
// leaves one unchanged.  A write: the client then sends data frames (at
// most `window` ahead of the credit frames the server answers each with)
// and a write-end frame.  Tree jobs (remove, chown-tree) are answered by
// progress frames, entry-error frames (with kTreeKeepGoing), and an end
// frame carrying u64 entries done, u64 entry errors.  Xattrs are those of
// an entry itself (a final symlink not followed), answered by one data
// frame of records u32 name length, name, u32 value length, value.  Mknod
// makes a device, a FIFO or an overlay whiteout (a character device 0/0),
// `mode` carrying the type bits.  Tar: the tree under a directory as a
// POSIX tar stream (tar.h), data frames one per credit, then an end frame
// (flagged when cancelled) or an error.  Diff: what an overlay upper dir
// (`path`) changed against its lower dirs (top first, diff.h), read with
// the rules `flags` (DiffFlag) name, data frames of change records one per
// credit, then an end frame or an error.  Read:
// a stat frame of the open file, data frames, an end frame; `end` is
// exclusive (kToEnd for the whole file), EFBIG once more than `limit`
// would be read.  CopyFile: the regular file `from` to `to` as
// copyfile(3)/libuv do (created with `from`'s mode or truncated, then
// `from`'s mode set), the bytes moved in the kernel (copy_file_range,
// else sendfile); an end frame or an error.  Counters: one data frame of
// kCounterCount u32s (Counter), for tests to see what the server holds.
// Descend: a pruning walk's (kWalkPrune) answer to a batch flagged kBatchAsks,
// one byte per directory that batch and those before it listed since the last
// answer (at most kPruneAsk), 1 to descend into it, 0 to prune it.
//
// node:fs's path calls with no other home: access (an end frame; `mode`
// F_OK or R_OK|W_OK|X_OK, checked with the server's own credentials),
// realpath (a data frame: the path resolved inside the session's root, or
// in the server's mount namespace without one), statfs (a data frame of
// kStatfsFields u64s, StatfsField's order).  Open files (handles.h): open
// answers a data frame of a u32 handle, the server's own fd number, good
// until close; `flags` are Linux's O_* bits (kOpenFlags), `mode` a created
// file's.  A handle's read answers a data frame of the bytes read (at most
// `length`, kMaxChunk at most), its write a data frame of a u32 count
// written, its stat a stat frame, the rest an end frame; a position of
// kToEnd is the file's own (read(2), write(2)), any other pread/pwrite's.
// EBADF for a handle the session does not hold.  A handle opened with
// O_DIRECTORY is read by readdir: a data frame of one walk batch of the
// directory's next entries (types, no stats, the DIR record's path ""), one
// getdents64 at a time from the fd's own offset; a batch without a record
// is the end.  A Dir holds its directory so, not a request thread.
#define UNSHARE_FS_OPS(X)                                                      \
  X(Lstat, 1, kQuick, F(path, path))                                           \
  X(Stat, 2, kQuick, F(path, path))                                            \
  X(Readlink, 3, kQuick, F(path, path))                                        \
  X(ReadFile, 4, kStream,                                                      \
    F(u64, start) F(u64, end) F(u64, limit) F(u32, window) F(u32, chunk_bytes) \
        F(path, path))                                                         \
  X(Walk, 5, kStream,                                                          \
    F(u32, max_depth) F(u32, stat_mask) F(u32, flags) F(u32, window)           \
        F(u32, batch_bytes) F(strs, excludes) F(path, path))                   \
  X(Credit, 6, kControl, F(u32, credit))                                       \
  X(Cancel, 7, kControl, )                                                     \
  X(Mount, 8, kSingle,                                                         \
    F(u64, flags) F(str, source) F(str, target) F(str, fstype) F(str, data))   \
  X(Unmount, 9, kSingle, F(u32, flags) F(path, target))                        \
  X(SetRoot, 10, kSingle, F(path, path))                                       \
  X(Mkdir, 11, kSingle,                                                        \
    F(u32, mode) F(u32, flags) F(u32, uid) F(u32, gid) F(path, path))          \
  X(Unlink, 12, kSingle, F(path, path))                                        \
  X(Rmdir, 13, kSingle, F(path, path))                                         \
  X(Rename, 14, kSingle, F(str, from) F(str, to))                              \
  X(Link, 15, kSingle, F(str, existing) F(str, new_path))                      \
  X(Symlink, 16, kSingle, F(str, target) F(str, path))                         \
  X(Chmod, 17, kSingle, F(u32, mode) F(path, path))                            \
  X(Chown, 18, kSingle, F(u32, uid) F(u32, gid) F(u32, flags) F(path, path))   \
  X(Utimes, 19, kSingle,                                                       \
    F(i64, atime_sec) F(u32, atime_nsec) F(i64, mtime_sec) F(u32, mtime_nsec)  \
        F(u32, flags) F(path, path))                                           \
  X(Truncate, 20, kSingle, F(u64, length) F(path, path))                       \
  X(Write, 21, kStream,                                                        \
    F(u32, flags) F(u32, mode) F(u32, uid) F(u32, gid) F(u32, window)          \
        F(u64, position) F(path, path))                                        \
  X(WriteData, 22, kControl, F(bytes, data))                                   \
  X(WriteEnd, 23, kControl, )                                                  \
  X(Remove, 24, kStream, F(u32, flags) F(u32, uid) F(u32, gid) F(path, path))  \
  X(ChownTree, 25, kStream,                                                    \
    F(u32, flags) F(u32, uid) F(u32, gid) F(path, path))                       \
  X(Xattrs, 26, kQuick, F(path, path))                                         \
  X(Mknod, 27, kSingle,                                                        \
    F(u32, mode) F(u64, rdev) F(u32, uid) F(u32, gid) F(path, path))           \
  X(SetXattr, 28, kSingle, F(str, name) F(str, value) F(str, path))            \
  X(Tar, 29, kStream,                                                          \
    F(u32, flags) F(u32, window) F(u32, chunk_bytes) F(path, path))            \
  X(Diff, 30, kStream,                                                         \
    F(u32, flags) F(u32, window) F(strs, lowers) F(path, path))                \
  X(Counters, 31, kControl, )                                                  \
  X(Descend, 32, kControl, F(bytes, verdicts))                                 \
  X(Access, 33, kQuick, F(u32, mode) F(path, path))                            \
  X(Realpath, 34, kQuick, F(path, path))                                       \
  X(Statfs, 35, kQuick, F(path, path))                                         \
  X(Open, 36, kSingle, F(u32, flags) F(u32, mode) F(path, path))               \
  X(HandleRead, 37, kSingle, F(u32, handle) F(u32, length) F(u64, position))   \
  X(HandleWrite, 38, kSingle, F(u32, handle) F(u64, position) F(bytes, data))  \
  X(HandleStat, 39, kQuick, F(u32, handle))                                    \
  X(HandleTruncate, 40, kSingle, F(u32, handle) F(u64, length))                \
  X(HandleChmod, 41, kSingle, F(u32, handle) F(u32, mode))                     \
  X(HandleChown, 42, kSingle, F(u32, handle) F(u32, uid) F(u32, gid))          \
  X(HandleSync, 43, kSingle, F(u32, handle) F(u32, flags))                     \
  X(Close, 44, kSingle, F(u32, handle))                                        \
  X(CopyFile, 45, kSingle, F(u32, flags) F(str, from) F(str, to))              \
  X(HandleReaddir, 46, kSingle, F(u32, handle))

enum class Op : uint8_t {
#define X(name, number, kind, fields) k##name = number,
  UNSHARE_FS_OPS(X)
#undef X
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
  kWriteNoCreate = 1u << 3,   // "r+": the file must exist
  kWriteSync = 1u << 4,       // "s": O_SYNC
  kWriteFlush = 1u << 5,      // flush: fsync before close
};
// Open flags a request may carry, Linux's values (handles.cc asserts them
// against fcntl.h): O_ACCMODE, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC
// (with O_DSYNC), O_DIRECTORY, O_NOFOLLOW, O_NOATIME; any other is EINVAL.
// The server adds O_NONBLOCK, O_NOCTTY and O_CLOEXEC to every open: a FIFO
// or a device never holds a request thread.
constexpr uint32_t kOpenFlags = 0x1716c3;
// Handles one session may hold open at once; one more is EMFILE.
constexpr uint32_t kMaxHandles = 256;
// HandleSync flags.
constexpr uint32_t kSyncData = 1u << 0;  // fdatasync(2), not fsync(2)
// A statfs frame's u64s, in this order (node's StatFs fields).
enum StatfsField : uint32_t {
  kStatfsType = 0,
  kStatfsBsize = 1,
  kStatfsBlocks = 2,
  kStatfsBfree = 3,
  kStatfsBavail = 4,
  kStatfsFiles = 5,
  kStatfsFfree = 6,
  kStatfsFrsize = 7,  // node 22's StatFs has it, node 20's not
  kStatfsFields = 8,
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
  // With kTarLayer: the upper dir is fuse-overlayfs's (overlay.h's
  // fuse-overlayfs markers are read, and none is written as it is).
  kTarFuseOverlayfs = 1u << 3,
};
// CopyFile flags.
enum CopyFlag : uint32_t {
  kCopyExclusive = 1u << 0,  // COPYFILE_EXCL: `to` must not exist
  kCopyNoFollow = 1u << 1,   // `from` itself is not followed if a symlink
};
// Diff flags.
enum DiffFlag : uint32_t {
  // The layers are fuse-overlayfs's (a containers/storage overlay driver
  // with a mount_program): its markers as overlay.h reads them, and the
  // changes as containers/storage's diff of two mounted trees gives them.
  kDiffFuseOverlayfs = 1u << 0,
};
// A change record of a diff: a kind ('A' added, 'C' changed, 'D'
// deleted), 'd' for a directory or '-', the path as seen inside ("/a/b"),
// NUL.  Records come sorted by path (bytes compared), and a data frame
// holds whole records.

// Lower dirs a diff takes at most (overlay stacks 500 at most).
constexpr uint32_t kMaxLowers = 500;
// Entries done between two progress frames.
constexpr uint32_t kProgressEvery = 1024;

// A read's `end` for the whole file.
constexpr uint64_t kToEnd = UINT64_MAX;
// Most bytes a data frame of a read or a tar may hold, and fewest (a tar's).
constexpr uint32_t kMaxChunk = 1u << 20;
constexpr uint32_t kMinTarChunk = 4096;
// Most frames a stream may send ahead of its credit.
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

constexpr uint32_t kBatchHeader = 8;  // names offset + batch flags
// Batch flags.
constexpr uint32_t kBatchNamesAscii = 1u << 0;  // every name is 7-bit ASCII
// A pruning walk waits for a Descend frame about the directories listed
// since its last answer (this batch's and earlier ones').
constexpr uint32_t kBatchAsks = 1u << 1;
// Most directories one Descend frame answers for (the walker asks once it
// has listed this many in one directory, and at each directory's end).
constexpr uint32_t kPruneAsk = 4096;
// A walk's batch bytes: at least, at most, and what lib/ asks for.
constexpr uint32_t kMinBatchBytes = 4096;
constexpr uint32_t kMaxBatchBytes = 8u << 20;
constexpr uint32_t kWalkBatchBytes = 64 * 1024;
// Batches lib/ lets a walk send ahead of its consumer: room for the walker
// while the consumer's code warms up.
constexpr uint32_t kWalkWindow = 32;
// The server's socket send buffer: a walk's whole window fits, so walker
// threads do not block in sendmsg while the client is busy (JIT warm-up,
// GC).  The kernel caps it at net.core.wmem_max.
constexpr uint32_t kSendBufferBytes = kWalkWindow * kWalkBatchBytes;

enum class RecordTag : uint8_t {
  kDir = 1,    // u8 tag, u8 0, u16 depth, u32 len, relative path bytes
  kEntry = 2,  // u8 tag, u8 d_type, u16 name len, stat fields (name: below)
  // u8 tag, u8 0, u16 syscall len, i32 errno, u32 path len, syscall,
  // relative path
  kError = 3,
  // u8 tag, u8 0, u16 0, u32 0, kSummaryValues u64s (a summing walk's)
  kSummary = 4,
};

// A summing walk (kSummarize) lists no entry: each walking thread adds up
// what it stats and sends its sums as a SUMMARY record every
// kSummaryEvery entries and once at its end (the sums since its last
// record), in batches of their own beside the error records.  A record's
// u64s, three for each kind of entry: directories, the first name found of
// every other inode, and the further names of a hard-linked inode (by
// st_dev and st_ino, st_nlink > 1); for each, entries, st_size summed and
// st_blocks * 512 summed.  With kOneFileSystem an entry on another device
// than the root (a mount point) is left out of the sums.
enum SummaryKind : uint32_t {
  kSumDirs = 0,   // where the directories' three values start
  kSumFiles = 3,  // the first names' three
  kSumLinks = 6,  // the further names' three
};
// Added to a SummaryKind: entries, st_size summed, st_blocks * 512 summed.
enum SummaryField : uint32_t {
  kSumEntries = 0,
  kSumApparent = 1,
  kSumAllocated = 2,
};
constexpr uint32_t kSummaryValues = 9;
// A SUMMARY record's bytes.
constexpr uint32_t kSummaryRecordBytes = 8 + 8 * kSummaryValues;
// Entries a walking thread sums between two SUMMARY records.
constexpr uint32_t kSummaryEvery = 4096;

// Stat fields, in the order they are packed in an entry record and in a
// stat frame (which has them all).
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
// Bytes of each stat field, bit by bit, and of them all.
constexpr uint32_t kStatFieldBytes[] = {4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12};
constexpr uint32_t kAllStatBytes = 96;

// A walk's excludes are fnmatch(3) patterns, matched against an entry's
// name, or with a '/' against its path below the root, a leading '/'
// standing for the root.  An excluded entry is not listed, and an excluded
// directory is not opened.
constexpr uint32_t kMaxExcludes = 256;
constexpr uint32_t kMaxExcludeBytes = 4095;  // one pattern, PATH_MAX less NUL

// Walk flags.
enum WalkFlag : uint32_t {
  kOneFileSystem = 1u << 0,
  // The client prunes: the walker descends only into the directories the
  // client's Descend frames name (one thread walks).
  kPrune = 1u << 1,
  // Sums instead of entries: SUMMARY records (above); not with kPrune.
  kSummarize = 1u << 2,
  // Bits 8-15: how many threads list directories at once (0 means 1).
  kThreadsShift = 8,
  kThreadsMask = 0xffu << 8,
};
constexpr uint32_t kMaxWalkThreads = 16;

// What a Port (binding.cc) calls back with: libuv's readiness bits.
constexpr uint32_t kPortReadable = 1;
constexpr uint32_t kPortWritable = 2;

// A counters frame's u32s, in this order: what the server holds right now.
// Tests read them to see that something did not happen (nothing queued, no
// job left waiting for credit) instead of sleeping.
enum Counter : uint32_t {
  kCounterCreditWaits = 0,   // jobs waiting for credit
  kCounterThreads = 1,       // live request threads
  kCounterQuickThreads = 2,  // live quick threads
  kCounterQueued = 3,        // requests waiting for a request thread
  kCounterQuickQueued = 4,   // quick requests waiting for a quick thread
  kCounterJobs = 5,          // streaming requests registered
  kCounterIdle = 6,          // request threads idle
  kCounterWalkHelpers = 7,   // extra walker threads taken
  kCounterCount = 8,
};

// What the addon exports (binding.cc): every constant and enum member
// above.  scripts/gen-protocol.js fails when one is left out here.
#define UNSHARE_FS_CONSTANTS(C) \
  C(kProtocolVersion)           \
  C(kFrameHeader)               \
  C(kMaxRequest)                \
  C(kNoId)                      \
  C(kMkdirRecursive)            \
  C(kNoFollow)                  \
  C(kMaxLowers)                 \
  C(kProgressEvery)             \
  C(kToEnd)                     \
  C(kMaxChunk)                  \
  C(kMinTarChunk)               \
  C(kMaxWindow)                 \
  C(kEndCancelled)              \
  C(kBatchHeader)               \
  C(kBatchNamesAscii)           \
  C(kBatchAsks)                 \
  C(kPruneAsk)                  \
  C(kMinBatchBytes)             \
  C(kMaxBatchBytes)             \
  C(kWalkBatchBytes)            \
  C(kWalkWindow)                \
  C(kSendBufferBytes)           \
  C(kStatFieldBytes)            \
  C(kAllStatBytes)              \
  C(kSummaryValues)             \
  C(kSummaryRecordBytes)        \
  C(kSummaryEvery)              \
  C(kMaxExcludes)               \
  C(kMaxExcludeBytes)           \
  C(kMaxWalkThreads)            \
  C(kPortReadable)              \
  C(kPortWritable)              \
  C(kOpenFlags)                 \
  C(kMaxHandles)                \
  C(kSyncData)
#define UNSHARE_FS_ENUMS(E)        \
  E(OpKind, kQuick)                \
  E(OpKind, kSingle)               \
  E(OpKind, kStream)               \
  E(OpKind, kControl)              \
  E(WriteFlag, kWriteTruncate)     \
  E(WriteFlag, kWriteAppend)       \
  E(WriteFlag, kWriteExclusive)    \
  E(WriteFlag, kWriteNoCreate)     \
  E(WriteFlag, kWriteSync)         \
  E(WriteFlag, kWriteFlush)        \
  E(TreeFlag, kTreeRecursive)      \
  E(TreeFlag, kTreeForce)          \
  E(TreeFlag, kTreeKeepGoing)      \
  E(TreeFlag, kTreeAllowRoot)      \
  E(TreeFlag, kTreeCrossMounts)    \
  E(TarFlag, kTarXattrs)           \
  E(TarFlag, kTarLayer)            \
  E(TarFlag, kTarCopy)             \
  E(TarFlag, kTarFuseOverlayfs)    \
  E(DiffFlag, kDiffFuseOverlayfs)  \
  E(CopyFlag, kCopyExclusive)      \
  E(CopyFlag, kCopyNoFollow)       \
  E(Reply, kStat)                  \
  E(Reply, kData)                  \
  E(Reply, kBatch)                 \
  E(Reply, kEnd)                   \
  E(Reply, kError)                 \
  E(Reply, kReady)                 \
  E(Reply, kCredit)                \
  E(Reply, kProgress)              \
  E(Reply, kEntryError)            \
  E(RecordTag, kDir)               \
  E(RecordTag, kEntry)             \
  E(RecordTag, kError)             \
  E(RecordTag, kSummary)           \
  E(SummaryKind, kSumDirs)         \
  E(SummaryKind, kSumFiles)        \
  E(SummaryKind, kSumLinks)        \
  E(SummaryField, kSumEntries)     \
  E(SummaryField, kSumApparent)    \
  E(SummaryField, kSumAllocated)   \
  E(StatField, kMode)              \
  E(StatField, kUid)               \
  E(StatField, kGid)               \
  E(StatField, kNlink)             \
  E(StatField, kSize)              \
  E(StatField, kIno)               \
  E(StatField, kDev)               \
  E(StatField, kRdev)              \
  E(StatField, kBlocks)            \
  E(StatField, kAtime)             \
  E(StatField, kMtime)             \
  E(StatField, kCtime)             \
  E(StatField, kAllStat)           \
  E(WalkFlag, kOneFileSystem)      \
  E(WalkFlag, kPrune)              \
  E(WalkFlag, kSummarize)          \
  E(WalkFlag, kThreadsShift)       \
  E(WalkFlag, kThreadsMask)        \
  E(Counter, kCounterCreditWaits)  \
  E(Counter, kCounterThreads)      \
  E(Counter, kCounterQuickThreads) \
  E(Counter, kCounterQueued)       \
  E(Counter, kCounterQuickQueued)  \
  E(Counter, kCounterJobs)         \
  E(Counter, kCounterIdle)         \
  E(Counter, kCounterWalkHelpers)  \
  E(Counter, kCounterCount)        \
  E(StatfsField, kStatfsType)      \
  E(StatfsField, kStatfsBsize)     \
  E(StatfsField, kStatfsBlocks)    \
  E(StatfsField, kStatfsBfree)     \
  E(StatfsField, kStatfsBavail)    \
  E(StatfsField, kStatfsFiles)     \
  E(StatfsField, kStatfsFfree)     \
  E(StatfsField, kStatfsFrsize)    \
  E(StatfsField, kStatfsFields)

static_assert(sizeof kStatFieldBytes / sizeof kStatFieldBytes[0] == 12);
static_assert(kAllStatBytes == 4 * 4 + 4 * 8 + 12 + 3 * 12);

}  // namespace unshare_fs

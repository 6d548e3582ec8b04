// Recursive directory walk over openat + getdents64 (+ fstatat), packing
// entries into self-contained record batches.  No N-API here: the same
// walker runs in the in-process server thread and in the namespace worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "buffer.h"

namespace unshare_fs {

struct WalkOptions {
  uint32_t max_depth = UINT32_MAX;  // entries deeper than this are not listed
  uint32_t stat_mask = 0;           // StatField bits; 0 = names and types
  uint32_t flags = 0;               // WalkFlag bits
  size_t batch_bytes = 64 * 1024;   // flush a batch once it grows past this
  unsigned threads = 1;             // threads listing directories at once
  // fnmatch(3) patterns: an entry whose name matches one of `exclude_names`
  // (flags 0), or whose path below the root ("a/b") matches one of
  // `exclude_paths` (FNM_PATHNAME), is not listed and, a directory, not
  // opened.
  std::vector<std::string> exclude_names, exclude_paths;
  // With kPrune: waits for the client's answer about the directories
  // listed since the last one (a Descend frame's bytes); false once the
  // walk is cancelled.
  std::function<bool(std::string& verdicts)> descend;
};

// Receives each finished batch (records only, no frame header); called from
// every walking thread, so it must be thread-safe.  Returns false to stop the
// walk (consumer gone or cancelled).
using BatchSink = std::function<bool(const ByteBuffer& batch)>;

// Walks `root` (opened by the caller, O_DIRECTORY).  Returns 0 when the
// walk ran to the end or was stopped by the sink; errors inside the tree
// travel as error records.  `root_fd` is closed by the walk.
int Walk(int root_fd, const WalkOptions& options, const BatchSink& sink,
         const std::atomic<bool>& cancelled);

}  // namespace unshare_fs

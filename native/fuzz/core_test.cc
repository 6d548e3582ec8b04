// Unit tests of native/core that need no node: request frames and parsing,
// batches written and read back, and a real walk read with BatchReader.
// Run by scripts/fuzz.sh before the fuzz targets; `core_test NAME...` runs
// the tests whose names contain one of the arguments.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../core/batch.h"
#include "../core/batch_reader.h"
#include "../core/request.h"
#include "../core/walker.h"
#include "check.h"
#include "request_encoder.h"

namespace unshare_fs {
namespace {

struct TestCase {
  const char* name;
  void (*run)();
};

std::vector<TestCase>& Tests() {
  static std::vector<TestCase> tests;
  return tests;
}

struct Register {
  Register(const char* name, void (*run)()) { Tests().push_back({name, run}); }
};

#define TEST(name)                               \
  void name();                                   \
  const Register name##_registered{#name, name}; \
  void name()

// ---- requests ------------------------------------------------------------

std::vector<Frame> Split(const std::vector<uint8_t>& stream, size_t chunk) {
  FrameSplitter splitter;
  std::vector<Frame> frames;
  Frame frame;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    size_t n = std::min(chunk, stream.size() - at);
    splitter.Append(stream.data() + at, n);
    while (splitter.Next(frame)) frames.push_back(frame);
  }
  return frames;
}

template <typename Args>
Request Make(uint32_t id, Args args) {
  Request r;
  r.id = id;
  r.op = Args::kOp;
  r.args = std::move(args);
  return r;
}

std::vector<Request> SampleRequests() {
  std::vector<Request> requests;
  requests.push_back(Make(1, req::Lstat{.path = "/etc/passwd"}));
  requests.push_back(Make(2, req::ReadFile{.start = 5,
                                           .end = kToEnd,
                                           .limit = 1 << 20,
                                           .window = kMaxWindow,
                                           .chunk_bytes = kMaxChunk,
                                           .path = "a"}));
  requests.push_back(
      Make(3, req::Walk{.max_depth = UINT32_MAX,
                        .stat_mask = kAllStat,
                        .flags = kOneFileSystem | (4 << kThreadsShift),
                        .window = 32,
                        .batch_bytes = 64 * 1024,
                        .excludes = {"node_modules", "a/*/b"},
                        .path = "/usr"}));
  requests.push_back(Make(4, req::Credit{.credit = 7}));
  requests.push_back(Make(4, req::Cancel{}));
  requests.push_back(Make(5, req::Mount{.flags = 0x1000,
                                        .source = "",
                                        .target = "/mnt",
                                        .fstype = "overlay",
                                        .data = "lowerdir=/a,upperdir=/b"}));
  requests.push_back(Make(6, req::Unmount{.flags = 2, .target = "/mnt"}));
  requests.push_back(Make(7, req::SetRoot{.path = "/"}));
  return requests;
}

TEST(RequestsSurviveEncodingWhateverTheChunks) {
  std::vector<Request> requests = SampleRequests();
  std::vector<uint8_t> stream;
  for (const Request& r : requests) {
    std::vector<uint8_t> frame = RequestEncoder::Frame(r);
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{13}, stream.size()}) {
    std::vector<Frame> frames = Split(stream, chunk);
    CHECK(frames.size() == requests.size());
    for (size_t i = 0; i < frames.size(); i++) {
      Request parsed;
      CHECK(ParseRequest(frames[i], parsed) == 0);
      CHECK(parsed == requests[i]);
    }
  }
}

int ParseOne(const std::vector<uint8_t>& bytes) {
  FrameSplitter splitter;
  splitter.Append(bytes.data(), bytes.size());
  Frame frame;
  CHECK(splitter.Next(frame));
  Request request;
  return ParseRequest(frame, request);
}

TEST(BadRequestsAreRefused) {
  Request r = Make(9, req::Stat{.path = ""});
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  r.As<req::Stat>().path = std::string("a\0b", 3);
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  r = SampleRequests()[2];  // a walk
  r.As<req::Walk>().batch_bytes = kMinBatchBytes - 1;
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  // Exclude patterns: too many, empty, with a NUL, too long.
  r = SampleRequests()[2];
  std::vector<std::string>& excludes = r.As<req::Walk>().excludes;
  excludes.assign(kMaxExcludes, "x");
  CHECK(ParseOne(RequestEncoder::Frame(r)) == 0);
  excludes.push_back("x");
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  excludes = {""};
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  excludes = {std::string("a\0b", 3)};
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  excludes = {std::string(kMaxExcludeBytes, 'x')};
  CHECK(ParseOne(RequestEncoder::Frame(r)) == 0);
  excludes = {std::string(kMaxExcludeBytes + 1, 'x')};
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  // A count that promises more patterns than the payload holds.
  std::vector<uint8_t> walk = RequestEncoder::Frame(SampleRequests()[2]);
  walk[kFrameHeader + 20] = 200;
  CHECK(ParseOne(walk) == EINVAL);
  r = SampleRequests()[1];  // a read
  r.As<req::ReadFile>().window = 0;
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  r = SampleRequests()[1];
  r.As<req::ReadFile>().start = 10;
  r.As<req::ReadFile>().end = 9;
  CHECK(ParseOne(RequestEncoder::Frame(r)) == EINVAL);
  std::vector<uint8_t> frame = RequestEncoder::Frame(SampleRequests()[0]);
  frame[8] = 0;  // op
  CHECK(ParseOne(frame) == ENOSYS);
  frame[8] = 200;
  CHECK(ParseOne(frame) == ENOSYS);
  // A mount whose strings run past the payload.
  frame = RequestEncoder::Frame(SampleRequests()[5]);
  frame[kFrameHeader + 8] = 0xff;
  CHECK(ParseOne(frame) == EINVAL);
}

TEST(AnOversizedFrameCostsOnlyItself) {
  std::vector<uint8_t> stream = {0, 0, 0, 0};  // a frame too short: len 0
  uint32_t len = kMaxRequest + 1;
  std::vector<uint8_t> big(4 + len, 'x');
  std::memcpy(big.data(), &len, 4);
  uint32_t id = 77;
  std::memcpy(big.data() + 4, &id, 4);
  big[8] = static_cast<uint8_t>(Op::kStat);
  stream.insert(stream.end(), big.begin(), big.end());
  std::vector<uint8_t> good = RequestEncoder::Frame(SampleRequests()[0]);
  stream.insert(stream.end(), good.begin(), good.end());
  for (size_t chunk : {size_t{5}, size_t{4096}, stream.size()}) {
    std::vector<Frame> frames = Split(stream, chunk);
    CHECK(frames.size() == 3);
    Request request;
    CHECK(frames[0].oversized && frames[0].id == 0);
    CHECK(ParseRequest(frames[1], request) == E2BIG);
    CHECK(request.id == 77 && request.op == Op::kStat);
    CHECK(ParseRequest(frames[2], request) == 0);
    CHECK(request == SampleRequests()[0]);
  }
}

// ---- batches -------------------------------------------------------------

std::vector<BatchRecord> Read(const ByteBuffer& batch, uint32_t mask,
                              uint32_t* flags = nullptr) {
  std::vector<BatchRecord> records;
  uint32_t f;
  CHECK(ReadBatch(batch.Data(), batch.Size(), mask, records, f));
  if (flags != nullptr) *flags = f;
  return records;
}

bool Accepts(const std::vector<uint8_t>& bytes, uint32_t mask) {
  std::vector<BatchRecord> records;
  uint32_t flags;
  return ReadBatch(bytes.data(), bytes.size(), mask, records, flags);
}

TEST(BatchRecordsComeBackAsWritten) {
  const uint32_t mask = kMode | kSize | kMtime;
  struct stat st;
  std::memset(&st, 0, sizeof st);
  st.st_mode = S_IFREG | 0644;
  st.st_size = 12345;
  st.st_mtim = {1700000000, 999999999};
  st.st_uid = 1000;  // not in the mask
  BatchWriter writer(mask, 4096);
  CHECK(writer.Empty());
  writer.DirRecord(0, "");
  writer.Entry("a", DT_REG, st);
  writer.ErrorRecord(EACCES, "scandir", "b");
  writer.DirRecord(70000, "b/c");
  writer.Entry("d\xc3\xa9", DT_REG, st);
  CHECK(!writer.Empty());
  size_t size = writer.Size();
  const ByteBuffer& batch = writer.Finish();
  CHECK(batch.Size() == size);
  uint32_t flags;
  std::vector<BatchRecord> records = Read(batch, mask, &flags);
  CHECK(flags == 0);  // a name is not ASCII
  CHECK(records.size() == 5);
  CHECK(records[0].kind == RecordTag::kDir && records[0].path.empty());
  CHECK(records[1].kind == RecordTag::kEntry && records[1].path == "a");
  CHECK(records[1].type == DT_REG);
  CHECK(records[1].stat.mode == (S_IFREG | 0644));
  CHECK(records[1].stat.size == 12345 && records[1].stat.uid == 0);
  CHECK(records[1].stat.mtime_sec == 1700000000);
  CHECK(records[1].stat.mtime_nsec == 999999999);
  CHECK(records[2].kind == RecordTag::kError && records[2].err == EACCES);
  CHECK(records[2].syscall == "scandir" && records[2].path == "b");
  CHECK(records[3].depth == 0xffff && records[3].path == "b/c");
  CHECK(records[4].path == "d\xc3\xa9");

  writer.Clear();
  CHECK(writer.Empty());
  writer.DirRecord(1, "x");
  writer.Entry("y", DT_DIR, st);
  records = Read(writer.Finish(), mask, &flags);
  CHECK(flags == kBatchNamesAscii);
  CHECK(records.size() == 2 && records[1].path == "y");

  // A pruning walk's batch that asks for the client's answer.
  writer.Clear();
  writer.DirRecord(1, "x");
  writer.Entry("y", DT_DIR, st);
  records = Read(writer.Finish(kBatchAsks), mask, &flags);
  CHECK(flags == (kBatchNamesAscii | kBatchAsks));
  CHECK(records.size() == 2 && records[1].path == "y");

  // A summing walk's batch: sums and errors, no DIR record needed.
  writer.Clear();
  uint64_t sums[kSummaryValues];
  for (uint32_t i = 0; i < kSummaryValues; i++) sums[i] = (1ull << 60) + i;
  writer.ErrorRecord(ENOENT, "lstat", "gone");
  writer.SummaryRecord(sums);
  records = Read(writer.Finish(), 0, &flags);
  CHECK(records.size() == 2 && records[0].kind == RecordTag::kError);
  CHECK(records[1].kind == RecordTag::kSummary);
  CHECK(std::equal(std::begin(sums), std::end(sums), records[1].sums));
}

std::vector<uint8_t> Bytes(const ByteBuffer& batch) {
  return std::vector<uint8_t>(batch.Data(), batch.Data() + batch.Size());
}

TEST(MalformedBatchesAreRefused) {
  struct stat st {};
  BatchWriter writer(kMode, 4096);
  writer.DirRecord(0, "");
  writer.Entry("abc", DT_REG, st);
  const std::vector<uint8_t> good = Bytes(writer.Finish());
  CHECK(Accepts(good, kMode));
  CHECK(!Accepts(good, kMode | kUid));  // records shorter than the mask says
  CHECK(!Accepts(good, 1u << 20));      // a mask bit that does not exist
  for (size_t n = 0; n < good.size(); n++) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    CHECK(!Accepts(cut, kMode));
  }
  std::vector<uint8_t> bad = good;
  bad[0] = static_cast<uint8_t>(good.size() + 1);  // names past the end
  CHECK(!Accepts(bad, kMode));
  bad = good;
  bad[4] = 4;  // an unknown batch flag (1 names ASCII, 2 asks)
  CHECK(!Accepts(bad, kMode));
  bad = good;
  bad[8] = 9;  // an unknown record
  CHECK(!Accepts(bad, kMode));
  bad = good;
  bad.push_back('z');  // a name no entry claims
  CHECK(!Accepts(bad, kMode));
  bad = good;
  bad[bad.size() - 2] = '/';
  CHECK(!Accepts(bad, kMode));
  bad = good;
  bad[bad.size() - 1] = 0x80;  // not ASCII in a batch that says ASCII
  CHECK(!Accepts(bad, kMode));

  writer.Clear();
  writer.Entry("a", DT_REG, st);  // no DIR record first
  CHECK(!Accepts(Bytes(writer.Finish()), kMode));
  writer.Clear();
  const uint64_t sums[kSummaryValues] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  writer.SummaryRecord(sums);
  const std::vector<uint8_t> summary = Bytes(writer.Finish());
  CHECK(Accepts(summary, 0));
  for (size_t n = 0; n < summary.size(); n++) {
    CHECK(!Accepts(std::vector<uint8_t>(summary.begin(), summary.begin() + n),
                   0));
  }
  for (size_t reserved = 9; reserved < 16; reserved++) {
    bad = summary;
    bad[reserved] = 1;
    CHECK(!Accepts(bad, 0));
  }
  writer.Clear();
  CHECK(Accepts(Bytes(writer.Finish()), kMode));  // no record at all
}

// ---- a real walk ---------------------------------------------------------

std::string MakeTree() {
  char tmpl[] = "/tmp/unshare-fs-core-test.XXXXXX";
  CHECK(mkdtemp(tmpl) != nullptr);
  std::string root = tmpl;
  CHECK(mkdir((root + "/d").c_str(), 0755) == 0);
  CHECK(mkdir((root + "/d/e").c_str(), 0755) == 0);
  CHECK(mkdir((root + "/closed").c_str(), 0755) == 0);
  for (std::string file : {"/f", "/d/g", "/d/e/h", "/d/\xff", "/closed/x"}) {
    int fd = open((root + file).c_str(), O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
  }
  CHECK(symlink("f", (root + "/link").c_str()) == 0);
  return root;
}

void RemoveTree(const std::string& root) {
  chmod((root + "/closed").c_str(), 0755);
  std::string command = "rm -rf '" + root + "'";
  CHECK(system(command.c_str()) == 0);
}

TEST(EveryBatchOfAWalkReadsBack) {
  std::string root = MakeTree();
  CHECK(chmod((root + "/closed").c_str(), 0) == 0);
  bool as_root = geteuid() == 0;  // root opens a 0000 directory all the same
  for (uint32_t mask : {0u, uint32_t{kAllStat}}) {
    for (size_t batch_bytes : {size_t{1}, size_t{64 * 1024}}) {
      WalkOptions options;
      options.stat_mask = mask;
      options.batch_bytes = batch_bytes;
      std::mutex mu;
      std::map<std::string, uint8_t> entries;  // path -> type
      std::vector<std::string> errors;
      size_t batches = 0;
      BatchSink sink = [&](const ByteBuffer& batch) {
        std::vector<BatchRecord> records = Read(batch, mask);
        std::lock_guard<std::mutex> lk(mu);
        batches++;
        std::string dir;
        for (const BatchRecord& r : records) {
          if (r.kind == RecordTag::kDir) {
            dir = r.path.empty() ? "" : std::string(r.path) + "/";
          } else if (r.kind == RecordTag::kEntry) {
            entries[dir + std::string(r.path)] = r.type;
            if (mask != 0) CHECK(r.stat.nlink >= 1);
          } else {
            errors.push_back(std::string(r.syscall) + " " +
                             std::string(r.path));
          }
        }
        return true;
      };
      std::atomic<bool> cancelled{false};
      int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      CHECK(fd >= 0);
      CHECK(Walk(fd, options, sink, cancelled) == 0);
      std::map<std::string, uint8_t> expected = {
          {"f", DT_REG},    {"d", DT_DIR},     {"d/e", DT_DIR},
          {"d/g", DT_REG},  {"d/e/h", DT_REG}, {"d/\xff", DT_REG},
          {"link", DT_LNK}, {"closed", DT_DIR}};
      if (as_root) expected["closed/x"] = DT_REG;
      CHECK(entries == expected);
      if (as_root) {
        CHECK(errors.empty());
      } else {
        CHECK(errors == std::vector<std::string>{"scandir closed"});
      }
      if (batch_bytes == 1) CHECK(batches >= expected.size());
    }
  }
  RemoveTree(root);
}

// Sums of a summing walk (kSummarize) as one-thread and four-thread walks
// send them, against what a plain walk with stats lists: every entry
// counted once, a hard-linked file's bytes once, more than kSummaryEvery
// entries in several records.
TEST(ASummingWalkAddsUpTheTree) {
  std::string root = MakeTree();
  CHECK(mkdir((root + "/many").c_str(), 0755) == 0);
  for (uint32_t i = 0; i < kSummaryEvery + 100; i++) {
    std::string file = root + "/many/" + std::to_string(i);
    int fd = open(file.c_str(), O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && write(fd, "abc", i % 4) == static_cast<ssize_t>(i % 4));
    close(fd);
  }
  CHECK(link((root + "/f").c_str(), (root + "/d/e/f2").c_str()) == 0);
  CHECK(link((root + "/f").c_str(), (root + "/many/f3").c_str()) == 0);
  // What the sums must be, from lstat of every path a plain walk lists.
  uint64_t want[kSummaryValues] = {};
  std::set<std::pair<uint64_t, uint64_t>> inodes;
  {
    WalkOptions options;
    options.stat_mask = kMode;
    std::mutex mu;
    std::vector<std::string> paths;
    BatchSink sink = [&](const ByteBuffer& batch) {
      std::lock_guard<std::mutex> lk(mu);
      std::string dir;
      for (const BatchRecord& r : Read(batch, kMode)) {
        if (r.kind == RecordTag::kDir) dir = std::string(r.path) + "/";
        if (r.kind == RecordTag::kEntry)
          paths.push_back(dir + std::string(r.path));
      }
      return true;
    };
    std::atomic<bool> cancelled{false};
    CHECK(Walk(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), options,
               sink, cancelled) == 0);
    for (const std::string& rel : paths) {
      struct stat st;
      CHECK(lstat((root + "/" + rel).c_str(), &st) == 0);
      uint32_t kind = S_ISDIR(st.st_mode) ? kSumDirs : kSumFiles;
      if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
          !inodes.emplace(st.st_dev, st.st_ino).second) {
        kind = kSumLinks;
      }
      want[kind + kSumEntries]++;
      want[kind + kSumApparent] += st.st_size;
      want[kind + kSumAllocated] += st.st_blocks * 512;
    }
    CHECK(paths.size() > kSummaryEvery);
  }
  CHECK(want[kSumLinks + kSumEntries] == 2);
  for (unsigned threads : {1u, 4u}) {
    WalkOptions options;
    options.flags = kSummarize;
    options.threads = threads;
    std::mutex mu;
    uint64_t got[kSummaryValues] = {};
    size_t summaries = 0;
    std::vector<std::string> errors;
    BatchSink sink = [&](const ByteBuffer& batch) {
      std::lock_guard<std::mutex> lk(mu);
      for (const BatchRecord& r : Read(batch, 0)) {
        CHECK(r.kind == RecordTag::kSummary || r.kind == RecordTag::kError);
        if (r.kind == RecordTag::kError) errors.push_back(std::string(r.path));
        if (r.kind != RecordTag::kSummary) continue;
        summaries++;
        for (uint32_t i = 0; i < kSummaryValues; i++) got[i] += r.sums[i];
      }
      return true;
    };
    std::atomic<bool> cancelled{false};
    CHECK(Walk(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), options,
               sink, cancelled) == 0);
    CHECK(errors.empty());
    CHECK(std::equal(std::begin(want), std::end(want), got));
    CHECK(summaries >= 2);
  }
  RemoveTree(root);
}

}  // namespace
}  // namespace unshare_fs

int main(int argc, char** argv) {
  int ran = 0;
  for (const auto& test : unshare_fs::Tests()) {
    bool wanted = argc == 1;
    for (int i = 1; i < argc; i++) {
      if (std::strstr(test.name, argv[i]) != nullptr) wanted = true;
    }
    if (!wanted) continue;
    std::printf("core_test: %s\n", test.name);
    std::fflush(stdout);
    test.run();  // a failed CHECK aborts
    ran++;
  }
  std::printf("core_test: %d tests passed\n", ran);
  return ran > 0 ? 0 : 1;
}

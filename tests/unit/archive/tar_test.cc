// TarWriter and round trips through TarReader: entries, zstd, large streamed entries, failures
// of the output stream, and archives GNU tar reads.
#include "archive/tar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/hash.h"
#include "io/zstd.h"
#include "test_support.h"

namespace cairn::archive {
namespace {

using std::chrono::seconds;
using testing::FailingSource;
using testing::GeneratorSource;
using testing::RecordingSink;

// Offers every write to `first` (which must accept it), then to `second`.
class Tee final : public io::Sink {
 public:
  Tee(io::Sink* first, io::Sink* second) : first_(first), second_(second) {}
  base::Status Write(std::string_view d) override {
    RETURN_IF_ERROR(first_->Write(d));
    return second_->Write(d);
  }
  base::Status Close() override { return second_->Close(); }
  void Abort() override { second_->Abort(); }

 private:
  io::Sink* first_;
  io::Sink* second_;
};

base::TimePoint At(int64_t unix_seconds) { return base::TimePoint(seconds(unix_seconds)); }

struct Item {
  std::string path;
  std::string data;
  base::TimePoint mtime;
};

std::vector<Item> ManyItems() {
  std::vector<Item> items;
  items.push_back({"metadata/backup.json", R"({"selection":{}})", At(1'700'000'000)});
  for (int i = 0; i < 300; ++i) {
    const std::string ns = "ns-" + std::to_string(i % 7);
    items.push_back(
        {"resources/apps/deployments/v1/namespaces/" + ns + "/web-" + std::to_string(i) + ".json",
         std::string(static_cast<size_t>(i * 37 % 5000), static_cast<char>('a' + i % 26)),
         At(1'700'000'000 + i)});
  }
  items.push_back({"resources/core/persistentvolumes/v1/cluster/pv-1.json", "", At(0)});
  // Longer than the 100-byte ustar name field: needs a pax header.
  items.push_back(
      {std::string(150, 'l') + "/" + std::string(200, 'm') + ".json", "long", At(1'800'000'000)});
  items.push_back({"caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x93\xa6.json", "utf-8 name",
                   At(1'700'000'001)});
  return items;
}

std::string WriteItems(const std::vector<Item>& items) {
  std::string tar;
  io::StringSink sink(&tar);
  auto w = TarWriter::Create(&sink);
  EXPECT_TRUE(w.ok()) << w.status().message();
  for (const Item& it : items) {
    base::Status st = (*w)->Add(it.path, it.data, it.mtime);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  EXPECT_EQ((*w)->entries(), items.size());
  base::Status st = (*w)->Finish();
  EXPECT_TRUE(st.ok()) << st.message();
  return tar;
}

void ExpectItems(io::Source* src, const std::vector<Item>& items) {
  auto r = TarReader::Open(src);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const Item& it : items) {
    auto e = (*r)->Next();
    ASSERT_TRUE(e.ok()) << e.status().message();
    ASSERT_TRUE(e->has_value()) << "missing " << it.path;
    EXPECT_EQ((*e)->path, it.path);
    EXPECT_EQ((*e)->size, it.data.size());
    EXPECT_EQ((*e)->mtime, it.mtime) << it.path;
    auto data = (*r)->ReadEntry();
    ASSERT_TRUE(data.ok()) << data.status().message();
    EXPECT_EQ(*data, it.data) << it.path;
  }
  auto end = (*r)->Next();
  ASSERT_TRUE(end.ok()) << end.status().message();
  EXPECT_FALSE(end->has_value());
  // The end is sticky.
  EXPECT_FALSE((*r)->Next()->has_value());
}

TEST(TarRoundTrip, ManyEntries) {
  const auto items = ManyItems();
  const std::string tar = WriteItems(items);
  EXPECT_EQ(tar.size() % 512, 0u);
  // Deterministic: the same entries give the same bytes.
  EXPECT_EQ(io::Sha256Hex(WriteItems(items)), io::Sha256Hex(tar));
  io::StringSource src(tar);
  ExpectItems(&src, items);
}

TEST(TarRoundTrip, EmptyArchiveAndEmptyEntry) {
  EXPECT_EQ(WriteItems({}), std::string(1024, '\0'));
  const std::vector<Item> items = {{"empty.json", "", At(5)}};
  const std::string tar = WriteItems(items);
  io::StringSource src(tar);
  ExpectItems(&src, items);
}

TEST(TarRoundTrip, LongestPathAndSegments) {
  std::string longest(240, 'x');
  while (longest.size() + 241 <= kMaxEntryPathBytes) longest += "/" + std::string(240, 'd');
  longest += "/" + std::string(kMaxEntryPathBytes - longest.size() - 1, 'z');
  ASSERT_EQ(longest.size(), kMaxEntryPathBytes);
  // A ConfigMap with a 253-character name: its file name is 258 bytes, past ustar's 100-byte
  // name and 155-byte prefix, so it travels in a pax extended header.
  const std::string name253 =
      "resources/core/configmaps/v1/namespaces/shop/" + std::string(253, 'n') + ".json";
  const std::vector<Item> items = {{longest, "deep", At(7)},
                                   {std::string(255, 's') + "/" + std::string(300, 't'), "", At(8)},
                                   {name253, R"({"kind":"ConfigMap"})", At(9)}};
  const std::string tar = WriteItems(items);
  EXPECT_NE(tar.find("path=" + name253 + "\n"), std::string::npos) << "no pax path record";
  io::StringSource src(tar);
  ExpectItems(&src, items);
}

TEST(TarRoundTrip, SubSecondTimesAreTruncated) {
  std::string tar;
  io::StringSink sink(&tar);
  auto w = TarWriter::Create(&sink);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add("a", "x", At(100) + std::chrono::milliseconds(999)).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  io::StringSource src(tar);
  auto r = TarReader::Open(&src);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*(*r)->Next())->mtime, At(100));
}

TEST(TarRoundTrip, ThroughZstd) {
  const auto items = ManyItems();
  std::string stored;
  io::StringSink out(&stored);
  auto z = io::ZstdCompressSink::Create(&out, 3, 2);
  ASSERT_TRUE(z.ok());
  auto w = TarWriter::Create(z->get());
  ASSERT_TRUE(w.ok());
  for (const Item& it : items) ASSERT_TRUE((*w)->Add(it.path, it.data, it.mtime).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  ASSERT_TRUE((*z)->Close().ok());
  EXPECT_EQ(stored.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));  // a zstd frame

  io::StringSource src(stored);
  io::ZstdDecompressSource dz(&src);
  ExpectItems(&dz, items);
}

TEST(TarRoundTrip, LargeEntryIsStreamedBothWays) {
  constexpr uint64_t kSize = 20ull << 20;
  std::string tar;
  io::StringSink string_sink(&tar);
  io::HashingSink tar_hash(&string_sink);
  RecordingSink recorder(UINT64_MAX, {}, 0);  // observes write sizes, keeps no bytes
  Tee tee(&recorder, &tar_hash);

  auto w = TarWriter::Create(&tee);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add("metadata/backup.json", "{}").ok());
  GeneratorSource gen(kSize, 42, 300'000);  // odd read sizes
  io::HashingSource gen_hash(&gen);
  base::Status st = (*w)->AddFrom("volumes/shop/data.img", kSize, gen_hash, At(1'700'000'000));
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE((*w)->Add("after.json", "tail").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->entries(), 3u);
  EXPECT_EQ(gen_hash.size(), kSize);
  // Output arrives in blocks as it is produced, never as one staged entry.
  EXPECT_LE(recorder.max_write(), 10240u);
  EXPECT_GT(recorder.writes(), 20);

  io::StringSource src(tar);
  testing::CountingSource counting(&src);
  auto r = TarReader::Open(&counting);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*(*r)->Next())->path, "metadata/backup.json");
  auto e = (*r)->Next();  // skips the unread first entry
  ASSERT_TRUE(e.ok() && e->has_value()) << e.status().message();
  EXPECT_EQ((*e)->path, "volumes/shop/data.img");
  EXPECT_EQ((*e)->size, kSize);
  io::Sha256 back;
  uint64_t total = 0;
  char buf[4093];  // small and odd
  while (true) {
    auto n = (*r)->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().message();
    if (*n == 0) break;
    back.Update(std::string_view(buf, *n));
    total += *n;
  }
  EXPECT_EQ(total, kSize);
  EXPECT_EQ(back.HexDigest(), gen_hash.HexDigest());
  EXPECT_EQ(*(*r)->Read(buf), 0u);  // still at the end of the entry
  auto tail = (*r)->Next();
  ASSERT_TRUE(tail.ok() && tail->has_value());
  EXPECT_EQ(*(*r)->ReadEntry(), "tail");
  EXPECT_FALSE((*r)->Next()->has_value());
  EXPECT_LE(counting.max_request(), 64u << 10);  // one bounded input buffer
  EXPECT_EQ(tar_hash.size(), tar.size());
}

TEST(TarWriter, HugeEntryGetsAPaxSizeRecord) {
  // Beyond the 8 GiB ustar size field: only the header is checked, the data source fails early.
  constexpr uint64_t kSize = 9ull << 30;
  RecordingSink sink(UINT64_MAX, {}, 64 << 10);
  auto w = TarWriter::Create(&sink);
  ASSERT_TRUE(w.ok());
  GeneratorSource gen(kSize, 1);
  FailingSource failing(&gen, 3 << 20, base::Error(base::Code::kUnavailable, "source gone"));
  base::Status st = (*w)->AddFrom("volumes/big.img", kSize, failing);
  EXPECT_EQ(st.code(), base::Code::kUnavailable);
  EXPECT_NE(st.message().find("source gone"), std::string::npos);
  EXPECT_NE(sink.bytes().find("size=" + std::to_string(kSize) + "\n"), std::string::npos);
  (*w)->Abort();
}

TEST(TarWriter, RefusesUnsafePathsAndStaysUsable) {
  std::string tar;
  io::StringSink sink(&tar);
  auto w = TarWriter::Create(&sink);
  ASSERT_TRUE(w.ok());
  const std::vector<std::string> bad_paths = {"../evil", "/etc/passwd", "a//b", "",
                                              std::string("a\0b", 3)};
  for (const std::string& bad : bad_paths) {
    base::Status st = (*w)->Add(bad, "x");
    EXPECT_EQ(st.code(), base::Code::kInvalidArgument) << bad;
    io::StringSource none("");
    EXPECT_EQ((*w)->AddFrom(bad, 0, none).code(), base::Code::kInvalidArgument);
  }
  EXPECT_EQ((*w)->entries(), 0u);
  ASSERT_TRUE((*w)->Add("ok.json", "x").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  io::StringSource src(tar);
  ExpectItems(&src, {{"ok.json", "x", At(0)}});
}

TEST(TarWriter, AddFromSourceOfTheWrongSizeFails) {
  {
    RecordingSink sink;
    auto w = TarWriter::Create(&sink);
    ASSERT_TRUE(w.ok());
    GeneratorSource gen(1000, 3);
    base::Status st = (*w)->AddFrom("short.img", 5000, gen);
    EXPECT_EQ(st.code(), base::Code::kDataLoss);
    EXPECT_NE(st.message().find("'short.img' ended after 1000 of 5000 bytes"), std::string::npos)
        << st.message();
    // The archive cannot be completed any more.
    EXPECT_EQ((*w)->Add("next.json", "x").code(), base::Code::kDataLoss);
    EXPECT_EQ((*w)->Finish().code(), base::Code::kDataLoss);
    (*w)->Abort();
  }
  {
    RecordingSink sink;
    auto w = TarWriter::Create(&sink);
    ASSERT_TRUE(w.ok());
    GeneratorSource gen(5001, 3);
    base::Status st = (*w)->AddFrom("long.img", 5000, gen);
    EXPECT_EQ(st.code(), base::Code::kDataLoss);
    EXPECT_NE(st.message().find("longer than 5000 bytes"), std::string::npos) << st.message();
    EXPECT_EQ((*w)->Finish().code(), base::Code::kDataLoss);
  }
  {
    RecordingSink sink;
    auto w = TarWriter::Create(&sink);
    ASSERT_TRUE(w.ok());
    GeneratorSource gen(0, 3);
    EXPECT_EQ((*w)->AddFrom("not-empty.img", 1, gen).code(), base::Code::kDataLoss);
  }
}

TEST(TarWriter, SinkFailurePropagates) {
  const base::Status kS3Error(base::Code::kUnavailable,
                              "s3: service returned error: StatusCode=503, ErrorCode=SlowDown");
  {
    // Small entries stay in libarchive's 10 KiB block until Finish flushes it.
    RecordingSink sink(0, kS3Error);
    auto w = TarWriter::Create(&sink);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Add("a.json", "x").ok());
    base::Status st = (*w)->Finish();
    EXPECT_EQ(st.code(), base::Code::kUnavailable);
    EXPECT_NE(st.message().find(kS3Error.message()), std::string::npos) << st.message();
    EXPECT_EQ((*w)->Finish().code(), base::Code::kUnavailable);  // sticky
  }
  {
    // A large entry reaches the sink during Add.
    RecordingSink sink(20'000, kS3Error);
    auto w = TarWriter::Create(&sink);
    ASSERT_TRUE(w.ok());
    base::Status st = (*w)->Add("big.json", std::string(100'000, 'b'));
    EXPECT_EQ(st.code(), base::Code::kUnavailable);
    EXPECT_NE(st.message().find(kS3Error.message()), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("'big.json'"), std::string::npos) << st.message();
    const int writes = sink.writes();
    EXPECT_EQ((*w)->Add("more.json", "x").code(), base::Code::kUnavailable);
    EXPECT_EQ((*w)->Finish().code(), base::Code::kUnavailable);
    w->reset();  // destroying a failed writer writes nothing more
    EXPECT_EQ(sink.writes(), writes);
    EXPECT_FALSE(sink.closed());
  }
}

TEST(TarWriter, AbortAndDestroyWriteNothingMore) {
  RecordingSink sink;
  auto w = TarWriter::Create(&sink);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add("a.json", "x").ok());
  (*w)->Abort();
  (*w)->Abort();
  EXPECT_EQ(sink.writes(), 0);  // no end-of-archive blocks: the partial block is dropped
  EXPECT_EQ((*w)->Add("b.json", "x").code(), base::Code::kCancelled);
  EXPECT_EQ((*w)->Finish().code(), base::Code::kCancelled);

  RecordingSink sink2;
  {
    auto w2 = TarWriter::Create(&sink2);
    ASSERT_TRUE(w2.ok());
    ASSERT_TRUE((*w2)->Add("a.json", "x").ok());
  }  // destroyed without Finish
  EXPECT_EQ(sink2.writes(), 0);

  RecordingSink sink3;
  auto w3 = TarWriter::Create(&sink3);
  ASSERT_TRUE(w3.ok());
  ASSERT_TRUE((*w3)->Finish().ok());
  EXPECT_FALSE(sink3.closed());  // Finish does not close the output
  EXPECT_EQ(sink3.offered(), 1024u);
  EXPECT_EQ((*w3)->Add("late.json", "x").code(), base::Code::kFailedPrecondition);
}

// Runs a shell command, returning its exit status and combined output.
std::pair<int, std::string> RunShell(const std::string& cmd, const std::filesystem::path& out) {
  const int rc = std::system((cmd + " >" + out.string() + " 2>&1").c_str());
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  return {rc, ss.str()};
}

TEST(TarWriter, GnuTarReadsTheOutput) {
  if (!testing::HaveGnuTar()) GTEST_SKIP() << "GNU tar is not installed";
  const auto dir = std::filesystem::path(::testing::TempDir()) / "cairn_tar_gnu_reads";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "x");
  const auto items = ManyItems();
  const std::string tar = WriteItems(items);
  {
    std::ofstream f(dir / "out.tar", std::ios::binary);
    f.write(tar.data(), static_cast<std::streamsize>(tar.size()));
  }
  auto [rc, listing] = RunShell("tar -tvf " + (dir / "out.tar").string(), dir / "list.txt");
  ASSERT_EQ(rc, 0) << listing;
  EXPECT_EQ(listing.find("tar:"), std::string::npos) << "GNU tar warned:\n" << listing;
  EXPECT_NE(listing.find("-rw------- cairn/cairn"), std::string::npos) << listing;
  EXPECT_NE(listing.find("metadata/backup.json"), std::string::npos);
  EXPECT_NE(listing.find(items[items.size() - 2].path), std::string::npos);  // the long path
  EXPECT_EQ(std::count(listing.begin(), listing.end(), '\n'),
            static_cast<std::ptrdiff_t>(items.size()));

  auto [xrc, xout] = RunShell(
      "tar -xf " + (dir / "out.tar").string() + " -C " + (dir / "x").string(), dir / "extract.txt");
  ASSERT_EQ(xrc, 0) << xout;
  std::ifstream f(dir / "x" / items[5].path, std::ios::binary);
  std::stringstream got;
  got << f.rdbuf();
  EXPECT_EQ(got.str(), items[5].data);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cairn::archive

// TarReader on archives cairn did not write: hostile entries, truncation, garbage, failing
// sources, and archives made by GNU tar.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "archive/tar.h"
#include "io/zstd.h"
#include "test_support.h"

namespace cairn::archive {
namespace {

using testing::RawEntry;
using testing::RawTar;

std::string CairnTar(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string tar;
  io::StringSink sink(&tar);
  auto w = TarWriter::Create(&sink);
  EXPECT_TRUE(w.ok());
  for (const auto& [path, data] : entries) EXPECT_TRUE((*w)->Add(path, data).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  return tar;
}

// Reads every entry to the end; returns the first error (or OK) and the paths read.
base::Status ReadAllFrom(io::Source* src, std::vector<std::string>* paths = nullptr) {
  auto r = TarReader::Open(src);
  if (!r.ok()) return r.status();
  while (true) {
    auto e = (*r)->Next();
    if (!e.ok()) return e.status();
    if (!e->has_value()) return base::Status::Ok();
    if (paths != nullptr) paths->push_back((*e)->path);
    auto data = (*r)->ReadEntry();
    if (!data.ok()) return data.status();
  }
}

base::Status ReadAllEntries(std::string_view tar, std::vector<std::string>* paths = nullptr) {
  io::StringSource src(tar);
  return ReadAllFrom(&src, paths);
}

TEST(TarReader, SkipsDirectoriesAndReadsFiles) {
  const std::string tar = RawTar({{.path = "resources/", .filetype = AE_IFDIR},
                                  {.path = "resources/a.json", .data = "A"},
                                  {.path = "resources/sub/", .filetype = AE_IFDIR},
                                  {.path = "resources/sub/b.json", .data = "BB"}});
  std::vector<std::string> paths;
  base::Status st = ReadAllEntries(tar, &paths);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(paths, (std::vector<std::string>{"resources/a.json", "resources/sub/b.json"}));
}

TEST(TarReader, RefusesSymlinksHardlinksDevicesAndUnsafePaths) {
  struct Case {
    RawEntry entry;
    std::string want;
  };
  const Case cases[] = {
      {{.path = "link.json", .filetype = AE_IFLNK, .link = "/etc/passwd"},
       "tar entry 'link.json' is a symbolic link"},
      {{.path = "hard.json", .link = "a.json", .hardlink = true},
       "tar entry 'hard.json' is a hard link to 'a.json'"},
      {{.path = "dev/tty", .filetype = AE_IFCHR}, "tar entry 'dev/tty' is a device"},
      {{.path = "fifo", .filetype = AE_IFIFO}, "tar entry 'fifo' is a fifo"},
      {{.path = "../evil", .data = "pwned"}, "unsafe tar entry: invalid tar entry path '../evil'"},
      {{.path = "/etc/cron.d/evil", .data = "pwned"}, "'/etc/cron.d/evil'"},
      {{.path = "a/../../evil", .data = "pwned"}, "'a/../../evil'"},
      {{.path = "esc\x1b[2Jape", .data = "x"}, "'esc\\x1b[2Jape'"},
  };
  for (const Case& c : cases) {
    const std::string tar =
        RawTar({{.path = "a.json", .data = "A"}, c.entry, {.path = "after.json", .data = "Z"}});
    io::StringSource src(tar);
    auto r = TarReader::Open(&src);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ((*(*r)->Next())->path, "a.json");
    auto e = (*r)->Next();
    ASSERT_FALSE(e.ok()) << c.entry.path;
    EXPECT_EQ(e.status().code(), base::Code::kDataLoss);
    EXPECT_NE(e.status().message().find(c.want), std::string::npos) << e.status().message();
    ASSERT_TRUE((*r)->rejected().has_value());
    EXPECT_EQ((*r)->rejected()->path, c.entry.path);
    // Its data cannot be read, but the entry can be passed over.
    EXPECT_EQ((*r)->Read(std::span<char>()).status().code(), base::Code::kFailedPrecondition);
    auto after = (*r)->Next();
    ASSERT_TRUE(after.ok()) << after.status().message();
    EXPECT_EQ((*after)->path, "after.json");
    EXPECT_EQ(*(*r)->ReadEntry(), "Z");
    EXPECT_FALSE((*r)->Next()->has_value());
  }
}

// A sparse entry declares any size at no cost (its holes read as zeros): refused like a link,
// with its declared size, so a caller can tell passing over it costs only what is stored.
TEST(TarReader, RefusesSparseFiles) {
  const std::string tar = RawTar({{.path = "s.json", .data = "{", .sparse_size = int64_t{1} << 40},
                                  {.path = "after.json", .data = "Z"}});
  io::StringSource src(tar);
  auto r = TarReader::Open(&src);
  ASSERT_TRUE(r.ok());
  auto e = (*r)->Next();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "tar entry 's.json' is a sparse file: only regular files are allowed");
  ASSERT_TRUE((*r)->rejected().has_value());
  EXPECT_EQ((*r)->rejected()->size, uint64_t{1} << 40);
  auto after = (*r)->Next();
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ((*after)->path, "after.json");
  EXPECT_FALSE((*r)->rejected().has_value());
}

// libarchive reads a GNU sparse map with the header, keeping a list entry per region: a map of
// a million regions (a few KiB compressed) would cost tens of MiB before the entry could be
// refused. The input one Next may read for headers is bounded instead.
TEST(TarReader, AHugeSparseMapIsRefusedWhileReadingTheHeader) {
  const int regions = 200'000;
  std::string data;
  for (int k = 0; k < regions; ++k) data += (k % 2 ? '}' : '{');
  const std::string tar = RawTar(
      {{.path = "a.json", .data = "A"},
       {.path = "map.json", .data = data, .sparse_size = 2 * regions, .sparse_regions = regions}});
  io::StringSource src(tar);
  auto r = TarReader::Open(&src);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*(*r)->Next())->path, "a.json");
  auto e = (*r)->Next();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), base::Code::kDataLoss);
  EXPECT_NE(e.status().message().find("unable to read the tar header after entry 'a.json': the "
                                      "headers of one tar entry take more than 256 KiB"),
            std::string::npos)
      << e.status().message();
  EXPECT_FALSE((*r)->rejected().has_value());
}

TEST(TarReader, TruncatedArchivesAreDataLoss) {
  const std::string data(5000, 'd');
  const std::string tar = CairnTar({{"first.json", data}, {"second.json", "2"}});
  // first: header 512 + 5120 of data; second: 512 + 512; end blocks: 1024.
  ASSERT_EQ(tar.size(), 512u + 5120 + 512 + 512 + 1024);
  struct Cut {
    size_t at;
    std::string where;
  };
  const Cut cuts[] = {
      {100, "inside the first header"},
      {512 + 2000, "inside the data of an entry"},
      {512 + 5000, "inside the padding of an entry"},
      {512 + 5120 + 300, "inside the second header"},
      {tar.size() - 1024, "before the end blocks"},
      {tar.size() - 700, "inside the first end block"},
  };
  for (const Cut& c : cuts) {
    base::Status st = ReadAllEntries(std::string_view(tar).substr(0, c.at));
    EXPECT_EQ(st.code(), base::Code::kDataLoss) << c.where << ": " << st.message();
  }
  // Skipping the entry instead of reading it finds the truncation too.
  io::StringSource src(std::string_view(tar).substr(0, 512 + 2000));
  auto r = TarReader::Open(&src);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->Next().ok());
  auto next = (*r)->Next();
  EXPECT_EQ(next.status().code(), base::Code::kDataLoss) << next.status().message();
  // Once broken, always broken.
  EXPECT_EQ((*r)->Next().status().code(), base::Code::kDataLoss);
  EXPECT_EQ((*r)->Read(std::span<char>()).status().code(), base::Code::kDataLoss);

  // The message says what happened.
  base::Status st = ReadAllEntries(std::string_view(tar).substr(0, tar.size() - 1024));
  EXPECT_NE(st.message().find("without its end-of-archive blocks"), std::string::npos)
      << st.message();
  st = ReadAllEntries(std::string_view(tar).substr(0, 512 + 2000));
  EXPECT_NE(st.message().find("'first.json'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
  // A whole archive, and one with only the first of its two end blocks, are fine.
  EXPECT_TRUE(ReadAllEntries(tar).ok());
  EXPECT_TRUE(ReadAllEntries(std::string_view(tar).substr(0, tar.size() - 512)).ok());
}

TEST(TarReader, TruncatedAfterAPaxHeaderIsDataLoss) {
  // A long path puts a pax extended header (512 + 512) before the entry's own header.
  const std::string path = std::string(120, 'p') + ".json";
  const std::string tar = CairnTar({{"a.json", "A"}, {path, "long"}});
  const size_t second = 512 + 512;
  ASSERT_NE(tar.find("path=" + path), std::string::npos);
  for (size_t cut : {second + 512, second + 1024}) {
    base::Status st = ReadAllEntries(std::string_view(tar).substr(0, cut));
    EXPECT_EQ(st.code(), base::Code::kDataLoss) << cut << ": " << st.message();
  }
}

TEST(TarReader, GarbageIsDataLoss) {
  for (std::string garbage :
       {std::string(""), std::string("not a tar archive"), std::string(10240, 'x'),
        std::string(10240, '\xff'), std::string("\x28\xb5\x2f\xfd", 4) + std::string(2000, 'z')}) {
    base::Status st = ReadAllEntries(garbage);
    EXPECT_EQ(st.code(), base::Code::kDataLoss) << garbage.size() << ": " << st.message();
  }
  // A header whose checksum no longer matches.
  std::string tar = CairnTar({{"a.json", "A"}, {"b.json", "B"}});
  ASSERT_EQ(tar.substr(1024, 6), "b.json");
  tar[1024 + 3] ^= 0x20;
  std::vector<std::string> paths;
  base::Status st = ReadAllEntries(tar, &paths);
  EXPECT_EQ(st.code(), base::Code::kDataLoss) << st.message();
  EXPECT_NE(st.message().find("damaged tar archive"), std::string::npos) << st.message();
  EXPECT_EQ(paths, std::vector<std::string>{"a.json"});
}

TEST(TarReader, SourceErrorsKeepTheirCode) {
  const std::string tar = CairnTar({{"a.json", std::string(200'000, 'a')}});
  io::StringSource inner(tar);
  testing::FailingSource src(&inner, 100'000,
                             base::Error(base::Code::kUnavailable, "connection reset"));
  auto r = TarReader::Open(&src);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->Next().ok());
  auto data = (*r)->ReadEntry();
  EXPECT_EQ(data.status().code(), base::Code::kUnavailable);
  EXPECT_NE(data.status().message().find("connection reset"), std::string::npos);

  // A corrupt zstd stream below the reader surfaces as the decompressor's DataLoss.
  std::string stored;
  io::StringSink out(&stored);
  auto z = io::ZstdCompressSink::Create(&out, 3, 0);
  ASSERT_TRUE(z.ok());
  ASSERT_TRUE((*z)->Write(tar).ok());
  ASSERT_TRUE((*z)->Close().ok());
  io::StringSource cut(std::string_view(stored).substr(0, stored.size() / 2));
  io::ZstdDecompressSource dz(&cut);
  base::Status st = ReadAllFrom(&dz);
  EXPECT_EQ(st.code(), base::Code::kDataLoss) << st.message();
}

TEST(TarReader, MisuseIsReported) {
  const std::string tar = CairnTar({{"a.json", std::string(1000, 'a')}});
  io::StringSource src(tar);
  auto r = TarReader::Open(&src);
  ASSERT_TRUE(r.ok());
  char buf[16];
  EXPECT_EQ((*r)->Read(buf).status().code(), base::Code::kFailedPrecondition);
  ASSERT_TRUE((*r)->Next().ok());
  auto small = (*r)->ReadEntry(999);
  EXPECT_EQ(small.status().code(), base::Code::kFailedPrecondition);
  EXPECT_NE(small.status().message().find("'a.json'"), std::string::npos);
  EXPECT_EQ((*r)->Read(buf).value(), sizeof(buf));  // the refusal consumed nothing
  EXPECT_EQ((*r)->ReadEntry(1000 - sizeof(buf))->size(), 1000u - sizeof(buf));  // just the rest
  EXPECT_EQ(*(*r)->ReadEntry(), "");
  EXPECT_FALSE((*r)->Next()->has_value());
  EXPECT_EQ((*r)->Read(buf).status().code(), base::Code::kFailedPrecondition);
}

TEST(TarReader, ReadsArchivesMadeByGnuTar) {
  if (!testing::HaveGnuTar()) GTEST_SKIP() << "GNU tar is not installed";
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "cairn_tar_gnu_writes";
  fs::remove_all(dir);
  const std::string long_name = std::string(120, 'n') + "/" + std::string(140, 'm') + ".json";
  const std::vector<std::pair<std::string, std::string>> files = {
      {"metadata/backup.json", "{\"v\":1}"},
      {"resources/core/configmaps/v1/namespaces/shop/cfg.json", std::string(70'000, 'c')},
      {"resources/empty.json", ""},
      {long_name, "long name"},
  };
  for (const auto& [path, data] : files) {
    fs::create_directories((dir / "in" / path).parent_path());
    std::ofstream f(dir / "in" / path, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  for (std::string format : {"gnu", "posix", "ustar"}) {
    const fs::path out = dir / ("gnu-" + format + ".tar");
    // Directories as members: their entries are skipped, their files read.
    std::string members = "metadata resources";
    if (format != "ustar") members += " " + std::string(120, 'n');
    const std::string cmd = "tar --format=" + format + " -cf " + out.string() + " -C " +
                            (dir / "in").string() + " " + members + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(out, std::ios::binary);
    std::stringstream bytes;
    bytes << f.rdbuf();
    const std::string tar = bytes.str();

    io::StringSource src(tar);
    auto r = TarReader::Open(&src);
    ASSERT_TRUE(r.ok()) << r.status().message();
    std::map<std::string, std::string> got;
    while (true) {
      auto e = (*r)->Next();
      ASSERT_TRUE(e.ok()) << format << ": " << e.status().message();
      if (!e->has_value()) break;
      auto data = (*r)->ReadEntry();
      ASSERT_TRUE(data.ok()) << data.status().message();
      EXPECT_EQ(data->size(), (*e)->size);
      got[(*e)->path] = *data;
    }
    for (const auto& [path, data] : files) {
      if (format == "ustar" && path == long_name) continue;  // ustar cannot hold it
      ASSERT_TRUE(got.count(path)) << format << ": missing " << path;
      EXPECT_EQ(got[path], data) << format << ": " << path;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cairn::archive

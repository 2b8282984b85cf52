// Tests for store/posix beyond the conformance suite: key validation (nothing may escape the
// root or touch the temporary directory), where temporary files live and when they go away,
// pending uploads, and the directory bookkeeping of Delete.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/posix/posix_store.h"

namespace cairn::store {
namespace {

namespace fs = std::filesystem;
using base::Code;

class PosixStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-posix-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    auto s = PosixStore::Open(root_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override { fs::remove_all(base_); }

  // Names in <root>/.cairn-tmp, sorted.
  std::vector<std::string> TempFiles() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(root_ + "/.cairn-tmp")) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> Keys(const std::string& prefix = "", const std::string& delim = "") {
    auto all = store_->ListAll({prefix, delim, 1000});
    EXPECT_TRUE(all.ok()) << all.status().message();
    std::vector<std::string> out;
    if (all.ok()) {
      for (const auto& o : *all) out.push_back(o.key);
    }
    return out;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string base_, root_;
  std::unique_ptr<PosixStore> store_;
};

TEST(PosixStoreOpenTest, RequiresAnAbsolutePath) {
  for (const std::string& p : {std::string("relative/vault"), std::string("./v"), std::string()}) {
    auto s = PosixStore::Open(p);
    ASSERT_FALSE(s.ok()) << p;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.status().message(), "file vault path '" + p + "' must be absolute (file:///path)");
  }
}

TEST_F(PosixStoreTest, OpenCreatesTheRootAndItsTempDir) {
  auto s = PosixStore::Open(base_ + "/a/b/c//");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(fs::is_directory(base_ + "/a/b/c/.cairn-tmp"));
  EXPECT_EQ((*s)->Describe(), "file://" + base_ + "/a/b/c");
  EXPECT_EQ(store_->Describe(), "file://" + root_);
}

TEST_F(PosixStoreTest, RejectsKeysThatEscapeOrHitTheTempDir) {
  const std::vector<std::string> bad = {"",
                                        "/etc/passwd",
                                        "a//b",
                                        "a/",
                                        ".",
                                        "..",
                                        "../escape",
                                        "a/../../escape",
                                        "a/./b",
                                        "a/..",
                                        ".cairn-tmp",
                                        ".cairn-tmp/x",
                                        ".cairn-tmp/0123456789abcdef",
                                        std::string("a\0b", 3)};
  for (const std::string& key : bad) {
    SCOPED_TRACE("key '" + key + "'");
    Status put = store_->Put(key, "x", {});
    EXPECT_EQ(put.code(), Code::kInvalidArgument) << put.message();
    EXPECT_EQ(put.message(), "invalid object key '" + key + "'");
    auto stream = store_->PutStream(key, {});
    EXPECT_EQ(stream.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->Get(key).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->Head(key).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->Delete({key}).code(), Code::kInvalidArgument);
  }
  EXPECT_FALSE(fs::exists(base_ + "/escape"));
  EXPECT_FALSE(fs::exists("/escape"));
  EXPECT_TRUE(TempFiles().empty());
  EXPECT_TRUE(Keys().empty());
}

TEST_F(PosixStoreTest, AcceptsDotsThatAreNotPathSegments) {
  for (std::string key : {"..a", "a..", "a/...", "x/.cairn-tmp", ".cairn-tmpx", "a/.b"}) {
    ASSERT_TRUE(store_->Put(key, key, {}).ok()) << key;
    auto got = store_->GetAll(key);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, key);
  }
  EXPECT_EQ(Keys(), (std::vector<std::string>{"..a", ".cairn-tmpx", "a..", "a/...", "a/.b",
                                              "x/.cairn-tmp"}));
}

TEST_F(PosixStoreTest, StreamWritesToTheTempDirUntilClose) {
  auto sink = store_->PutStream("x/y.bin", {});
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  ASSERT_TRUE((*sink)->Write("hello ").ok());
  ASSERT_TRUE((*sink)->Write("world").ok());
  auto tmp = TempFiles();
  ASSERT_EQ(tmp.size(), 2u);  // the data and its ".key" sidecar
  EXPECT_EQ(tmp[1], tmp[0] + ".key");
  EXPECT_EQ(Slurp(root_ + "/.cairn-tmp/" + tmp[0]), "hello world");
  EXPECT_EQ(Slurp(root_ + "/.cairn-tmp/" + tmp[1]), "x/y.bin");
  // Nothing is visible under the key, and the temp dir is never listed.
  EXPECT_EQ(store_->Head("x/y.bin").status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/x"));
  EXPECT_TRUE(Keys().empty());
  EXPECT_TRUE(Keys(".cairn-tmp").empty());
  EXPECT_TRUE(Keys(".cairn-tmp/").empty());
  EXPECT_TRUE(Keys("", "/").empty());

  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_TRUE(TempFiles().empty());
  EXPECT_EQ(Keys(), std::vector<std::string>{"x/y.bin"});
  EXPECT_EQ(Slurp(root_ + "/x/y.bin"), "hello world");
  EXPECT_EQ((*sink)->Write("more").code(), Code::kInternal);
  EXPECT_FALSE((*sink)->Close().ok());
}

TEST_F(PosixStoreTest, ListWithADelimiterNeverShowsTheTempDir) {
  ASSERT_TRUE(store_->Put("a/1", "1", {}).ok());
  auto sink = store_->PutStream("b/2", {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("2").ok());
  std::vector<std::string> prefixes;
  ASSERT_TRUE(store_
                  ->List({"", "/", 1000},
                         [&](const ListPage& p) {
                           prefixes.insert(prefixes.end(), p.common_prefixes.begin(),
                                           p.common_prefixes.end());
                           return true;
                         })
                  .ok());
  EXPECT_EQ(prefixes, std::vector<std::string>{"a/"});
}

TEST_F(PosixStoreTest, DestroyedSinkLeavesNothing) {
  {
    auto sink = store_->PutStream("k", {});
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Write(std::string(1 << 20, 'z')).ok());
    EXPECT_EQ(TempFiles().size(), 2u);
  }  // interrupted: destroyed without Close
  EXPECT_TRUE(TempFiles().empty());
  EXPECT_EQ(store_->Head("k").status().code(), Code::kNotFound);
  auto pending = store_->ListPendingUploads("");
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());

  auto sink = store_->PutStream("k", {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("x").ok());
  (*sink)->Abort();
  (*sink)->Abort();  // idempotent
  EXPECT_TRUE(TempFiles().empty());
  EXPECT_FALSE((*sink)->Close().ok());
  EXPECT_EQ(store_->Head("k").status().code(), Code::kNotFound);
}

TEST_F(PosixStoreTest, PendingUploadIsListedAndAborted) {
  auto sink = store_->PutStream("backups/b1/resources.tar.zst", {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("partial").ok());
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(5);

  auto pending = store_->ListPendingUploads("backups/");
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  ASSERT_EQ(pending->size(), 1u);
  const PendingUpload& p = (*pending)[0];
  EXPECT_EQ(p.key, "backups/b1/resources.tar.zst");
  EXPECT_EQ(TempFiles(), (std::vector<std::string>{p.upload_id, p.upload_id + ".key"}));
  EXPECT_GT(p.initiated, before);
  auto other = store_->ListPendingUploads("restores/");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());

  ASSERT_TRUE(store_->AbortPendingUpload(p).ok());
  EXPECT_TRUE(TempFiles().empty());
  auto after = store_->ListPendingUploads("");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  // The writer that lost its temporary file cannot publish anything.
  EXPECT_FALSE((*sink)->Close().ok());
  EXPECT_EQ(store_->Head("backups/b1/resources.tar.zst").status().code(), Code::kNotFound);
  EXPECT_TRUE(Keys().empty());
}

TEST_F(PosixStoreTest, AbandonedTempFilesFromACrashAreReported) {
  std::ofstream(root_ + "/.cairn-tmp/00000000deadbeef") << "half";
  std::ofstream(root_ + "/.cairn-tmp/00000000deadbeef.key") << "a/b";
  std::ofstream(root_ + "/.cairn-tmp/stray") << "no sidecar";
  auto pending = store_->ListPendingUploads("");
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key, "a/b");
  EXPECT_EQ((*pending)[0].upload_id, "00000000deadbeef");
  ASSERT_TRUE(store_->AbortPendingUpload((*pending)[0]).ok());
  EXPECT_EQ(TempFiles(), std::vector<std::string>{"stray"});
}

TEST_F(PosixStoreTest, AbortRejectsIdsThatAreNotTempFileNames) {
  ASSERT_TRUE(store_->Put("victim", "v", {}).ok());
  for (const std::string& id : {std::string(), std::string("../victim"), std::string("a/b")}) {
    Status st = store_->AbortPendingUpload({"victim", id, {}});
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << id;
  }
  EXPECT_TRUE(fs::exists(root_ + "/victim"));
}

TEST_F(PosixStoreTest, CreateOnlyPublishLeavesNoTempFile) {
  PutOptions create;
  create.if_none_match = true;
  ASSERT_TRUE(store_->Put("lease", "first", create).ok());
  Status again = store_->Put("lease", "second", create);
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_EQ(again.message(), "object 'lease' already exists");
  EXPECT_EQ(Slurp(root_ + "/lease"), "first");
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(PosixStoreTest, DeleteRemovesDirectoriesLeftEmpty) {
  ASSERT_TRUE(store_->Put("backups/b1/parts/0001", "1", {}).ok());
  ASSERT_TRUE(store_->Put("backups/b1/manifest.json", "m", {}).ok());
  ASSERT_TRUE(store_->Put("backups/b2/manifest.json", "m", {}).ok());
  ASSERT_TRUE(store_->Delete({"backups/b1/parts/0001"}).ok());
  EXPECT_FALSE(fs::exists(root_ + "/backups/b1/parts"));
  EXPECT_TRUE(fs::exists(root_ + "/backups/b1/manifest.json"));
  ASSERT_TRUE(store_->Delete({"backups/b1/manifest.json"}).ok());
  EXPECT_FALSE(fs::exists(root_ + "/backups/b1"));
  EXPECT_TRUE(fs::exists(root_ + "/backups/b2"));
  ASSERT_TRUE(store_->Delete({"backups/b2/manifest.json", "never/was/there"}).ok());
  EXPECT_FALSE(fs::exists(root_ + "/backups"));
  EXPECT_TRUE(fs::is_directory(root_));  // the root and its temp dir stay
  EXPECT_TRUE(fs::is_directory(root_ + "/.cairn-tmp"));
  EXPECT_TRUE(Keys().empty());
}

TEST_F(PosixStoreTest, DirectoriesAreNotObjects) {
  ASSERT_TRUE(store_->Put("dir/obj", "o", {}).ok());
  EXPECT_EQ(store_->Head("dir").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Get("dir").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Head("dir/obj/below").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Get("dir/obj/below").status().code(), Code::kNotFound);
}

// ObjectStore: "Delete of a missing key is not an error". A key that names a directory (its
// objects live below it) or lies below an object is missing, as Head and Get already report.
TEST_F(PosixStoreTest, DeleteOfAKeyThatIsNotAnObjectIsNotAnError) {
  ASSERT_TRUE(store_->Put("dir/obj", "o", {}).ok());
  Status dir = store_->Delete({"dir"});
  EXPECT_TRUE(dir.ok()) << dir.message();
  Status below = store_->Delete({"dir/obj/below"});
  EXPECT_TRUE(below.ok()) << below.message();
  EXPECT_EQ(Keys(), std::vector<std::string>{"dir/obj"});
}

}  // namespace
}  // namespace cairn::store

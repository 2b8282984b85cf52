// The object-store conformance suite: every driver must pass every test here. The s3 driver
// runs against the real S3-compatible server scripts/test starts.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "../../support/s3_env.h"
#include "io/hash.h"
#include "store/memory/memory_store.h"
#include "store/posix/posix_store.h"
#include "store/s3/s3_store.h"

namespace cairn::store {
namespace {

std::string Bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

std::string UniquePrefix() {
  static std::atomic<int> n{0};
  std::random_device rd;
  return "conformance/" + std::to_string(rd()) + "-" + std::to_string(n++) + "/";
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& driver = GetParam();
    if (driver == "memory") {
      store_ = std::make_unique<MemoryStore>();
    } else if (driver == "posix") {
      dir_ = std::filesystem::temp_directory_path() / ("cairn-posix-" + UniquePrefix().substr(12));
      auto s = PosixStore::Open(dir_.string());
      ASSERT_TRUE(s.ok()) << s.status().message();
      store_ = std::move(s).value();
    } else {
      auto env = testing::GetS3Env();
      if (!env) {
        if (testing::S3Required()) FAIL() << "CAIRN_REQUIRE_S3=1 but S3_ENDPOINT is not set";
        GTEST_SKIP() << "no S3 test server (run through scripts/test)";
      }
      auto s = S3Store::Create(testing::S3TestOptions(*env));
      ASSERT_TRUE(s.ok()) << s.status().message();
      store_ = std::move(s).value();
    }
    prefix_ = UniquePrefix();
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string K(const std::string& k) { return prefix_ + k; }
  // Larger than one s3 part in the test options, so streams really go multipart.
  static constexpr size_t kMultipartSize = (5u << 20) * 2 + 12345;

  std::unique_ptr<ObjectStore> store_;
  std::filesystem::path dir_;
  std::string prefix_;
};

TEST_P(StoreTest, PutGetHeadRoundTrip) {
  const std::string data = Bytes(70'001, 1);
  ASSERT_TRUE(store_->Put(K("a/b c+d&e=f ü.bin"), data, {}).ok());
  auto got = store_->GetAll(K("a/b c+d&e=f ü.bin"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);
  auto info = store_->Head(K("a/b c+d&e=f ü.bin"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->size, data.size());
  EXPECT_FALSE(info->etag.empty());
}

TEST_P(StoreTest, EmptyObject) {
  ASSERT_TRUE(store_->Put(K("empty"), "", {}).ok());
  auto got = store_->GetAll(K("empty"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "");
  EXPECT_EQ(store_->Head(K("empty"))->size, 0u);
}

TEST_P(StoreTest, PutReplaces) {
  ASSERT_TRUE(store_->Put(K("x"), "one", {}).ok());
  ASSERT_TRUE(store_->Put(K("x"), "two!", {}).ok());
  EXPECT_EQ(*store_->GetAll(K("x")), "two!");
}

TEST_P(StoreTest, MissingObjectsAreNotFound) {
  auto g = store_->Get(K("nope"));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), base::Code::kNotFound) << g.status().message();
  auto h = store_->Head(K("nope"));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), base::Code::kNotFound) << h.status().message();
}

TEST_P(StoreTest, ConditionalCreateRefusesExistingKey) {
  PutOptions create;
  create.if_none_match = true;
  ASSERT_TRUE(store_->Put(K("manifest.json"), "first", create).ok());
  Status st = store_->Put(K("manifest.json"), "second", create);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::Code::kAlreadyExists) << st.message();
  EXPECT_EQ(*store_->GetAll(K("manifest.json")), "first");
}

TEST_P(StoreTest, ConcurrentConditionalCreatesHaveOneWinner) {
  if (!store_->caps().conditional_create) GTEST_SKIP() << "driver has no atomic create";
  PutOptions create;
  create.if_none_match = true;
  std::atomic<int> wins{0}, exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Status st = store_->Put(K("race"), "writer-" + std::to_string(i), create);
      if (st.ok()) wins++;
      if (st.code() == base::Code::kAlreadyExists) exists++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(exists.load(), 7);
}

TEST_P(StoreTest, StreamIsInvisibleUntilClosed) {
  const std::string data = Bytes(kMultipartSize, 2);
  auto sink = store_->PutStream(K("big.tar.zst"), {});
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  for (size_t i = 0; i < data.size(); i += 777'777) {
    ASSERT_TRUE((*sink)->Write(std::string_view(data).substr(i, 777'777)).ok());
  }
  EXPECT_EQ(store_->Head(K("big.tar.zst")).status().code(), base::Code::kNotFound);
  ASSERT_TRUE((*sink)->Close().ok());
  auto src = store_->Get(K("big.tar.zst"));
  ASSERT_TRUE(src.ok()) << src.status().message();
  io::HashingSource hashed(src->get());
  std::vector<char> buf(300'000);
  while (true) {
    auto n = hashed.Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().message();
    if (*n == 0) break;
  }
  EXPECT_EQ(hashed.size(), data.size());
  EXPECT_EQ(hashed.HexDigest(), io::Sha256Hex(data));
}

TEST_P(StoreTest, AbortedStreamLeavesNoObjectAndNoPendingUpload) {
  const std::string data = Bytes(kMultipartSize, 3);
  {
    auto sink = store_->PutStream(K("aborted"), {});
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Write(data).ok());
    (*sink)->Abort();
  }
  {
    auto sink = store_->PutStream(K("dropped"), {});
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Write(data).ok());
  }  // destroyed without Close
  EXPECT_EQ(store_->Head(K("aborted")).status().code(), base::Code::kNotFound);
  EXPECT_EQ(store_->Head(K("dropped")).status().code(), base::Code::kNotFound);
  auto pending = store_->ListPendingUploads(prefix_);
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  EXPECT_TRUE(pending->empty());
}

TEST_P(StoreTest, PendingUploadsCanBeListedAndAborted) {
  auto sink = store_->PutStream(K("interrupted"), {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Bytes(kMultipartSize, 4)).ok());
  auto pending = store_->ListPendingUploads(prefix_);
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key, K("interrupted"));
  ASSERT_TRUE(store_->AbortPendingUpload((*pending)[0]).ok());
  EXPECT_TRUE(store_->ListPendingUploads(prefix_)->empty());
  (*sink)->Abort();
  EXPECT_EQ(store_->Head(K("interrupted")).status().code(), base::Code::kNotFound);
}

// What a pending upload holds is what vault-check --list reports as leaked space.
TEST_P(StoreTest, PendingUploadBytesCountWhatIsStored) {
  const std::string data = Bytes(kMultipartSize, 8);
  auto sink = store_->PutStream(K("leaking"), {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(data).ok());
  auto pending = store_->ListPendingUploads(prefix_);
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  ASSERT_EQ(pending->size(), 1u);
  // Parts may still be in flight; every full part is eventually stored (s3 keeps the tail
  // in memory until Close).
  const uint64_t full_parts = 2 * (5u << 20);
  uint64_t bytes = 0;
  for (int i = 0; i < 200 && bytes < full_parts; ++i) {
    auto b = store_->PendingUploadBytes((*pending)[0]);
    ASSERT_TRUE(b.ok()) << b.status().message();
    bytes = *b;
    if (bytes < full_parts) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(bytes, full_parts);
  EXPECT_LE(bytes, data.size());
  ASSERT_TRUE(store_->AbortPendingUpload((*pending)[0]).ok());
  EXPECT_EQ(store_->PendingUploadBytes((*pending)[0]).status().code(), base::Code::kNotFound);
  (*sink)->Abort();
}

TEST_P(StoreTest, StreamedConditionalCreateRefusesExistingKey) {
  PutOptions create;
  create.if_none_match = true;
  ASSERT_TRUE(store_->Put(K("m"), "first", create).ok());
  auto sink = store_->PutStream(K("m"), create);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("second").ok());
  Status st = (*sink)->Close();
  EXPECT_EQ(st.code(), base::Code::kAlreadyExists) << st.message();
  EXPECT_EQ(*store_->GetAll(K("m")), "first");
}

TEST_P(StoreTest, MultipartConditionalCreateRefusesExistingKey) {
  PutOptions create;
  create.if_none_match = true;
  ASSERT_TRUE(store_->Put(K("m"), "first", create).ok());
  auto sink = store_->PutStream(K("m"), create);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Bytes(kMultipartSize, 6)).ok());
  Status st = (*sink)->Close();
  EXPECT_EQ(st.code(), base::Code::kAlreadyExists) << st.message();
  EXPECT_EQ(*store_->GetAll(K("m")), "first");
  EXPECT_TRUE(store_->ListPendingUploads(prefix_)->empty());
}

TEST_P(StoreTest, ZeroLengthReadOfAMissingObjectIsNotFound) {
  auto g = store_->Get(K("missing"), ByteRange{0, 0});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), base::Code::kNotFound);
}

TEST_P(StoreTest, RangeReads) {
  const std::string data = Bytes(3'000'000, 5);
  ASSERT_TRUE(store_->Put(K("r"), data, {}).ok());
  auto mid = store_->Get(K("r"), ByteRange{1'000'000, 1'500'000});
  ASSERT_TRUE(mid.ok()) << mid.status().message();
  EXPECT_EQ(*io::ReadAll(**mid), data.substr(1'000'000, 1'500'000));
  auto tail = store_->Get(K("r"), ByteRange{2'999'990, std::nullopt});
  ASSERT_TRUE(tail.ok()) << tail.status().message();
  EXPECT_EQ(*io::ReadAll(**tail), data.substr(2'999'990));
  auto none = store_->Get(K("r"), ByteRange{100, 0});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*io::ReadAll(**none), "");
}

TEST_P(StoreTest, ListPagesInKeyOrderAndFoldsPrefixes) {
  std::vector<std::string> keys = {"b/2", "a", "b/1", "c/x/y", "d", "b/3"};
  for (const auto& k : keys) ASSERT_TRUE(store_->Put(K(k), k, {}).ok());
  std::vector<std::string> seen;
  int pages = 0;
  ASSERT_TRUE(store_
                  ->List({prefix_, "", 2},
                         [&](const ListPage& p) {
                           ++pages;
                           for (const auto& o : p.objects)
                             seen.push_back(o.key.substr(prefix_.size()));
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b/1", "b/2", "b/3", "c/x/y", "d"}));
  EXPECT_GE(pages, 3);

  std::vector<std::string> objects, prefixes;
  ASSERT_TRUE(store_
                  ->List({prefix_, "/", 1000},
                         [&](const ListPage& p) {
                           for (const auto& o : p.objects)
                             objects.push_back(o.key.substr(prefix_.size()));
                           for (const auto& c : p.common_prefixes)
                             prefixes.push_back(c.substr(prefix_.size()));
                           return true;
                         })
                  .ok());
  EXPECT_EQ(objects, (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(prefixes, (std::vector<std::string>{"b/", "c/"}));

  auto b = store_->ListAll({K("b/"), "", 1000});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 3u);
  EXPECT_EQ((*b)[0].size, 3u);
}

TEST_P(StoreTest, ListOfEmptyPrefixIsEmpty) {
  auto all = store_->ListAll({K("nothing/"), "", 1000});
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_TRUE(all->empty());
}

TEST_P(StoreTest, DeleteInBatchesAndMissingKeysAreFine) {
  std::vector<std::string> keys;
  for (int i = 0; i < 1003; ++i) keys.push_back(K("del/" + std::to_string(i)));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < keys.size(); i += 8) ASSERT_TRUE(store_->Put(keys[i], "x", {}).ok());
    });
  }
  for (auto& t : threads) t.join();
  keys.push_back(K("del/never-existed"));
  ASSERT_TRUE(store_->Delete(keys).ok());
  EXPECT_TRUE(store_->ListAll({K("del/"), "", 1000})->empty());
}

INSTANTIATE_TEST_SUITE_P(Drivers, StoreTest, ::testing::Values("memory", "posix", "s3"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cairn::store

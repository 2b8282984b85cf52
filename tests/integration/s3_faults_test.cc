// The s3 driver through injected faults (tests/harness/fault_proxy.py between it and the real
// S3 server): uploads complete and read back byte-identical through 503/500/SlowDown, resets and
// truncated responses; a truncated or corrupted read is an error, never data.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "../support/fault_proxy.h"
#include "../support/s3_env.h"
#include "io/hash.h"
#include "store/s3/s3_store.h"

namespace cairn::store {
namespace {

// A deterministic, incompressible stream of `size` bytes, produced piecewise so a 200 MiB test
// holds only one piece at a time.
class PatternSource final : public io::Source {
 public:
  PatternSource(uint64_t size, uint64_t seed) : left_(size), rng_(seed) {}
  Result<size_t> Read(std::span<char> buf) override {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left_, buf.size())) & ~size_t{7};
    if (n == 0 && left_ > 0) n = static_cast<size_t>(left_);
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = rng_();
      std::memcpy(buf.data() + i, &v, std::min<size_t>(8, n - i));
    }
    left_ -= n;
    return n;
  }

 private:
  uint64_t left_;
  std::mt19937_64 rng_;
};

class S3Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = testing::GetS3Env();
    if (!env) {
      if (testing::S3Required()) FAIL() << "CAIRN_REQUIRE_S3=1 but S3_ENDPOINT is not set";
      GTEST_SKIP() << "no S3 test server";
    }
    env_ = *env;
    prefix_ = "faults/" + std::to_string(std::random_device{}()) + "/";
  }
  std::unique_ptr<S3Store> Open(const std::string& endpoint) {
    S3Options o = testing::S3TestOptions(env_);
    o.endpoint = endpoint;
    o.part_size = 8u << 20;
    o.read_chunk = 4u << 20;
    o.http.retry.max_attempts = 10;
    o.http.retry.initial_backoff = std::chrono::milliseconds(50);
    o.http.retry.max_backoff = std::chrono::milliseconds(1000);
    o.http.retry.overall_deadline = std::chrono::milliseconds(120'000);
    auto s = S3Store::Create(o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  testing::S3Env env_;
  std::string prefix_;
};

TEST_F(S3Faults, MultipartUploadThroughTenPercentFaultsReadsBackIdentical) {
  constexpr uint64_t kSize = 200ull << 20;
  std::string expected;
  {
    PatternSource src(kSize, 99);
    io::HashingSource h(&src);
    std::vector<char> buf(1 << 20);
    while (*h.Read(buf) > 0) {
    }
    expected = h.HexDigest();
  }
  testing::FaultProxy proxy(env_.endpoint, {{"error_rate", 0.06},
                                            {"errors", {"SlowDown", 500, 503}},
                                            {"reset_rate", 0.02},
                                            {"truncate_rate", 0.02},
                                            {"seed", 1}});
  ASSERT_TRUE(proxy.ok());
  auto s3 = Open(proxy.url());
  ASSERT_TRUE(s3);
  {
    auto sink = s3->PutStream(prefix_ + "big", {});
    ASSERT_TRUE(sink.ok());
    PatternSource src(kSize, 99);
    auto copied = io::Copy(src, **sink);
    ASSERT_TRUE(copied.ok()) << copied.status().message();
    Status st = (*sink)->Close();
    ASSERT_TRUE(st.ok()) << st.message();
  }
  auto src = s3->Get(prefix_ + "big");
  ASSERT_TRUE(src.ok()) << src.status().message();
  io::HashingSource h(src->get());
  std::vector<char> buf(1 << 20);
  while (true) {
    auto n = h.Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().message();
    if (*n == 0) break;
  }
  EXPECT_EQ(h.size(), kSize);
  EXPECT_EQ(h.HexDigest(), expected);
  auto stats = proxy.Stats();
  EXPECT_GT(stats.value("error", 0) + stats.value("reset", 0) + stats.value("truncate", 0), 3)
      << stats.dump();
  EXPECT_TRUE(s3->Delete({prefix_ + "big"}).ok());
}

TEST_F(S3Faults, TruncatedReadsAreRetriedAndNeverReturnedAsData) {
  auto direct = Open(env_.endpoint);
  ASSERT_TRUE(direct);
  std::string data(10u << 20, '\0');
  std::mt19937_64 rng(5);
  for (auto& c : data) c = static_cast<char>(rng());
  ASSERT_TRUE(direct->Put(prefix_ + "t", data, {}).ok());

  // Every GET truncated: the reader must fail, not hand back short data.
  {
    testing::FaultProxy proxy(env_.endpoint, {{"truncate_rate", 1.0}, {"methods", {"GET"}}});
    ASSERT_TRUE(proxy.ok());
    auto s3 = Open(proxy.url());
    S3Options o = s3->options();
    o.http.retry.max_attempts = 3;
    auto limited = S3Store::Create(o);
    ASSERT_TRUE(limited.ok());
    auto got = (*limited)->GetAll(prefix_ + "t", 64u << 20);
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("truncated"), std::string::npos)
        << got.status().message();
  }
  // Half the GETs truncated: retries deliver exactly the bytes.
  {
    testing::FaultProxy proxy(env_.endpoint,
                              {{"truncate_rate", 0.5}, {"methods", {"GET"}}, {"seed", 3}});
    ASSERT_TRUE(proxy.ok());
    auto s3 = Open(proxy.url());
    auto got = s3->GetAll(prefix_ + "t", 64u << 20);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(io::Sha256Hex(*got), io::Sha256Hex(data));
    EXPECT_GT(proxy.Stats().value("truncate", 0), 0);
  }
}

// A create whose response is lost is retried and refused (412) by its own object; the vault's
// create-if-absent recognises its own bytes instead of reporting "already exists".
TEST_F(S3Faults, ConditionalCreateWithLostResponseIsOurs) {
  testing::FaultProxy proxy(env_.endpoint,
                            {{"reset_rate", 1.0}, {"methods", {"PUT"}}, {"max_faults", 1}});
  ASSERT_TRUE(proxy.ok());
  auto s3 = Open(proxy.url());
  PutOptions create;
  create.if_none_match = true;
  Status raw = s3->Put(prefix_ + "c", "mine", create);
  EXPECT_EQ(raw.code(), base::Code::kAlreadyExists) << raw.message();  // what S3 itself says
  EXPECT_EQ(*s3->GetAll(prefix_ + "c"), "mine");
  EXPECT_EQ(proxy.Stats().value("reset", 0), 1);
}

TEST_F(S3Faults, PermanentErrorsAreNotRetried) {
  testing::FaultProxy proxy(env_.endpoint, nlohmann::json::object());
  ASSERT_TRUE(proxy.ok());
  S3Options o = testing::S3TestOptions(env_);
  o.endpoint = proxy.url();
  o.credentials.secret_access_key = "definitely-wrong-secret";
  auto s3 = S3Store::Create(o);
  ASSERT_TRUE(s3.ok());
  Status st = (*s3)->Put(prefix_ + "x", "data", {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::Code::kUnauthenticated);
  EXPECT_NE(st.message().find("ErrorCode=SignatureDoesNotMatch"), std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().find("definitely-wrong-secret"), std::string::npos);
  EXPECT_EQ(proxy.Stats().value("forwarded", 0), 1);  // one attempt only
}

TEST_F(S3Faults, GivingUpListsTheAttempts) {
  testing::FaultProxy proxy(env_.endpoint, {{"error_rate", 1.0}, {"errors", {"SlowDown"}}});
  ASSERT_TRUE(proxy.ok());
  S3Options o = testing::S3TestOptions(env_);
  o.endpoint = proxy.url();
  o.http.retry.max_attempts = 3;
  o.http.retry.initial_backoff = std::chrono::milliseconds(10);
  auto s3 = S3Store::Create(o);
  ASSERT_TRUE(s3.ok());
  Status st = (*s3)->Put(prefix_ + "x", "data", {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::Code::kUnavailable);
  EXPECT_NE(st.message().find("ErrorCode=SlowDown"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("after 3 attempts"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace cairn::store

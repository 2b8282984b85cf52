#include "io/read_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "io/hash.h"

namespace cairn::io {
namespace {

std::string Bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Returns its bytes in reads of odd sizes, then `error` (if set) instead of the end.
class Uneven final : public Source {
 public:
  Uneven(std::string data, Status error = Status::Ok())
      : data_(std::move(data)), error_(std::move(error)) {}
  Result<size_t> Read(std::span<char> buf) override {
    ++reads;
    if (pos_ == data_.size()) {
      if (!error_.ok()) return error_;
      return size_t{0};
    }
    const size_t n =
        std::min({buf.size(), data_.size() - pos_, static_cast<size_t>(1 + reads % 7919)});
    std::copy_n(data_.data() + pos_, n, buf.data());
    pos_ += n;
    bytes += n;
    return n;
  }
  std::atomic<int> reads{0};
  std::atomic<size_t> bytes{0};

 private:
  std::string data_;
  Status error_;
  size_t pos_ = 0;
};

std::string ReadThrough(Source& src, size_t step) {
  std::string out;
  std::vector<char> buf(step);
  for (;;) {
    auto n = src.Read(buf);
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok() || *n == 0) return out;
    out.append(buf.data(), *n);
  }
}

TEST(ReadAhead, DeliversEveryByteInOrderWhateverTheSizes) {
  const std::string data = Bytes((256 << 10) + 12345, 7);
  for (size_t chunk : {size_t{7}, size_t{4096}, size_t{256 << 10}}) {
    for (size_t step : {size_t{1000}, size_t{65536}, size_t{2 << 20}}) {
      Uneven up(data);
      ReadAheadSource ra(&up, chunk, 3);
      ASSERT_EQ(ReadThrough(ra, step), data) << chunk << " " << step;
      std::vector<char> tail(10);
      auto again = ra.Read(tail);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, 0u);  // the end stays the end
    }
  }
}

TEST(ReadAhead, UpstreamStateIsCompleteAtTheEnd) {
  const std::string data = Bytes(2 << 20, 8);
  Uneven up(data);
  HashingSource hashed(&up);
  ReadAheadSource ra(&hashed, 64 << 10, 2);
  EXPECT_EQ(ReadThrough(ra, 10000).size(), data.size());
  EXPECT_EQ(hashed.size(), data.size());
  EXPECT_EQ(hashed.HexDigest(), Sha256Hex(data));
}

TEST(ReadAhead, TheUpstreamErrorFollowsTheBytesBeforeIt) {
  const std::string data = Bytes(300'000, 9);
  Uneven up(data, base::Error(base::Code::kDataLoss, "truncated frame"));
  ReadAheadSource ra(&up, 4096, 2);
  std::string got;
  std::vector<char> buf(5000);
  Status error;
  for (;;) {
    auto n = ra.Read(buf);
    if (!n.ok()) {
      error = n.status();
      break;
    }
    ASSERT_NE(*n, 0u) << "the error was reported as the end of the stream";
    got.append(buf.data(), *n);
  }
  EXPECT_EQ(got, data);
  EXPECT_EQ(error.message(), "truncated frame");
}

TEST(ReadAhead, ReadsAtMostItsDepthAheadAndStopsWhenAbandoned) {
  const std::string data = Bytes(10 << 20, 10);
  Uneven up(data);
  {
    ReadAheadSource ra(&up, 1 << 10, 2);
    std::vector<char> buf(100);
    ASSERT_TRUE(ra.Read(buf).ok());
    // Bounded: two chunks of 1 KiB (the one being read among them); then the thread waits.
    for (int i = 0; i < 50; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(up.bytes.load(), 2 * 1024u);
  }  // destroyed mid-stream: the thread stops and is joined, with no read after
  const int reads = up.reads.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(up.reads.load(), reads);
}

TEST(ReadAhead, AStreamStoppedBeforeItsEndNeverLooksComplete) {
  const std::string data = Bytes(1 << 20, 11);
  Uneven up(data);
  ReadAheadSource ra(&up, 4096, 2);
  std::vector<char> buf(100);
  ASSERT_TRUE(ra.Read(buf).ok());
  ra.Stop();
  Status end;
  for (int i = 0; i < 1000 && end.ok(); ++i) {
    auto n = ra.Read(buf);
    ASSERT_TRUE(!n.ok() || *n > 0) << "a stopped stream read as complete";
    if (!n.ok()) end = n.status();
  }
  EXPECT_EQ(end.code(), base::Code::kCancelled);
}

TEST(ReadAhead, AnErrorBeforeAnyByteIsReported) {
  Uneven up("", base::Error(base::Code::kUnavailable, "connection refused"));
  ReadAheadSource ra(&up);
  std::vector<char> buf(100);
  auto n = ra.Read(buf);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(), "connection refused");
}

}  // namespace
}  // namespace cairn::io

#include "io/stream.h"

#include <gtest/gtest.h>

#include <random>

#include "io/hash.h"
#include "io/zstd.h"

namespace cairn::io {
namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() % 16);  // compressible but not trivial
  return s;
}

TEST(Hash, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Zstd, RoundTripThroughHashingFilters) {
  const std::string payload = RandomBytes(3 << 20, 1);
  std::string stored;
  StringSink out(&stored);
  HashingSink stored_hash(&out);
  auto z = ZstdCompressSink::Create(&stored_hash, 3, 2);
  ASSERT_TRUE(z.ok());
  HashingSink logical(z->get());
  for (size_t i = 0; i < payload.size(); i += 100'000) {
    ASSERT_TRUE(logical.Write(std::string_view(payload).substr(i, 100'000)).ok());
  }
  ASSERT_TRUE(logical.Close().ok());
  EXPECT_EQ(logical.size(), payload.size());
  EXPECT_EQ(logical.HexDigest(), Sha256Hex(payload));
  EXPECT_EQ(stored_hash.size(), stored.size());
  EXPECT_EQ(stored_hash.HexDigest(), Sha256Hex(stored));
  EXPECT_LT(stored.size(), payload.size());

  StringSource src(stored);
  ZstdDecompressSource dz(&src);
  HashingSource back(&dz);
  auto all = ReadAll(back, 16 << 20);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(*all, payload);
  EXPECT_EQ(back.HexDigest(), Sha256Hex(payload));
}

// A frame of `n` (<= 128 KiB) zero bytes in one RLE block, asking for a 2^window_log window.
std::string RleFrame(size_t n, int window_log) {
  std::string f = "\x28\xb5\x2f\xfd";
  f += '\0';                                       // no content size, not single-segment
  f += static_cast<char>((window_log - 10) << 3);  // window descriptor
  const uint32_t header = 1 | (1 << 1) | static_cast<uint32_t>(n << 3);  // last, RLE, size
  for (int i = 0; i < 3; ++i) f += static_cast<char>(header >> (8 * i));
  f += '\0';
  return f;
}

// zstd would decode a frame asking for up to 128 MiB, filling a buffer that large: a frame
// above 16 MiB is refused at its header, naming the window it asked for.
TEST(Zstd, AFrameAskingForAWindowAbove16MiBIsRefused) {
  auto fine = ZstdDecompress(RleFrame(1000, kMaxWindowLog), 1 << 20);
  ASSERT_TRUE(fine.ok()) << fine.status().message();
  EXPECT_EQ(*fine, std::string(1000, '\0'));
  const std::string first = ZstdCompress("first frame", 3).value();
  auto big = ZstdDecompress(first + RleFrame(1000, 27), 1 << 20);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), base::Code::kDataLoss);
  EXPECT_EQ(big.status().message(),
            "zstd frame asks for a window of 128 MiB, more than the 16 MiB allowed");
}

TEST(Zstd, TruncatedAndCorruptStreamsAreDataLoss) {
  const std::string payload = RandomBytes(1 << 20, 2);
  std::string stored;
  StringSink out(&stored);
  auto z = ZstdCompressSink::Create(&out, 3, 0);
  ASSERT_TRUE(z.ok());
  ASSERT_TRUE((*z)->Write(payload).ok());
  ASSERT_TRUE((*z)->Close().ok());

  std::string truncated = stored.substr(0, stored.size() - 10);
  StringSource s1(truncated);
  ZstdDecompressSource d1(&s1);
  auto r1 = ReadAll(d1, 16 << 20);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), base::Code::kDataLoss);

  std::string corrupt = stored;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  StringSource s2(corrupt);
  ZstdDecompressSource d2(&s2);
  auto r2 = ReadAll(d2, 16 << 20);
  ASSERT_FALSE(r2.ok());  // the frame checksum catches what the decoder does not
  EXPECT_EQ(r2.status().code(), base::Code::kDataLoss);
}

TEST(Zstd, EmptyPayloadHasAFrameAndEmptyInputIsDataLoss) {
  std::string stored;
  StringSink out(&stored);
  auto z = ZstdCompressSink::Create(&out, 3, 0);
  ASSERT_TRUE((*z)->Close().ok());
  ASSERT_FALSE(stored.empty());
  StringSource s1(stored);
  ZstdDecompressSource d1(&s1);
  EXPECT_EQ(*ReadAll(d1), "");
  StringSource s2("");
  ZstdDecompressSource d2(&s2);
  auto r = ReadAll(d2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
}

TEST(Zstd, RejectsBadLevel) {
  std::string s;
  StringSink out(&s);
  auto z = ZstdCompressSink::Create(&out, 99, 0);
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("compression level 99"), std::string::npos);
}

TEST(Zstd, OneShotRoundTripAndLimits) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data += "line " + std::to_string(i % 97) + "\n";
  auto z = ZstdCompress(data, 3);
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  EXPECT_LT(z->size() * 5, data.size());
  auto back = ZstdDecompress(*z, data.size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, data);
  auto over = ZstdDecompress(*z, data.size() - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), base::Code::kFailedPrecondition);
  auto cut = ZstdDecompress(std::string_view(*z).substr(0, z->size() - 3), data.size());
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), base::Code::kDataLoss);
}

TEST(Stream, AbortedSinkLeavesNothing) {
  std::string s;
  {
    StringSink out(&s);
    auto z = ZstdCompressSink::Create(&out, 3, 0);
    ASSERT_TRUE((*z)->Write("hello").ok());
    // destroyed without Close: aborted
  }
  EXPECT_TRUE(s.empty());
}

// A stream of exactly its limit reads to its end; one byte more fails at that byte and every
// read after it, naming what it bounds.
TEST(Stream, BoundedSourceStopsPastItsLimit) {
  char buf[4];
  StringSource exact("abcdef");
  BoundedSource ok(&exact, 6, "the payload");
  ASSERT_TRUE(ReadAll(ok).ok());
  EXPECT_EQ(ok.size(), 6u);

  StringSource longer("abcdefg");
  BoundedSource bounded(&longer, 6, "the payload");
  ASSERT_EQ(*bounded.Read(buf), 4u);
  auto past = bounded.Read(buf);  // "efg": 3 bytes where 2 are left
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), base::Code::kDataLoss);
  EXPECT_EQ(past.status().message(), "the payload is longer than the 6 bytes the manifest records");
  EXPECT_FALSE(bounded.Read(buf).ok());
  EXPECT_EQ(bounded.size(), 4u);
}

}  // namespace
}  // namespace cairn::io

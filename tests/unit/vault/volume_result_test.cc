// The volume movers' result documents: round trip, caps on what a writer stores, and a reader
// that treats them as hostile input.
#include "vault/volume_result.h"

#include <gtest/gtest.h>

namespace cairn::vault {
namespace {

VolumeResult Sample() {
  VolumeResult r;
  r.kind = std::string(kKindVolumeBackup);
  r.backup = "shop-20261202";
  r.namespace_name = "shop";
  r.pvc = "data-db-0";
  r.phase = "PartiallyFailed";
  r.message = "1 file(s) failed";
  r.object = VolumeObject{"volumes/shop/data-db-0.tar.zst", 100, 300, std::string(64, 'a'),
                          std::string(64, 'b')};
  r.counts = {3, 2, 1, 1, 300, 1};
  r.warnings = {"skipped FIFO 'p'"};
  r.errors = {"unable to open 'secret': Permission denied"};
  r.start_time = base::TimePoint(std::chrono::seconds(1'800'000'000));
  r.completion_time = base::TimePoint(std::chrono::seconds(1'800'000'060));
  return r;
}

TEST(VolumeResult, RoundTrip) {
  auto bytes = SerializeVolumeResult(Sample());
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_NE(bytes->find("\"kind\":\"VolumeBackup\""), std::string::npos);
  EXPECT_NE(bytes->find("\"storedSize\":100"), std::string::npos);
  auto back = ParseVolumeResult(*bytes, "x.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->pvc, "data-db-0");
  EXPECT_EQ(back->counts.hardlinks, 1u);
  ASSERT_TRUE(back->object);
  EXPECT_EQ(back->object->logical_size, 300u);
  EXPECT_EQ(back->errors, Sample().errors);
  auto again = SerializeVolumeResult(*back);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *bytes);
}

TEST(VolumeResult, WriterCapsListsAndMessages) {
  VolumeResult r = Sample();
  r.errors.assign(5000, std::string(3000, 'e'));
  auto bytes = SerializeVolumeResult(r);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_LE(bytes->size(), kMaxVolumeResultBytes);
  auto back = ParseVolumeResult(*bytes, "x.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->errors.size(), kMaxVolumeResultItems);
  EXPECT_EQ(back->errors.back(), "... and 4801 more not listed");
}

TEST(VolumeResult, ReaderRefusesHostileDocuments) {
  const std::string good = *SerializeVolumeResult(Sample());
  auto refused = [](std::string text) {
    auto r = ParseVolumeResult(text, "x.json");
    return !r.ok() && r.status().code() == base::Code::kDataLoss;
  };
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_TRUE(refused(replace("\"PartiallyFailed\"", "\"Done\"")));
  EXPECT_TRUE(refused(replace("\"VolumeBackup\"", "\"Backup\"")));
  EXPECT_TRUE(refused(replace("\"data-db-0\"", "\"../etc\"")));
  EXPECT_TRUE(refused(replace("volumes/shop/data-db-0.tar.zst", "resources.tar.zst")));
  EXPECT_TRUE(refused(replace(std::string(64, 'a'), "abc")));
  EXPECT_TRUE(refused(replace("\"storedSize\":100", "\"storedSize\":-1")));
  EXPECT_TRUE(refused(replace("\"warnings\":[", "\"warnings\":[1,")));
  EXPECT_TRUE(refused(good + std::string(kMaxVolumeResultBytes, ' ')));
  EXPECT_TRUE(refused("[]"));
  std::string many = "\"warnings\":[";
  for (size_t i = 0; i <= kMaxVolumeResultItems; ++i) many += "\"w\",";
  EXPECT_TRUE(refused(replace("\"warnings\":[", many)));
}

TEST(VolumeResult, WriterRefusesInvalidNames) {
  VolumeResult r = Sample();
  r.namespace_name = "Shop";
  EXPECT_FALSE(SerializeVolumeResult(r).ok());
  r = Sample();
  r.kind = std::string(kKindVolumeRestore);  // needs a restore name
  EXPECT_FALSE(SerializeVolumeResult(r).ok());
  r.restore = "r1";
  EXPECT_TRUE(SerializeVolumeResult(r).ok());
}

}  // namespace
}  // namespace cairn::vault

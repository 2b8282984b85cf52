#include "vault/snapshot_record.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace cairn::vault {
namespace {

using base::Code;

SnapshotRecord Rec(std::string ns, std::string pvc) {
  SnapshotRecord r;
  r.cluster = "0b7c1a52-6f3e-4d7e-9c36-2f1b8f6c1d11";
  r.namespace_name = std::move(ns);
  r.pvc = std::move(pvc);
  r.volume_snapshot = "cairn-b1-" + r.pvc;
  r.volume_snapshot_content = "snapcontent-8f2c";
  r.snapshot_handle = "snap-1234";
  r.driver = "hostpath.csi.k8s.io";
  r.volume_snapshot_class = "csi-hostpath-snapclass";
  r.restore_size = 2147483648ULL;
  r.ready_time = *base::ParseRfc3339("2026-12-02T10:00:00Z");
  return r;
}

TEST(SnapshotRecord, RoundTripIsSortedAndByteStable) {
  auto text = SerializeSnapshotRecords({Rec("shop", "data-b"), Rec("billing", "db")});
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(text->find("\"namespace\":\"billing\""), text->find("\"namespace\""));
  auto parsed = ParseSnapshotRecords(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].pvc, "data-b");
  EXPECT_EQ((*parsed)[1].restore_size, 2147483648ULL);
  EXPECT_EQ(base::FormatRfc3339((*parsed)[0].ready_time), "2026-12-02T10:00:00Z");
  EXPECT_EQ(*SerializeSnapshotRecords(*parsed), *text);
}

TEST(SnapshotRecord, UnknownMembersAreKept) {
  std::string text = *SerializeSnapshotRecords({Rec("shop", "data")});
  text.insert(text.size() - 2, ",\"zone\":\"eu-1a\"");
  auto parsed = ParseSnapshotRecords(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].extra.at("zone"), "\"eu-1a\"");
  EXPECT_NE(SerializeSnapshotRecords(*parsed)->find("\"zone\":\"eu-1a\""), std::string::npos);
}

TEST(SnapshotRecord, HostileInputIsDataLossNamingTheField) {
  const std::string good = *SerializeSnapshotRecords({Rec("shop", "data")});
  auto edit = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  struct Case {
    std::string text, want;
  } cases[] = {
      {"{}", "must be an array"},
      {"[1]", "snapshots[0]"},
      {edit("\"namespace\":\"shop\"", "\"namespace\":\"../etc\""), "snapshots[0].namespace"},
      {edit("\"pvc\":\"data\"", "\"pvc\":\"\""), "snapshots[0].pvc"},
      {edit("\"snapshotHandle\":\"snap-1234\"", "\"snapshotHandle\":\"a\\nb\""), "snapshotHandle"},
      {edit("\"driver\":\"hostpath.csi.k8s.io\"", "\"driver\":\"-x\""), "driver"},
      {edit("\"restoreSize\":2147483648", "\"restoreSize\":-1"), "restoreSize"},
      {edit("\"restoreSize\":2147483648", "\"restoreSize\":\"2Gi\""), "restoreSize"},
      {edit("\"readyTime\":\"2026-12-02T10:00:00Z\"", "\"readyTime\":\"yesterday\""), "readyTime"},
      {edit("\"cluster\":\"0b7c1a52-6f3e-4d7e-9c36-2f1b8f6c1d11\",", ""), "cluster"},
      {"[" + good.substr(1, good.size() - 2) + "," + good.substr(1), "repeats PVC 'shop/data'"},
      {"[" + good.substr(1, good.size() - 2) + ",", ""},
  };
  for (const Case& c : cases) {
    auto parsed = ParseSnapshotRecords(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), Code::kDataLoss) << c.text;
    EXPECT_NE(parsed.status().message().find(c.want), std::string::npos)
        << parsed.status().message();
  }
}

TEST(SnapshotRecord, TooManyRecordsAreRefused) {
  std::string one = *SerializeSnapshotRecords({Rec("shop", "data")});
  std::string many = "[";
  for (size_t i = 0; i <= kMaxSnapshotRecords; ++i) {
    many += (i ? "," : "") + one.substr(1, one.size() - 2);
  }
  many += "]";
  auto parsed = ParseSnapshotRecords(many);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("more than 10000 records"), std::string::npos);
}

TEST(SnapshotRecord, SerializeRefusesInvalidAndDuplicateRecords) {
  SnapshotRecord bad = Rec("Shop", "data");
  EXPECT_EQ(SerializeSnapshotRecords({bad}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SerializeSnapshotRecords({Rec("shop", "d"), Rec("shop", "d")}).status().code(),
            Code::kInvalidArgument);
}

TEST(SnapshotRecord, ManifestMemberSurvivesSerializeAndParse) {
  Manifest m;
  m.name = "b1";
  m.created = *base::ParseRfc3339("2026-12-02T09:59:00Z");
  m.completed = *base::ParseRfc3339("2026-12-02T10:01:00Z");
  ASSERT_TRUE(SetManifestSnapshots(m, {Rec("shop", "data")}).ok());
  auto bytes = SerializeManifest(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto back = ParseManifest(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto recs = ManifestSnapshots(*back);
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ((*recs)[0].snapshot_handle, "snap-1234");
  Manifest none;
  EXPECT_TRUE(ManifestSnapshots(none)->empty());
}

}  // namespace
}  // namespace cairn::vault

namespace cairn::vault {
namespace {

TEST(SnapshotRecord, GoldenManifestIsReadAndRewrittenByteIdentically) {
  const std::string golden = vaulttest::ReadFixture("manifest-v1-snapshots.json");
  auto m = ParseManifest(golden);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto recs = ManifestSnapshots(*m);
  ASSERT_TRUE(recs.ok()) << recs.status().ToString();
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ((*recs)[0].pvc, "db-0");
  EXPECT_EQ((*recs)[0].restore_size, 5368709120ULL);
  EXPECT_EQ((*recs)[1].driver, "ebs.csi.aws.com");
  EXPECT_EQ((*recs)[1].extra.at("zone"), "\"eu-west-1a\"");
  ASSERT_TRUE(SetManifestSnapshots(*m, *recs).ok());
  EXPECT_EQ(SerializeManifest(*m).value(), golden);
}

}  // namespace
}  // namespace cairn::vault

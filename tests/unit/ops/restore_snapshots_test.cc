// ops/restore/snapshots: which of a backup's CSI snapshots a restore makes claims from.
#include <gtest/gtest.h>

#include "ops/restore/snapshots.h"

namespace cairn::ops::restore {
namespace {

vault::SnapshotRecord Record(std::string ns, std::string pvc, std::string cluster) {
  vault::SnapshotRecord r;
  r.cluster = std::move(cluster);
  r.namespace_name = std::move(ns);
  r.pvc = std::move(pvc);
  r.volume_snapshot = "cairn-b-" + r.pvc;
  return r;
}

TEST(ChooseSnapshots, SameClusterWithoutArchiveUsesTheSnapshot) {
  vault::StoredObject archive;
  const std::vector<BackedUpVolume> archived = {{"shop", "logs", &archive}};
  const SnapshotChoice c = ChooseSnapshots(
      {Record("shop", "data", "uid-a"), Record("shop", "logs", "uid-a")}, archived, "uid-a");
  ASSERT_EQ(c.usable.size(), 1u);
  EXPECT_EQ(c.usable[0].pvc, "data");  // logs: its archive goes through the movers
  EXPECT_TRUE(c.empty.empty());
}

TEST(ChooseSnapshots, AnotherClusterTakesTheArchiveOrWarns) {
  vault::StoredObject archive;
  const std::vector<BackedUpVolume> archived = {{"shop", "logs", &archive}};
  const SnapshotChoice c = ChooseSnapshots(
      {Record("shop", "data", "uid-a"), Record("shop", "logs", "uid-a")}, archived, "uid-b");
  EXPECT_TRUE(c.usable.empty());
  ASSERT_EQ(c.empty.size(), 1u);
  EXPECT_EQ(c.empty[0].first, "shop/data");
  EXPECT_NE(c.empty[0].second.find("snapshots do not travel between clusters"), std::string::npos);
  EXPECT_NE(c.empty[0].second.find("uid-a"), std::string::npos);
}

}  // namespace
}  // namespace cairn::ops::restore

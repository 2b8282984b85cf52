// ops/backup/volume_claims: the status of a backup's volume data (backupType, dataType, volumes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ops/backup/snapshots.h"
#include "ops/backup/volume_claims.h"

namespace cairn::ops::backup {
namespace {

VolumeOutcome Snapshotted(std::string pvc) {
  VolumeOutcome o;
  o.namespace_name = "shop";
  o.pvc = std::move(pvc);
  o.phase = "Completed";
  vault::SnapshotRecord r;
  r.volume_snapshot = "cairn-b-" + o.pvc;
  r.volume_snapshot_content = "snapcontent-1";
  o.snapshot = r;
  return o;
}

TEST(RecordVolumes, ASnapshotAloneIsAnAppAndPvBackup) {
  vault::RunStatus st;
  RecordVolumes("snapshot", {Snapshotted("data")}, st);
  EXPECT_EQ(st.extra["backupType"], "\"AppAndPvBackup\"");
  EXPECT_EQ(st.extra["dataType"], "\"snapshot\"");
  const auto list = nlohmann::json::parse(st.extra["volumes"]);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["snapshot"], "cairn-b-data");
  EXPECT_EQ(list[0]["snapshotContent"], "snapcontent-1");
  EXPECT_FALSE(list[0].contains("archive"));
}

TEST(RecordVolumes, AFailedSnapshotTakesNoData) {
  vault::RunStatus st;
  VolumeOutcome failed{"shop", "data", "Failed", "not ready", std::nullopt, 0, 0, "", std::nullopt};
  RecordVolumes("all", {failed}, st);
  EXPECT_EQ(st.extra["backupType"], "\"AppBackup\"");
  EXPECT_EQ(st.extra["dataType"], "\"all\"");
}

TEST(SnapshotModes, WhichModesSnapshotAndExport) {
  EXPECT_FALSE(SnapshotsEveryClaim("fs"));
  EXPECT_TRUE(SnapshotsEveryClaim("snapshot"));
  EXPECT_TRUE(SnapshotsEveryClaim("all"));
  EXPECT_FALSE(ExportsSnapshots("snapshot"));
  EXPECT_TRUE(ExportsSnapshots("all"));
}

}  // namespace
}  // namespace cairn::ops::backup

// ops/restore/snapshots: claims restored from the CSI snapshots a backup took (`volumes =
// "snapshot"` / "all", FORMAT.md §6.7). A claim with a snapshot record and no archive, restored
// in the cluster that took the snapshot (same snapshot::ClusterIdentity), is created with
// spec.dataSource (and dataSourceRef) naming a VolumeSnapshot in its target namespace
// (snapshot::PrepareRestoreSource: the backup's own, or a pre-provisioned pair on the recorded
// handle), prepared when the claims' tier starts (its namespace exists then). A claim with an
// archive takes the movers' path (volumes.h) wherever it is restored; one with neither comes
// back empty, with a warning naming why.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kube/client.h"
#include "ops/restore/apply.h"
#include "ops/restore/restore.h"
#include "ops/restore/volumes.h"
#include "vault/manifest.h"
#include "vault/snapshot_record.h"

namespace cairn::ops::restore {

// Pure: the records a restore in cluster `cluster` makes claims from (no archive of the claim,
// taken in this cluster), and a warning per claim that comes back empty (snapshot of another
// cluster, no archive).
struct SnapshotChoice {
  std::vector<vault::SnapshotRecord> usable;
  std::vector<std::pair<std::string, std::string>> empty;  // "ns/pvc" → why
};
SnapshotChoice ChooseSnapshots(const std::vector<vault::SnapshotRecord>& records,
                               const std::vector<BackedUpVolume>& archived,
                               const std::string& cluster);

// The snapshots of `manifest` this restore uses: ChooseSnapshots against the target cluster;
// the claims that come back empty are warnings. A manifest whose member cannot be read, or a
// cluster whose identity cannot be read, is a warning too (no claim is made from a snapshot).
std::vector<vault::SnapshotRecord> SnapshotsToRestore(kube::Client& kube,
                                                      const vault::Manifest& manifest,
                                                      Ledger& ledger);

// For each record: the VolumeSnapshot in the claim's target namespace, and the claim's
// spec.dataSource, keyed by the claim as backed up ("ns/pvc"). A record that cannot be used is
// a warning naming the claim, which then comes back empty.
std::map<std::string, nlohmann::json> PrepareSnapshotSources(
    Deps& deps, const Options& opts, kube::Client& kube,
    const std::vector<vault::SnapshotRecord>& records, Ledger& ledger);

}  // namespace cairn::ops::restore

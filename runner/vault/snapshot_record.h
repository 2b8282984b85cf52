// vault/snapshot_record: the CSI volume snapshots a backup took, as its manifest records them
// (FORMAT.md §6.7, member "snapshots"). backup-run writes them; gc reads them to delete the
// snapshots with their backup, and restore-run to create PVCs from them in the same cluster.
//
// The member is hostile input like the rest of a vault: ParseSnapshotRecords bounds the count,
// checks every name as the API server would accept it, and refuses duplicates; every problem is
// kDataLoss naming the field. Unknown members of a record are kept and written back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "vault/manifest.h"

namespace cairn::vault {

inline constexpr std::string_view kSnapshotsMember = "snapshots";
inline constexpr size_t kMaxSnapshotRecords = 10000;

struct SnapshotRecord {
  std::string cluster;  // identity of the cluster that took it: the kube-system namespace uid
  std::string namespace_name;
  std::string pvc;
  std::string volume_snapshot;          // VolumeSnapshot name (in namespace_name)
  std::string volume_snapshot_content;  // its bound VolumeSnapshotContent (cluster-scoped)
  std::string snapshot_handle;          // the CSI snapshot id
  std::string driver;                   // CSI driver
  std::string volume_snapshot_class;
  uint64_t restore_size = 0;                 // bytes
  base::TimePoint ready_time{};              // when cairn saw readyToUse
  std::map<std::string, std::string> extra;  // unknown members: name → JSON text
};

// The JSON text of the "snapshots" member: records sorted by (namespace, pvc). kInvalidArgument
// when a record breaks a rule ParseSnapshotRecords checks.
[[nodiscard]] base::Result<std::string> SerializeSnapshotRecords(
    const std::vector<SnapshotRecord>& records);

// Parses the JSON text of the member. `what` names it in messages.
[[nodiscard]] base::Result<std::vector<SnapshotRecord>> ParseSnapshotRecords(
    std::string_view json_text, std::string_view what = "manifest member 'snapshots'");

// The records of a manifest (none when it has no "snapshots" member).
[[nodiscard]] base::Result<std::vector<SnapshotRecord>> ManifestSnapshots(const Manifest& m);
// Sets (or, with no records, removes) the member of `m`.
[[nodiscard]] base::Status SetManifestSnapshots(Manifest& m,
                                                const std::vector<SnapshotRecord>& records);

}  // namespace cairn::vault

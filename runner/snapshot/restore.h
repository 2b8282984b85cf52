// snapshot/restore: PVCs made from a backup's snapshots in the cluster that took them.
//
// A PVC's dataSource must name a VolumeSnapshot in the PVC's own namespace. In the namespace the
// snapshot was taken in, the backup's VolumeSnapshot is used when it still exists and is bound to
// the recorded content. Anywhere else (another namespace, or the namespace was deleted and made
// again), a pre-provisioned pair is created as the CSI snapshot docs describe: a
// VolumeSnapshotContent with source.snapshotHandle (the recorded handle), the recorded driver and
// class, deletionPolicy Retain (the backup keeps owning the storage snapshot) and
// volumeSnapshotRef naming a new VolumeSnapshot, and that VolumeSnapshot with
// source.volumeSnapshotContentName; both labelled cairn.io/backup-name and cairn.io/restore-name,
// so gc removes them with the backup. The pair is waited for until readyToUse.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "kube/client.h"
#include "vault/snapshot_record.h"

namespace cairn::snapshot {

struct RestoreSource {
  std::string namespace_name;   // of the VolumeSnapshot (the PVC's namespace)
  std::string volume_snapshot;  // what dataSource names
  std::string created_content;  // the pre-provisioned content made for it; "" when none
};

struct RestoreSourceOptions {
  std::string backup, restore;  // names (labels, generated names)
  std::string target_namespace;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds poll{std::chrono::seconds(1)};
};

// The VolumeSnapshot a PVC in opts.target_namespace can be made from. kFailedPrecondition when
// the recorded content no longer exists in this cluster (gc deleted it, or another cluster).
[[nodiscard]] base::Result<RestoreSource> PrepareRestoreSource(kube::Client& kube,
                                                               base::Clock& clock,
                                                               const vault::SnapshotRecord& record,
                                                               const RestoreSourceOptions& opts);

// The PVC's spec.dataSource (and dataSourceRef, which the API server wants equal when both are
// set): {"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":...}.
nlohmann::json DataSource(const RestoreSource& source);

// volumes = "all": a temporary PVC made from the backup's snapshot, for a mover to read.
struct TempPvc {
  std::string namespace_name;
  std::string name;                       // JoinName("cairn-export", backup, pvc)
  std::string storage_class;              // the source PVC's
  std::vector<std::string> access_modes;  // the source PVC's (ReadWriteOnce when none)
  std::string size;  // the source PVC's request, or the snapshot's restoreSize if larger
  std::string volume_snapshot;
  std::string backup;
};
// Pure: the PVC object (labels cairn.io/backup-name, app.kubernetes.io/managed-by cairn).
nlohmann::json TempPvcObject(const TempPvc& t);
// Fills a TempPvc from the source PVC object and its record.
TempPvc TempPvcFor(const nlohmann::json& source_pvc, const vault::SnapshotRecord& record,
                   std::string_view backup);
[[nodiscard]] base::Result<nlohmann::json> CreateTempPvc(kube::Client& kube, const TempPvc& t);
// Deletes it; already gone is success.
[[nodiscard]] base::Status DeleteTempPvc(kube::Client& kube, const TempPvc& t);

}  // namespace cairn::snapshot

// snapshot/take: a backup's CSI snapshot of one PVC, from request to a record the manifest keeps.
//
// Phases: read the PVC, choose the class (class.h), create the VolumeSnapshot (name
// SnapshotName(backup, pvc), label cairn.io/backup-name; one that exists with the same source
// and label is taken over, as after a retried run), wait until status.readyToUse with
// status.boundVolumeSnapshotContentName set, then set the bound VolumeSnapshotContent's
// spec.deletionPolicy to Retain: from then on the backup, not the namespace, owns the snapshot
// (gc deletes it with the backup, cleanup.h). Any failure after the create deletes the
// VolumeSnapshot again (best effort) so nothing half-made stays behind.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "kube/client.h"
#include "vault/snapshot_record.h"

namespace cairn::snapshot {

struct TakeOptions {
  std::string backup;          // backup name (label value, name prefix)
  std::string namespace_name;  // of the PVC
  std::string pvc;
  std::string snapshot_class;  // the policy's class; "" = the driver's default
  std::string cluster;         // ClusterIdentity(), recorded
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};  // volume_timeout
  std::chrono::milliseconds poll{std::chrono::seconds(1)};
};

// The snapshot, ready and retained. Errors name the PVC; a timeout (kDeadlineExceeded) also
// says what the VolumeSnapshot's status showed (readyToUse, bound content, error message).
// `cancel` (SIGTERM) stops the wait with kCancelled. A snapshot that does not become ready is
// deleted through `cleanup` (a client the cancel cannot stop; `kube` when null), so a stopped
// run leaves none behind.
[[nodiscard]] base::Result<vault::SnapshotRecord> Take(kube::Client& kube, base::Clock& clock,
                                                       const TakeOptions& opts,
                                                       const std::atomic<bool>* cancel = nullptr,
                                                       kube::Client* cleanup = nullptr);

// What a VolumeSnapshot's status says, for messages: "readyToUse false, bound to content 'x',
// error: ..." or "no status (is the snapshot controller running?)".
std::string DescribeStatus(const nlohmann::json& volume_snapshot);

// Parses a Kubernetes quantity ("1Gi", "500M", "1073741824") into bytes; kInvalidArgument when
// it is not one.
[[nodiscard]] base::Result<uint64_t> QuantityBytes(std::string_view q);

}  // namespace cairn::snapshot

// snapshot/cleanup: a backup's snapshots removed from the cluster when the backup goes (gc).
//
// Per record: the VolumeSnapshotContent is checked to be the recorded one (same snapshot
// handle: a content of that name made since is never touched), its deletionPolicy set to
// Delete, then the backup's VolumeSnapshot (when it still exists and is bound to it) and the
// content are deleted: the snapshot controller and the CSI driver then delete the storage
// snapshot. The pairs a restore made (label cairn.io/restore-name, deletionPolicy Retain: they
// are second handles on the same storage snapshot) are deleted first, without changing their
// policy. Missing objects are success: the call is idempotent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kube/client.h"
#include "vault/snapshot_record.h"

namespace cairn::snapshot {

// Deletes what `records` of backup `backup` left in the cluster. `deleted` receives
// "volumesnapshotcontents/NAME" and "volumesnapshots/NS/NAME" per object deleted. The first
// failure stops the call and names the object.
[[nodiscard]] base::Status DeleteBackupSnapshots(kube::Client& kube, std::string_view backup,
                                                 const std::vector<vault::SnapshotRecord>& records,
                                                 std::vector<std::string>* deleted = nullptr);

// The contents of `records` the cluster still has (names), e.g. to tell a user what is left.
[[nodiscard]] base::Result<std::vector<std::string>> RemainingContents(
    kube::Client& kube, const std::vector<vault::SnapshotRecord>& records);

}  // namespace cairn::snapshot

// ops/backup/volumes: the volume phase of a backup with `volumes = "fs"`: after the API objects
// are archived and before the manifest, one mover per selected claim copies its files into
// backups/<name>/volumes/<ns>/<pvc>.tar.zst (runner/mover starts, bounds, watches and removes
// the movers; runner/volume is what a mover runs). Each mover's result document is read back
// from the vault as hostile input, and each archive becomes a stored object of the manifest.
// With `volumes = "snapshot"` / "all" each claim's CSI snapshot is taken first (snapshots.h);
// "all" then exports it through a mover on a temporary claim made from the snapshot.
// A volume that fails is an error naming its claim (the backup is PartiallyFailed); a claim
// left out (opted out, not bound, not mountable) is recorded with its reason.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "ops/backup/backup.h"
#include "ops/backup/run_state.h"
#include "ops/backup/volume_claims.h"
#include "vault/snapshot_record.h"

namespace cairn::ops::backup {

// Copies the data of `claims` (as ClaimCollector::Take gives them) and returns one outcome per
// claim. Errors and warnings go to `state`. A non-ok status means the run cannot go on (the
// vault failed, or the run was cancelled). Every CSI snapshot taken (snapshots.h) is appended
// to `taken` as soon as it is ready, so a run that fails can delete them.
base::Result<std::vector<VolumeOutcome>> BackupVolumes(Deps& deps, const Options& opts,
                                                       RunState& state,
                                                       const std::vector<nlohmann::json>& claims,
                                                       std::vector<vault::SnapshotRecord>* taken);

}  // namespace cairn::ops::backup

// ops/backup/volumes: the volume phase of a backup with `volumes = "fs"`: after the API objects
// are archived and before the manifest, one mover per selected claim copies its files into
// backups/<name>/volumes/<ns>/<pvc>.tar.zst (runner/mover starts, bounds, watches and removes
// the movers; runner/volume is what a mover runs). Each mover's result document is read back
// from the vault as hostile input, and each archive becomes a stored object of the manifest.
// A volume that fails is an error naming its claim (the backup is PartiallyFailed); a claim
// left out (opted out, not bound, not mountable) is recorded with its reason.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "ops/backup/backup.h"
#include "ops/backup/run_state.h"
#include "ops/backup/volume_claims.h"

namespace cairn::ops::backup {

// Copies the data of `claims` (as ClaimCollector::Take gives them) and returns one outcome per
// claim. Errors and warnings go to `state`. A non-ok status means the run cannot go on (the
// vault failed, or the run was cancelled).
base::Result<std::vector<VolumeOutcome>> BackupVolumes(Deps& deps, const Options& opts,
                                                       RunState& state,
                                                       const std::vector<nlohmann::json>& claims);

}  // namespace cairn::ops::backup

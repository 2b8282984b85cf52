// config/volume_keys: the volume-data keys of [policies.NAME] (volumes, volume_timeout,
// mover_concurrency, mover_nodes, mover_image, mover_resources, mover_privileged) and the mover
// keys of [restores.NAME] (the same but `volumes`).
// Internal to the config module, like toml_binder.h.
#pragma once

#include <vector>

#include "config/policy.h"
#include "config/restore_policy.h"
#include "config/toml_binder.h"

namespace cairn::config::internal {

const std::vector<Field<BackupPolicy>>& VolumePolicyFields();
// The mover keys a restore policy shares with a backup policy (volume_timeout, mover_*).
const std::vector<Field<RestorePolicy>>& RestoreMoverFields();

}  // namespace cairn::config::internal

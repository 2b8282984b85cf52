// ops/backup/naming: run names and the --min-interval decision, as pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "vault/catalog.h"

namespace cairn::ops::backup {

// "<policy>-<YYYYMMDDHHMMSS>" (UTC) for scheduled runs.
std::string ScheduledName(std::string_view policy, base::TimePoint now);

// The newest Completed, restorable backup of `policy` younger than `interval` at `now`, if any:
// a run started by a more frequent CronJob then has nothing to do.
std::optional<std::string> RecentSuccess(const std::vector<vault::BackupEntry>& backups,
                                         std::string_view policy, base::Duration interval,
                                         base::TimePoint now);

}  // namespace cairn::ops::backup

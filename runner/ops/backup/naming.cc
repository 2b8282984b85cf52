#include "ops/backup/naming.h"

namespace cairn::ops::backup {

std::string ScheduledName(std::string_view policy, base::TimePoint now) {
  return std::string(policy) + "-" + base::FormatCompact(now);
}

std::optional<std::string> RecentSuccess(const std::vector<vault::BackupEntry>& backups,
                                         std::string_view policy, base::Duration interval,
                                         base::TimePoint now) {
  const vault::BackupEntry* newest = nullptr;
  for (const auto& b : backups) {
    if (!b.restorable() || !b.status || b.status->policy != policy ||
        b.status->phase != vault::kPhaseCompleted) {
      continue;
    }
    if (!newest || b.created > newest->created) newest = &b;
  }
  if (newest && now - newest->created < interval) return newest->name;
  return std::nullopt;
}

}  // namespace cairn::ops::backup

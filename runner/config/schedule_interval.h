// config/schedule_interval: how long a policy's schedule may leave between two runs, so an
// alert knows what "late" means (cairn_backup_schedule_interval_seconds).
//
// For the interval form it is the interval. For a cron expression (already validated by
// ParseSchedule) it is the longest gap between two consecutive firings over two years from a
// fixed reference, in UTC, with cron's rule that a restricted day of month and a restricted
// day of week are alternatives. nullopt when there is no schedule or it never fires.
#pragma once

#include <optional>

#include "base/clock.h"
#include "config/policy.h"

namespace cairn::config {

std::optional<base::Duration> ScheduleInterval(const Schedule& schedule);

}  // namespace cairn::config

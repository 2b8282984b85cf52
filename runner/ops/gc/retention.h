// ops/gc/retention: which backups of one policy a retention policy keeps — a pure function.
//
// restic's `forget` semantics (restic/internal/restic/snapshot_policy.go), over the backups of
// one policy sorted newest first (ties: greater name first, so the result never depends on
// listing order):
//   - keep_last N: the N newest;
//   - keep_hourly/daily/weekly/monthly/yearly N: walking from the newest, a backup is kept when
//     its period differs from the period of the previously kept one of that rule, until N
//     periods are kept: the newest backup of each of the N latest periods that have a backup
//     (periods without a backup do not count). Periods are in UTC. Weeks are ISO 8601 weeks
//     (Monday to Sunday; week 1 holds the year's first Thursday), keyed by ISO week-year, so
//     2026-12-31 (Thursday) and 2027-01-03 (Sunday) are both in 2026-W53;
//   - keep_within D: every backup made less than D before the newest backup (not of now: a policy
//     whose runs stopped keeps its last D of backups);
//   - -1 for a count means unlimited.
// Each rule is evaluated on its own; a backup kept by several rules lists each.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "config/policy.h"

namespace cairn::ops::gc {

struct Dated {
  std::string name;
  base::TimePoint time{};
};

// Period keys, in UTC: "2026-11-21T04", "2026-11-21", "2026-W47", "2026-11", "2026".
std::string HourKey(base::TimePoint t);
std::string DayKey(base::TimePoint t);
std::string IsoWeekKey(base::TimePoint t);
std::string MonthKey(base::TimePoint t);
std::string YearKey(base::TimePoint t);

// For each backup (in the order given), the reasons the policy keeps it: "keep_last",
// "keep_daily (2026-11-21)", "keep_within (72h0m0s)"; empty when no rule keeps it. keep_failed_last
// is not applied here (see KeepNewest).
std::vector<std::vector<std::string>> ApplyRetention(const std::vector<Dated>& backups,
                                                     const config::Retention& policy);

// The N newest (-1: all) of `backups`, in the order given: true = kept.
std::vector<bool> KeepNewest(const std::vector<Dated>& backups, int n);

}  // namespace cairn::ops::gc

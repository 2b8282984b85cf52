// The retention keys of a backup policy as flags (gc --keep-daily 7 ...); the keys themselves are
// read and validated with the rest of the policy (config/policy.h, Retention).
#include <array>

#include "config/flags.h"
#include "config/policy.h"

namespace cairn::config {

namespace {
struct KeepFlag {
  const char* name;
  int Retention::*member;
};
constexpr std::array<KeepFlag, 7> kKeepFlags = {{
    {"keep-last", &Retention::keep_last},
    {"keep-hourly", &Retention::keep_hourly},
    {"keep-daily", &Retention::keep_daily},
    {"keep-weekly", &Retention::keep_weekly},
    {"keep-monthly", &Retention::keep_monthly},
    {"keep-yearly", &Retention::keep_yearly},
    {"keep-failed-last", &Retention::keep_failed_last},
}};
}  // namespace

void AddRetentionFlags(FlagSet& flags) {
  flags.AddInt("keep-last", "N", "keep the N newest backups of each policy (-1: all)", -1,
               kMaxKeepCount);
  flags.AddInt("keep-hourly", "N", "keep the newest backup of each of the N latest hours", -1,
               kMaxKeepCount);
  flags.AddInt("keep-daily", "N", "keep the newest backup of each of the N latest days (UTC)", -1,
               kMaxKeepCount);
  flags.AddInt("keep-weekly", "N", "keep the newest backup of each of the N latest ISO weeks", -1,
               kMaxKeepCount);
  flags.AddInt("keep-monthly", "N", "keep the newest backup of each of the N latest months", -1,
               kMaxKeepCount);
  flags.AddInt("keep-yearly", "N", "keep the newest backup of each of the N latest years", -1,
               kMaxKeepCount);
  flags.AddDuration("keep-within", "DURATION",
                    "keep every backup made within DURATION of the policy's newest one");
  flags.AddInt("keep-failed-last", "N", "keep the N newest failed runs of each policy (default 1)",
               0, kMaxKeepCount);
}

bool HasRetentionFlags(const ParsedFlags& flags) {
  for (const KeepFlag& f : kKeepFlags) {
    if (flags.Has(f.name)) return true;
  }
  return flags.Has("keep-within");
}

Retention RetentionFromFlags(const ParsedFlags& flags, const Retention& base) {
  Retention r = base;
  for (const KeepFlag& f : kKeepFlags) {
    if (flags.Has(f.name)) r.*f.member = static_cast<int>(flags.GetInt(f.name));
  }
  if (auto within = flags.GetDuration("keep-within")) r.keep_within = *within;
  return r;
}

}  // namespace cairn::config

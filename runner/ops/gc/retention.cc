#include "ops/gc/retention.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

namespace cairn::ops::gc {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::sys_days;
using std::chrono::year_month_day;

year_month_day Civil(base::TimePoint t) { return year_month_day(floor<days>(t)); }

std::string Format(const char* fmt, int a, unsigned b = 0, unsigned c = 0, unsigned d = 0) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), fmt, a, b, c, d);
  return buf;
}

// Indices of `backups` sorted newest first; ties by greater name first.
std::vector<size_t> NewestFirst(const std::vector<Dated>& backups) {
  std::vector<size_t> order(backups.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Dated& x = backups[a];
    const Dated& y = backups[b];
    return x.time != y.time ? x.time > y.time : x.name > y.name;
  });
  return order;
}

struct BucketRule {
  const char* name;
  int count;
  std::string (*key)(base::TimePoint);
};

}  // namespace

std::string HourKey(base::TimePoint t) {
  year_month_day d = Civil(t);
  auto hours = std::chrono::duration_cast<std::chrono::hours>(t - floor<days>(t)).count();
  return Format("%04d-%02u-%02uT%02u", int(d.year()), unsigned(d.month()), unsigned(d.day()),
                static_cast<unsigned>(hours));
}

std::string DayKey(base::TimePoint t) {
  year_month_day d = Civil(t);
  return Format("%04d-%02u-%02u", int(d.year()), unsigned(d.month()), unsigned(d.day()));
}

std::string IsoWeekKey(base::TimePoint t) {
  const sys_days day = floor<days>(t);
  const unsigned iso_weekday = std::chrono::weekday(day).iso_encoding();  // Monday 1 .. Sunday 7
  // The week's Thursday decides its year; its ordinal day decides the week number.
  const sys_days thursday = day - days(iso_weekday - 1) + days(3);
  const std::chrono::year y = year_month_day(thursday).year();
  const sys_days jan1 = sys_days(y / std::chrono::January / 1);
  const int week = static_cast<int>((thursday - jan1).count() / 7 + 1);
  return Format("%04d-W%02u", int(y), static_cast<unsigned>(week));
}

std::string MonthKey(base::TimePoint t) {
  year_month_day d = Civil(t);
  return Format("%04d-%02u", int(d.year()), unsigned(d.month()));
}

std::string YearKey(base::TimePoint t) { return Format("%04d", int(Civil(t).year())); }

std::vector<std::vector<std::string>> ApplyRetention(const std::vector<Dated>& backups,
                                                     const config::Retention& policy) {
  std::vector<std::vector<std::string>> reasons(backups.size());
  const std::vector<size_t> order = NewestFirst(backups);
  if (order.empty()) return reasons;
  if (policy.keep_last != 0) {
    int left = policy.keep_last;
    for (size_t i : order) {
      if (left == 0) break;
      reasons[i].push_back("keep_last");
      if (left > 0) --left;
    }
  }
  const BucketRule rules[] = {{"keep_hourly", policy.keep_hourly, HourKey},
                              {"keep_daily", policy.keep_daily, DayKey},
                              {"keep_weekly", policy.keep_weekly, IsoWeekKey},
                              {"keep_monthly", policy.keep_monthly, MonthKey},
                              {"keep_yearly", policy.keep_yearly, YearKey}};
  for (const BucketRule& rule : rules) {
    int left = rule.count;
    std::string last;
    for (size_t i : order) {
      if (left == 0) break;
      std::string key = rule.key(backups[i].time);
      if (key == last) continue;
      last = key;
      reasons[i].push_back(std::string(rule.name) + " (" + key + ")");
      if (left > 0) --left;
    }
  }
  if (policy.keep_within > base::Duration::zero()) {
    const base::TimePoint newest = backups[order.front()].time;
    for (size_t i : order) {
      if (newest - backups[i].time >= policy.keep_within) break;  // restic: strictly within
      reasons[i].push_back("keep_within (" + base::FormatDuration(policy.keep_within) + ")");
    }
  }
  return reasons;
}

std::vector<bool> KeepNewest(const std::vector<Dated>& backups, int n) {
  std::vector<bool> keep(backups.size(), false);
  int left = n;
  for (size_t i : NewestFirst(backups)) {
    if (left == 0) break;
    keep[i] = true;
    if (left > 0) --left;
  }
  return keep;
}

}  // namespace cairn::ops::gc

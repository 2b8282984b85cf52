// Retention selection (ops/gc/retention.h) over tables of dates: ISO-week and year boundaries,
// leap days, equal timestamps, gaps, unlimited counts, keep_within's edge.
#include <gtest/gtest.h>

#include <set>

#include "ops/gc/retention.h"

namespace cairn::ops::gc {
namespace {

base::TimePoint At(std::string_view s) { return base::ParseRfc3339(s).value(); }

std::set<std::string> Kept(const std::vector<Dated>& b, const config::Retention& r) {
  auto reasons = ApplyRetention(b, r);
  std::set<std::string> out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (!reasons[i].empty()) out.insert(b[i].name);
  }
  return out;
}

TEST(GcRetention, PeriodKeysAcrossIsoWeekAndYearBoundaries) {
  struct Row {
    const char* time;
    const char* hour;
    const char* day;
    const char* week;
    const char* month;
    const char* year;
  };
  const Row rows[] = {
      // 2026 starts on a Thursday: it has 53 ISO weeks, and 2027-01-03 (Sunday) is in 2026-W53.
      {"2026-12-31T23:59:59Z", "2026-12-31T23", "2026-12-31", "2026-W53", "2026-12", "2026"},
      {"2027-01-03T12:00:00Z", "2027-01-03T12", "2027-01-03", "2026-W53", "2027-01", "2027"},
      {"2027-01-04T00:00:00Z", "2027-01-04T00", "2027-01-04", "2027-W01", "2027-01", "2027"},
      // Monday 2024-12-30 is in week 1 of 2025.
      {"2024-12-30T00:00:00Z", "2024-12-30T00", "2024-12-30", "2025-W01", "2024-12", "2024"},
      {"2024-12-29T23:59:59Z", "2024-12-29T23", "2024-12-29", "2024-W52", "2024-12", "2024"},
      {"2021-01-03T10:00:00Z", "2021-01-03T10", "2021-01-03", "2020-W53", "2021-01", "2021"},
      // Leap day.
      {"2020-02-29T13:30:00Z", "2020-02-29T13", "2020-02-29", "2020-W09", "2020-02", "2020"},
      {"2024-02-29T00:00:00Z", "2024-02-29T00", "2024-02-29", "2024-W09", "2024-02", "2024"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.time);
    base::TimePoint t = At(r.time);
    EXPECT_EQ(HourKey(t), r.hour);
    EXPECT_EQ(DayKey(t), r.day);
    EXPECT_EQ(IsoWeekKey(t), r.week);
    EXPECT_EQ(MonthKey(t), r.month);
    EXPECT_EQ(YearKey(t), r.year);
  }
}

// 40 daily backups (2026-11-01 .. 2026-12-10, 01:00 UTC), keep_daily 7 and keep_weekly 4.
TEST(GcRetention, FortyDailyBackupsKeepDailySevenWeeklyFour) {
  std::vector<Dated> b;
  base::TimePoint t = At("2026-11-01T01:00:00Z");
  for (int i = 0; i < 40; ++i) {
    b.push_back({"daily-" + DayKey(t), t});
    t += std::chrono::hours(24);
  }
  config::Retention r;
  r.keep_daily = 7;
  r.keep_weekly = 4;
  // Days: Dec 4..10. Weeks (Mon..Sun): W50 → Dec 10, W49 → Dec 6, W48 → Nov 29, W47 → Nov 22.
  EXPECT_EQ(Kept(b, r),
            (std::set<std::string>{"daily-2026-11-22", "daily-2026-11-29", "daily-2026-12-04",
                                   "daily-2026-12-05", "daily-2026-12-06", "daily-2026-12-07",
                                   "daily-2026-12-08", "daily-2026-12-09", "daily-2026-12-10"}));
  auto reasons = ApplyRetention(b, r);
  EXPECT_EQ(reasons[39],
            (std::vector<std::string>{"keep_daily (2026-12-10)", "keep_weekly (2026-W50)"}));
  EXPECT_EQ(reasons[35],
            (std::vector<std::string>{"keep_daily (2026-12-06)", "keep_weekly (2026-W49)"}));
  EXPECT_EQ(reasons[21], (std::vector<std::string>{"keep_weekly (2026-W47)"}));
}

TEST(GcRetention, EqualTimestampsKeepTheGreaterNameWhateverTheOrder) {
  const base::TimePoint t = At("2026-03-01T00:00:00Z");
  config::Retention last;
  last.keep_last = 1;
  config::Retention daily;
  daily.keep_daily = 1;
  for (auto b : {std::vector<Dated>{{"a", t}, {"b", t}}, std::vector<Dated>{{"b", t}, {"a", t}}}) {
    EXPECT_EQ(Kept(b, last), std::set<std::string>{"b"});
    EXPECT_EQ(Kept(b, daily), std::set<std::string>{"b"});
  }
}

TEST(GcRetention, YearBoundaryMonthlyAndYearly) {
  std::vector<Dated> b = {{"dec", At("2025-12-31T23:59:59Z")},
                          {"jan", At("2026-01-01T00:00:00Z")},
                          {"nov", At("2025-11-15T00:00:00Z")}};
  config::Retention monthly;
  monthly.keep_monthly = 1;
  EXPECT_EQ(Kept(b, monthly), std::set<std::string>{"jan"});
  monthly.keep_monthly = 2;
  EXPECT_EQ(Kept(b, monthly), (std::set<std::string>{"jan", "dec"}));
  config::Retention yearly;
  yearly.keep_yearly = 5;  // more periods than there are: every year's newest
  EXPECT_EQ(Kept(b, yearly), (std::set<std::string>{"jan", "dec"}));
}

TEST(GcRetention, LeapDayIsItsOwnDay) {
  std::vector<Dated> b = {{"28a", At("2024-02-28T01:00:00Z")}, {"28b", At("2024-02-28T02:00:00Z")},
                          {"29a", At("2024-02-29T01:00:00Z")}, {"29b", At("2024-02-29T23:00:00Z")},
                          {"01a", At("2024-03-01T00:00:00Z")}, {"01b", At("2024-03-01T05:00:00Z")}};
  config::Retention r;
  r.keep_daily = 3;
  EXPECT_EQ(Kept(b, r), (std::set<std::string>{"28b", "29b", "01b"}));
  r.keep_daily = 2;
  EXPECT_EQ(Kept(b, r), (std::set<std::string>{"29b", "01b"}));
}

TEST(GcRetention, PeriodsWithoutBackupsDoNotCount) {
  std::vector<Dated> b = {{"d1", At("2026-05-01T00:00:00Z")},
                          {"d5", At("2026-05-05T00:00:00Z")},
                          {"d9", At("2026-05-09T00:00:00Z")},
                          {"d10", At("2026-05-10T00:00:00Z")}};
  config::Retention r;
  r.keep_daily = 3;
  EXPECT_EQ(Kept(b, r), (std::set<std::string>{"d5", "d9", "d10"}));
}

TEST(GcRetention, HourlyAcrossMidnightAndUnlimited) {
  std::vector<Dated> b = {{"a", At("2026-06-30T23:10:00Z")},
                          {"b", At("2026-06-30T23:50:00Z")},
                          {"c", At("2026-07-01T00:05:00Z")},
                          {"d", At("2026-07-01T00:55:00Z")}};
  config::Retention r;
  r.keep_hourly = 1;
  EXPECT_EQ(Kept(b, r), std::set<std::string>{"d"});
  r.keep_hourly = -1;
  EXPECT_EQ(Kept(b, r), (std::set<std::string>{"b", "d"}));
  config::Retention all;
  all.keep_last = -1;
  EXPECT_EQ(Kept(b, all).size(), 4u);
}

TEST(GcRetention, KeepWithinIsStrictAndRelativeToTheNewest) {
  const base::TimePoint newest = At("2026-01-10T00:00:00Z");
  std::vector<Dated> b = {{"new", newest},
                          {"h47", newest - std::chrono::hours(47)},
                          {"h48", newest - std::chrono::hours(48)},
                          {"h49", newest - std::chrono::hours(49)}};
  config::Retention r;
  r.keep_within = std::chrono::hours(48);
  EXPECT_EQ(Kept(b, r), (std::set<std::string>{"new", "h47"}));
}

TEST(GcRetention, NoRuleKeepsNothingAndKeepNewestCounts) {
  std::vector<Dated> b = {{"a", At("2026-01-01T00:00:00Z")},
                          {"b", At("2026-01-02T00:00:00Z")},
                          {"c", At("2026-01-03T00:00:00Z")}};
  EXPECT_TRUE(Kept(b, config::Retention{}).empty());
  EXPECT_FALSE(config::Retention{}.Any());
  EXPECT_EQ(KeepNewest(b, 1), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(KeepNewest(b, 0), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(KeepNewest(b, -1), (std::vector<bool>{true, true, true}));
  EXPECT_TRUE(ApplyRetention({}, config::Retention{}).empty());
}

}  // namespace
}  // namespace cairn::ops::gc

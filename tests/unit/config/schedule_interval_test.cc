#include "config/schedule_interval.h"

#include <gtest/gtest.h>

namespace cairn::config {
namespace {

using namespace std::chrono_literals;

std::optional<base::Duration> Of(std::string_view text) {
  auto s = ParseSchedule(text);
  EXPECT_TRUE(s.ok()) << text;
  return ScheduleInterval(*s);
}

TEST(ScheduleInterval, IntervalsAndCronExpressions) {
  EXPECT_EQ(Of("6h30m"), base::Duration(6h + 30min));
  EXPECT_EQ(Of("*/15 * * * *"), base::Duration(15min));
  EXPECT_EQ(Of("0 2 * * *"), base::Duration(24h));
  EXPECT_EQ(Of("@daily"), base::Duration(24h));
  EXPECT_EQ(Of("@hourly"), base::Duration(1h));
  EXPECT_EQ(Of("0 1,13 * * *"), base::Duration(12h));
  EXPECT_EQ(Of("0 3 * * 1-5"), base::Duration(72h));  // Friday to Monday
  EXPECT_EQ(Of("0 0 * * sun"), base::Duration(7 * 24h));
  EXPECT_EQ(Of("0 0 1 * *"), base::Duration(31 * 24h));  // the longest month
  EXPECT_EQ(ScheduleInterval(Schedule{}), std::nullopt);
}

}  // namespace
}  // namespace cairn::config

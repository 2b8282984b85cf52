#include "base/clock.h"

#include <gtest/gtest.h>

namespace cairn::base {
namespace {

using namespace std::chrono_literals;

TEST(Clock, Rfc3339RoundTrip) {
  auto t = *ParseRfc3339("2026-11-21T04:48:07Z");
  EXPECT_EQ(FormatRfc3339(t), "2026-11-21T04:48:07Z");
  EXPECT_EQ(FormatCompact(t), "20261121044807");
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-11-21T04:48:07.123Z")), "2026-11-21T04:48:07Z");
  EXPECT_FALSE(ParseRfc3339("2026-11-21 04:48:07").ok());
  EXPECT_FALSE(ParseRfc3339("2026-11-21T04:48:07+02:00").ok());
}

TEST(Clock, Rfc3339RefusesTimesATimePointCannotHold) {
  // int64 nanoseconds end at 2262-04-11T23:47:16Z; beyond, the conversion would overflow.
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2262-04-10T00:00:00Z")), "2262-04-10T00:00:00Z");
  for (const char* t : {"2620-11-21T04:48:00Z", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z",
                        "1677-01-01T00:00:00Z", "-999-01-01T00:00:00Z"}) {
    auto parsed = ParseRfc3339(t);
    ASSERT_FALSE(parsed.ok()) << t;
    EXPECT_NE(parsed.status().message().find("out of range"), std::string::npos)
        << parsed.status().message();
  }
}

TEST(Clock, ParseDuration) {
  EXPECT_EQ(*ParseDuration("90s"), Duration(90s));
  EXPECT_EQ(*ParseDuration("6h30m"), Duration(6h + 30min));
  EXPECT_EQ(*ParseDuration("720h"), Duration(720h));
  EXPECT_EQ(*ParseDuration("1.5s"), Duration(1500ms));
  EXPECT_EQ(*ParseDuration("2d"), Duration(48h));
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("10").ok());
  auto bad = ParseDuration("5y");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown unit 'y'"), std::string::npos);
  // Past int64 nanoseconds (about 292 years) a duration is too large, never wrapped negative.
  EXPECT_EQ(*ParseDuration("2562047h"), Duration(2562047h));
  EXPECT_EQ(ParseDuration("99999999999h").status().message(),
            "invalid duration '99999999999h': too large (at most 2562047h, about 292 years)");
  EXPECT_EQ(ParseDuration("2562048h").status().message(),
            "invalid duration '2562048h': too large (at most 2562047h, about 292 years)");
  EXPECT_EQ(ParseDuration("1.2.3s").status().message(),
            "invalid duration '1.2.3s': '1.2.3' is not a number");
}

TEST(Clock, FormatDuration) {
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatDuration(6h + 30min), "6h30m0s");
}

TEST(Clock, FakeClockAdvancesOnSleep) {
  FakeClock c(*ParseRfc3339("2026-01-01T00:00:00Z"));
  auto s0 = c.Steady();
  c.SleepFor(90s);
  EXPECT_EQ(FormatRfc3339(c.Now()), "2026-01-01T00:01:30Z");
  EXPECT_EQ(c.Steady() - s0, std::chrono::steady_clock::duration(90s));
}

}  // namespace
}  // namespace cairn::base

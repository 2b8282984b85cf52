#include "base/retry.h"

#include <gtest/gtest.h>

namespace cairn::base {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, GrowsWithJitterAndStopsAtMaxAttempts) {
  FakeClock clock(TimePoint{});
  RetryPolicy p;
  p.max_attempts = 4;
  p.initial_backoff = 100ms;
  p.max_backoff = 1000ms;
  p.overall_deadline = 60s;
  Backoff b(p, clock, 42);
  auto w1 = b.Next(1);
  auto w2 = b.Next(2);
  auto w3 = b.Next(3);
  ASSERT_TRUE(w1 && w2 && w3);
  EXPECT_GE(*w1, 50ms);
  EXPECT_LE(*w1, 100ms);
  EXPECT_GE(*w2, 100ms);
  EXPECT_LE(*w2, 200ms);
  EXPECT_GE(*w3, 200ms);
  EXPECT_LE(*w3, 400ms);
  EXPECT_FALSE(b.Next(4));  // attempts used up
}

TEST(Backoff, CapsAtMaxBackoffAndHonoursRetryAfter) {
  FakeClock clock(TimePoint{});
  RetryPolicy p;
  p.max_attempts = 20;
  p.initial_backoff = 100ms;
  p.max_backoff = 300ms;
  p.overall_deadline = 600s;
  Backoff b(p, clock, 7);
  EXPECT_LE(*b.Next(10), 300ms);
  EXPECT_EQ(*b.Next(2, 5000ms), 5000ms);
}

TEST(Backoff, StopsWhenTheWaitWouldPassTheDeadline) {
  FakeClock clock(TimePoint{});
  RetryPolicy p;
  p.max_attempts = 100;
  p.initial_backoff = 1000ms;
  p.max_backoff = 1000ms;
  p.overall_deadline = 3s;
  Backoff b(p, clock, 1);
  EXPECT_TRUE(b.Next(1));
  clock.Advance(2500ms);
  EXPECT_FALSE(b.Next(2));
  EXPECT_EQ(b.Remaining(), 500ms);
}

}  // namespace
}  // namespace cairn::base

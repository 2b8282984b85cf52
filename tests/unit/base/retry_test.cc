#include "base/retry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

TEST(Backoff, WithoutACountItRetriesForTheWholeBudget) {
  FakeClock clock(TimePoint{});
  RetryPolicy p;  // defaults: no attempt limit, a 5-minute budget, waits capped at 30 s
  Backoff b(p, clock, 3);
  int attempts = 1;
  while (auto wait = b.Next(attempts)) {
    EXPECT_LE(*wait, 30s);
    clock.Advance(*wait);
    ++attempts;
  }
  EXPECT_EQ(b.limit(), RetryLimit::kBudget);
  EXPECT_GT(attempts, 6);  // six attempts were the old limit: about 14 s
  EXPECT_GE(b.Elapsed(), 270s);
  EXPECT_LE(b.Elapsed(), 300s);
}

TEST(Backoff, TheRunsDeadlineEndsRetriesBeforeTheBudget) {
  FakeClock clock(TimePoint{});
  RetryPolicy p;
  p.initial_backoff = 1000ms;
  p.max_backoff = 1000ms;
  Deadline deadline(clock.Steady() + 2500ms);
  Backoff b(p, clock, 1, &deadline);
  EXPECT_EQ(b.Remaining(), 2500ms);
  ASSERT_TRUE(b.Next(1));
  clock.Advance(2000ms);
  EXPECT_FALSE(b.Next(2));
  EXPECT_EQ(b.limit(), RetryLimit::kDeadline);
  // The deadline can move (a run's final writes get their own).
  deadline.Set(clock.Steady() + 10s);
  EXPECT_TRUE(b.Next(2));
  deadline.Clear();
  EXPECT_FALSE(deadline.Left(clock.Steady()));
}

TEST(Deadline, LeftAndCap) {
  FakeClock clock(TimePoint{});
  Deadline unbounded;
  EXPECT_FALSE(unbounded.at());
  EXPECT_EQ(unbounded.Cap(5s, clock.Steady()), 5s);
  Deadline d(clock.Steady() + 3s);
  EXPECT_EQ(d.Left(clock.Steady()), std::optional<std::chrono::milliseconds>(3s));
  EXPECT_EQ(d.Cap(5s, clock.Steady()), 3s);
  EXPECT_EQ(d.Cap(1s, clock.Steady()), 1s);
  clock.Advance(4s);
  EXPECT_EQ(d.Left(clock.Steady()), std::optional<std::chrono::milliseconds>(0ms));
}

TEST(SleepUnlessCancelled, SleepsOrStopsAtTheCancel) {
  FakeClock clock(TimePoint{});
  std::atomic<bool> cancel{false};
  EXPECT_TRUE(SleepUnlessCancelled(clock, 750ms, &cancel));
  EXPECT_EQ(clock.Steady().time_since_epoch(), std::chrono::steady_clock::duration(750ms));
  cancel = true;
  EXPECT_FALSE(SleepUnlessCancelled(clock, 60s, &cancel));
  EXPECT_EQ(clock.Steady().time_since_epoch(), std::chrono::steady_clock::duration(750ms));
  // A real sleep of a minute ends within a slice once cancelled.
  std::atomic<bool> later{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(150ms);
    later = true;
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(SleepUnlessCancelled(RealClock(), 60s, &later));
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace cairn::base

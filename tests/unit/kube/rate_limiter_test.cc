// Tests for kube/rate_limiter: token bucket arithmetic on a fake clock (burst, refill, debt
// shared by callers, the burst cap), and the semaphore bounding concurrent holders.
#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace cairn::kube {
namespace {

using namespace std::chrono_literals;

const base::TimePoint kStart{std::chrono::seconds(1'790'000'000)};

TEST(TokenBucketTest, BurstIsFreeThenOneTokenPerInterval) {
  base::FakeClock clock(kStart);
  TokenBucket b(10, 3, clock);  // 10 qps: a token every 100 ms
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 100ms);  // into debt: the next token is 100 ms away
  EXPECT_EQ(b.Reserve(), 200ms);  // queued behind the previous reservation
  clock.Advance(200ms);           // both reservations are now due
  EXPECT_EQ(b.Reserve(), 100ms);
}

TEST(TokenBucketTest, RefillIsCappedAtBurst) {
  base::FakeClock clock(kStart);
  TokenBucket b(2, 2, clock);
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 0ns);
  clock.Advance(10s);  // would be 20 tokens; only 2 are kept
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 500ms);
}

TEST(TokenBucketTest, WaitSleepsOnTheClockAndHoldsTheRate) {
  base::FakeClock clock(kStart);
  TokenBucket b(50, 100, clock);
  for (int i = 0; i < 100 + 500; ++i) b.Wait();  // the burst, then 500 paced requests
  // 500 tokens at 50 qps take 10 s of (fake) sleeping.
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() - kStart), 10s);
}

TEST(TokenBucketTest, FractionalRate) {
  base::FakeClock clock(kStart);
  TokenBucket b(0.5, 1, clock);
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 2s);
  clock.Advance(1s);
  EXPECT_EQ(b.Reserve(), 3s);
}

TEST(TokenBucketTest, ZeroQpsIsUnlimited) {
  base::FakeClock clock(kStart);
  TokenBucket b(0, 1, clock);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(b.Reserve(), 0ns);
}

TEST(TokenBucketTest, ThreadSafe) {
  base::FakeClock clock(kStart);
  TokenBucket b(100, 10, clock);
  std::vector<std::thread> threads;
  std::atomic<int64_t> total_wait_ms{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        total_wait_ms += std::chrono::duration_cast<std::chrono::milliseconds>(b.Reserve()).count();
      }
    });
  }
  for (auto& t : threads) t.join();
  // 100 reservations without time passing: 10 free, then 10 ms, 20 ms, ... 900 ms.
  EXPECT_EQ(total_wait_ms.load(), 10 * (90 * 91 / 2));
}

TEST(SemaphoreTest, BoundsConcurrentHolders) {
  Semaphore s(3);
  std::atomic<int> inside{0}, peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      Semaphore::Guard g(s);
      int now = ++inside;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      std::this_thread::sleep_for(5ms);
      --inside;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(s.in_use(), 0);
}

TEST(SemaphoreTest, ZeroIsUnlimited) {
  Semaphore s(0);
  for (int i = 0; i < 100; ++i) s.Acquire();
  EXPECT_EQ(s.in_use(), 0);
}

}  // namespace
}  // namespace cairn::kube

// base/retry: how long to wait before the next attempt, and the deadline that bounds every wait.
//
// The HTTP client is the one place that retries (architecture §3); this module only computes
// how long to wait and whether another attempt fits, so it can be tested without a network.
// The retry budget is a time, not a count: a request is retried with capped exponential backoff
// and jitter until `overall_deadline` (the config's retry_timeout) after its first attempt, and
// never past the run's Deadline (--timeout). A server's Retry-After is honoured when it asks
// for a longer wait. Sleeps end early when the run is cancelled.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "base/clock.h"

namespace cairn::base {

struct RetryPolicy {
  int max_attempts = 0;  // including the first; 0: no count limit (the time budget decides)
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30'000};
  double multiplier = 2.0;
  // The retry budget (retry_timeout): no attempt starts later than this after the first.
  std::chrono::milliseconds overall_deadline{300'000};
};

// A point on the steady clock after which no wait may end, shared by the clients of one run.
// It can move while in use: a run's final writes get a deadline of their own once it stops.
// Thread-safe; default-constructed it is unbounded.
class Deadline {
 public:
  using SteadyPoint = std::chrono::steady_clock::time_point;
  Deadline() = default;
  explicit Deadline(SteadyPoint at) { Set(at); }
  void Set(SteadyPoint at) { ns_ = at.time_since_epoch().count(); }
  void Clear() { ns_ = kUnbounded; }
  std::optional<SteadyPoint> at() const;
  // What is left at `now` (zero once passed); nullopt when unbounded.
  std::optional<std::chrono::milliseconds> Left(SteadyPoint now) const;
  // min(`want`, what is left at `now`).
  std::chrono::milliseconds Cap(std::chrono::milliseconds want, SteadyPoint now) const;

 private:
  static constexpr int64_t kUnbounded = INT64_MAX;
  std::atomic<int64_t> ns_{kUnbounded};
};

// Why Backoff::Next refused another attempt.
enum class RetryLimit { kNone, kAttempts, kBudget, kDeadline };

class Backoff {
 public:
  // `deadline` (may be null) bounds the waits as well as the policy's budget.
  Backoff(const RetryPolicy& policy, const Clock& clock, uint64_t seed = std::random_device{}(),
          const Deadline* deadline = nullptr);

  // The wait before the next attempt, given that `attempts_made` have failed and the server
  // may have asked for `retry_after`. nullopt when no further attempt is allowed (attempts
  // used up, or the wait would end past the budget or the deadline); limit() says which.
  std::optional<std::chrono::milliseconds> Next(
      int attempts_made, std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

  // Time left before the budget or the deadline, whichever is first (zero when passed).
  std::chrono::milliseconds Remaining() const;
  // Time since the first attempt.
  std::chrono::milliseconds Elapsed() const;
  RetryLimit limit() const { return limit_; }

 private:
  RetryPolicy policy_;
  const Clock& clock_;
  const Deadline* deadline_;
  std::chrono::steady_clock::time_point start_;
  std::mt19937_64 rng_;
  RetryLimit limit_ = RetryLimit::kNone;
};

// Sleeps `d` on `clock` in slices of at most 100 ms, so that setting `cancel` (SIGTERM, the
// run's timeout) ends the wait within a slice. False when it ended because of `cancel`.
bool SleepUnlessCancelled(Clock& clock, Duration d, const std::atomic<bool>* cancel);

}  // namespace cairn::base

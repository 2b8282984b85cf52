// base/retry: exponential backoff with full jitter, bounded by attempts and a deadline.
//
// The HTTP client is the one place that retries (architecture §3); this module only computes
// how long to wait and whether another attempt fits, so it can be tested without a network.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "base/clock.h"

namespace cairn::base {

struct RetryPolicy {
  int max_attempts = 6;  // including the first
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10'000};
  double multiplier = 2.0;
  std::chrono::milliseconds overall_deadline{120'000};  // from the first attempt
};

class Backoff {
 public:
  Backoff(const RetryPolicy& policy, const Clock& clock, uint64_t seed = std::random_device{}());

  // The wait before the next attempt, given that `attempts_made` have failed and the server
  // may have asked for `retry_after`. nullopt when no further attempt is allowed (attempts
  // used up, or the wait would end past the deadline).
  std::optional<std::chrono::milliseconds> Next(
      int attempts_made, std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

  // Time left before the overall deadline (zero when passed).
  std::chrono::milliseconds Remaining() const;

 private:
  RetryPolicy policy_;
  const Clock& clock_;
  std::chrono::steady_clock::time_point start_;
  std::mt19937_64 rng_;
};

}  // namespace cairn::base

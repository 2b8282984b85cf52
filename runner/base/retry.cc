#include "base/retry.h"

#include <algorithm>
#include <cmath>

namespace cairn::base {

Backoff::Backoff(const RetryPolicy& policy, const Clock& clock, uint64_t seed)
    : policy_(policy), clock_(clock), start_(clock.Steady()), rng_(seed) {}

std::chrono::milliseconds Backoff::Remaining() const {
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Steady() - start_);
  return std::max(std::chrono::milliseconds(0), policy_.overall_deadline - elapsed);
}

std::optional<std::chrono::milliseconds> Backoff::Next(
    int attempts_made, std::optional<std::chrono::milliseconds> retry_after) {
  if (attempts_made >= policy_.max_attempts) return std::nullopt;
  // Full jitter: uniform in [cap/2, cap], cap = min(max, initial * multiplier^(n-1)). Half the
  // cap as a floor keeps a burst of clients from retrying at once yet still backs off.
  double cap = static_cast<double>(policy_.initial_backoff.count()) *
               std::pow(policy_.multiplier, std::max(0, attempts_made - 1));
  cap = std::min(cap, static_cast<double>(policy_.max_backoff.count()));
  std::uniform_real_distribution<double> dist(cap / 2, cap);
  auto wait = std::chrono::milliseconds(static_cast<int64_t>(dist(rng_)));
  if (retry_after) wait = std::max(wait, *retry_after);
  if (wait >= Remaining()) return std::nullopt;
  return wait;
}

}  // namespace cairn::base

#include "base/retry.h"

#include <algorithm>
#include <cmath>

namespace cairn::base {

using std::chrono::milliseconds;

std::optional<Deadline::SteadyPoint> Deadline::at() const {
  int64_t ns = ns_.load();
  if (ns == kUnbounded) return std::nullopt;
  return SteadyPoint(
      std::chrono::duration_cast<SteadyPoint::duration>(std::chrono::nanoseconds(ns)));
}

std::optional<milliseconds> Deadline::Left(SteadyPoint now) const {
  auto a = at();
  if (!a) return std::nullopt;
  if (*a <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(*a - now);
}

milliseconds Deadline::Cap(milliseconds want, SteadyPoint now) const {
  auto left = Left(now);
  return left ? std::min(want, *left) : want;
}

Backoff::Backoff(const RetryPolicy& policy, const Clock& clock, uint64_t seed,
                 const Deadline* deadline)
    : policy_(policy), clock_(clock), deadline_(deadline), start_(clock.Steady()), rng_(seed) {}

milliseconds Backoff::Elapsed() const {
  return std::chrono::duration_cast<milliseconds>(clock_.Steady() - start_);
}

milliseconds Backoff::Remaining() const {
  milliseconds left = std::max(milliseconds(0), policy_.overall_deadline - Elapsed());
  return deadline_ ? deadline_->Cap(left, clock_.Steady()) : left;
}

std::optional<milliseconds> Backoff::Next(int attempts_made,
                                          std::optional<milliseconds> retry_after) {
  if (policy_.max_attempts > 0 && attempts_made >= policy_.max_attempts) {
    limit_ = RetryLimit::kAttempts;
    return std::nullopt;
  }
  // Jitter: uniform in [cap/2, cap], cap = min(max, initial * multiplier^(n-1)). Half the cap
  // as a floor keeps a burst of clients from retrying at once yet still backs off.
  double cap = static_cast<double>(policy_.initial_backoff.count()) *
               std::pow(policy_.multiplier, std::min(60, std::max(0, attempts_made - 1)));
  cap = std::min(cap, static_cast<double>(policy_.max_backoff.count()));
  std::uniform_real_distribution<double> dist(cap / 2, cap);
  auto wait = milliseconds(static_cast<int64_t>(dist(rng_)));
  if (retry_after) wait = std::max(wait, *retry_after);
  milliseconds budget = std::max(milliseconds(0), policy_.overall_deadline - Elapsed());
  if (wait >= budget) {
    limit_ = RetryLimit::kBudget;
    return std::nullopt;
  }
  if (deadline_) {
    auto left = deadline_->Left(clock_.Steady());
    if (left && wait >= *left) {
      limit_ = RetryLimit::kDeadline;
      return std::nullopt;
    }
  }
  return wait;
}

bool SleepUnlessCancelled(Clock& clock, Duration d, const std::atomic<bool>* cancel) {
  const Duration slice = std::chrono::milliseconds(100);
  for (Duration left = d; left.count() > 0; left -= slice) {
    if (cancel && cancel->load()) return false;
    clock.SleepFor(std::min(left, slice));
  }
  return !(cancel && cancel->load());
}

}  // namespace cairn::base

#include "kube/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace cairn::kube {

TokenBucket::TokenBucket(double qps, int burst, base::Clock& clock)
    : qps_(qps),
      burst_(std::max(1, burst)),
      clock_(clock),
      tokens_(std::max(1, burst)),
      last_(clock.Steady()) {}

std::chrono::nanoseconds TokenBucket::Reserve() {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::lock_guard<std::mutex> l(mu_);
  auto now = clock_.Steady();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(std::llround(-tokens_ / qps_ * 1e9));
}

void TokenBucket::Wait() {
  auto d = Reserve();
  if (d.count() > 0) clock_.SleepFor(d);
}

void Semaphore::Acquire() {
  if (limit_ <= 0) return;
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return in_use_ < limit_; });
  ++in_use_;
}

void Semaphore::Release() {
  if (limit_ <= 0) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    --in_use_;
  }
  cv_.notify_one();
}

int Semaphore::in_use() const {
  std::lock_guard<std::mutex> l(mu_);
  return in_use_;
}

}  // namespace cairn::kube

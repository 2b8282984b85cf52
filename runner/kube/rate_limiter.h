// kube/rate_limiter: client-side flow control towards the API server, as client-go does it.
//
// TokenBucket: `qps` tokens per second, at most `burst` saved up; each request attempt takes one.
// A caller that finds the bucket empty reserves the next token anyway (the bucket goes into
// debt) and waits until it is due, so concurrent callers are served in arrival order and the
// long-run rate never exceeds qps. Time comes from a base::Clock, so tests use a FakeClock.
// Semaphore: bounds the requests in flight. Both are thread-safe; a qps or limit of zero or less
// disables them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/clock.h"

namespace cairn::kube {

class TokenBucket {
 public:
  TokenBucket(double qps, int burst, base::Clock& clock);

  // Takes a token and returns how long to wait before using it (zero when one was saved up).
  std::chrono::nanoseconds Reserve();
  // Reserve(), then sleep on the clock for the wait.
  void Wait();

 private:
  const double qps_;
  const double burst_;
  base::Clock& clock_;
  std::mutex mu_;
  double tokens_;  // negative: reservations waiting for future tokens
  std::chrono::steady_clock::time_point last_;
};

class Semaphore {
 public:
  explicit Semaphore(int limit) : limit_(limit) {}
  void Acquire();
  void Release();
  int in_use() const;

  class Guard {
   public:
    explicit Guard(Semaphore& s) : s_(s) { s_.Acquire(); }
    ~Guard() { s_.Release(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Semaphore& s_;
  };

 private:
  const int limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int in_use_ = 0;
};

}  // namespace cairn::kube

// base/clock: time as a dependency, so tests can use a fake clock.
//
// Operations never call the system clock directly; they take a Clock&. Times are
// std::chrono::system_clock points; timestamps in the vault are RFC 3339 UTC.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "base/status.h"

namespace cairn::base {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Monotonic time, for deadlines and durations.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
  virtual void SleepFor(Duration d) = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }
  void SleepFor(Duration d) override;
};

// The process-wide real clock.
Clock& RealClock();

// A clock that only moves when told to; SleepFor advances it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override;
  std::chrono::steady_clock::time_point Steady() const override;
  void SleepFor(Duration d) override { Advance(d); }
  void Advance(Duration d);

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  Duration steady_offset_{0};
};

// "2026-11-21T04:48:00Z" (seconds precision, UTC).
std::string FormatRfc3339(TimePoint t);
// Parses the form FormatRfc3339 writes, with optional fractional seconds.
Result<TimePoint> ParseRfc3339(std::string_view s);
// "20261121044800", used in generated run names.
std::string FormatCompact(TimePoint t);
// Parses "90s", "15m", "6h30m", "720h", "1h2m3.5s" (Go-style). Negative or empty is an error.
Result<Duration> ParseDuration(std::string_view s);
// "6h30m0s"-style rendering used in messages; millisecond precision below a second.
std::string FormatDuration(Duration d);

}  // namespace cairn::base

#include "base/clock.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <thread>

namespace cairn::base {

void SystemClock::SleepFor(Duration d) { std::this_thread::sleep_for(d); }

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> l(mu_);
  return now_;
}

std::chrono::steady_clock::time_point FakeClock::Steady() const {
  std::lock_guard<std::mutex> l(mu_);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(steady_offset_));
}

void FakeClock::Advance(Duration d) {
  std::lock_guard<std::mutex> l(mu_);
  now_ += std::chrono::duration_cast<TimePoint::duration>(d);
  steady_offset_ += d;
}

namespace {
std::tm ToUtc(TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}
}  // namespace

std::string FormatRfc3339(TimePoint t) {
  std::tm tm = ToUtc(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatCompact(TimePoint t) {
  std::tm tm = ToUtc(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

Result<TimePoint> ParseRfc3339(std::string_view s) {
  std::tm tm{};
  int consumed = 0;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return Error(Code::kInvalidArgument, "invalid timestamp '" + str + "': want RFC 3339 UTC");
  }
  size_t pos = static_cast<size_t>(consumed);
  if (pos < str.size() && str[pos] == '.') {
    ++pos;
    while (pos < str.size() && std::isdigit(static_cast<unsigned char>(str[pos]))) ++pos;
  }
  if (pos + 1 != str.size() || (str[pos] != 'Z' && str[pos] != 'z')) {
    return Error(Code::kInvalidArgument, "invalid timestamp '" + str + "': want RFC 3339 UTC");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t tt = timegm(&tm);
  // A TimePoint counts int64 nanoseconds: 1677-09-21 to 2262-04-11. A time beyond (a forged or
  // damaged document) would overflow in the conversion, so it is refused.
  constexpr auto kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(TimePoint::duration::max());
  if (tt >= kLimit.count() || tt <= -kLimit.count()) {
    return Error(Code::kInvalidArgument,
                 "invalid timestamp '" + str + "': out of range (1677-09-22 to 2262-04-11)");
  }
  return std::chrono::system_clock::from_time_t(tt);
}

Result<Duration> ParseDuration(std::string_view s) {
  if (s.empty()) return Error(Code::kInvalidArgument, "empty duration");
  double total_ns = 0;
  size_t i = 0;
  const std::string str(s);
  while (i < str.size()) {
    size_t start = i;
    while (i < str.size() && (std::isdigit(static_cast<unsigned char>(str[i])) || str[i] == '.')) {
      ++i;
    }
    if (start == i) {
      return Error(Code::kInvalidArgument,
                   "invalid duration '" + str + "': want a number and unit such as 90s, 6h30m");
    }
    const std::string number = str.substr(start, i - start);
    char* end = nullptr;
    double n = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) {
      return Error(Code::kInvalidArgument,
                   "invalid duration '" + str + "': '" + number + "' is not a number");
    }
    size_t ustart = i;
    while (i < str.size() && std::isalpha(static_cast<unsigned char>(str[i]))) ++i;
    std::string unit = str.substr(ustart, i - ustart);
    double mult;
    if (unit.empty()) {
      return Error(Code::kInvalidArgument, "invalid duration '" + str + "': missing unit after " +
                                               str.substr(start, i - start) +
                                               " (use ms, s, m, h or d, as in 90s)");
    }
    if (unit == "ns")
      mult = 1;
    else if (unit == "us")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1e6;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "h")
      mult = 3600e9;
    else if (unit == "d")
      mult = 86400e9;
    else
      return Error(Code::kInvalidArgument, "invalid duration '" + str + "': unknown unit '" + unit +
                                               "' (use ms, s, m, h or d)");
    total_ns += n * mult;
    // Durations are int64 nanoseconds: about 292 years. Beyond that the value would wrap.
    if (total_ns >= static_cast<double>(std::numeric_limits<int64_t>::max())) {
      return Error(Code::kInvalidArgument,
                   "invalid duration '" + str + "': too large (at most 2562047h, about 292 years)");
    }
  }
  return Duration(static_cast<int64_t>(std::llround(total_ns)));
}

std::string FormatDuration(Duration d) {
  using namespace std::chrono;
  int64_t ms = duration_cast<milliseconds>(d).count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s >= 60) out += std::to_string((s % 3600) / 60) + "m";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(s % 60) + (ms % 1000) / 1000.0);
  if (s >= 60) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s % 60));
  return out + buf;
}

}  // namespace cairn::base

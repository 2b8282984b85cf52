// Fuzzes the duration and schedule parsers: base::ParseDuration (every --timeout, ttl,
// keep_within, --stale-after) never yields a negative duration, and config::ParseSchedule
// (cron expressions and intervals).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/clock.h"
#include "config/policy.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto d = base::ParseDuration(text); d.ok()) {
    if (d->count() < 0) std::abort();
    (void)base::FormatDuration(*d);
  }
  (void)base::ParseRfc3339(text);
  (void)config::ParseSchedule(text);
  return 0;
}

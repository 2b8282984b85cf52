// config/schedule: a policy's `schedule`, a 5-field cron expression as a Kubernetes CronJob takes
// it, or an interval such as "6h30m" (declared in config/policy.h).
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "config/policy.h"

namespace cairn::config {
namespace {

using base::Code;
using base::Error;

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// --- Cron fields
// ------------------------------------------------------------------------------------

struct CronField {
  const char* name;
  int lo, hi;
  std::array<const char*, 12> names;  // value lo + i, for months and days of the week
};

constexpr std::array<CronField, 5> kCronFields = {{
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day of month", 1, 31, {}},
    {"month",
     1,
     12,
     {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
    {"day of week", 0, 6, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}};

base::Result<int> CronValue(const CronField& f, std::string_view s) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size()) {
    if (v < f.lo || v > f.hi) {
      return Error(Code::kInvalidArgument, std::string(f.name) + " " + std::string(s) +
                                               " is out of range (want " + std::to_string(f.lo) +
                                               "-" + std::to_string(f.hi) + ")");
    }
    return v;
  }
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < f.names.size() && f.names[i] != nullptr; ++i) {
    if (lower == f.names[i]) return f.lo + static_cast<int>(i);
  }
  return Error(Code::kInvalidArgument, "invalid " + std::string(f.name) + " " + Quote(s));
}

base::Status CheckCronField(const CronField& f, std::string_view field) {
  size_t start = 0;
  while (start <= field.size()) {
    size_t comma = field.find(',', start);
    if (comma == std::string_view::npos) comma = field.size();
    std::string_view item = field.substr(start, comma - start);
    if (item.empty()) return Error(Code::kInvalidArgument, "empty item in " + std::string(f.name));
    const size_t slash = item.find('/');
    std::string_view range = item.substr(0, slash);
    if (slash != std::string_view::npos) {
      std::string_view step_text = item.substr(slash + 1);
      int step = 0;
      auto [ptr, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (ec != std::errc() || ptr != step_text.data() + step_text.size() || step < 1) {
        return Error(Code::kInvalidArgument,
                     "invalid step " + Quote(step_text) + " in " + std::string(f.name));
      }
    }
    if (range != "*" && range != "?") {
      const size_t dash = range.find('-');
      ASSIGN_OR_RETURN(int lo, CronValue(f, range.substr(0, dash)));
      if (dash != std::string_view::npos) {
        ASSIGN_OR_RETURN(int hi, CronValue(f, range.substr(dash + 1)));
        if (hi < lo) {
          return Error(Code::kInvalidArgument,
                       "range " + Quote(range) + " in " + std::string(f.name) + " is backwards");
        }
      }
    }
    start = comma + 1;
  }
  return base::Status::Ok();
}

}  // namespace

base::Status ValidateCron(std::string_view expr) {
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument,
                 "invalid cron schedule " + Quote(expr) + ": " + std::string(why));
  };
  if (!expr.empty() && expr.front() == '@') {
    static constexpr std::array<std::string_view, 7> kDescriptors = {
        "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"};
    if (std::find(kDescriptors.begin(), kDescriptors.end(), expr) != kDescriptors.end()) {
      return base::Status::Ok();
    }
    if (expr.rfind("@every", 0) == 0) {
      return bad("write an interval as the schedule itself, e.g. schedule = \"6h30m\"");
    }
    return bad("unknown descriptor (want @yearly, @monthly, @weekly, @daily or @hourly)");
  }
  if (expr.rfind("TZ=", 0) == 0 || expr.rfind("CRON_TZ=", 0) == 0) {
    return bad("time zones are not part of the schedule (Kubernetes rejects them there)");
  }
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
    const size_t start = i;
    while (i < expr.size() && !std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
    if (i > start) fields.push_back(expr.substr(start, i - start));
  }
  if (fields.size() != kCronFields.size()) {
    return bad("want 5 fields (minute hour day-of-month month day-of-week), found " +
               std::to_string(fields.size()));
  }
  for (size_t f = 0; f < fields.size(); ++f) {
    if (base::Status st = CheckCronField(kCronFields[f], fields[f]); !st.ok()) {
      return bad(st.message());
    }
  }
  return base::Status::Ok();
}

base::Result<Schedule> ParseSchedule(std::string_view text) {
  Schedule out;
  out.text = std::string(text);
  if (text.find_first_of(" \t") != std::string_view::npos || text.rfind('@', 0) == 0) {
    RETURN_IF_ERROR(ValidateCron(text));
    return out;
  }
  base::Result<base::Duration> d = base::ParseDuration(text);
  if (!d.ok()) {
    return Error(Code::kInvalidArgument,
                 "invalid schedule " + Quote(text) +
                     ": want a 5-field cron expression such as \"30 2 * * *\" or an interval "
                     "such as \"6h30m\"");
  }
  if (*d < kMinScheduleInterval) {
    return Error(Code::kInvalidArgument,
                 "schedule interval " + Quote(text) + " is shorter than the minimum of 1m");
  }
  out.interval = *d;
  return out;
}

}  // namespace cairn::config

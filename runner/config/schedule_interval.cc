#include "config/schedule_interval.h"

#include <array>
#include <bitset>
#include <cctype>
#include <charconv>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::config {
namespace {

struct Field {
  int lo, hi;
  std::array<const char*, 12> names;
};

constexpr std::array<Field, 5> kFields = {{
    {0, 59, {}},
    {0, 23, {}},
    {1, 31, {}},
    {1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
    {0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}};

int Value(const Field& f, std::string_view s) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < f.names.size() && f.names[i] != nullptr; ++i) {
    if (lower == f.names[i]) return f.lo + static_cast<int>(i);
  }
  return f.lo;
}

// The values a field allows, and whether it was "*" (unrestricted).
std::bitset<64> Expand(const Field& f, std::string_view text, bool* star) {
  std::bitset<64> out;
  *star = text == "*" || text == "?";
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    const size_t slash = item.find('/');
    std::string_view range = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      std::string_view st = item.substr(slash + 1);
      std::from_chars(st.data(), st.data() + st.size(), step);
    }
    int lo = f.lo, hi = f.hi;
    if (range != "*" && range != "?") {
      const size_t dash = range.find('-');
      lo = Value(f, range.substr(0, dash));
      hi = dash != std::string_view::npos    ? Value(f, range.substr(dash + 1))
           : slash != std::string_view::npos ? f.hi
                                             : lo;
    }
    for (int v = lo; v <= hi; v += std::max(step, 1)) out.set(v);
    start = comma + 1;
  }
  return out;
}

std::string_view Descriptor(std::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return text;
}

}  // namespace

std::optional<base::Duration> ScheduleInterval(const Schedule& schedule) {
  if (schedule.interval) return schedule.interval;
  if (schedule.text.empty()) return std::nullopt;
  std::string_view text = Descriptor(schedule.text);
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) parts.push_back(text.substr(start, i - start));
  }
  if (parts.size() != kFields.size()) return std::nullopt;
  std::array<std::bitset<64>, 5> allowed;
  std::array<bool, 5> star{};
  for (size_t i = 0; i < parts.size(); ++i) allowed[i] = Expand(kFields[i], parts[i], &star[i]);
  if (allowed[4].test(7)) allowed[4].set(0);  // 7 is Sunday too

  using namespace std::chrono;
  const sys_days first = sys_days(year{2024} / January / 1);
  std::optional<int64_t> prev;  // minutes since `first`
  int64_t longest = 0;
  for (int64_t day = 0; day < 2 * 366 + 31; ++day) {
    const sys_days d = first + days(day);
    const year_month_day ymd(d);
    const int wd = static_cast<int>(weekday(d).c_encoding());
    const bool dom = allowed[2].test(static_cast<unsigned>(ymd.day()));
    const bool dow = allowed[4].test(wd);
    const bool day_ok = (star[2] || star[4]) ? (dom && dow) : (dom || dow);
    if (!day_ok || !allowed[3].test(static_cast<unsigned>(ymd.month()))) continue;
    for (int h = 0; h < 24; ++h) {
      if (!allowed[1].test(h)) continue;
      for (int m = 0; m < 60; ++m) {
        if (!allowed[0].test(m)) continue;
        const int64_t at = day * 1440 + h * 60 + m;
        if (prev) longest = std::max(longest, at - *prev);
        prev = at;
      }
    }
  }
  if (longest == 0) return std::nullopt;
  return duration_cast<base::Duration>(minutes(longest));
}

}  // namespace cairn::config

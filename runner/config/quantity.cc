#include "config/quantity.h"

#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace cairn::config {
namespace {

using base::Code;
using base::Error;

constexpr uint64_t kMaxBytes = uint64_t{1} << 63;

// The multiplier of a suffix as numerator/denominator (m: 1/1000); false when unknown.
bool Suffix(std::string_view s, uint64_t* mult, uint64_t* div, int* exp10) {
  static constexpr std::array<std::pair<std::string_view, int>, 6> kBinary = {
      {{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"Pi", 50}, {"Ei", 60}}};
  static constexpr std::array<std::pair<std::string_view, int>, 6> kDecimal = {
      {{"k", 3}, {"M", 6}, {"G", 9}, {"T", 12}, {"P", 15}, {"E", 18}}};
  *mult = 1;
  *div = 1;
  *exp10 = 0;
  if (s.empty()) return true;
  for (const auto& [name, shift] : kBinary) {
    if (s == name) {
      *mult = uint64_t{1} << shift;
      return true;
    }
  }
  for (const auto& [name, e] : kDecimal) {
    if (s == name) {
      *exp10 = e;
      return true;
    }
  }
  if (s == "m") {
    *exp10 = -3;
    return true;
  }
  if (s[0] != 'e' && s[0] != 'E') return false;
  std::string_view e = s.substr(1);
  bool negative = false;
  if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
    negative = e[0] == '-';
    e.remove_prefix(1);
  }
  if (e.empty() || e.size() > 3) return false;
  int v = 0;
  for (char c : e) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *exp10 = negative ? -v : v;
  return true;
}

}  // namespace

base::Result<uint64_t> ParseQuantity(std::string_view s) {
  const std::string in(s);
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument, "invalid quantity '" + in + "': " + std::string(why) +
                                             " (want a Kubernetes quantity such as 20Gi, 500M "
                                             "or 1073741824)");
  };
  size_t i = 0;
  if (i < s.size() && s[i] == '+') ++i;
  if (i < s.size() && s[i] == '-') return bad("must not be negative");
  // The digits as an exact decimal: integer digits, then fraction digits (scale = their count).
  unsigned __int128 digits = 0;
  int scale = 0;
  size_t start = i;
  bool dot = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    if (digits > (unsigned __int128)(kMaxBytes)*1000000) return bad("too large");
    digits = digits * 10 + static_cast<unsigned>(c - '0');
    if (dot) ++scale;
  }
  if (i == start || (dot && i == start + 1)) return bad("no number");
  uint64_t mult = 1, div = 1;
  int exp10 = 0;
  if (!Suffix(s.substr(i), &mult, &div, &exp10)) {
    return bad("unknown suffix '" + std::string(s.substr(i)) + "'");
  }
  exp10 -= scale;
  unsigned __int128 value = digits * mult;
  for (; exp10 > 0; --exp10) {
    value *= 10;
    if (value > kMaxBytes) return bad("too large");
  }
  unsigned __int128 divisor = div;
  for (; exp10 < 0; ++exp10) divisor *= 10;
  value = (value + divisor - 1) / divisor;  // a fraction of a byte rounds up
  if (value > kMaxBytes) return bad("too large");
  return static_cast<uint64_t>(value);
}

std::string FormatQuantity(uint64_t bytes) {
  if (bytes == 0) return "0";
  static constexpr std::array<std::pair<std::string_view, int>, 6> kBinary = {
      {{"Ei", 60}, {"Pi", 50}, {"Ti", 40}, {"Gi", 30}, {"Mi", 20}, {"Ki", 10}}};
  for (const auto& [name, shift] : kBinary) {
    if (bytes % (uint64_t{1} << shift) == 0) {
      return std::to_string(bytes >> shift) + std::string(name);
    }
  }
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 4> kDecimal = {
      {{"T", 1000000000000ull}, {"G", 1000000000ull}, {"M", 1000000ull}, {"k", 1000ull}}};
  for (const auto& [name, unit] : kDecimal) {
    if (bytes % unit == 0) return std::to_string(bytes / unit) + std::string(name);
  }
  return std::to_string(bytes);
}

}  // namespace cairn::config

#include "config/values.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace cairn::config {
namespace {

using base::Code;
using base::Error;

constexpr std::string_view kUrlForms = "want s3://BUCKET[/PREFIX] or file:///ABSOLUTE/PATH";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Splits "a/b/c" on '/' and rejects empty, "." and ".." segments. `what` names the part.
base::Status CheckSegments(std::string_view url, std::string_view path, std::string_view what) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty()) {
      return Error(Code::kInvalidArgument, "invalid vault url '" + std::string(url) + "': " +
                                               std::string(what) + " has an empty segment ('//')");
    }
    if (seg == "." || seg == "..") {
      return Error(Code::kInvalidArgument, "invalid vault url '" + std::string(url) +
                                               "': " + std::string(what) + " has a '" +
                                               std::string(seg) + "' segment");
    }
    start = end + 1;
  }
  return base::Status::Ok();
}

bool LooksLikeIpv4(std::string_view s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

base::Status CheckBucket(std::string_view url, std::string_view bucket) {
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument, "invalid vault url '" + std::string(url) + "': bucket '" +
                                             std::string(bucket) + "' " + std::string(why))
        .WithHint(
            "bucket names are 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit");
  };
  if (bucket.size() < 3 || bucket.size() > 63) return bad("must be 3 to 63 characters long");
  for (char c : bucket) {
    if (std::isupper(static_cast<unsigned char>(c))) return bad("must be lowercase");
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != '-') {
      return bad("has an invalid character '" + std::string(1, c) + "'");
    }
  }
  auto alnum = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c));
  };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return bad("must start and end with a letter or digit");
  }
  if (bucket.find("..") != std::string_view::npos) return bad("must not contain '..'");
  if (LooksLikeIpv4(bucket)) return bad("must not be an ip address");
  return base::Status::Ok();
}

}  // namespace

base::Result<uint64_t> ParseSize(std::string_view s) {
  const std::string in(s);
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument, "invalid size '" + in + "': " + std::string(why) +
                                             " (want a whole number of bytes or a number with "
                                             "KiB, MiB, GiB, TiB, KB, MB, GB or TB, e.g. 16MiB)");
  };
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  size_t digits_start = i;
  uint64_t n = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) return bad("too large");
    n = n * 10 + d;
  }
  if (i == digits_start) return bad("no number");
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) return bad("fractions are not supported");
  while (i < s.size() && s[i] == ' ') ++i;
  std::string unit = Lower(s.substr(i));
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 10> kUnits = {{
      {"", 1},
      {"b", 1},
      {"kib", uint64_t{1} << 10},
      {"mib", uint64_t{1} << 20},
      {"gib", uint64_t{1} << 30},
      {"tib", uint64_t{1} << 40},
      {"kb", 1000},
      {"mb", 1000 * 1000},
      {"gb", 1000 * 1000 * 1000},
      {"tb", uint64_t{1000} * 1000 * 1000 * 1000},
  }};
  for (const auto& [name, mult] : kUnits) {
    if (unit != name) continue;
    if (n > std::numeric_limits<uint64_t>::max() / mult) return bad("too large");
    return n * mult;
  }
  return bad("unknown unit '" + std::string(s.substr(i)) + "'");
}

std::string FormatSize(uint64_t bytes) {
  static constexpr std::array<std::pair<std::string_view, int>, 4> kUnits = {
      {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}};
  for (const auto& [name, shift] : kUnits) {
    const uint64_t unit = uint64_t{1} << shift;
    if (bytes >= unit && bytes % unit == 0)
      return std::to_string(bytes >> shift) + std::string(name);
  }
  return std::to_string(bytes) + "B";
}

std::string VaultUrl::ToString() const {
  if (scheme == Scheme::kFile) return "file://" + path;
  return prefix.empty() ? "s3://" + bucket : "s3://" + bucket + "/" + prefix;
}

base::Result<VaultUrl> ParseVaultUrl(std::string_view url) {
  const std::string in(url);
  if (url.empty())
    return Error(Code::kInvalidArgument, "empty vault url: " + std::string(kUrlForms));
  if (HasControl(url)) {
    return Error(Code::kInvalidArgument, "invalid vault url '" + in + "': control character");
  }
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) {
    return Error(Code::kInvalidArgument,
                 "invalid vault url '" + in + "': " + std::string(kUrlForms));
  }
  const std::string scheme = Lower(url.substr(0, colon));
  std::string_view rest = url.substr(colon + 3);
  VaultUrl out;
  if (scheme == "s3") {
    out.scheme = VaultUrl::Scheme::kS3;
    const size_t slash = rest.find('/');
    std::string_view bucket = rest.substr(0, slash);
    if (bucket.empty()) {
      return Error(Code::kInvalidArgument,
                   "invalid vault url '" + in + "': no bucket (want s3://BUCKET[/PREFIX])");
    }
    RETURN_IF_ERROR(CheckBucket(url, bucket));
    std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash);
    while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (prefix.find_first_of("?#\\") != std::string_view::npos) {
      return Error(Code::kInvalidArgument,
                   "invalid vault url '" + in + "': the prefix must not contain '?', '#' or '\\'");
    }
    if (!prefix.empty()) RETURN_IF_ERROR(CheckSegments(url, prefix, "the prefix"));
    out.bucket = std::string(bucket);
    out.prefix = std::string(prefix);
    return out;
  }
  if (scheme == "file") {
    out.scheme = VaultUrl::Scheme::kFile;
    if (rest.empty() || rest.front() != '/') {
      return Error(
          Code::kInvalidArgument,
          "invalid vault url '" + in +
              "': a file url takes an absolute path and no host (want file:///ABSOLUTE/PATH, "
              "three slashes)");
    }
    std::string_view path = rest;
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (path.size() > 1) RETURN_IF_ERROR(CheckSegments(url, path.substr(1), "the path"));
    out.path = std::string(path);
    return out;
  }
  return Error(Code::kInvalidArgument, "unsupported vault url scheme '" + scheme + "' in '" + in +
                                           "': " + std::string(kUrlForms));
}

base::Status ValidateVaultName(std::string_view name) {
  const std::string in(name);
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument, "invalid vault name '" + in + "': " + std::string(why) +
                                             " (want lowercase letters, digits and '-', starting "
                                             "and ending with a letter or digit, at most 63 "
                                             "characters)");
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 63) return bad("too long");
  if (name.back() == '-') return bad("must end with a letter or digit");
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (std::islower(c) || std::isdigit(c)) continue;
    if (c == '-' && i > 0) continue;
    return bad(c == '-' ? "must start with a letter or digit" : "invalid character");
  }
  return base::Status::Ok();
}

base::Status ValidateHttpUrl(std::string_view url) {
  const std::string in(url);
  const std::string lower = Lower(url);
  size_t host_start = 0;
  if (lower.rfind("https://", 0) == 0) {
    host_start = 8;
  } else if (lower.rfind("http://", 0) == 0) {
    host_start = 7;
  } else {
    return Error(Code::kInvalidArgument,
                 "invalid url '" + in + "': want http://HOST[:PORT] or https://HOST[:PORT]");
  }
  if (HasControl(url) || url.find(' ') != std::string_view::npos) {
    return Error(Code::kInvalidArgument,
                 "invalid url '" + in + "': contains a space or control character");
  }
  const size_t host_end = url.find_first_of("/?#", host_start);
  if (url.substr(host_start, host_end - host_start).empty()) {
    return Error(Code::kInvalidArgument, "invalid url '" + in + "': no host");
  }
  return base::Status::Ok();
}

}  // namespace cairn::config

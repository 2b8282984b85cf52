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
  return ValidateLabelName(name, "vault name", 63);
}

base::Status ValidateLabelName(std::string_view name, std::string_view what, size_t max_length) {
  const std::string in(name);
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument,
                 "invalid " + std::string(what) + " '" + in + "': " + std::string(why) +
                     " (want lowercase letters, digits and '-', starting and ending with a letter "
                     "or digit, at most " +
                     std::to_string(max_length) + " characters)");
  };
  if (name.empty()) return bad("empty");
  if (name.size() > max_length) return bad("too long");
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
  if (url.substr(host_start, host_end - host_start).find('@') != std::string_view::npos) {
    // The URL is not echoed: what precedes '@' is a user name and, usually, a password.
    return Error(Code::kInvalidArgument,
                 "invalid url: credentials in a URL are not accepted, they would show in logs "
                 "and in the Job's spec\nHINT: put user:password in a file (a mounted Secret) "
                 "named by [metrics] basic_auth_file");
  }
  if (url.find_first_of("?#") != std::string_view::npos) {
    return Error(Code::kInvalidArgument,
                 "invalid url '" + in + "': a query or fragment is not accepted");
  }
  if (url.substr(host_start, host_end - host_start).empty()) {
    return Error(Code::kInvalidArgument, "invalid url '" + in + "': no host");
  }
  return base::Status::Ok();
}

namespace {

// HOST of an endpoint: "" when valid, else why not.
std::string EndpointHostProblem(std::string_view host) {
  if (host.empty()) return "no host";
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return "unclosed '[' in the ipv6 address";
    for (char c : host.substr(1, host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return "invalid character '" + std::string(1, c) + "' in the ipv6 address";
      }
    }
    return "";
  }
  size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return "the host '" + std::string(host) + "' has an empty label";
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return "invalid character '" + std::string(1, c) + "' in the host";
    }
    ++label;
  }
  if (label == 0) return "the host '" + std::string(host) + "' has an empty label";
  return "";
}

// PORT of an endpoint (after the ':'): "" when valid, else why not.
std::string EndpointPortProblem(std::string_view port) {
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return "port '" + std::string(port) + "' is not a number from 1 to 65535";
  }
  const int n = std::stoi(std::string(port));
  if (n < 1 || n > 65535) return "port " + std::string(port) + " is not from 1 to 65535";
  return "";
}

// Why `url` is not http(s)://HOST[:PORT][/], or "".
std::string EndpointProblem(std::string_view url) {
  size_t start = 0;
  if (url.rfind("https://", 0) == 0) {
    start = 8;
  } else if (url.rfind("http://", 0) == 0) {
    start = 7;
  } else {
    return "the scheme must be http:// or https://";
  }
  const size_t end = std::min(url.size(), url.find_first_of("/?#", start));
  std::string_view rest = url.substr(end);
  if (rest.find_first_not_of('/') != std::string_view::npos) {
    return "an endpoint has no path, query or fragment";
  }
  std::string_view authority = url.substr(start, end - start);
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  std::string_view host = has_port ? authority.substr(0, colon) : authority;
  if (std::string why = EndpointHostProblem(host); !why.empty()) return why;
  return has_port ? EndpointPortProblem(authority.substr(colon + 1)) : "";
}

}  // namespace

base::Status ValidateEndpointUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t auth_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const std::string_view authority =
      url.substr(auth_start, url.find_first_of("/?#", auth_start) - auth_start);
  if (authority.find('@') != std::string_view::npos) {  // not quoted: it may hold a secret
    return Error(Code::kInvalidArgument,
                 "invalid endpoint url: it carries credentials (user@host); give them in the "
                 "AWS environment variables or a credentials file");
  }
  if (HasControl(url) || url.find(' ') != std::string_view::npos) {
    return Error(Code::kInvalidArgument, "invalid endpoint url '" + std::string(url) +
                                             "': contains a space or control "
                                             "character");
  }
  if (std::string why = EndpointProblem(url); !why.empty()) {
    return Error(Code::kInvalidArgument, "invalid endpoint url '" + std::string(url) + "': " + why +
                                             " (want http://HOST[:PORT] or "
                                             "https://HOST[:PORT])");
  }
  return base::Status::Ok();
}

}  // namespace cairn::config

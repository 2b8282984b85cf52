// archive/entry_path: the rules every tar entry path obeys, on both the write and read side.
//
// A path that passes can be joined under a directory without escaping it, stored in a JSON
// document, and shown in a log line: it is relative, has no "." or ".." segment, no control
// characters and is valid UTF-8.
#include <cstdio>
#include <string>
#include <string_view>

#include "archive/tar.h"

namespace cairn::archive {
namespace {

constexpr size_t kQuoteLimit = 200;

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is malformed
// (overlong forms, surrogates and code points above U+10FFFF are malformed).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return len;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

base::Status Invalid(std::string_view path, std::string_view why) {
  return base::Error(base::Code::kInvalidArgument,
                     "invalid tar entry path " + QuoteEntryPath(path) + ": " + std::string(why));
}

}  // namespace

std::string QuoteEntryPath(std::string_view path) {
  const bool utf8 = IsValidUtf8(path);
  std::string out = "'";
  size_t i = 0;
  while (i < path.size() && i < kQuoteLimit) {
    const unsigned char c = static_cast<unsigned char>(path[i]);
    size_t n = utf8 ? Utf8SequenceLength(path, i) : 1;
    if (IsControl(c) || (!utf8 && c >= 0x80)) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\x%02x", c);
      out += esc;
    } else {
      out.append(path.substr(i, n));
    }
    i += n;
  }
  out += "'";
  if (i < path.size()) out += " (" + std::to_string(path.size()) + " bytes, shortened)";
  return out;
}

base::Status ValidateEntryPath(std::string_view path) {
  if (path.empty()) return Invalid(path, "the path is empty");
  if (path.size() > kMaxEntryPathBytes) {
    return Invalid(path, "longer than " + std::to_string(kMaxEntryPathBytes) + " bytes");
  }
  if (path.front() == '/') return Invalid(path, "an absolute path is not allowed");
  for (char c : path) {
    if (c == '\0') return Invalid(path, "contains a NUL byte");
    if (IsControl(static_cast<unsigned char>(c))) {
      return Invalid(path, "contains a control character");
    }
  }
  if (!IsValidUtf8(path)) return Invalid(path, "not valid UTF-8");
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return Invalid(path, "has an empty segment");
    if (segment == "." || segment == "..") {
      return Invalid(path, "a '" + std::string(segment) + "' segment is not allowed");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return base::Status::Ok();
}

}  // namespace cairn::archive

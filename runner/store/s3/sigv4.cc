#include "store/s3/sigv4.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "io/hash.h"

namespace cairn::store::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Trims leading and trailing blanks and collapses each inner run of blanks into one space, as
// the canonical header form requires (the published vectors collapse inside quotes too).
std::string TrimAndCollapse(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (IsBlank(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string TrimName(std::string_view name) {
  size_t b = 0;
  size_t e = name.size();
  while (b < e && IsBlank(name[b])) ++b;
  while (e > b && IsBlank(name[e - 1])) --e;
  return ToLower(name.substr(b, e - b));
}

// Headers SignV4 sets itself; a caller's own copies would be signed twice.
bool IsSignerOwned(std::string_view lower_name) {
  return lower_name == "x-amz-date" || lower_name == "x-amz-content-sha256" ||
         lower_name == "x-amz-security-token" || lower_name == "authorization";
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalUri(const SigningRequest& r) {
  if (r.path_is_canonical) return r.path.empty() ? std::string("/") : r.path;
  std::string uri = UriEncode(r.path, /*encode_slash=*/false);
  if (uri.empty() || uri.front() != '/') uri.insert(uri.begin(), '/');
  return uri;
}

std::string CanonicalQueryString(const std::vector<Header>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, true), UriEncode(value, true));
  }
  // Byte-wise order of the encoded forms, name first, then value for repeated names.
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string CanonicalRequest(const SigningRequest& r, std::string* signed_headers_out) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(r.headers.size() + 1);
  headers.emplace_back("host", TrimAndCollapse(r.host));
  for (const auto& [name, value] : r.headers) {
    std::string lower = TrimName(name);
    if (lower == "host") continue;
    headers.emplace_back(std::move(lower), TrimAndCollapse(value));
  }
  // Stable: values of a repeated header keep the order the caller gave them.
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string canonical_headers;
  std::string signed_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';  // replaces the '\n' after the previous value
    } else {
      if (!signed_headers.empty()) signed_headers += ';';
      signed_headers += headers[i].first;
      canonical_headers += headers[i].first;
      canonical_headers += ':';
    }
    canonical_headers += headers[i].second;
    canonical_headers += '\n';
  }

  std::string out;
  out.reserve(256 + canonical_headers.size());
  out += r.method;
  out += '\n';
  out += CanonicalUri(r);
  out += '\n';
  out += CanonicalQueryString(r.query);
  out += '\n';
  out += canonical_headers;
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += r.payload_sha256.empty() ? std::string(kEmptyPayloadSha256) : r.payload_sha256;
  if (signed_headers_out != nullptr) *signed_headers_out = std::move(signed_headers);
  return out;
}

std::string CredentialScope(std::string_view date8, std::string_view region,
                            std::string_view service) {
  std::string out(date8);
  out += '/';
  out += region;
  out += '/';
  out += service;
  out += "/aws4_request";
  return out;
}

std::string StringToSign(std::string_view canonical_request, std::string_view amz_date,
                         std::string_view scope) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += io::Sha256Hex(canonical_request);
  return out;
}

std::string SigningKey(std::string_view secret, std::string_view date8, std::string_view region,
                       std::string_view service) {
  std::string k = "AWS4";
  k += secret;
  std::string key = io::HmacSha256(k, date8);
  key = io::HmacSha256(key, region);
  key = io::HmacSha256(key, service);
  return io::HmacSha256(key, "aws4_request");
}

std::string AuthorizationHeaderValue(const SigningRequest& r, const Credentials& c,
                                     std::string_view amz_date, std::string_view region,
                                     std::string_view service, std::string* canonical_request_out,
                                     std::string* string_to_sign_out) {
  const std::string_view date8 = amz_date.substr(0, 8);
  const std::string scope = CredentialScope(date8, region, service);
  std::string signed_headers;
  std::string creq = CanonicalRequest(r, &signed_headers);
  std::string sts = StringToSign(creq, amz_date, scope);
  const std::string signature =
      io::HexEncode(io::HmacSha256(SigningKey(c.secret_access_key, date8, region, service), sts));

  std::string out(kAlgorithm);
  out += " Credential=";
  out += c.access_key_id;
  out += '/';
  out += scope;
  out += ", SignedHeaders=";
  out += signed_headers;
  out += ", Signature=";
  out += signature;
  if (canonical_request_out != nullptr) *canonical_request_out = std::move(creq);
  if (string_to_sign_out != nullptr) *string_to_sign_out = std::move(sts);
  return out;
}

std::vector<Header> SignV4(const SigningRequest& r, const Credentials& c, std::string_view region,
                           std::string_view service, base::TimePoint now) {
  const std::string amz_date = FormatAmzDate(now);
  const std::string payload =
      r.payload_sha256.empty() ? std::string(kEmptyPayloadSha256) : r.payload_sha256;

  std::vector<Header> added;
  added.emplace_back("x-amz-date", amz_date);
  added.emplace_back("x-amz-content-sha256", payload);
  if (!c.session_token.empty()) added.emplace_back("x-amz-security-token", c.session_token);

  SigningRequest to_sign;
  to_sign.method = r.method;
  to_sign.host = r.host;
  to_sign.path = r.path;
  to_sign.query = r.query;
  to_sign.payload_sha256 = payload;
  to_sign.path_is_canonical = r.path_is_canonical;
  to_sign.headers.reserve(r.headers.size() + added.size());
  for (const Header& h : r.headers) {
    if (!IsSignerOwned(TrimName(h.first))) to_sign.headers.push_back(h);
  }
  to_sign.headers.insert(to_sign.headers.end(), added.begin(), added.end());

  added.emplace_back("Authorization",
                     AuthorizationHeaderValue(to_sign, c, amz_date, region, service));
  return added;
}

std::string FormatAmzDate(base::TimePoint t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd(day);
  const hh_mm_ss<seconds> hms(secs - day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace cairn::store::s3

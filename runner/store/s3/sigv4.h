// store/s3/sigv4: AWS Signature Version 4 for S3, Authorization-header form only.
//
// The S3 driver describes a request (method, Host, raw path, decoded query, headers to sign,
// payload hash) and SignV4 returns the headers to add: x-amz-date, x-amz-content-sha256,
// x-amz-security-token (with temporary credentials) and Authorization. Payloads are sent in one
// piece, signed (hex SHA-256) or UNSIGNED-PAYLOAD; aws-chunked streaming is never used.
// S3 rules apply: the path is encoded once, segment by segment, and never normalised (a key may
// legitimately contain "//" or "/./"). The building blocks are exposed so the unit tests can check
// each step against the published AWS test vectors. Pure functions, no I/O, no clock access;
// nothing here puts a secret into a string other than the signature itself.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace cairn::store::s3 {

// x-amz-content-sha256 value for a payload that is not hashed.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// SHA-256 of the empty string: the payload hash of a request without a body.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless the credentials are temporary (STS)
};

using Header = std::pair<std::string, std::string>;

struct SigningRequest {
  std::string method;  // "GET"
  // Exactly what goes in the Host header, e.g. "127.0.0.1:8000". Signed as header "host";
  // a "host" entry in `headers` is ignored.
  std::string host;
  // Raw (not encoded) path, e.g. "/bucket/a b/c". The signer encodes each segment and keeps '/'.
  // An empty path signs as "/".
  std::string path;
  // Raw (decoded) query name/value pairs; a value-less parameter ("?uploads") has value "".
  std::vector<Header> query;
  // Extra headers to sign, names in any case; values are trimmed and inner runs of spaces
  // collapsed when canonicalised. Repeated names are joined with ',' in the order given.
  std::vector<Header> headers;
  // Lowercase hex SHA-256 of the body, or kUnsignedPayload.
  std::string payload_sha256 = std::string(kEmptyPayloadSha256);
  // Test-vector harness only: `path` is already the canonical URI and is used verbatim.
  // The S3 driver always leaves this false.
  bool path_is_canonical = false;
};

// RFC 3986 percent-encoding as SigV4 defines it: A-Z a-z 0-9 - . _ ~ are kept, every other byte
// becomes %XX with uppercase hex; '/' is kept unless `encode_slash`.
std::string UriEncode(std::string_view s, bool encode_slash);

// The canonical URI of `r`: UriEncode(path, false), "/" when empty, a leading '/' added if absent.
std::string CanonicalUri(const SigningRequest& r);

// Names and values UriEncode'd (slash encoded), sorted by name then value, "a=1&b=&c=3".
std::string CanonicalQueryString(const std::vector<Header>& query);

// The canonical request over Host plus r.headers (nothing is added here: SignV4 adds its own
// x-amz-* headers before calling this). Sets *signed_headers_out ("host;x-amz-date") if non-null.
std::string CanonicalRequest(const SigningRequest& r, std::string* signed_headers_out);

// "20150830/us-east-1/s3/aws4_request".
std::string CredentialScope(std::string_view date8, std::string_view region,
                            std::string_view service);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical_request>".
std::string StringToSign(std::string_view canonical_request, std::string_view amz_date,
                         std::string_view scope);

// HMAC chain "AWS4"+secret → date → region → service → "aws4_request"; raw 32 bytes.
std::string SigningKey(std::string_view secret, std::string_view date8, std::string_view region,
                       std::string_view service);

// The Authorization header value for `r` exactly as given (Host plus r.headers, which must
// already contain x-amz-date and anything else to be signed), at `amz_date` (16 characters,
// "20150830T123600Z"). Used by SignV4 and by the test-vector harness. The optional outputs
// receive the intermediate canonical request and string to sign.
std::string AuthorizationHeaderValue(const SigningRequest& r, const Credentials& c,
                                     std::string_view amz_date, std::string_view region,
                                     std::string_view service,
                                     std::string* canonical_request_out = nullptr,
                                     std::string* string_to_sign_out = nullptr);

// Signs `r` at `now` and returns the headers the caller must add to the request, in this order:
// x-amz-date, x-amz-content-sha256 (= r.payload_sha256), x-amz-security-token (only with a
// session token; it is signed), Authorization. All but Authorization are signed. Entries of
// r.headers with those names are dropped: the caller must not send its own.
std::vector<Header> SignV4(const SigningRequest& r, const Credentials& c, std::string_view region,
                           std::string_view service, base::TimePoint now);

// "20150830T123600Z" (UTC, seconds precision, sub-seconds truncated).
std::string FormatAmzDate(base::TimePoint t);

}  // namespace cairn::store::s3

// Tests for store/s3/sigv4: the published AWS SigV4 test suite (tests/data/sigv4, see its
// README for provenance), the S3 examples from the AWS S3 API reference ("Signature Calculations
// for the Authorization Header: Transferring Payload in a Single Chunk"), and the S3-specific
// rules: single encoding without normalisation, UNSIGNED-PAYLOAD, signed session tokens.
#include "store/s3/sigv4.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/hash.h"

namespace cairn::store::s3 {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string StripCr(std::string s) {
  std::erase(s, '\r');
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A parsed .req file: "METHOD target HTTP/1.1", "Name:value" lines, optional blank line + body.
struct VectorRequest {
  SigningRequest request;
  std::string amz_date;
};

VectorRequest ParseReq(const std::string& text) {
  VectorRequest v;
  std::string head = text;
  std::string body;
  if (size_t blank = text.find("\n\n"); blank != std::string::npos) {
    head = text.substr(0, blank);
    body = text.substr(blank + 2);
  }
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  // The target may contain spaces ("GET /example space/ HTTP/1.1").
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  v.request.method = line.substr(0, first);
  std::string target = line.substr(first + 1, last - first - 1);
  if (size_t q = target.find('?'); q != std::string::npos) {
    std::istringstream params(target.substr(q + 1));
    target.resize(q);
    std::string param;
    while (std::getline(params, param, '&')) {
      const size_t eq = param.find('=');
      const std::string value = eq == std::string::npos ? "" : param.substr(eq + 1);
      v.request.query.emplace_back(PercentDecode(param.substr(0, eq)), PercentDecode(value));
    }
  }
  v.request.path = target;
  while (std::getline(lines, line)) {
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "host") {
      v.request.host = value;
    } else {
      if (lower == "x-amz-date") v.amz_date = value;
      v.request.headers.emplace_back(name, value);
    }
  }
  v.request.payload_sha256 = io::Sha256Hex(body);
  return v;
}

class AwsTestSuite : public testing::TestWithParam<const char*> {};

TEST_P(AwsTestSuite, MatchesCanonicalRequestStringToSignAndAuthorization) {
  const std::string name = GetParam();
  const std::string base = std::string(CAIRN_TEST_DATA) + "/sigv4/" + name + "/" + name;
  const std::string req = StripCr(ReadFile(base + ".req"));
  ASSERT_FALSE(req.empty()) << "missing " << base << ".req";
  const VectorRequest v = ParseReq(req);
  ASSERT_EQ(v.amz_date, "20150830T123600Z");

  const Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  std::string creq;
  std::string sts;
  const std::string authz =
      AuthorizationHeaderValue(v.request, creds, v.amz_date, "us-east-1", "service", &creq, &sts);
  EXPECT_EQ(creq, StripCr(ReadFile(base + ".creq")));
  EXPECT_EQ(CanonicalRequest(v.request, nullptr), creq);
  EXPECT_EQ(sts, StripCr(ReadFile(base + ".sts")));
  EXPECT_EQ(StringToSign(creq, v.amz_date, "20150830/us-east-1/service/aws4_request"), sts);
  EXPECT_EQ(authz, StripCr(ReadFile(base + ".authz")));
}

// Path-normalisation cases (get-relative, get-relative-relative, get-slash, get-slash-dot-slash,
// get-slash-pointless-dot, get-slashes) are deliberately absent: S3 signs the path as sent.
INSTANTIATE_TEST_SUITE_P(
    Vectors, AwsTestSuite,
    testing::Values("get-header-key-duplicate", "get-header-value-order", "get-header-value-trim",
                    "get-space", "get-unreserved", "get-utf8", "get-vanilla",
                    "get-vanilla-empty-query-key", "get-vanilla-query",
                    "get-vanilla-query-order-key", "get-vanilla-query-order-key-case",
                    "get-vanilla-query-order-value", "get-vanilla-query-unreserved",
                    "get-vanilla-utf8-query", "post-header-key-case", "post-header-key-sort",
                    "post-header-value-case", "post-sts-header-after", "post-sts-header-before",
                    "post-vanilla", "post-vanilla-empty-query-value", "post-vanilla-query",
                    "post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters"),
    [](const testing::TestParamInfo<const char*>& info) {
      std::string n = info.param;
      for (char& c : n) {
        if (c == '-') c = '_';
      }
      return n;
    });

// --- The S3 API reference examples: examplebucket, 20130524T000000Z, us-east-1. ---

const Credentials kS3DocCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                              ""};
const base::TimePoint kS3DocTime = sys_days{std::chrono::year{2013} / 5 / 24};

std::string Expected(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
         "SignedHeaders=" +
         std::string(signed_headers) + ", Signature=" + std::string(signature);
}

// The canonical request SignV4 signed: the request plus the signed headers it returned.
SigningRequest WithSignerHeaders(SigningRequest r, const std::vector<Header>& added) {
  for (const Header& h : added) {
    if (h.first != "Authorization") r.headers.push_back(h);
  }
  return r;
}

TEST(SigV4S3Docs, GetObjectWithRange) {
  SigningRequest r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  const auto added = SignV4(r, kS3DocCreds, "us-east-1", "s3", kS3DocTime);
  ASSERT_EQ(added.size(), 3u);
  EXPECT_EQ(added[0], Header("x-amz-date", "20130524T000000Z"));
  EXPECT_EQ(added[1], Header("x-amz-content-sha256", std::string(kEmptyPayloadSha256)));
  EXPECT_EQ(added[2].first, "Authorization");
  EXPECT_EQ(added[2].second,
            Expected("host;range;x-amz-content-sha256;x-amz-date",
                     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
  const std::string creq = CanonicalRequest(WithSignerHeaders(r, added), nullptr);
  EXPECT_EQ(
      creq,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(StringToSign(creq, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request"),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
}

TEST(SigV4S3Docs, PutObject) {
  SigningRequest r;
  r.method = "PUT";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test$file.text";
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  r.payload_sha256 = io::Sha256Hex("Welcome to Amazon S3.");
  ASSERT_EQ(r.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const auto added = SignV4(r, kS3DocCreds, "us-east-1", "s3", kS3DocTime);
  EXPECT_EQ(added.back().second,
            Expected("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
  const std::string creq = CanonicalRequest(WithSignerHeaders(r, added), nullptr);
  EXPECT_EQ(creq.substr(0, 23), "PUT\n/test%24file.text\n\n");
  EXPECT_EQ(io::Sha256Hex(creq),
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
}

TEST(SigV4S3Docs, GetBucketLifecycle) {
  SigningRequest r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/";
  r.query = {{"lifecycle", ""}};
  const auto added = SignV4(r, kS3DocCreds, "us-east-1", "s3", kS3DocTime);
  EXPECT_EQ(added.back().second,
            Expected("host;x-amz-content-sha256;x-amz-date",
                     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
  const std::string creq = CanonicalRequest(WithSignerHeaders(r, added), nullptr);
  EXPECT_EQ(creq.substr(0, 17), "GET\n/\nlifecycle=\n");
  EXPECT_EQ(io::Sha256Hex(creq),
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
}

TEST(SigV4S3Docs, ListObjects) {
  SigningRequest r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "";  // "GET ?max-keys=2&prefix=J": an empty path signs as "/"
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // order on the wire does not matter
  const auto added = SignV4(r, kS3DocCreds, "us-east-1", "s3", kS3DocTime);
  EXPECT_EQ(added.back().second,
            Expected("host;x-amz-content-sha256;x-amz-date",
                     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
  const std::string creq = CanonicalRequest(WithSignerHeaders(r, added), nullptr);
  EXPECT_EQ(creq.substr(0, 26), "GET\n/\nmax-keys=2&prefix=J\n");
  EXPECT_EQ(io::Sha256Hex(creq),
            "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
}

// "Deriving the signing key" example of the AWS general reference.
TEST(SigV4, SigningKeyMatchesPublishedExample) {
  EXPECT_EQ(io::HexEncode(SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                     "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, UnsignedPayloadIsSignedAsTheLiteral) {
  SigningRequest r;
  r.method = "PUT";
  r.host = "127.0.0.1:8000";
  r.path = "/bucket/key";
  r.payload_sha256 = std::string(kUnsignedPayload);
  const Credentials creds{"AKID", "secret", ""};
  const auto added = SignV4(r, creds, "us-east-1", "s3", kS3DocTime);
  ASSERT_EQ(added.size(), 3u);
  EXPECT_EQ(added[1], Header("x-amz-content-sha256", "UNSIGNED-PAYLOAD"));
  std::string signed_headers;
  const SigningRequest full = WithSignerHeaders(r, added);
  const std::string creq = CanonicalRequest(full, &signed_headers);
  EXPECT_EQ(signed_headers, "host;x-amz-content-sha256;x-amz-date");
  EXPECT_NE(creq.find("\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"), std::string::npos);
  EXPECT_TRUE(creq.ends_with("\nUNSIGNED-PAYLOAD"));
  EXPECT_EQ(added[2].second,
            AuthorizationHeaderValue(full, creds, "20130524T000000Z", "us-east-1", "s3"));
}

TEST(SigV4, SessionTokenIsSentAndSigned) {
  SigningRequest r;
  r.method = "GET";
  r.host = "127.0.0.1:8000";
  r.path = "/bucket/key";
  const Credentials plain{"AKID", "secret", ""};
  const Credentials temporary{"AKID", "secret", "the/session+token=="};
  const auto without = SignV4(r, plain, "us-east-1", "s3", kS3DocTime);
  const auto with = SignV4(r, temporary, "us-east-1", "s3", kS3DocTime);
  ASSERT_EQ(with.size(), 4u);
  EXPECT_EQ(with[2], Header("x-amz-security-token", "the/session+token=="));
  EXPECT_NE(with[3].second.find(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
            std::string::npos);
  EXPECT_EQ(with[3].second.find("session"), std::string::npos);  // never in Authorization
  EXPECT_NE(with[3].second, without.back().second);
  EXPECT_EQ(with[3].second, AuthorizationHeaderValue(WithSignerHeaders(r, with), temporary,
                                                     "20130524T000000Z", "us-east-1", "s3"));
}

TEST(SigV4, CallerCopiesOfSignerHeadersAreDropped) {
  SigningRequest r;
  r.method = "GET";
  r.host = "h";
  r.path = "/b/k";
  SigningRequest noisy = r;
  noisy.headers = {
      {"X-Amz-Date", "19990101T000000Z"}, {"Authorization", "x"}, {"x-amz-content-sha256", "y"}};
  const Credentials creds{"AKID", "secret", ""};
  EXPECT_EQ(SignV4(noisy, creds, "r", "s3", kS3DocTime), SignV4(r, creds, "r", "s3", kS3DocTime));
}

TEST(SigV4, UriEncode) {
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b/c");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b%2Fc");
  EXPECT_EQ(UriEncode("AZaz09-._~", true), "AZaz09-._~");
  EXPECT_EQ(UriEncode("+*%=&$@:,;?#[]!'()", true),
            "%2B%2A%25%3D%26%24%40%3A%2C%3B%3F%23%5B%5D%21%27%28%29");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", true), "%E1%88%B4");
  EXPECT_EQ(UriEncode(std::string_view("\0\x7f\xff", 3), true), "%00%7F%FF");
}

TEST(SigV4, CanonicalQueryString) {
  EXPECT_EQ(CanonicalQueryString({}), "");
  EXPECT_EQ(CanonicalQueryString({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQueryString({{"uploadId", "a/b+c"}, {"partNumber", "7"}}),
            "partNumber=7&uploadId=a%2Fb%2Bc");
  EXPECT_EQ(CanonicalQueryString({{"list-type", "2"},
                                  {"prefix", "backups/x y"},
                                  {"continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36="},
                                  {"delimiter", "/"}}),
            "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36%3D&delimiter=%2F&"
            "list-type=2&prefix=backups%2Fx%20y");
  // Sorted on the encoded bytes: '%' (0x25) sorts before letters.
  EXPECT_EQ(CanonicalQueryString({{"b", "1"}, {"\xe1\x88\xb4", "2"}, {"B", "3"}}),
            "%E1%88%B4=2&B=3&b=1");
}

TEST(SigV4, S3PathIsEncodedOnceAndNeverNormalised) {
  SigningRequest r;
  r.method = "GET";
  r.host = "127.0.0.1:8000";
  r.path = "/bucket/a b/./c//d/../%41";
  EXPECT_EQ(CanonicalUri(r), "/bucket/a%20b/./c//d/../%2541");
  r.path = "bucket/key";
  EXPECT_EQ(CanonicalUri(r), "/bucket/key");
  r.path = "/x/%41";
  r.path_is_canonical = true;
  EXPECT_EQ(CanonicalUri(r), "/x/%41");
}

TEST(SigV4, HeadersAreLowercasedTrimmedCollapsedAndMerged) {
  SigningRequest r;
  r.method = "GET";
  r.host = "127.0.0.1:8000";
  r.path = "/";
  r.headers = {{"X-Amz-Meta-B", "  two\t\t words  "},
               {"x-amz-meta-a", "1"},
               {"HOST", "ignored"},
               {"X-AMZ-META-A", " 2 "},
               {"Content-Type", "application/octet-stream"}};
  std::string signed_headers;
  const std::string creq = CanonicalRequest(r, &signed_headers);
  EXPECT_EQ(signed_headers, "content-type;host;x-amz-meta-a;x-amz-meta-b");
  EXPECT_EQ(creq,
            "GET\n/\n\ncontent-type:application/octet-stream\nhost:127.0.0.1:8000\n"
            "x-amz-meta-a:1,2\nx-amz-meta-b:two words\n\n"
            "content-type;host;x-amz-meta-a;x-amz-meta-b\n" +
                std::string(kEmptyPayloadSha256));
}

TEST(SigV4, FormatAmzDate) {
  EXPECT_EQ(FormatAmzDate(sys_days{std::chrono::year{2015} / 8 / 30} + 12h + 36min),
            "20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(sys_days{std::chrono::year{2024} / 2 / 29} + 23h + 59min + 59s + 999ms),
            "20240229T235959Z");
  EXPECT_EQ(FormatAmzDate(base::TimePoint{}), "19700101T000000Z");
}

}  // namespace
}  // namespace cairn::store::s3

// Tests for the s3 driver without an S3 server: endpoint resolution, the mapping of error
// responses to codes and messages, what Send puts on the wire (checked against a scripted
// server on 127.0.0.1, re-verifying the SigV4 signature from the captured bytes), and where
// credentials come from.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../http/scripted_server.h"
#include "base/log.h"
#include "io/hash.h"
#include "store/s3/credentials.h"
#include "store/s3/s3_store.h"
#include "store/s3/sigv4.h"

namespace cairn::store {
namespace {

using namespace std::chrono_literals;
using base::Code;
using testing::Reply;
using testing::RequestHeader;
using testing::RequestLine;
using testing::ScriptedServer;

bool Has(std::string_view s, std::string_view sub) { return s.find(sub) != s.npos; }

constexpr char kKeyId[] = "AKIDCAIRNTEST";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYcairnSECRET";

// --- ResolveEndpoint ---

S3Options EndpointOptions(std::string endpoint, std::string region, std::string oss_network,
                          int path_style) {  // path_style: -1 unset, 0 false, 1 true
  S3Options o;
  o.endpoint = std::move(endpoint);
  o.region = std::move(region);
  o.oss_network = std::move(oss_network);
  if (path_style >= 0) o.path_style = path_style == 1;
  return o;
}

TEST(ResolveEndpointTest, Table) {
  struct Case {
    std::string endpoint, region, oss_network;
    int path_style;
    std::string want;  // "<scheme>://<host> path|vhost"
  };
  for (const Case& c : std::vector<Case>{
           {"", "eu-west-1", "", -1, "https://s3.eu-west-1.amazonaws.com vhost"},
           {"", "us-east-1", "", 1, "https://s3.us-east-1.amazonaws.com path"},
           {"http://127.0.0.1:9000", "us-east-1", "", -1, "http://127.0.0.1:9000 path"},
           {"https://minio.example:9443", "x", "", 0, "https://minio.example:9443 vhost"},
           {"https://rgw.example:443/", "x", "", -1, "https://rgw.example path"},
           {"http://rgw.example:80", "x", "", -1, "http://rgw.example path"},
           {"https://rgw.example:80", "x", "", -1, "https://rgw.example:80 path"},
           {"", "cn-hangzhou", "internal", -1,
            "https://oss-cn-hangzhou-internal.aliyuncs.com vhost"},
           {"", "oss-cn-shanghai", "public", -1, "https://oss-cn-shanghai.aliyuncs.com vhost"},
           {"https://oss-cn-beijing.aliyuncs.com", "x", "internal", -1,
            "https://oss-cn-beijing-internal.aliyuncs.com vhost"},
           {"https://oss-cn-beijing-internal.aliyuncs.com", "x", "public", -1,
            "https://oss-cn-beijing.aliyuncs.com vhost"},
           {"https://oss-cn-beijing.aliyuncs.com", "x", "", -1,
            "https://oss-cn-beijing.aliyuncs.com vhost"}}) {
    SCOPED_TRACE("endpoint '" + c.endpoint + "' region " + c.region + " oss " + c.oss_network);
    auto ep = ResolveEndpoint(EndpointOptions(c.endpoint, c.region, c.oss_network, c.path_style));
    ASSERT_TRUE(ep.ok()) << ep.status().message();
    EXPECT_EQ(ep->scheme + "://" + ep->host + (ep->path_style ? " path" : " vhost"), c.want);
  }
}

TEST(ResolveEndpointTest, RejectsWhatCannotWork) {
  struct Case {
    std::string endpoint, region, oss_network;
    int path_style;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"", "cn-hangzhou", "internal", 1, "alibaba oss does not accept path-style"},
           {"https://oss-cn-beijing.aliyuncs.com", "x", "", 1, "path-style"},
           {"ftp://files.example", "x", "", -1, "endpoint 'ftp://files.example' must start with"},
           {"minio:9000", "x", "", -1, "endpoint 'minio:9000' must start with http://"},
           {"http://h:9000/bucket", "x", "", -1, "endpoint 'http://h:9000/bucket' must be"},
           {"https://", "x", "", -1, "endpoint 'https://'"},
           {"", "cn-hangzhou", "intranet", -1, "oss_network must be 'internal' or 'public'"},
           {"", "", "", -1, "no endpoint and no region"}}) {
    auto ep = ResolveEndpoint(EndpointOptions(c.endpoint, c.region, c.oss_network, c.path_style));
    ASSERT_FALSE(ep.ok()) << c.endpoint;
    EXPECT_EQ(ep.status().code(), Code::kInvalidArgument);
    EXPECT_TRUE(Has(ep.status().message(), c.want)) << ep.status().message();
  }
}

TEST(S3StoreCreateTest, ValidatesOptionsWithoutNetwork) {
  S3Options o;
  o.endpoint = "http://127.0.0.1:1";
  auto no_bucket = S3Store::Create(o);
  ASSERT_FALSE(no_bucket.ok());
  EXPECT_EQ(no_bucket.status().message(), "no bucket given");
  o.bucket = "b";
  o.part_size = 1u << 20;
  auto small = S3Store::Create(o);
  ASSERT_FALSE(small.ok());
  EXPECT_TRUE(Has(small.status().message(), "at least 5 MiB"));
  o.part_size = 5u << 20;
  auto ok = S3Store::Create(o);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)->Describe(), "s3://b (endpoint http://127.0.0.1:1)");
}

// --- ResponseError ---

std::string ErrorXml(const std::string& code, const std::string& message,
                     const std::string& request_id = "") {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code +
                  "</Code><Message>" + message + "</Message><Resource>/b/k</Resource>";
  if (!request_id.empty()) x += "<RequestId>" + request_id + "</RequestId>";
  return x + "<HostId>host</HostId></Error>";
}

http::Response Resp(long status, std::string body, std::vector<http::Header> headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class ResponseErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    S3Options o;
    o.bucket = "b";
    o.endpoint = "http://127.0.0.1:1";  // Create does no network I/O
    auto s = S3Store::Create(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  Status Err(const http::Response& r) { return store_->ResponseError(kWhat, r); }
  static constexpr char kWhat[] = "unable to put 'k' in bucket 'b'";
  std::unique_ptr<S3Store> store_;
};

TEST_F(ResponseErrorTest, MessageFormat) {
  Status st = Err(Resp(403, ErrorXml("AccessDenied", "Access Denied", "XYZ")));
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(st.message(),
            "unable to put 'k' in bucket 'b': s3: service returned error: StatusCode=403, "
            "ErrorCode=AccessDenied, ErrorMessage=\"Access Denied\", RequestId=XYZ");
  EXPECT_EQ(st.hint(), "");
}

TEST_F(ResponseErrorTest, CodeTable) {
  struct Case {
    long status;
    std::string error_code;
    Code want;
    std::string hint;
  };
  for (const Case& c : std::vector<Case>{
           {403, "AccessDenied", Code::kPermissionDenied, ""},
           {403, "SignatureDoesNotMatch", Code::kUnauthenticated, "check the secret key"},
           {403, "InvalidAccessKeyId", Code::kUnauthenticated, ""},
           {400, "ExpiredToken", Code::kUnauthenticated, ""},
           {400, "InvalidToken", Code::kUnauthenticated, ""},
           {404, "NoSuchBucket", Code::kNotFound, "create bucket 'b' or fix the url"},
           {404, "NoSuchKey", Code::kNotFound, ""},
           {404, "NoSuchUpload", Code::kNotFound, ""},
           {403, "RequestTimeTooSkewed", Code::kFailedPrecondition, "synchronise"},
           {403, "InvalidObjectState", Code::kFailedPrecondition, ""},
           {412, "PreconditionFailed", Code::kAlreadyExists, ""},
           {503, "SlowDown", Code::kUnavailable, ""},
           {500, "InternalError", Code::kUnavailable, ""},
           {429, "TooManyRequests", Code::kUnavailable, ""},
           {400, "MalformedXML", Code::kInvalidArgument, ""},
           {400, "InvalidArgument", Code::kInvalidArgument, ""}}) {
    Status st = Err(Resp(c.status, ErrorXml(c.error_code, "m")));
    EXPECT_EQ(st.code(), c.want) << c.error_code << ": " << base::CodeName(st.code());
    EXPECT_TRUE(Has(st.message(),
                    "StatusCode=" + std::to_string(c.status) + ", ErrorCode=" + c.error_code + ","))
        << st.message();
    EXPECT_EQ(st.hint().empty(), c.hint.empty()) << c.error_code << ": " << st.hint();
    EXPECT_TRUE(Has(st.hint(), c.hint)) << c.error_code << ": " << st.hint();
  }
}

TEST_F(ResponseErrorTest, EmptyBodyGetsACodeFromTheStatus) {
  struct Case {
    long status;
    std::string error_code;
    Code want;
  };
  for (const Case& c : std::vector<Case>{{404, "NotFound", Code::kNotFound},
                                         {403, "Forbidden", Code::kPermissionDenied},
                                         {412, "PreconditionFailed", Code::kAlreadyExists},
                                         {400, "BadRequest", Code::kInvalidArgument},
                                         {503, "HTTP503", Code::kUnavailable}}) {
    Status st = Err(Resp(c.status, "", {{"x-amz-request-id", "HDRID"}}));
    EXPECT_EQ(st.code(), c.want) << c.status;
    EXPECT_EQ(st.message(), std::string(kWhat) + ": s3: service returned error: StatusCode=" +
                                std::to_string(c.status) + ", ErrorCode=" + c.error_code +
                                ", ErrorMessage=\"\", RequestId=HDRID");
  }
  Status moved = Err(Resp(301, ""));
  EXPECT_TRUE(Has(moved.message(), "ErrorCode=PermanentRedirect"));
  EXPECT_EQ(moved.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Has(moved.hint(), "another region"));
}

TEST_F(ResponseErrorTest, RequestIdFromBodyElseHeader) {
  const std::vector<http::Header> hdr = {{"x-amz-request-id", "FROMHDR"}};
  EXPECT_TRUE(Err(Resp(403, ErrorXml("E", "m"), hdr)).message().ends_with("RequestId=FROMHDR"));
  EXPECT_TRUE(
      Err(Resp(403, ErrorXml("E", "m", "BODY"), hdr)).message().ends_with("RequestId=BODY"));
}

TEST_F(ResponseErrorTest, NonXmlBodyFromAProxy) {
  Status st = Err(Resp(502, "<html><body>Bad Gateway</body></html>"));
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_TRUE(Has(st.message(), "StatusCode=502, ErrorCode=HTTP502")) << st.message();
}

TEST_F(ResponseErrorTest, NamesTheAttemptsAfterRetries) {
  http::Response r = Resp(503, ErrorXml("SlowDown", "Please reduce your request rate.", "R3"));
  r.attempts = 3;
  r.attempt_log = {"attempt 1: HTTP 503", "attempt 2: HTTP 503", "attempt 3: HTTP 503"};
  Status st = Err(r);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(st.message(),
            std::string(kWhat) +
                ": s3: service returned error: StatusCode=503, ErrorCode=SlowDown, "
                "ErrorMessage=\"Please reduce your request rate.\", RequestId=R3 (after 3 "
                "attempts: attempt 1: HTTP 503; attempt 2: HTTP 503; attempt 3: HTTP 503)");
  r.attempts = 1;
  r.attempt_log.clear();
  EXPECT_FALSE(Has(Err(r).message(), "attempts"));
}

// --- Send, through a scripted server ---

class S3SendTest : public ::testing::Test {
 protected:
  std::unique_ptr<S3Store> NewStore(const std::string& endpoint, S3Options o = {}) {
    o.bucket = "bucket";
    o.endpoint = endpoint;
    o.region = "us-east-1";
    o.credentials = {kKeyId, kSecret, ""};
    auto s = S3Store::Create(o, clock_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Recomputes the SigV4 Authorization of a captured request from its own bytes, with the Host
  // it carries; equal only when what was signed is what was sent.
  static void ExpectVerifies(const std::string& req, const std::string& raw_path,
                             std::vector<s3::Header> query = {}) {
    std::string auth = RequestHeader(req, "authorization");
    size_t sh = auth.find("SignedHeaders=");
    ASSERT_NE(sh, std::string::npos) << auth;
    std::string names = auth.substr(sh + 14, auth.find(',', sh) - sh - 14);
    EXPECT_TRUE(Has(";" + names + ";", ";host;")) << names;
    s3::SigningRequest sr;
    std::string line = RequestLine(req);
    sr.method = line.substr(0, line.find(' '));
    sr.host = RequestHeader(req, "host");
    sr.path = raw_path;
    sr.query = std::move(query);
    sr.payload_sha256 = RequestHeader(req, "x-amz-content-sha256");
    for (size_t b = 0; b < names.size();) {
      size_t e = std::min(names.find(';', b), names.size());
      std::string name = names.substr(b, e - b);
      if (name != "host") sr.headers.emplace_back(name, RequestHeader(req, name));
      b = e + 1;
    }
    std::string date = RequestHeader(req, "x-amz-date");
    EXPECT_EQ(auth,
              s3::AuthorizationHeaderValue(sr, {kKeyId, kSecret, ""}, date, "us-east-1", "s3"));
  }

  base::FakeClock clock_{std::chrono::sys_days{std::chrono::September / 21 / 2026} + 12h};
};

TEST_F(S3SendTest, PathStyleRequestIsSignedForTheHostItSends) {
  ScriptedServer server({Reply(200)});
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  auto r = store->Send({"PUT", "dir/key with space", {}, {{"Content-Type", "text/plain"}}, "hi"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const std::string& req = reqs[0];
  EXPECT_EQ(RequestLine(req), "PUT /bucket/dir/key%20with%20space HTTP/1.1");
  EXPECT_EQ(RequestHeader(req, "host"), server.host());
  EXPECT_EQ(RequestHeader(req, "x-amz-date"), "20260921T120000Z");
  EXPECT_EQ(RequestHeader(req, "x-amz-content-sha256"), io::Sha256Hex("hi"));
  EXPECT_EQ(RequestHeader(req, "authorization")
                .rfind("AWS4-HMAC-SHA256 Credential=AKIDCAIRNTEST/20260921/us-east-1/s3/"
                       "aws4_request, SignedHeaders=",
                       0),
            0u);
  ExpectVerifies(req, "/bucket/dir/key with space");
  EXPECT_FALSE(Has(req, kSecret));
}

TEST_F(S3SendTest, EveryAttemptIsSignedAfresh) {
  ScriptedServer server({Reply(503, {{"Retry-After", "2"}}), Reply(200)});
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  auto r = store->Send({"GET", "k", {}, {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->attempts, 2);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(RequestHeader(reqs[0], "x-amz-date"), "20260921T120000Z");
  EXPECT_NE(RequestHeader(reqs[1], "x-amz-date"), "20260921T120000Z");  // 2 s later
  for (const auto& req : reqs) {
    ExpectVerifies(req, "/bucket/k");
    EXPECT_FALSE(Has(req, kSecret));
  }
}

TEST_F(S3SendTest, ListQueryIsSigned) {
  ScriptedServer server(
      {Reply(200, {},
             "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a b/x</Key>"
             "<Size>3</Size><ETag>\"e\"</ETag></Contents></ListBucketResult>")});
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  auto all = store->ListAll({"a b/", "", 1000});
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key, "a b/x");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(RequestLine(reqs[0]), "GET /bucket?list-type=2&max-keys=1000&prefix=a%20b%2F HTTP/1.1");
  ExpectVerifies(reqs[0], "/bucket",
                 {{"list-type", "2"}, {"max-keys", "1000"}, {"prefix", "a b/"}});
}

TEST_F(S3SendTest, VirtualHostedStylePutsTheBucketInTheHost) {
  ScriptedServer server({Reply(200)});
  ASSERT_TRUE(server.ok());
  S3Options o;
  o.path_style = false;
  // curl resolves every *.localhost name to the loopback address itself.
  auto store = NewStore("http://localhost:" + std::to_string(server.port()), o);
  ASSERT_TRUE(store);
  auto r = store->Send({"GET", "k/v", {}, {}, {}});
  if (!r.ok()) GTEST_SKIP() << "bucket.localhost does not resolve here: " << r.status().message();
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(RequestLine(reqs[0]), "GET /k/v HTTP/1.1");
  EXPECT_EQ(RequestHeader(reqs[0], "host"), "bucket.localhost:" + std::to_string(server.port()));
  ExpectVerifies(reqs[0], "/k/v");
}

TEST_F(S3SendTest, ConditionalPutAndItsOutcomes) {
  ScriptedServer server({Reply(412), Reply(400, {}, ErrorXml("RequestTimeout", "slow")), Reply(200),
                         Reply(403, {}, ErrorXml("AccessDenied", "Access Denied", "RID"))});
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  PutOptions create;
  create.if_none_match = true;
  Status exists = store->Put("k", "v", create);
  EXPECT_EQ(exists.code(), Code::kAlreadyExists) << exists.message();
  EXPECT_EQ(exists.message(), "object 'k' already exists");
  // 400 RequestTimeout is transient for S3 although it is a 4xx.
  EXPECT_TRUE(store->Put("k", "v", {}).ok());
  Status denied = store->Put("k", "v", {});
  EXPECT_EQ(denied.code(), Code::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "unable to put 'k' in bucket 'bucket': s3: service returned error: StatusCode=403, "
            "ErrorCode=AccessDenied, ErrorMessage=\"Access Denied\", RequestId=RID");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(RequestHeader(reqs[0], "if-none-match"), "*");
  ExpectVerifies(reqs[0], "/bucket/k");
  EXPECT_EQ(RequestHeader(reqs[1], "if-none-match"), "");
}

TEST_F(S3SendTest, SlowDownUntilRetriesRunOut) {
  auto slow = Reply(503, {}, ErrorXml("SlowDown", "Please reduce your request rate.", "S1"));
  ScriptedServer server({slow, slow});
  ASSERT_TRUE(server.ok());
  S3Options o;
  o.http.retry.max_attempts = 2;
  auto store = NewStore(server.url(), o);
  ASSERT_TRUE(store);
  Status put = store->Put("k", "v", {});
  EXPECT_EQ(put.code(), Code::kUnavailable);
  EXPECT_EQ(put.message(),
            "unable to put 'k' in bucket 'bucket': s3: service returned error: StatusCode=503, "
            "ErrorCode=SlowDown, ErrorMessage=\"Please reduce your request rate.\", RequestId=S1 "
            "(after 2 attempts: attempt 1: HTTP 503; attempt 2: HTTP 503)");
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(S3SendTest, ClockSkewFromTheDateHeader) {
  ScriptedServer server({Reply(200, {{"Date", "Mon, 21 Sep 2026 12:02:00 GMT"}})});
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->ObservedClockSkew(), std::nullopt);
  ASSERT_TRUE(store->Send({"HEAD", "k", {}, {}, {}}).ok());
  EXPECT_EQ(store->ObservedClockSkew(), std::optional<std::chrono::seconds>(120s));
}

// --- Credentials ---

TEST(ParseCredentialsFileTest, ProfilesCommentsAndSpacing) {
  const std::string text =
      "# shared credentials\n"
      "; another comment\n"
      "\n"
      "[default]\n"
      "aws_access_key_id=AKIDDEFAULT\n"
      "  aws_secret_access_key =   defaultsecret1  \n"
      "[prod]\r\n"
      "aws_access_key_id = AKIDPROD\r\n"
      "aws_secret_access_key = prodsecret12\r\n"
      "aws_session_token = prodtoken123\r\n"
      "[profile staging]\n"
      "aws_access_key_id = AKIDSTAGING\n"
      "aws_secret_access_key = stagingsecret\n"
      "region = eu-west-1\n";
  auto d = s3::ParseCredentialsFile(text, "default", "creds");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(d->secret_access_key, "defaultsecret1");
  EXPECT_EQ(d->session_token, "");
  auto p = s3::ParseCredentialsFile(text, "prod", "creds");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->access_key_id, "AKIDPROD");
  EXPECT_EQ(p->secret_access_key, "prodsecret12");
  EXPECT_EQ(p->session_token, "prodtoken123");
  auto s = s3::ParseCredentialsFile(text, "staging", "creds");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->access_key_id, "AKIDSTAGING");
  auto missing = s3::ParseCredentialsFile(text, "qa", "/etc/cairn/creds");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "/etc/cairn/creds: no profile 'qa'");
}

TEST(ParseCredentialsFileTest, ErrorsNameTheFileButNeverAValue) {
  struct Case {
    std::string text, want;
  };
  for (const Case& c :
       std::vector<Case>{{"[default]\naws_secret_access_key = topsecretvalue1\n",
                          "/c: profile 'default' lacks aws_access_key_id or aws_secret_access_key"},
                         {"[default]\naws_access_key_id = AKID\n",
                          "/c: profile 'default' lacks aws_access_key_id or aws_secret_access_key"},
                         {"# c\n\n[default\naws_secret_access_key = topsecretvalue1\n",
                          "/c:3: malformed section header"},
                         {"[default]\naws_access_key_id = AKID\ntopsecretvalue1\n",
                          "/c:3: expected 'key = value'"}}) {
    auto r = s3::ParseCredentialsFile(c.text, "default", "/c");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.want);
    EXPECT_FALSE(Has(r.status().ToString(), "topsecretvalue1"));
  }
}

TEST(ParseCredentialsFileTest, LoadedSecretsAreRedacted) {
  auto c = s3::ParseCredentialsFile(
      "[default]\naws_access_key_id=AKID\naws_secret_access_key=redactme-secret-42\n"
      "aws_session_token=redactme-token-42\n",
      "default", "f");
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::string out = base::Redact("key redactme-secret-42 token redactme-token-42 id AKID");
  EXPECT_FALSE(Has(out, "redactme-secret-42")) << out;
  EXPECT_FALSE(Has(out, "redactme-token-42")) << out;
  EXPECT_TRUE(Has(out, "[REDACTED]")) << out;
}

class LoadCredentialsTest : public ::testing::Test {
 protected:
  static constexpr const char* kVars[] = {"AWS_ACCESS_KEY_ID",           "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN",           "AWS_PROFILE",
                                          "AWS_SHARED_CREDENTIALS_FILE", "HOME"};
  void SetUp() override {
    for (const char* v : kVars) {
      const char* old = getenv(v);
      if (old) saved_[v] = old;
      unsetenv(v);
    }
    char tmpl[] = "/tmp/cairn-creds-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    setenv("HOME", dir_.c_str(), 1);  // no ~/.aws/credentials unless a test writes one
  }
  void TearDown() override {
    for (const char* v : kVars) unsetenv(v);
    for (const auto& [k, v] : saved_) setenv(k.c_str(), v.c_str(), 1);
    std::filesystem::remove_all(dir_);
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(dir_ + "/" + name).parent_path());
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }
  static std::string Profile(const std::string& name, const std::string& id) {
    return "[" + name + "]\naws_access_key_id = " + id + "\naws_secret_access_key = " + id +
           "-secret\n";
  }
  void SetEnvKeys() {
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret-1234", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken-1234", 1);
  }
  std::map<std::string, std::string> saved_;
  std::string dir_;
};

TEST_F(LoadCredentialsTest, ExplicitFileBeatsEnvironment) {
  SetEnvKeys();
  std::string file = Write("explicit", Profile("default", "AKIDFILE"));
  std::string where;
  auto c = s3::LoadCredentials({file, ""}, &where);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key_id, "AKIDFILE");
  EXPECT_EQ(c->session_token, "");
  EXPECT_EQ(where, "file " + file + " (profile default)");
}

TEST_F(LoadCredentialsTest, EnvironmentBeatsSharedFile) {
  SetEnvKeys();
  setenv("AWS_SHARED_CREDENTIALS_FILE", Write("shared", Profile("default", "AKIDSHARED")).c_str(),
         1);
  std::string where;
  auto c = s3::LoadCredentials({}, &where);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key, "envsecret-1234");
  EXPECT_EQ(c->session_token, "envtoken-1234");
  EXPECT_EQ(where, "environment");
  EXPECT_FALSE(Has(base::Redact("envsecret-1234 envtoken-1234"), "env"));
}

TEST_F(LoadCredentialsTest, SharedFileWithProfileSelection) {
  std::string shared =
      Write("shared", Profile("default", "AKIDDEF") + Profile("profile prod", "AKIDPROD") +
                          Profile("qa", "AKIDQA"));
  setenv("AWS_SHARED_CREDENTIALS_FILE", shared.c_str(), 1);
  std::string where;
  auto def = s3::LoadCredentials({}, &where);
  ASSERT_TRUE(def.ok()) << def.status().message();
  EXPECT_EQ(def->access_key_id, "AKIDDEF");
  setenv("AWS_PROFILE", "prod", 1);
  auto prod = s3::LoadCredentials({}, &where);
  ASSERT_TRUE(prod.ok()) << prod.status().message();
  EXPECT_EQ(prod->access_key_id, "AKIDPROD");
  EXPECT_EQ(where, "file " + shared + " (profile prod)");
  auto qa = s3::LoadCredentials({"", "qa"}, &where);  // the config's profile beats AWS_PROFILE
  ASSERT_TRUE(qa.ok()) << qa.status().message();
  EXPECT_EQ(qa->access_key_id, "AKIDQA");
}

TEST_F(LoadCredentialsTest, HomeFileIsTheLastResort) {
  std::string where;
  auto none = s3::LoadCredentials({}, &where);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Has(none.status().message(), "no s3 credentials"));
  std::string home = Write(".aws/credentials", Profile("default", "AKIDHOME"));
  auto c = s3::LoadCredentials({}, &where);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key_id, "AKIDHOME");
  EXPECT_EQ(where, "file " + home + " (profile default)");
}

TEST_F(LoadCredentialsTest, Errors) {
  std::string where = "unchanged";
  auto missing = s3::LoadCredentials({dir_ + "/nope", ""}, &where);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "credentials file '" + dir_ + "/nope' cannot be read");
  EXPECT_EQ(where, "unchanged");
  setenv("AWS_ACCESS_KEY_ID", "AKIDONLY", 1);
  auto half = s3::LoadCredentials({}, &where);
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().message(), "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
}

}  // namespace
}  // namespace cairn::store

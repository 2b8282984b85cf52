// Tests for kube/errors: the reason → code table, the message format (operation, object,
// reason, server message), and bodies that are not a metav1.Status.
#include "kube/errors.h"

#include <gtest/gtest.h>

#include "kube/paths.h"

namespace cairn::kube {
namespace {

using base::Code;

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  nlohmann::json j = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"code", code}};
  if (!reason.empty()) j["reason"] = reason;
  return j.dump();
}

TEST(ApiErrorTest, ReasonTable) {
  struct Row {
    int http;
    const char* reason;
    Code code;
  };
  const Row rows[] = {
      {404, "NotFound", Code::kNotFound},
      {409, "AlreadyExists", Code::kAlreadyExists},
      {409, "Conflict", Code::kConflict},
      {403, "Forbidden", Code::kPermissionDenied},
      {401, "Unauthorized", Code::kUnauthenticated},
      {422, "Invalid", Code::kInvalidArgument},
      {400, "BadRequest", Code::kInvalidArgument},
      {415, "UnsupportedMediaType", Code::kInvalidArgument},
      {429, "TooManyRequests", Code::kUnavailable},
      {503, "ServiceUnavailable", Code::kUnavailable},
      {500, "InternalError", Code::kUnavailable},
      {500, "ServerTimeout", Code::kUnavailable},
      {504, "Timeout", Code::kDeadlineExceeded},
      {410, "Gone", Code::kFailedPrecondition},
      {410, "Expired", Code::kFailedPrecondition},
      // No reason: the HTTP status decides.
      {404, "", Code::kNotFound},
      {403, "", Code::kPermissionDenied},
      {401, "", Code::kUnauthenticated},
      {409, "", Code::kConflict},
      {410, "", Code::kFailedPrecondition},
      {418, "", Code::kInvalidArgument},
      {502, "", Code::kUnavailable},
      {504, "", Code::kDeadlineExceeded},
      {500, "SomethingNew", Code::kUnavailable},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(CodeForReason(row.reason, row.http), row.code) << row.http << " " << row.reason;
    auto s = ApiError("get", "x", row.http, StatusBody(row.http, row.reason, "m"));
    EXPECT_EQ(s.code(), row.code) << row.http << " " << row.reason;
  }
}

TEST(ApiErrorTest, MessageNamesObjectNamespaceAndReason) {
  ResourceRef cm{"", "v1", "configmaps", true};
  auto s = ApiError("get", DescribeObject(cm, "shop", "x"), 404,
                    StatusBody(404, "NotFound", "configmaps \"x\" not found"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(),
            "unable to get configmaps \"x\" in namespace \"shop\": NotFound: configmaps \"x\" not "
            "found");
}

TEST(ApiErrorTest, ForbiddenListNamesTheResource) {
  ResourceRef secrets{"", "v1", "secrets", true};
  auto s = ApiError("list", DescribeObject(secrets, "", ""), 403,
                    StatusBody(403, "Forbidden",
                               "secrets is forbidden: User \"system:serviceaccount:cairn:runner\" "
                               "cannot list resource \"secrets\" in API group \"\" at the "
                               "cluster scope"));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_EQ(s.message().rfind("unable to list secrets in all namespaces: Forbidden: secrets is "
                              "forbidden: ",
                              0),
            0u)
      << s.message();
}

TEST(ApiErrorTest, AttemptsAreCounted) {
  auto s = ApiError("list", "configmaps in all namespaces", 503,
                    StatusBody(503, "ServiceUnavailable", "etcd is down"), 6);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.message(),
            "unable to list configmaps in all namespaces: ServiceUnavailable: etcd "
            "is down (after 6 attempts)");
}

TEST(ApiErrorTest, NonStatusBodyIsCutToOneLine) {
  std::string html = "<html>\n<body>Bad Gateway</body>\n</html>" + std::string(500, 'x');
  auto s = ApiError("get", "namespaces \"shop\"", 502, html);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.message().rfind("unable to get namespaces \"shop\": HTTP 502: <html> <body>Bad "
                              "Gateway</body> </html>xxx",
                              0),
            0u)
      << s.message();
  EXPECT_LT(s.message().size(), 300u);
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
  auto e = ApiError("get", "namespaces \"shop\"", 404, "");
  EXPECT_EQ(e.message(), "unable to get namespaces \"shop\": NotFound (HTTP 404)");
}

TEST(ApiErrorTest, ParseApiStatusKeepsDetails) {
  auto st = ParseApiStatus(R"({"kind":"Status","apiVersion":"v1","status":"Failure",
      "message":"deployments.apps \"web\" is invalid: spec.replicas: Invalid value: -1",
      "reason":"Invalid","code":422,
      "details":{"name":"web","group":"apps","kind":"deployments",
                 "causes":[{"reason":"FieldValueInvalid","field":"spec.replicas"}]}})");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->reason, "Invalid");
  EXPECT_EQ(st->code, 422);
  EXPECT_EQ(st->details["causes"][0]["field"], "spec.replicas");
  EXPECT_FALSE(ParseApiStatus("not json"));
  EXPECT_FALSE(ParseApiStatus(R"({"kind":"ConfigMap"})"));
}

}  // namespace
}  // namespace cairn::kube

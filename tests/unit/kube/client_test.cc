// Tests for kube/client against a scripted HTTP server (tests/unit/http/scripted_server.h) and a
// fake clock: the requests it sends (paths, queries, headers, bodies), paging and expired
// continue tokens, retries through the http client, 401 credential refresh, error messages and
// hints, classic discovery fallback.
#include "kube/client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "../http/scripted_server.h"

namespace cairn::kube {
namespace {

using nlohmann::json;
using testing::Reply;
using testing::RequestBody;
using testing::RequestHeader;
using testing::RequestLine;
using testing::ScriptedReply;
using testing::ScriptedServer;

const ResourceRef kConfigMaps{"", "v1", "configmaps", true};
const ResourceRef kDeployments{"apps", "v1", "deployments", true};

ScriptedReply Json(int status, const json& body) {
  return Reply(status, {{"Content-Type", "application/json"}}, body.dump());
}

ScriptedReply StatusReply(int code, const std::string& reason, const std::string& message) {
  return Json(code, {{"kind", "Status"},
                     {"apiVersion", "v1"},
                     {"status", "Failure"},
                     {"reason", reason},
                     {"message", message},
                     {"code", code}});
}

json Page(int first, int n, const std::string& cont) {
  json items = json::array();
  for (int i = first; i < first + n; ++i) {
    items.push_back({{"metadata", {{"name", "cm-" + std::to_string(i)}}}});
  }
  return {{"kind", "ConfigMapList"},
          {"apiVersion", "v1"},
          {"metadata", {{"resourceVersion", "100"}, {"continue", cont}}},
          {"items", items}};
}

class KubeClientTest : public ::testing::Test {
 protected:
  // One request at a time: the scripted server answers in arrival order.
  std::unique_ptr<Client> Connect(const ScriptedServer& s, ClusterConfig cfg = {}) {
    cfg.server = s.url();
    if (cfg.token.empty() && cfg.token_file.empty()) cfg.token = "unit-token-0123456789";
    ClientOptions o;
    o.retry.max_attempts = 3;
    o.max_in_flight = 1;
    auto c = Client::Create(std::move(cfg), o, clock_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  base::FakeClock clock_{base::TimePoint(std::chrono::seconds(1'790'000'000))};
};

TEST_F(KubeClientTest, GetSendsTokenAndDecodes) {
  ScriptedServer s({Json(200, {{"kind", "ConfigMap"}, {"data", {{"k", "v"}}}})});
  auto c = Connect(s);
  auto obj = c->Get(kConfigMaps, "shop", "x");
  ASSERT_TRUE(obj.ok()) << obj.status().message();
  EXPECT_EQ((*obj)["data"]["k"], "v");
  auto req = s.requests().at(0);
  EXPECT_EQ(RequestLine(req), "GET /api/v1/namespaces/shop/configmaps/x HTTP/1.1");
  EXPECT_EQ(RequestHeader(req, "Authorization"), "Bearer unit-token-0123456789");
  EXPECT_EQ(RequestHeader(req, "Accept"), "application/json");
  EXPECT_EQ(RequestHeader(req, "User-Agent"), "cairn");
}

TEST_F(KubeClientTest, NotFoundNamesTheObject) {
  ScriptedServer s({StatusReply(404, "NotFound", "configmaps \"x\" not found")});
  auto c = Connect(s);
  auto obj = c->Get(kConfigMaps, "shop", "x");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.status().code(), base::Code::kNotFound);
  EXPECT_EQ(obj.status().message(),
            "unable to get configmaps \"x\" in namespace \"shop\": "
            "NotFound: configmaps \"x\" not found");
}

TEST_F(KubeClientTest, ListPagesWithSelectorsUntilNoContinue) {
  ScriptedServer s(
      {Json(200, Page(0, 2, "tok1")), Json(200, Page(2, 2, "tok2")), Json(200, Page(4, 1, ""))});
  auto c = Connect(s);
  std::vector<std::string> names;
  ListStats stats;
  ListOptions o;
  o.namespace_name = "shop";
  o.label_selector = "app=web";
  o.limit = 2;
  auto st = c->List(
      kConfigMaps, o,
      [&](const json& page) {
        for (const auto& i : page["items"]) names.push_back(i["metadata"]["name"]);
        return true;
      },
      &stats);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(stats.pages, 3);
  EXPECT_EQ(stats.items, 5);
  EXPECT_EQ(stats.restarts, 0);
  EXPECT_GT(stats.bytes, 0);
  auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(RequestLine(reqs[0]),
            "GET /api/v1/namespaces/shop/configmaps?limit=2&labelSelector=app%3Dweb HTTP/1.1");
  EXPECT_EQ(RequestLine(reqs[1]),
            "GET /api/v1/namespaces/shop/configmaps?limit=2&continue=tok1"
            "&labelSelector=app%3Dweb HTTP/1.1");
}

TEST_F(KubeClientTest, ListStopsWhenTheCallbackSaysSo) {
  ScriptedServer s({Json(200, Page(0, 2, "tok1"))});
  auto c = Connect(s);
  int pages = 0;
  ASSERT_TRUE(c->List(kConfigMaps, {}, [&](const json&) { return ++pages < 1; }).ok());
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(s.requests().size(), 1u);
}

// What the apiserver answers when etcd compacted the revision of a continue token
// (storage/etcd3 handleCompactedErrorForPaging): 410, reason Expired, and in metadata.continue a
// token for the rest of the list at the current resourceVersion.
ScriptedReply Expired(const std::string& fresh_token) {
  json status = {{"kind", "Status"},
                 {"apiVersion", "v1"},
                 {"metadata", json::object()},
                 {"status", "Failure"},
                 {"reason", "Expired"},
                 {"message",
                  "The provided continue parameter is too old to display a consistent "
                  "list result."},
                 {"code", 410}};
  if (!fresh_token.empty()) status["metadata"]["continue"] = fresh_token;
  return Json(410, status);
}

std::vector<std::string> Names(Client& c, ListStats* stats, base::Status* st, bool per_item) {
  std::vector<std::string> names;
  if (per_item) {
    *st = c.ListItems(
        kConfigMaps, {},
        [&](const json& i) {
          names.push_back(i["metadata"]["name"]);
          return true;
        },
        stats);
  } else {
    *st = c.List(
        kConfigMaps, {},
        [&](const json& p) {
          for (const auto& i : p["items"]) names.push_back(i["metadata"]["name"]);
          return true;
        },
        stats);
  }
  return names;
}

TEST_F(KubeClientTest, ExpiredContinueGoesOnWithTheTokenOfTheStatus) {
  for (bool per_item : {false, true}) {
    ScriptedServer s(
        {Json(200, Page(0, 2, "tok1")), Expired("tok-latest"), Json(200, Page(2, 2, ""))});
    auto c = Connect(s);
    ListStats stats;
    base::Status st;
    auto names = Names(*c, &stats, &st, per_item);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(names, (std::vector<std::string>{"cm-0", "cm-1", "cm-2", "cm-3"}));
    EXPECT_EQ(stats.inconsistent, 1);
    EXPECT_EQ(stats.restarts, 0);
    ASSERT_EQ(s.requests().size(), 3u);
    EXPECT_EQ(RequestLine(s.requests()[2]),
              "GET /api/v1/configmaps?limit=500&continue=tok-latest HTTP/1.1");
  }
}

TEST_F(KubeClientTest, ExpiredWithoutATokenStartsOverAndDeliversNothingTwice) {
  for (bool per_item : {false, true}) {
    ScriptedServer s({Json(200, Page(0, 2, "tok1")), Expired(""), Json(200, Page(0, 3, "tok2")),
                      Json(200, Page(3, 1, ""))});
    auto c = Connect(s);
    ListStats stats;
    base::Status st;
    auto names = Names(*c, &stats, &st, per_item);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(names, (std::vector<std::string>{"cm-0", "cm-1", "cm-2", "cm-3"}));
    EXPECT_EQ(stats.restarts, 1);
    EXPECT_EQ(stats.inconsistent, 0);
    EXPECT_EQ(RequestLine(s.requests()[2]), "GET /api/v1/configmaps?limit=500 HTTP/1.1");
  }
}

TEST_F(KubeClientTest, ExpiryTwiceInARowFails) {
  ScriptedServer s({Json(200, Page(0, 2, "a")), Expired("b"), Expired("c")});
  auto c = Connect(s);
  ListStats stats;
  base::Status st;
  Names(*c, &stats, &st, true);
  EXPECT_EQ(st.code(), base::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("unable to list configmaps in all namespaces: Expired"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(stats.inconsistent, 1);
}

TEST_F(KubeClientTest, SecondRestartFails) {
  ScriptedServer s({Json(200, Page(0, 2, "a")), StatusReply(410, "Expired", "too old"),
                    Json(200, Page(0, 3, "b")), StatusReply(410, "Expired", "too old")});
  auto c = Connect(s);
  ListStats stats;
  auto st = c->List(
      kConfigMaps, {}, [](const json&) { return true; }, &stats);
  EXPECT_EQ(st.code(), base::Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "unable to list configmaps in all namespaces: Expired: too old");
  EXPECT_EQ(stats.restarts, 1);
}

TEST_F(KubeClientTest, ServerErrorsAreRetriedByTheHttpClient) {
  ScriptedServer s({StatusReply(503, "ServiceUnavailable", "busy"),
                    Reply(429, {{"Retry-After", "2"}}, ""), Json(200, {{"kind", "ConfigMap"}})});
  auto c = Connect(s);
  auto start = clock_.Now();
  auto obj = c->Get(kConfigMaps, "shop", "x");
  ASSERT_TRUE(obj.ok()) << obj.status().message();
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(2));  // Retry-After honoured
  // Every attempt is signed: the token is on all three.
  for (const auto& r : s.requests()) {
    EXPECT_EQ(RequestHeader(r, "Authorization"), "Bearer unit-token-0123456789");
  }
}

TEST_F(KubeClientTest, RetriesRunOutAsUnavailable) {
  ScriptedServer s({StatusReply(503, "ServiceUnavailable", "busy"),
                    StatusReply(503, "ServiceUnavailable", "busy"),
                    StatusReply(503, "ServiceUnavailable", "still busy")});
  auto c = Connect(s);
  auto obj = c->Get(kConfigMaps, "shop", "x");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.status().code(), base::Code::kUnavailable);
  EXPECT_EQ(obj.status().message(),
            "unable to get configmaps \"x\" in namespace \"shop\": "
            "ServiceUnavailable: still busy (after 3 attempts)");
}

TEST_F(KubeClientTest, UnauthorizedWithStaticTokenIsFinal) {
  ScriptedServer s({StatusReply(401, "Unauthorized", "Unauthorized")});
  ClusterConfig cfg;
  cfg.context = "prod";
  cfg.source = "/home/me/.kube/config";
  cfg.token = "wrong-token-0123456789";
  auto c = Connect(s, cfg);
  auto st = c->Delete(kConfigMaps, "shop", "x");
  EXPECT_EQ(st.code(), base::Code::kUnauthenticated);
  EXPECT_EQ(st.hint(),
            "the credentials of context \"prod\" in '/home/me/.kube/config' were "
            "rejected; renew them (kubectl fails the same way)");
  EXPECT_EQ(st.message().find("wrong-token"), std::string::npos);
  EXPECT_EQ(s.requests().size(), 1u);
}

TEST_F(KubeClientTest, UnauthorizedRereadsTheTokenFileOnce) {
  std::string file = ::testing::TempDir() + "kube-token-" + std::to_string(getpid());
  std::ofstream(file) << "old-token-0123456789";
  ScriptedServer s(
      {StatusReply(401, "Unauthorized", "Unauthorized"), Json(200, {{"kind", "ConfigMap"}})});
  ClusterConfig cfg;
  cfg.token_file = file;
  auto c = Connect(s, cfg);
  // Rotated after the client read it, with the same size (a same-second mtime can hide it).
  std::ofstream(file) << "new-token-0123456789";
  auto obj = c->Get(kConfigMaps, "shop", "x");
  unlink(file.c_str());
  ASSERT_TRUE(obj.ok()) << obj.status().message();
  auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(RequestHeader(reqs[1], "Authorization"), "Bearer new-token-0123456789");
}

TEST_F(KubeClientTest, ForbiddenHintNamesTheRbacVerb) {
  ScriptedServer s({StatusReply(403, "Forbidden",
                                "secrets is forbidden: User \"x\" cannot "
                                "list resource \"secrets\"")});
  auto c = Connect(s);
  auto st = c->List({"", "v1", "secrets", true}, {}, [](const json&) { return true; });
  EXPECT_EQ(st.code(), base::Code::kPermissionDenied);
  EXPECT_NE(st.message().find("unable to list secrets in all namespaces: Forbidden: secrets is "
                              "forbidden"),
            std::string::npos);
  EXPECT_EQ(st.hint(), "the identity cairn runs as needs RBAC permission to list secrets");
}

TEST_F(KubeClientTest, WritesUseTheRightVerbsAndContentTypes) {
  json obj = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", "web"}, {"namespace", "shop"}}}};
  ScriptedServer s({Json(201, obj), Json(200, obj), Json(200, obj), Json(200, obj),
                    Json(200, {{"kind", "Status"}, {"status", "Success"}})});
  auto c = Connect(s);
  ASSERT_TRUE(c->Create(kDeployments, "", obj).ok());
  ApplyOptions ao;
  ao.force = true;
  ASSERT_TRUE(c->Apply(kDeployments, "shop", "web", obj, ao).ok());
  ASSERT_TRUE(c->MergePatch(kDeployments, "shop", "web", {{"spec", {{"replicas", 2}}}}).ok());
  ASSERT_TRUE(c->Replace(kDeployments, "shop", "web", obj, "status").ok());
  ASSERT_TRUE(c->Delete(kDeployments, "shop", "web", "Foreground").ok());
  auto r = s.requests();
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(RequestLine(r[0]), "POST /apis/apps/v1/namespaces/shop/deployments HTTP/1.1");
  EXPECT_EQ(RequestHeader(r[0], "Content-Type"), "application/json");
  EXPECT_EQ(json::parse(RequestBody(r[0])), obj);
  EXPECT_EQ(RequestLine(r[1]),
            "PATCH /apis/apps/v1/namespaces/shop/deployments/web"
            "?fieldManager=cairn&force=true HTTP/1.1");
  EXPECT_EQ(RequestHeader(r[1], "Content-Type"), "application/apply-patch+yaml");
  EXPECT_EQ(RequestLine(r[2]), "PATCH /apis/apps/v1/namespaces/shop/deployments/web HTTP/1.1");
  EXPECT_EQ(RequestHeader(r[2], "Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(RequestLine(r[3]), "PUT /apis/apps/v1/namespaces/shop/deployments/web/status HTTP/1.1");
  EXPECT_EQ(RequestLine(r[4]), "DELETE /apis/apps/v1/namespaces/shop/deployments/web HTTP/1.1");
  EXPECT_EQ(json::parse(RequestBody(r[4]))["propagationPolicy"], "Foreground");
}

TEST_F(KubeClientTest, CreateWithoutNamespaceIsRejectedLocally) {
  ScriptedServer s({});
  auto c = Connect(s);
  auto r = c->Create(kConfigMaps, "", {{"metadata", {{"name", "x"}}}});
  EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "unable to create configmaps \"x\": no namespace");
  EXPECT_TRUE(s.requests().empty());
}

TEST_F(KubeClientTest, DiscoveryFallsBackToClassicAndIsCached) {
  ScriptedServer s(
      {Json(200, {{"kind", "APIVersions"}, {"versions", {"v1"}}}),
       Json(200, {{"kind", "APIGroupList"},
                  {"groups",
                   {{{"name", "apps"},
                     {"versions", {{{"groupVersion", "apps/v1"}, {"version", "v1"}}}},
                     {"preferredVersion", {{"groupVersion", "apps/v1"}, {"version", "v1"}}}}}}}),
       Json(200, {{"kind", "APIResourceList"},
                  {"resources",
                   {{{"name", "configmaps"}, {"namespaced", true}, {"kind", "ConfigMap"}}}}}),
       Json(200, {{"kind", "APIResourceList"},
                  {"resources",
                   {{{"name", "deployments"}, {"namespaced", true}, {"kind", "Deployment"}}}}})});
  ClusterConfig cfg;
  auto c = Connect(s, cfg);
  auto d = c->Discover();
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_NE(d->Find("", "v1", "configmaps"), nullptr);
  EXPECT_NE(d->Find("apps", "v1", "deployments"), nullptr);
  auto first = s.requests();
  ASSERT_EQ(first.size(), 4u);
  EXPECT_NE(RequestHeader(first[0], "Accept").find("as=APIGroupDiscoveryList"), std::string::npos);
  ASSERT_TRUE(c->Discover().ok());
  EXPECT_EQ(s.requests().size(), 4u);  // cached
}

TEST_F(KubeClientTest, ServerVersion) {
  ScriptedServer s({Json(200, {{"major", "1"}, {"minor", "30"}, {"gitVersion", "v1.30.2"}})});
  auto c = Connect(s);
  auto v = c->ServerVersion();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, "v1.30.2");
  EXPECT_EQ(RequestLine(s.requests()[0]), "GET /version HTTP/1.1");
}

TEST_F(KubeClientTest, ConnectionRefusedNamesTheOperation) {
  ClusterConfig cfg;
  cfg.server = "http://127.0.0.1:" + std::to_string(testing::ClosedPort());
  ClientOptions o;
  o.retry.max_attempts = 2;
  auto c = Client::Create(cfg, o, clock_);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Get(kConfigMaps, "shop", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  EXPECT_EQ(r.status().message().rfind(
                "unable to get configmaps \"x\" in namespace \"shop\": tcp connect failed", 0),
            0u)
      << r.status().message();
}

}  // namespace
}  // namespace cairn::kube

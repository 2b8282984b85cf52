// Tests of ops/restore/apply against a scripted API server (one request per scripted reply, in
// order; one worker): what a refused create of an existing object is, looking before creating
// where a quota counts, ownerReferences re-pointed, results named as created.
#include <gtest/gtest.h>

#include "../http/scripted_server.h"
#include "io/zstd.h"
#include "ops/restore/apply.h"

namespace cairn::ops::restore {
namespace {

using nlohmann::json;
using testing::Reply;
using testing::RequestBody;
using testing::RequestLine;
using testing::ScriptedReply;
using testing::ScriptedServer;

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

json Live(const std::string& ns, const std::string& name, const std::string& uid) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"uid", uid}}},
          {"data", {{"k", "v"}}}};
}

class ApplyTest : public ::testing::Test {
 protected:
  ApplyTest() {
    plan_.key = {"", "configmaps"};
    plan_.qualified = "configmaps";
    plan_.target = {"", "v1", "configmaps", "ConfigMap", "configmap", true, {}, {}, {}, {}};
    plan_.version = "v1";
    opts_.namespace_mapping = {{"store", "store-copy"}};
  }

  // Applies `objects` (backed up in namespace "store") with one worker; returns the requests.
  std::vector<std::string> Apply(std::vector<ScriptedReply> replies, std::vector<json> objects) {
    ScriptedServer s(std::move(replies));
    kube::ClusterConfig cfg;
    cfg.server = s.url();
    cfg.token = "unit-token-0123456789";
    kube::ClientOptions o;
    o.retry.max_attempts = 1;
    o.max_in_flight = 1;
    auto client = kube::Client::Create(std::move(cfg), o);
    EXPECT_TRUE(client.ok());
    TransformContext ctx{&opts_, {}, false, {}};
    {
      ApplyPool pool(**client, ctx, ctx, opts_, ledger_, shared_, cancel_, 1);
      for (const json& obj : objects) {
        EntryRef ref{"", "configmaps", "v1", "store", obj["metadata"]["name"]};
        pool.Push({&plan_, ref, obj.dump()});
      }
      pool.Drain();
    }
    return s.requests();
  }

  json Results() {
    auto compressed = ledger_.Finish();
    EXPECT_TRUE(compressed.ok());
    auto text = io::ZstdDecompress(*compressed, 1 << 20);
    EXPECT_TRUE(text.ok());
    return json::parse(*text);
  }

  ResourcePlan plan_;
  RestoreOptions opts_;
  vault::RunStatus status_;
  Ledger ledger_{status_};
  ApplyShared shared_;
  std::atomic<bool> cancel_{false};
};

TEST_F(ApplyTest, ACreateRefusedForAnObjectThatExistsIsASkip) {
  // A Service holding its own nodePort is Invalid; a quota counting it Forbidden: both are
  // answered before AlreadyExists. The object is there: skipped, not failed.
  auto requests =
      Apply({StatusReply(403, "Forbidden",
                         "configmaps \"app\" is forbidden: exceeded quota: q, requested: "
                         "configmaps=1, used: configmaps=2, limited: configmaps=2"),
             Json(200, Live("store-copy", "app", "u-live"))},
            {Live("store", "app", "u-src")});
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(RequestLine(requests[0]), "POST /api/v1/namespaces/store-copy/configmaps HTTP/1.1");
  EXPECT_EQ(RequestLine(requests[1]), "GET /api/v1/namespaces/store-copy/configmaps/app HTTP/1.1");
  EXPECT_EQ(status_.counts["skipped"], 1);
  EXPECT_EQ(status_.counts.count("failed"), 0u);
  EXPECT_EQ(status_.errors.count, 0);
  const json results = Results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["action"], "skipped");
  EXPECT_EQ(results[0]["object"], "configmaps/store-copy/app");  // as created, not "store"
  EXPECT_EQ(results[0]["namespace"], "store-copy");
  EXPECT_EQ(results[0]["path"], "resources/core/configmaps/v1/namespaces/store/app.json");
}

TEST_F(ApplyTest, ARefusedCreateOfAnAbsentObjectFailsWithTheApiReason) {
  Apply({StatusReply(422, "Invalid", "ConfigMap \"app\" is invalid: data: Invalid value"),
         StatusReply(404, "NotFound", "configmaps \"app\" not found")},
        {Live("store", "app", "u-src")});
  EXPECT_EQ(status_.counts["failed"], 1);
  ASSERT_EQ(status_.errors.items.size(), 1u);
  EXPECT_NE(status_.errors.items[0].message.find("is invalid"), std::string::npos);
  EXPECT_EQ(status_.errors.items[0].object, "configmaps/store-copy/app");
}

TEST_F(ApplyTest, WhereAQuotaCountsTheObjectIsLookedUpBeforeItIsCreated) {
  shared_.quota.counted["store-copy"] = {"configmaps"};
  auto requests = Apply({Json(200, Live("store-copy", "app", "u-live")),
                         StatusReply(404, "NotFound", "configmaps \"new\" not found"),
                         Json(201, Live("store-copy", "new", "u-new"))},
                        {Live("store", "app", "u-1"), Live("store", "new", "u-2")});
  ASSERT_EQ(requests.size(), 3u);  // no create for the object that exists
  EXPECT_EQ(RequestLine(requests[0]), "GET /api/v1/namespaces/store-copy/configmaps/app HTTP/1.1");
  EXPECT_EQ(RequestLine(requests[1]), "GET /api/v1/namespaces/store-copy/configmaps/new HTTP/1.1");
  EXPECT_EQ(RequestLine(requests[2]), "POST /api/v1/namespaces/store-copy/configmaps HTTP/1.1");
  EXPECT_EQ(status_.counts["skipped"], 1);
  EXPECT_EQ(status_.counts["created"], 1);
  // Not where no quota counts the resource.
  EXPECT_FALSE(shared_.quota.Counts("store-copy", "secrets"));
  EXPECT_FALSE(shared_.quota.Counts("other", "configmaps"));
}

TEST_F(ApplyTest, OwnerReferencesPointToTheOwnersNewUids) {
  shared_.owners.Expect("u-owner");
  shared_.owners.Resolve("u-owner", "u-owner-new");
  shared_.owners.Expect("u-child");  // the child owns something itself
  json child = Live("store", "child", "u-child");
  child["metadata"]["ownerReferences"] = json::array(
      {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "owner"}, {"uid", "u-owner"}},
       {{"apiVersion", "v1"}, {"kind", "Secret"}, {"name", "elsewhere"}, {"uid", "u-gone"}}});
  auto requests = Apply({Json(201, Live("store-copy", "child", "u-child-new"))}, {child});
  ASSERT_EQ(requests.size(), 1u);
  const json sent = json::parse(RequestBody(requests[0]));
  EXPECT_EQ(sent["metadata"]["ownerReferences"], json::array({{{"apiVersion", "v1"},
                                                               {"kind", "ConfigMap"},
                                                               {"name", "owner"},
                                                               {"uid", "u-owner-new"}}}));
  ASSERT_EQ(status_.warnings.items.size(), 1u);
  EXPECT_EQ(status_.warnings.items[0].message,
            "ownerReference to Secret 'elsewhere' dropped: the owner is not restored by this "
            "restore");
  // The child's own new uid, for its dependents.
  EXPECT_EQ(shared_.owners.Get("u-child").kind, OwnerState::Kind::kWritten);
  EXPECT_EQ(shared_.owners.Get("u-child").uid, "u-child-new");
}

}  // namespace
}  // namespace cairn::ops::restore

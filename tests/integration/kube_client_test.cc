// kube::Client against the Kubernetes API test server (hack/kube-api-server/server.py, started
// here as a child process over HTTPS with its own CA): discovery, writes, paging of 1200 objects,
// expired continue tokens, injected 503s, RBAC denial, and every way to authenticate (token,
// kind-style client certificates, exec plugins with expiry, a wrong token). Skipped with a
// message when the server script is not there.
#include "kube_client_test.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"

namespace cairn::kube {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using testing::KubeApiServer;
using testing::Slurp;
using testing::Trimmed;
const std::string& kScript = testing::kKubeApiServerScript;
const ResourceRef kConfigMaps{"", "v1", "configmaps", true};
const ResourceRef kSecrets{"", "v1", "secrets", true};
const ResourceRef kNamespaces{"", "v1", "namespaces", false};
const ResourceRef kDeployments{"apps", "v1", "deployments", true};
constexpr int kPagingObjects = 1200;

class KubeClientIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    struct stat st;
    if (stat(kScript.c_str(), &st) != 0) return;
    seed_ = testing::WriteConfigMapSeed("paging", kPagingObjects);
    server_ = new KubeApiServer({"--seed", seed_});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (!seed_.empty()) unlink(seed_.c_str());
  }
  void SetUp() override {
    if (!server_)
      GTEST_SKIP() << "the Kubernetes API test server (" << kScript << ") does not exist yet";
    ASSERT_TRUE(server_->ok()) << "the API test server did not start:\n" << server_->log();
  }
  void TearDown() override {
    if (server_ && server_->ok()) server_->Admin({{"reset", true}});
  }

  static ClientOptions FastRetries() {
    ClientOptions o;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 200ms;
    o.retry.overall_deadline = 20s;
    return o;
  }
  std::unique_ptr<Client> Connect(const std::string& kubeconfig, ClientOptions o = FastRetries()) {
    auto cfg = LoadClusterConfig({kubeconfig, ""});
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    if (!cfg.ok()) return nullptr;
    auto c = Client::Create(*cfg, o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  std::unique_ptr<Client> TokenClient() { return Connect(server_->dir() + "/kubeconfig"); }

  // A kubeconfig for the server whose user is `user_yaml` (indented under "user:").
  std::string WriteKubeconfig(const std::string& name, const std::string& user_yaml) {
    std::string path = server_->dir() + "/" + name;
    std::ofstream(path) << "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n"
                           "    server: "
                        << server_->url() << "\n    certificate-authority: ca.crt\n"
                        << "users:\n- name: u\n  user:\n"
                        << user_yaml
                        << "contexts:\n- name: t\n  context: {cluster: t, user: u}\n"
                           "current-context: t\n";
    return path;
  }
  std::string WriteScript(const std::string& name, const std::string& body) {
    std::string path = server_->dir() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    return path;
  }

  static KubeApiServer* server_;
  static std::string seed_;
};

KubeApiServer* KubeClientIntegration::server_ = nullptr;
std::string KubeClientIntegration::seed_;

TEST_F(KubeClientIntegration, ServerVersionAndAggregatedDiscovery) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  auto v = c->ServerVersion();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->rfind("v1.", 0), 0u) << *v;
  auto d = c->Discover();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_FALSE(d->groups.empty());
  EXPECT_EQ(d->groups[0].group, "");
  EXPECT_EQ(d->PreferredVersion(""), "v1");
  EXPECT_EQ(d->PreferredVersion("apps"), "v1");
  EXPECT_EQ(d->PreferredVersion("autoscaling"), "v2");
  ASSERT_NE(d->Find("autoscaling", "v1", "horizontalpodautoscalers"), nullptr);
  ASSERT_NE(d->Find("autoscaling", "v2", "horizontalpodautoscalers"), nullptr);
  const ApiResource* cm = d->Find("", "v1", "configmaps");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->kind, "ConfigMap");
  EXPECT_TRUE(cm->namespaced);
  const ApiResource* deploy = d->Find("apps", "v1", "deployments");
  ASSERT_NE(deploy, nullptr);
  EXPECT_NE(std::find(deploy->subresources.begin(), deploy->subresources.end(), "status"),
            deploy->subresources.end());
  const ApiResource* ns = d->Find("", "v1", "namespaces");
  ASSERT_NE(ns, nullptr);
  EXPECT_FALSE(ns->namespaced);
  EXPECT_TRUE(d->failed.empty());
  // One request each to /api and /apis: aggregated discovery.
  EXPECT_EQ(server_->Requests("/apis/").size(), 0u);
}

TEST_F(KubeClientIntegration, ClassicDiscoveryGivesTheSameAnswer) {
  server_->Admin({{"aggregated_discovery", false}});
  auto c = TokenClient();
  ASSERT_TRUE(c);
  auto d = c->Discover();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->groups[0].group, "");
  EXPECT_EQ(d->PreferredVersion("autoscaling"), "v2");
  ASSERT_NE(d->Find("autoscaling", "v1", "horizontalpodautoscalers"), nullptr);
  const ApiResource* deploy = d->Find("apps", "v1", "deployments");
  ASSERT_NE(deploy, nullptr);
  EXPECT_NE(std::find(deploy->subresources.begin(), deploy->subresources.end(), "status"),
            deploy->subresources.end());
  EXPECT_FALSE(server_->Requests("/apis/apps/v1").empty());
}

TEST_F(KubeClientIntegration, ConfigMapLifecycle) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "life"}, {"namespace", "default"}}},
             {"data", {{"a", "1"}}}};
  auto created = c->Create(kConfigMaps, "default", cm);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());
  auto again = c->Create(kConfigMaps, "default", cm);
  EXPECT_EQ(again.status().code(), base::Code::kAlreadyExists);
  EXPECT_EQ(again.status().message(),
            "unable to create configmaps \"life\" in namespace "
            "\"default\": AlreadyExists: configmaps \"life\" already "
            "exists");

  auto got = c->Get(kConfigMaps, "default", "life");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)["data"]["a"], "1");

  json applied = {{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", {{"name", "life"}, {"namespace", "default"}}},
                  {"data", {{"a", "1"}, {"b", "2"}}}};
  ApplyOptions ao;
  ao.force = true;
  auto ap = c->Apply(kConfigMaps, "default", "life", applied, ao);
  ASSERT_TRUE(ap.ok()) << ap.status().ToString();
  EXPECT_EQ((*ap)["data"]["b"], "2");
  bool cairn_manages = false;
  for (const auto& mf : (*ap)["metadata"]["managedFields"]) {
    if (mf["manager"] == "cairn" && mf["operation"] == "Apply") cairn_manages = true;
  }
  EXPECT_TRUE(cairn_manages) << (*ap)["metadata"].dump();

  auto patched = c->MergePatch(kConfigMaps, "default", "life", {{"data", {{"a", nullptr}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_FALSE((*patched)["data"].contains("a"));

  json replaced = *patched;
  replaced["data"] = {{"c", "3"}};
  auto put = c->Replace(kConfigMaps, "default", "life", replaced);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((*put)["data"], json({{"c", "3"}}));
  // A stale resourceVersion is a conflict.
  auto stale = c->Replace(kConfigMaps, "default", "life", replaced);
  EXPECT_EQ(stale.status().code(), base::Code::kConflict) << stale.status().message();

  ASSERT_TRUE(c->Delete(kConfigMaps, "default", "life").ok());
  auto gone = c->Get(kConfigMaps, "default", "life");
  EXPECT_EQ(gone.status().code(), base::Code::kNotFound);
  EXPECT_EQ(gone.status().message(),
            "unable to get configmaps \"life\" in namespace \"default\": "
            "NotFound: configmaps \"life\" not found");
  EXPECT_EQ(c->Delete(kConfigMaps, "default", "life").code(), base::Code::kNotFound);
}

TEST_F(KubeClientIntegration, DeploymentLifecycleWithStatus) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  json labels = {{"app", "web"}};
  json deploy = {{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata", {{"name", "web"}, {"namespace", "default"}}},
                 {"spec",
                  {{"replicas", 1},
                   {"selector", {{"matchLabels", labels}}},
                   {"template",
                    {{"metadata", {{"labels", labels}}},
                     {"spec", {{"containers", {{{"name", "web"}, {"image", "nginx:1.27"}}}}}}}}}}};
  auto created = c->Create(kDeployments, "", deploy);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  json apply = deploy;
  apply["spec"]["replicas"] = 3;
  ApplyOptions force;
  force.force = true;
  auto ap = c->Apply(kDeployments, "default", "web", apply, force);
  ASSERT_TRUE(ap.ok()) << ap.status().ToString();
  EXPECT_EQ((*ap)["spec"]["replicas"], 3);

  auto mp = c->MergePatch(kDeployments, "default", "web",
                          {{"metadata", {{"annotations", {{"cairn.io/restored", "true"}}}}}});
  ASSERT_TRUE(mp.ok()) << mp.status().ToString();
  EXPECT_EQ((*mp)["metadata"]["annotations"]["cairn.io/restored"], "true");

  // Replace the status subresource (what a restore does to carry status over).
  base::Status last;
  for (int i = 0; i < 3; ++i) {
    auto cur = c->Get(kDeployments, "default", "web");
    ASSERT_TRUE(cur.ok()) << cur.status().ToString();
    json obj = *cur;
    obj["status"]["observedGeneration"] = 99;
    obj["spec"]["replicas"] = 7;  // ignored by the status subresource
    auto st = c->Replace(kDeployments, "default", "web", obj, "status");
    last = st.status();
    if (st.ok()) {
      EXPECT_EQ((*st)["status"]["observedGeneration"], 99);
      EXPECT_EQ((*st)["spec"]["replicas"], 3);
      break;
    }
    ASSERT_EQ(st.status().code(), base::Code::kConflict) << st.status().ToString();
  }
  ASSERT_TRUE(last.ok()) << last.ToString();

  auto invalid = c->MergePatch(kDeployments, "default", "web",
                               {{"spec", {{"selector", {{"matchLabels", {{"app", "db"}}}}}}}});
  EXPECT_EQ(invalid.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(invalid.status().message().find("unable to patch deployments.apps \"web\" in namespace "
                                            "\"default\": Invalid: "),
            std::string::npos)
      << invalid.status().message();

  ASSERT_TRUE(c->Delete(kDeployments, "default", "web").ok());
  EXPECT_EQ(c->Get(kDeployments, "default", "web").status().code(), base::Code::kNotFound);
}

TEST_F(KubeClientIntegration, ListsTwelveHundredInThreePages) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  ListOptions o;
  o.namespace_name = "paging";
  o.label_selector = "set=paging";
  o.limit = 500;
  ListStats stats;
  std::set<std::string> names;
  std::vector<size_t> sizes;
  auto st = c->List(
      kConfigMaps, o,
      [&](const json& page) {
        sizes.push_back(page["items"].size());
        for (const auto& i : page["items"]) names.insert(i["metadata"]["name"].get<std::string>());
        return true;
      },
      &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(stats.pages, 3);
  EXPECT_EQ(stats.items, kPagingObjects);
  EXPECT_EQ(stats.restarts, 0);
  EXPECT_EQ(sizes, (std::vector<size_t>{500, 500, 200}));
  EXPECT_EQ(names.size(), static_cast<size_t>(kPagingObjects));

  // All namespaces: the seeded objects are among them.
  int64_t all = 0;
  ListOptions every;
  every.limit = 500;
  ASSERT_TRUE(c->List(kConfigMaps, every, [&](const json& p) {
                 all += static_cast<int64_t>(p["items"].size());
                 return true;
               }).ok());
  EXPECT_GE(all, kPagingObjects);
}

TEST_F(KubeClientIntegration, ListItemsDeliversEachObjectOnceAcrossPages) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  ListOptions o;
  o.namespace_name = "paging";
  o.label_selector = "set=paging";
  o.limit = 500;
  ListStats stats;
  std::set<std::string> names;
  int64_t delivered = 0;
  auto st = c->ListItems(
      kConfigMaps, o,
      [&](const json& item) {
        ++delivered;
        names.insert(item["metadata"]["name"].get<std::string>());
        return true;
      },
      &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(stats.pages, 3);
  EXPECT_EQ(stats.items, kPagingObjects);
  EXPECT_EQ(delivered, kPagingObjects);
  EXPECT_EQ(names.size(), static_cast<size_t>(kPagingObjects));
  // Stopping early stops the listing.
  int64_t seen = 0;
  ASSERT_TRUE(c->ListItems(kConfigMaps, o, [&](const json&) { return ++seen < 10; }).ok());
  EXPECT_EQ(seen, 10);
}

// etcd compacted between two pages: the apiserver answers 410 Expired with a token that
// continues the list at the current state, and the client goes on with it: every object is
// delivered once. Without such a token the list starts over and passes over what it delivered.
TEST_F(KubeClientIntegration, ExpiredContinueGoesOnAndDeliversEverythingOnce) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  for (bool new_token : {true, false}) {
    ListOptions o;
    o.namespace_name = "paging";
    o.label_selector = "set=paging";
    o.limit = 500;
    ListStats stats;
    std::vector<std::string> uids;
    int pages = 0;
    auto st = c->List(
        kConfigMaps, o,
        [&](const json& page) {
          for (const auto& i : page["items"]) uids.push_back(i["metadata"]["uid"]);
          if (++pages == 1) {
            if (new_token) {
              server_->Admin({{"expire_continue_tokens", true}});
            } else {
              server_->Admin(
                  {{"expire_continue",
                    {{"path_regex", "/namespaces/paging/configmaps"}, {"new_token", false}}}});
            }
          }
          return true;
        },
        &stats);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(stats.inconsistent, new_token ? 1 : 0);
    EXPECT_EQ(stats.restarts, new_token ? 0 : 1);
    EXPECT_EQ(uids.size(), static_cast<size_t>(kPagingObjects)) << "new token: " << new_token;
    EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()).size(), uids.size());
  }
}

TEST_F(KubeClientIntegration, TwoServiceUnavailableAreRetried) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Create(kConfigMaps, "default",
                        {{"metadata", {{"name", "retry-me"}}}, {"data", {{"k", "v"}}}})
                  .ok());
  server_->Admin({{"clear_requests", true}});
  server_->Admin({{"fail",
                   {{"path_regex", "^/api/v1/namespaces/default/configmaps/retry-me"},
                    {"status", 503},
                    {"count", 2}}}});
  auto got = c->Get(kConfigMaps, "default", "retry-me");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)["data"]["k"], "v");
  auto reqs = server_->Requests("/api/v1/namespaces/default/configmaps/retry-me");
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0]["status"], 503);
  EXPECT_EQ(reqs[1]["status"], 503);
  EXPECT_EQ(reqs[2]["status"], 200);
  ASSERT_TRUE(c->Delete(kConfigMaps, "default", "retry-me").ok());
}

TEST_F(KubeClientIntegration, DroppedConnectionAndSlowAnswerAreRetried) {
  ClientOptions o = FastRetries();
  o.request_timeout = 1s;
  auto c = Connect(server_->dir() + "/kubeconfig", o);
  ASSERT_TRUE(c);
  server_->Admin({{"clear_requests", true}});
  server_->Admin({{"fail",
                   {{"path_regex", "^/api/v1/namespaces/paging/configmaps/cm-1$"},
                    {"status", 0},
                    {"count", 1}}},
                  {"latency",
                   {{"path_regex", "^/api/v1/namespaces/paging/configmaps/cm-2$"},
                    {"ms", 3000},
                    {"count", 1}}}});
  auto dropped = c->Get(kConfigMaps, "paging", "cm-1");
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  auto slow = c->Get(kConfigMaps, "paging", "cm-2");
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  EXPECT_EQ(server_->Requests("/api/v1/namespaces/paging/configmaps/cm-1").size(), 2u);
  EXPECT_EQ(server_->Requests("/api/v1/namespaces/paging/configmaps/cm-2").size(), 2u);
}

TEST_F(KubeClientIntegration, PersistentServiceUnavailableGivesUp) {
  ClientOptions o = FastRetries();
  o.retry.max_attempts = 3;
  auto c = Connect(server_->dir() + "/kubeconfig", o);
  ASSERT_TRUE(c);
  server_->Admin({{"fail",
                   {{"path_regex", "^/api/v1/namespaces/default/configmaps/x$"},
                    {"status", 503},
                    {"count", 10}}}});
  auto got = c->Get(kConfigMaps, "default", "x");
  EXPECT_EQ(got.status().code(), base::Code::kUnavailable);
  EXPECT_NE(got.status().message().find("(after 3 attempts)"), std::string::npos)
      << got.status().message();
}

TEST_F(KubeClientIntegration, ForbiddenSecretsList) {
  server_->Admin({{"forbid", {{"resource", "secrets"}, {"verb", "list"}}}});
  auto c = TokenClient();
  ASSERT_TRUE(c);
  auto st = c->List(kSecrets, {}, [](const json&) { return true; });
  EXPECT_EQ(st.code(), base::Code::kPermissionDenied);
  EXPECT_NE(st.message().find("unable to list secrets in all namespaces: Forbidden: "),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.hint().find("list secrets"), std::string::npos);
  // Other verbs and resources are unaffected.
  EXPECT_TRUE(c->List(kConfigMaps, {"default", "", "", 10}, [](const json&) { return true; }).ok());
}

TEST_F(KubeClientIntegration, ClientCertificateKubeconfig) {
  auto c = Connect(server_->dir() + "/kubeconfig-cert");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->config().token.empty());
  server_->Admin({{"clear_requests", true}});
  auto ns = c->Get(kNamespaces, "", "default");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  auto reqs = server_->Requests("/api/v1/namespaces/default");
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back()["user"], "kubernetes-admin");
}

TEST_F(KubeClientIntegration, TokenKubeconfig) {
  auto c = TokenClient();
  ASSERT_TRUE(c);
  server_->Admin({{"clear_requests", true}});
  ASSERT_TRUE(c->Get(kNamespaces, "", "default").ok());
  auto reqs = server_->Requests("/api/v1/namespaces/default");
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back()["user"], "cairn-test-admin");
}

TEST_F(KubeClientIntegration, WrongTokenIsUnauthenticated) {
  std::string kc = WriteKubeconfig("kubeconfig-wrong", "    token: not-the-right-token-42\n");
  auto c = Connect(kc);
  ASSERT_TRUE(c);
  auto r = c->Get(kNamespaces, "", "default");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnauthenticated);
  EXPECT_EQ(r.status().message().find("not-the-right-token"), std::string::npos);
  EXPECT_NE(r.status().hint().find("context \"t\""), std::string::npos) << r.status().hint();
}

TEST_F(KubeClientIntegration, UntrustedServerCertificateIsRejected) {
  std::string kc = server_->dir() + "/kubeconfig-noca";
  std::ofstream(kc) << "clusters: [{name: t, cluster: {server: '" << server_->url() << "'}}]\n"
                    << "users: [{name: u, user: {token: '" << server_->token() << "'}}]\n"
                    << "contexts: [{name: t, context: {cluster: t, user: u}}]\n"
                    << "current-context: t\n";
  auto c = Connect(kc);
  ASSERT_TRUE(c);
  auto r = c->Get(kNamespaces, "", "default");
  EXPECT_EQ(r.status().code(), base::Code::kFailedPrecondition) << r.status().message();
  EXPECT_NE(r.status().message().find("unable to get namespaces \"default\": tls verification "
                                      "failed"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().hint().find("certificate-authority of context \"t\""), std::string::npos);
  // insecure-skip-tls-verify accepts it (with a warning).
  std::ofstream(kc) << "clusters: [{name: t, cluster: {server: '" << server_->url()
                    << "', insecure-skip-tls-verify: true}}]\n"
                    << "users: [{name: u, user: {token: '" << server_->token() << "'}}]\n"
                    << "contexts: [{name: t, context: {cluster: t, user: u}}]\n"
                    << "current-context: t\n";
  auto insecure = Connect(kc);
  ASSERT_TRUE(insecure);
  EXPECT_TRUE(insecure->Get(kNamespaces, "", "default").ok());
}

TEST_F(KubeClientIntegration, InClusterServiceAccount) {
  const std::string sa = server_->dir() + "/serviceaccount";
  mkdir(sa.c_str(), 0700);
  std::ofstream(sa + "/token") << server_->token() << "\n";
  std::ofstream(sa + "/ca.crt") << Slurp(server_->dir() + "/ca.crt");
  std::ofstream(sa + "/namespace") << "paging";
  const std::string port = server_->url().substr(server_->url().rfind(':') + 1);
  auto saved = [](const char* k) {
    const char* v = std::getenv(k);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  auto kubeconfig = saved("KUBECONFIG"), host = saved("KUBERNETES_SERVICE_HOST"),
       sport = saved("KUBERNETES_SERVICE_PORT"), dir = saved("CAIRN_SA_DIR");
  unsetenv("KUBECONFIG");
  setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", port.c_str(), 1);
  setenv("CAIRN_SA_DIR", sa.c_str(), 1);
  auto cfg = LoadClusterConfig({});
  auto restore = [](const char* k, const std::optional<std::string>& v) {
    if (v) {
      setenv(k, v->c_str(), 1);
    } else {
      unsetenv(k);
    }
  };
  restore("KUBECONFIG", kubeconfig);
  restore("KUBERNETES_SERVICE_HOST", host);
  restore("KUBERNETES_SERVICE_PORT", sport);
  restore("CAIRN_SA_DIR", dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_TRUE(cfg->in_cluster);
  EXPECT_EQ(cfg->default_namespace, "paging");
  auto c = Client::Create(*cfg, FastRetries());
  ASSERT_TRUE(c.ok());
  auto got = (*c)->Get(kConfigMaps, cfg->default_namespace, "cm-7");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)["data"]["index"], "7");
}

TEST_F(KubeClientIntegration, ExecPluginTokenIsRerunAfterExpiry) {
  const std::string d = server_->dir();
  std::string plugin = WriteScript(
      "exec-token.sh",
      "n=$(cat \"$STATE/exec-runs\" 2>/dev/null || echo 0); echo $((n+1)) > \"$STATE/exec-runs\"\n"
      "exp=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)\n"
      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"%s\"}}' \"$(cat \"$STATE/token\")\" "
      "\"$exp\"\n");
  std::string kc = WriteKubeconfig("kubeconfig-exec",
                                   "    exec:\n"
                                   "      apiVersion: client.authentication.k8s.io/v1\n"
                                   "      command: ./exec-token.sh\n"
                                   "      interactiveMode: Never\n"
                                   "      env: [{name: STATE, value: '" +
                                       d + "'}]\n");
  auto c = Connect(kc);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Get(kNamespaces, "", "default").ok());
  ASSERT_TRUE(c->Get(kNamespaces, "", "kube-system").ok());
  EXPECT_EQ(c->exec_plugin_runs(), 1);  // cached while valid
  std::this_thread::sleep_for(3s);      // past expirationTimestamp
  auto r = c->Get(kNamespaces, "", "default");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(c->exec_plugin_runs(), 2);
  EXPECT_EQ(Trimmed(Slurp(d + "/exec-runs")), "2");
}

TEST_F(KubeClientIntegration, ExecPluginV1beta1ClientCertificate) {
  const std::string d = server_->dir();
  WriteScript("exec-cert.sh",
              "esc() { awk '{printf \"%s\\\\n\", $0}' \"$1\"; }\n"
              "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
              "\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":\"%s\","
              "\"clientKeyData\":\"%s\"}}' \"$(esc \"$STATE/client.crt\")\" "
              "\"$(esc \"$STATE/client.key\")\"\n");
  std::string kc = WriteKubeconfig("kubeconfig-exec-cert",
                                   "    exec:\n"
                                   "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                   "      command: ./exec-cert.sh\n"
                                   "      env: [{name: STATE, value: '" +
                                       d + "'}]\n");
  auto c = Connect(kc);
  ASSERT_TRUE(c);
  server_->Admin({{"clear_requests", true}});
  auto r = c->Get(kNamespaces, "", "default");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto reqs = server_->Requests("/api/v1/namespaces/default");
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back()["user"], "kubernetes-admin");
}

TEST_F(KubeClientIntegration, ExecPluginFailureIsUnauthenticated) {
  WriteScript("exec-fail.sh", "echo 'error: SSO session expired; run aws sso login' >&2\nexit 1\n");
  std::string kc = WriteKubeconfig("kubeconfig-exec-fail",
                                   "    exec:\n"
                                   "      apiVersion: client.authentication.k8s.io/v1\n"
                                   "      command: ./exec-fail.sh\n");
  auto cfg = LoadClusterConfig({kc, ""});
  ASSERT_TRUE(cfg.ok());
  auto c = Client::Create(*cfg, FastRetries());
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Get(kNamespaces, "", "default");
  EXPECT_EQ(r.status().code(), base::Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("SSO session expired"), std::string::npos)
      << r.status().message();
}

TEST_F(KubeClientIntegration, ConcurrentRequestsShareTheLimits) {
  ClientOptions o = FastRetries();
  o.qps = 200;
  o.burst = 10;
  o.max_in_flight = 3;
  auto c = Connect(server_->dir() + "/kubeconfig", o);
  ASSERT_TRUE(c);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (!c->Get(kConfigMaps, "paging", "cm-" + std::to_string(t * 10 + i)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // 60 requests, 10 free, 50 at 200 qps: at least 250 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 240ms);
}

}  // namespace
}  // namespace cairn::kube

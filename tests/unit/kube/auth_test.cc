// Tests for kube/auth and kube/exec_credential: token file rotation, exec credentials cached
// until their expirationTimestamp (fake clock), refreshed after a 401, client certificates
// from a plugin; ExecCredential decoding; a real plugin process (a shell script).
#include "kube/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/log.h"

namespace cairn::kube {
namespace {

using namespace std::chrono_literals;

const base::TimePoint kStart{std::chrono::seconds(1'790'000'000)};

ExecConfig V1Exec(std::string command = "plugin") {
  ExecConfig e;
  e.api_version = "client.authentication.k8s.io/v1";
  e.command = std::move(command);
  return e;
}

// A private directory under the test temp dir, removed with everything in it at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "cairn-kube-auth-XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~ScratchDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(AuthTest, StaticToken) {
  base::FakeClock clock(kStart);
  ClusterConfig cfg;
  cfg.token = "static-0123456789";
  Auth a(cfg, clock);
  EXPECT_EQ(*a.BearerToken(), "static-0123456789");
  EXPECT_FALSE(a.Invalidate());  // nothing to refresh: a 401 is final
}

TEST(AuthTest, NoCredentials) {
  base::FakeClock clock(kStart);
  ClusterConfig cfg;
  Auth a(cfg, clock);
  EXPECT_EQ(*a.BearerToken(), "");
  EXPECT_EQ(a.Cert()->cert_pem, "");
}

TEST(AuthTest, TokenFileIsReReadWhenItChanges) {
  base::FakeClock clock(kStart);
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  ClusterConfig cfg;
  cfg.token_file = dir + "/token";
  std::ofstream(cfg.token_file) << "first-token-0123\n";
  Auth a(cfg, clock);
  EXPECT_EQ(*a.BearerToken(), "first-token-0123");
  // kubelet swaps the file (a new inode) when it rotates a projected token.
  std::ofstream(dir + "/token.new") << "second-token-0123\n";
  ASSERT_EQ(rename((dir + "/token.new").c_str(), cfg.token_file.c_str()), 0);
  EXPECT_EQ(*a.BearerToken(), "second-token-0123");
  EXPECT_EQ(base::Redact("second-token-0123"), "[REDACTED]");
  // Missing mid-rotation: the last token is kept.
  ASSERT_EQ(unlink(cfg.token_file.c_str()), 0);
  EXPECT_EQ(*a.BearerToken(), "second-token-0123");
  EXPECT_TRUE(a.Invalidate());
  auto gone = a.BearerToken();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), base::Code::kUnauthenticated);
  EXPECT_NE(gone.status().message().find(cfg.token_file), std::string::npos);
}

TEST(AuthTest, ExecTokenCachedUntilExpiry) {
  base::FakeClock clock(kStart);
  ClusterConfig cfg;
  cfg.exec = V1Exec();
  int runs = 0;
  Auth a(cfg, clock, [&](const ClusterConfig&) -> base::Result<ExecCredential> {
    ++runs;
    ExecCredential c;
    c.token = "exec-token-" + std::to_string(runs);
    c.expiry = clock.Now() + 10min;
    return c;
  });
  EXPECT_EQ(*a.BearerToken(), "exec-token-1");
  clock.Advance(9min);
  EXPECT_EQ(*a.BearerToken(), "exec-token-1");
  clock.Advance(1min);  // expired at exactly the timestamp
  EXPECT_EQ(*a.BearerToken(), "exec-token-2");
  EXPECT_EQ(a.exec_runs(), 2);
  EXPECT_TRUE(a.Invalidate());  // a 401: run again even though not expired
  EXPECT_EQ(*a.BearerToken(), "exec-token-3");
  EXPECT_EQ(a.Cert()->cert_pem, "");
}

TEST(AuthTest, ExecWithoutExpiryIsKept) {
  base::FakeClock clock(kStart);
  ClusterConfig cfg;
  cfg.exec = V1Exec();
  int runs = 0;
  Auth a(cfg, clock, [&](const ClusterConfig&) -> base::Result<ExecCredential> {
    ++runs;
    ExecCredential c;
    c.token = "forever-token";
    return c;
  });
  EXPECT_EQ(*a.BearerToken(), "forever-token");
  clock.Advance(1000h);
  EXPECT_EQ(*a.BearerToken(), "forever-token");
  EXPECT_EQ(runs, 1);
}

TEST(AuthTest, ExecFailureIsReturnedAndRetriedNextTime) {
  base::FakeClock clock(kStart);
  ClusterConfig cfg;
  cfg.exec = V1Exec();
  int runs = 0;
  Auth a(cfg, clock, [&](const ClusterConfig&) -> base::Result<ExecCredential> {
    if (++runs == 1) return base::Error(base::Code::kUnauthenticated, "plugin failed");
    ExecCredential c;
    c.token = "ok-token";
    return c;
  });
  EXPECT_EQ(a.BearerToken().status().message(), "plugin failed");
  EXPECT_EQ(*a.BearerToken(), "ok-token");
}

TEST(AuthTest, ExecClientCertificateGenerations) {
  base::FakeClock clock(kStart);
  ClusterConfig cfg;
  cfg.exec = V1Exec();
  int runs = 0;
  Auth a(cfg, clock, [&](const ClusterConfig&) -> base::Result<ExecCredential> {
    ++runs;
    ExecCredential c;
    c.client_cert_pem = "CERT" + std::to_string(runs);
    c.client_key_pem = "KEY-" + std::to_string(runs);
    c.expiry = clock.Now() + 1h;
    return c;
  });
  auto c1 = a.Cert();
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(c1->cert_pem, "CERT1");
  EXPECT_EQ(*a.BearerToken(), "");  // certificates only
  EXPECT_EQ(a.Cert()->generation, c1->generation);
  clock.Advance(2h);
  auto c2 = a.Cert();
  EXPECT_EQ(c2->cert_pem, "CERT2");
  EXPECT_NE(c2->generation, c1->generation);  // the caller rebuilds its TLS client
}

TEST(ExecCredentialTest, ParsesTokenAndExpiry) {
  auto c = ParseExecCredential(R"({"kind":"ExecCredential",
      "apiVersion":"client.authentication.k8s.io/v1","spec":{},
      "status":{"token":"parsed-token-0123","expirationTimestamp":"2026-11-21T05:00:00Z"}})",
                               V1Exec());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "parsed-token-0123");
  ASSERT_TRUE(c->expiry);
  EXPECT_EQ(base::FormatRfc3339(*c->expiry), "2026-11-21T05:00:00Z");
  EXPECT_EQ(base::Redact("parsed-token-0123"), "[REDACTED]");
}

TEST(ExecCredentialTest, ParsesClientCertificate) {
  ExecConfig e = V1Exec();
  e.api_version = "client.authentication.k8s.io/v1beta1";
  auto c = ParseExecCredential(R"({"kind":"ExecCredential",
      "apiVersion":"client.authentication.k8s.io/v1beta1",
      "status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----\nX\n",
                "clientKeyData":"-----BEGIN PRIVATE KEY-----\nY\n"}})",
                               e);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->client_cert_pem, "-----BEGIN CERTIFICATE-----\nX\n");
  EXPECT_FALSE(c->expiry);
}

TEST(ExecCredentialTest, RejectsWithoutQuotingTheOutput) {
  struct Case {
    const char* out;
    const char* want;
  };
  const Case cases[] = {
      {"secret-ish garbage", "did not print an ExecCredential"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",
          "status":{"token":"t0123456"}})",
       "apiVersion 'client.authentication.k8s.io/v1beta1', but the kubeconfig asks for"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"})",
       "without a status"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",
          "status":{}})",
       "neither a token nor a client certificate"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",
          "status":{"token":"t0123456","expirationTimestamp":"tomorrow"}})",
       "invalid expirationTimestamp"},
  };
  for (const auto& c : cases) {
    auto r = ParseExecCredential(c.out, V1Exec());
    ASSERT_FALSE(r.ok()) << c.out;
    EXPECT_EQ(r.status().code(), base::Code::kUnauthenticated);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("garbage"), std::string::npos);
  }
}

TEST(ExecCredentialTest, ExecInfoCarriesTheClusterWhenAsked) {
  ClusterConfig cfg;
  cfg.server = "https://k8s.example:6443";
  cfg.ca_pem = "PEM";
  ExecConfig e = V1Exec();
  auto plain = nlohmann::json::parse(ExecInfoJson(e, cfg));
  EXPECT_EQ(plain["kind"], "ExecCredential");
  EXPECT_EQ(plain["apiVersion"], "client.authentication.k8s.io/v1");
  EXPECT_EQ(plain["spec"]["interactive"], false);
  EXPECT_FALSE(plain["spec"].contains("cluster"));
  e.provide_cluster_info = true;
  auto info = nlohmann::json::parse(ExecInfoJson(e, cfg));
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://k8s.example:6443");
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"], "UEVN");
}

class ExecPluginTest : public ::testing::Test {
 protected:
  ScratchDir scratch_;
  // Writes an executable shell script and returns its path.
  std::string Script(const std::string& body) {
    std::string path = scratch_.path() + "/plugin.sh";
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    return path;
  }
};

TEST_F(ExecPluginTest, RunsThePluginWithEnvAndArgs) {
  ClusterConfig cfg;
  cfg.context = "test";
  cfg.server = "https://k8s.example";
  cfg.exec = V1Exec(Script(
      "case \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) exit 9;; esac\n"
      "printf '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
      "\"status\":{\"token\":\"%s-%s\"}}' \"$PLUGIN_PREFIX\" \"$1\"\n"));
  cfg.exec->args = {"arg0123"};
  cfg.exec->env = {{"PLUGIN_PREFIX", "tok"}};
  auto c = RunExecPlugin(cfg);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "tok-arg0123");
}

TEST_F(ExecPluginTest, FailureQuotesStderrAndKeepsStdoutOut) {
  ClusterConfig cfg;
  cfg.context = "test";
  cfg.exec =
      V1Exec(Script("echo 'stdout-credential'\necho 'token expired, run login' >&2\n"
                    "exit 3\n"));
  auto c = RunExecPlugin(cfg);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kUnauthenticated);
  EXPECT_NE(c.status().message().find("for context \"test\" failed with exit status 3: token "
                                      "expired, run login"),
            std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find("stdout-credential"), std::string::npos);
}

TEST_F(ExecPluginTest, MissingCommandShowsInstallHint) {
  ClusterConfig cfg;
  cfg.exec = V1Exec("cairn-no-such-plugin-xyz");
  cfg.exec->install_hint = "install it from example.com";
  auto c = RunExecPlugin(cfg);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kUnauthenticated);
  EXPECT_EQ(c.status().hint(), "install it from example.com");
}

TEST_F(ExecPluginTest, HangingPluginIsKilled) {
  ClusterConfig cfg;
  cfg.exec = V1Exec(Script("exec sleep 30\n"));
  auto start = std::chrono::steady_clock::now();
  auto c = RunExecPlugin(cfg, 300ms);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// True while process `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] != 'Z';
}

TEST_F(ExecPluginTest, HangingPluginIsKilledWithItsChildrenAtTheRunsDeadline) {
  ClusterConfig cfg;
  cfg.context = "test";
  std::string child_file = scratch_.path() + "/child.pid";
  // A plugin whose own timeout is far away, and that waits on a child of its own.
  cfg.exec = V1Exec(Script("sleep 600 &\necho $! > '" + child_file + "'\nwait\n"));
  base::Deadline deadline(std::chrono::steady_clock::now() + 500ms);
  auto start = std::chrono::steady_clock::now();
  auto c = RunExecPlugin(cfg, ExecLimits{std::chrono::seconds(60), &deadline, nullptr});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kDeadlineExceeded);
  EXPECT_NE(c.status().message().find("still running at the run's deadline"), std::string::npos)
      << c.status().message();
  pid_t child = 0;
  std::ifstream(child_file) >> child;
  ASSERT_GT(child, 0);
  for (int i = 0; i < 50 && Alive(child); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(Alive(child)) << "the plugin's child outlived it";
  // Past the deadline the plugin is not started at all.
  auto late = RunExecPlugin(cfg, ExecLimits{std::chrono::seconds(60), &deadline, nullptr});
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("not run"), std::string::npos);
}

TEST_F(ExecPluginTest, CancelKillsTheRunningPlugin) {
  ClusterConfig cfg;
  cfg.exec = V1Exec(Script("exec sleep 600\n"));
  std::atomic<bool> cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto c = RunExecPlugin(cfg, ExecLimits{std::chrono::seconds(60), nullptr, &cancel});
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kCancelled);
}

TEST(AuthTest, TheClientsDeadlineReachesItsExecPlugin) {
  // What kube::Client does: Auth runs the plugin under the client's deadline.
  ScratchDir scratch;
  std::string path = scratch.path() + "/hang.sh";
  std::ofstream(path) << "#!/bin/sh\nexec sleep 600\n";
  chmod(path.c_str(), 0755);
  ClusterConfig cfg;
  cfg.exec = V1Exec(path);
  base::Deadline deadline(std::chrono::steady_clock::now() + 300ms);
  Auth auth(cfg, base::RealClock(), nullptr,
            ExecLimits{std::chrono::seconds(60), &deadline, nullptr});
  auto start = std::chrono::steady_clock::now();
  auto token = auth.BearerToken();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), base::Code::kDeadlineExceeded);
}

}  // namespace
}  // namespace cairn::kube

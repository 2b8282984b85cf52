// Tests for kube/config: kubeconfig fixtures in tests/data/kube (kind-style inline client
// certificates, tokens, tokenFile and CA files relative to the kubeconfig, insecure TLS,
// several contexts, exec plugins v1 and v1beta1, merging of a $KUBECONFIG list), the errors
// that name the file and the context, and in-cluster configuration through $CAIRN_SA_DIR.
#include "kube/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "base/log.h"

namespace cairn::kube {
namespace {

const std::string kData = std::string(CAIRN_TEST_DATA) + "/kube/";
const std::string kCa =
    "-----BEGIN CERTIFICATE-----\nTEST-CA-FOR-CAIRN-UNIT-TESTS\n"
    "-----END CERTIFICATE-----\n";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Sets (or unsets, with nullopt) environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, std::optional<std::string>>> vars) {
    for (const auto& [k, v] : vars) {
      const char* old = std::getenv(k);
      saved_[k] = old ? std::optional<std::string>(old) : std::nullopt;
      if (v) {
        setenv(k, v->c_str(), 1);
      } else {
        unsetenv(k);
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : saved_) {
      if (v) {
        setenv(k.c_str(), v->c_str(), 1);
      } else {
        unsetenv(k.c_str());
      }
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST(KubeconfigTest, KindStyleInlineClientCertificate) {
  auto c = LoadClusterConfig({kData + "kind.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://127.0.0.1:40123");
  EXPECT_EQ(c->ca_pem, kCa);
  EXPECT_EQ(c->client_cert_pem, Slurp(kData + "certs/client.crt"));
  EXPECT_EQ(c->client_key_pem, Slurp(kData + "certs/client.key"));
  EXPECT_TRUE(c->token.empty());
  EXPECT_FALSE(c->exec);
  EXPECT_EQ(c->context, "kind-kind");
  EXPECT_EQ(c->default_namespace, "default");
  EXPECT_FALSE(c->in_cluster);
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  // The private key is a registered secret: logs cannot show it.
  EXPECT_EQ(base::Redact("key=" + c->client_key_pem), "key=[REDACTED]");
}

TEST(KubeconfigTest, StaticTokenAndRelativeCaFile) {
  auto c = LoadClusterConfig({kData + "token.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://api.prod.example:6443");  // trailing slash dropped
  EXPECT_EQ(c->token, "static-token-0123456789");
  EXPECT_EQ(c->ca_pem, kCa);  // certs/ca.crt next to the kubeconfig, not the cwd
  EXPECT_EQ(c->default_namespace, "billing");
  EXPECT_EQ(base::Redact("Bearer static-token-0123456789"), "Bearer [REDACTED]");
}

TEST(KubeconfigTest, TokenFileIsResolvedRelativeToTheKubeconfig) {
  auto c = LoadClusterConfig({kData + "token-file.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token_file, kData + "token");
  EXPECT_TRUE(c->token.empty());  // the client reads the file per request
  EXPECT_EQ(c->ca_pem, kCa);
  EXPECT_EQ(base::Redact("file-token-0123456789"), "[REDACTED]");
}

TEST(KubeconfigTest, InsecureSkipTlsVerify) {
  auto c = LoadClusterConfig({kData + "insecure.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_TRUE(c->ca_pem.empty());
}

TEST(KubeconfigTest, CurrentContextByDefault) {
  auto c = LoadClusterConfig({kData + "multi.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "dev");
  EXPECT_EQ(c->server, "https://dev.example:6443");
  EXPECT_EQ(c->default_namespace, "team-a");
  EXPECT_EQ(c->client_cert_pem, Slurp(kData + "certs/client.crt"));  // file paths, relative
}

TEST(KubeconfigTest, ContextFlagSelectsAnother) {
  auto c = LoadClusterConfig({kData + "multi.yaml", "staging"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "staging");
  EXPECT_EQ(c->server, "https://staging.example:6443");
  EXPECT_EQ(c->token, "staging-token-0123456789");
  EXPECT_TRUE(c->client_cert_pem.empty());
  EXPECT_TRUE(c->ca_pem.empty());
}

TEST(KubeconfigTest, MissingContextNamesTheFileAndTheContext) {
  auto c = LoadClusterConfig({kData + "multi.yaml", "prod"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "context \"prod\" not found in kubeconfig '" + kData + "multi.yaml'");
  EXPECT_EQ(c.status().hint(), "contexts: dev, staging, bad-ca, broken-user");
}

TEST(KubeconfigTest, MissingUserAndUnreadableCaNameTheContext) {
  auto u = LoadClusterConfig({kData + "multi.yaml", "broken-user"});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(),
            "user \"nobody\" of context \"broken-user\" not found in "
            "kubeconfig '" +
                kData + "multi.yaml'");
  auto ca = LoadClusterConfig({kData + "multi.yaml", "bad-ca"});
  ASSERT_FALSE(ca.ok());
  EXPECT_EQ(ca.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(ca.status().message(),
            "kubeconfig '" + kData +
                "multi.yaml': clusters[2].cluster.certificate-authority: cannot read '" + kData +
                "missing/ca.crt': No such file or directory (cluster \"bad-ca\" of context "
                "\"bad-ca\")");
}

// A client key (or certificate, or token file) that cannot be read is named by its field in the
// kubeconfig, with the path and the reason: an invocation error the user can fix.
TEST(KubeconfigTest, UnreadableClientKeyNamesTheField) {
  const std::string dir = ::testing::TempDir() + "kubeconfig-key/";
  std::filesystem::create_directories(dir + "key-is-a-dir");
  const std::string path = dir + "config";
  std::ofstream(path) << "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: "
                         "https://k:6443}\nusers:\n- name: other\n  user: {token: t}\n"
                         "- name: u\n  user:\n    client-certificate-data: "
                         "LS0tLS1CRUdJTg==\n    client-key: /x/y\n"
                         "- name: d\n  user:\n    client-certificate-data: "
                         "LS0tLS1CRUdJTg==\n    client-key: key-is-a-dir\n"
                         "- name: t\n  user: {tokenFile: nope/token}\n"
                         "- name: b\n  user: {client-certificate-data: '%%%'}\n"
                         "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n"
                         "- name: dir\n  context: {cluster: c, user: d}\n"
                         "- name: tok\n  context: {cluster: c, user: t}\n"
                         "- name: b64\n  context: {cluster: c, user: b}\n"
                         "current-context: ctx\n";
  auto missing = LoadClusterConfig({path, ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "kubeconfig '" + path +
                "': users[1].user.client-key: cannot read '/x/y': No such file or directory "
                "(user \"u\" of context \"ctx\")");
  auto is_dir = LoadClusterConfig({path, "dir"});
  ASSERT_FALSE(is_dir.ok());
  EXPECT_EQ(is_dir.status().message(),
            "kubeconfig '" + path + "': users[2].user.client-key: cannot read '" + dir +
                "key-is-a-dir': Is a directory (user \"d\" of context \"dir\")");
  auto token = LoadClusterConfig({path, "tok"});
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().message(),
            "kubeconfig '" + path + "': users[3].user.tokenFile: cannot read '" + dir +
                "nope/token': No such file or directory (user \"t\" of context \"tok\")");
  auto b64 = LoadClusterConfig({path, "b64"});
  ASSERT_FALSE(b64.ok());
  EXPECT_EQ(b64.status().message(),
            "kubeconfig '" + path +
                "': users[4].user.client-certificate-data: not valid base64 (user \"b\" of "
                "context \"b64\")");
  std::filesystem::remove_all(dir);
}

TEST(KubeconfigTest, NoCurrentContext) {
  auto c = LoadClusterConfig({kData + "no-current-context.yaml", ""});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "kubeconfig '" + kData + "no-current-context.yaml' has no current-context");
  EXPECT_EQ(c.status().hint(), "pass --context (contexts: a)");
}

TEST(KubeconfigTest, MissingFileNamesIt) {
  auto c = LoadClusterConfig({kData + "nope.yaml", ""});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("unable to read kubeconfig '" + kData + "nope.yaml'"),
            std::string::npos);
}

TEST(KubeconfigTest, MalformedYamlNamesFileAndLine) {
  std::string path = ::testing::TempDir() + "bad-kubeconfig.yaml";
  std::ofstream(path) << "apiVersion: v1\nclusters:\n- name: [unclosed\n";
  auto c = LoadClusterConfig({path, ""});
  std::filesystem::remove(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unable to parse kubeconfig '" + path + "': line "),
            std::string::npos)
      << c.status().message();
}

// An entry without its body (a misspelt "context:") or with a body that is not a mapping is an
// error naming the entry, never an exception escaping from yaml-cpp (found by the kubeconfig
// fuzz target: tests/fuzz/corpus/kubeconfig/regression-3db82d5ee008dd0a).
TEST(KubeconfigTest, EntryWithoutOrWithAMalformedBodyIsAnError) {
  const std::string head =
      "clusters:\n- name: lab\n  cluster: {server: 'https://k:6443'}\n"
      "users:\n- name: admin\n  user: {token: t}\ncurrent-context: lab\ncontexts:\n- name: lab\n";
  std::string path = ::testing::TempDir() + "entry-body-kubeconfig.yaml";
  std::ofstream(path) << head << "  contoxt: {cluster: lab, user: admin}\n";
  auto c = LoadClusterConfig({path, ""});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("of context \"lab\" not found in kubeconfig '" + path),
            std::string::npos)
      << c.status().message();

  std::ofstream(path, std::ios::trunc) << head << "  context: lab\n";
  c = LoadClusterConfig({path, ""});
  std::filesystem::remove(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "kubeconfig '" + path +
                                      "': contexts[0].context: must be a mapping (contexts entry "
                                      "\"lab\")");
}

TEST(KubeconfigTest, ExecV1) {
  auto c = LoadClusterConfig({kData + "exec-v1.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->exec);
  EXPECT_EQ(c->exec->api_version, "client.authentication.k8s.io/v1");
  EXPECT_EQ(c->exec->command, "aws");  // a bare name is looked up in $PATH
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"--region", "eu-west-1", "eks", "get-token",
                                                     "--cluster-name", "prod"}));
  ASSERT_EQ(c->exec->env.size(), 1u);
  EXPECT_EQ(c->exec->env[0], (std::pair<std::string, std::string>{"AWS_PROFILE", "prod"}));
  EXPECT_EQ(c->exec->install_hint, "aws CLI is required: https://aws.amazon.com/cli/");
  EXPECT_TRUE(c->exec->provide_cluster_info);
  EXPECT_EQ(c->ca_pem, kCa);
}

TEST(KubeconfigTest, ExecV1beta1WithRelativeCommand) {
  auto c = LoadClusterConfig({kData + "exec-v1beta1.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->exec);
  EXPECT_EQ(c->exec->api_version, "client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(c->exec->command, kData + "./bin/get-token");
  EXPECT_FALSE(c->exec->provide_cluster_info);
}

TEST(KubeconfigTest, ExecUnsupportedVersion) {
  std::string path = ::testing::TempDir() + "exec-alpha.yaml";
  std::ofstream(path) << "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                         "users: [{name: u, user: {exec: {apiVersion: "
                         "client.authentication.k8s.io/v1alpha1, command: p}}}]\n"
                         "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
                         "current-context: c\n";
  auto c = LoadClusterConfig({path, ""});
  std::filesystem::remove(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(
      c.status().message().find("exec plugin of user \"u\" (context \"c\", kubeconfig '" + path +
                                "') has apiVersion "
                                "'client.authentication.k8s.io/v1alpha1'"),
      std::string::npos)
      << c.status().message();
}

TEST(KubeconfigTest, ExecThatNeedsATerminalIsRejected) {
  std::string path = ::testing::TempDir() + "exec-interactive.yaml";
  std::ofstream(path)
      << "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
         "users: [{name: u, user: {exec: {apiVersion: "
         "client.authentication.k8s.io/v1, command: p, interactiveMode: Always}}}]\n"
         "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
         "current-context: c\n";
  auto c = LoadClusterConfig({path, ""});
  std::filesystem::remove(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("needs a terminal"), std::string::npos);
}

TEST(KubeconfigTest, KubeconfigEnvListIsMergedFirstWins) {
  ScopedEnv env({{"KUBECONFIG",
                  kData + "missing.yaml:" + kData + "token.yaml:" + kData + "merge-second.yaml"}});
  auto c = LoadClusterConfig({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "prod");  // current-context of the first file that sets one
  EXPECT_EQ(c->server, "https://api.prod.example:6443");  // "prod" of the second is shadowed
  EXPECT_EQ(c->source, kData + "token.yaml:" + kData + "merge-second.yaml");
  auto extra = LoadClusterConfig({"", "extra"});
  ASSERT_TRUE(extra.ok()) << extra.status().ToString();
  EXPECT_EQ(extra->server, "https://extra.example");
  EXPECT_EQ(extra->default_namespace, "x");
}

TEST(KubeconfigTest, FlagWinsOverEnvAndInCluster) {
  ScopedEnv env({{"KUBECONFIG", kData + "token.yaml"},
                 {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                 {"KUBERNETES_SERVICE_PORT", "443"}});
  auto c = LoadClusterConfig({kData + "kind.yaml", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "kind-kind");
}

TEST(InClusterTest, ServiceAccountDirectory) {
  ScopedEnv env({{"KUBECONFIG", std::nullopt},
                 {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                 {"KUBERNETES_SERVICE_PORT", "443"},
                 {"CAIRN_SA_DIR", kData + "sa"}});
  auto c = LoadClusterConfig({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->in_cluster);
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, kData + "sa/token");
  EXPECT_TRUE(c->token.empty());
  EXPECT_EQ(c->ca_pem, kCa);
  EXPECT_EQ(c->default_namespace, "shop");
  EXPECT_EQ(c->context, "");
  EXPECT_EQ(base::Redact("sa-token-0123456789"), "[REDACTED]");
}

TEST(InClusterTest, Ipv6HostIsBracketed) {
  ScopedEnv env({{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                 {"KUBERNETES_SERVICE_PORT", "443"},
                 {"CAIRN_SA_DIR", kData + "sa"}});
  auto c = LoadInCluster();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
}

TEST(InClusterTest, MissingTokenIsAnErrorWithHint) {
  ScopedEnv env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                 {"KUBERNETES_SERVICE_PORT", "443"},
                 {"CAIRN_SA_DIR", kData + "no-such-dir"}});
  auto c = LoadInCluster();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("'" + kData + "no-such-dir/token'"), std::string::npos);
  EXPECT_NE(c.status().hint().find("automountServiceAccountToken"), std::string::npos);
}

TEST(InClusterTest, ContextFlagSkipsInCluster) {
  ScopedEnv env({{"KUBECONFIG", std::nullopt},
                 {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                 {"KUBERNETES_SERVICE_PORT", "443"},
                 {"CAIRN_SA_DIR", kData + "sa"},
                 {"HOME", kData + "no-home"}});
  auto c = LoadClusterConfig({"", "dev"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'" + kData + "no-home/.kube/config' does not exist"),
            std::string::npos)
      << c.status().message();
}

TEST(InClusterTest, HomeKubeconfigWhenNotInCluster) {
  std::string home = ::testing::TempDir() + "cairn-home";
  std::string cmd =
      "mkdir -p " + home + "/.kube && cp " + kData + "insecure.yaml " + home + "/.kube/config";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ScopedEnv env(
      {{"KUBECONFIG", std::nullopt}, {"KUBERNETES_SERVICE_HOST", std::nullopt}, {"HOME", home}});
  auto c = LoadClusterConfig({});
  std::filesystem::remove_all(home);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "lab");
}

}  // namespace
}  // namespace cairn::kube

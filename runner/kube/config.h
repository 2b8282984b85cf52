// kube/config: where the Kubernetes API is and how to authenticate to it.
//
// LoadClusterConfig resolves the connection the way client-go and kubectl do, in this order:
// --kubeconfig; else $KUBECONFIG (a ':' list, merged: the first file that defines a name wins,
// as does the first current-context); else the in-cluster service account, when
// KUBERNETES_SERVICE_HOST/PORT are set and no --context was asked for; else ~/.kube/config.
// In cluster the token, CA and namespace come from /var/run/secrets/kubernetes.io/serviceaccount
// (the directory is overridable with $CAIRN_SA_DIR, for tests). Relative paths in a kubeconfig
// are relative to the file that holds them. Every error names the file and the context. Tokens
// and private keys are registered with base::RegisterSecret as they are read, and never appear
// in messages. The result is plain data: nothing is contacted and no plugin is run here.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cairn::kube {

// A client-go credential plugin (users[].user.exec), client.authentication.k8s.io/v1 or v1beta1.
struct ExecConfig {
  std::string api_version, command;  // command: relative paths with a '/' already resolved
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  bool provide_cluster_info = false;
};

struct ClusterConfig {
  std::string server;                     // https://host:port
  std::string ca_pem;                     // certificate-authority(-data) or the in-cluster CA
  bool insecure_skip_tls_verify = false;  // honoured with a warning log
  std::string client_cert_pem, client_key_pem;
  std::string token;               // static bearer token (wins over token_file, as in client-go)
  std::string token_file;          // re-read when it changes (in-cluster rotation, tokenFile)
  std::optional<ExecConfig> exec;  // ExecCredential plugin; re-run when its credential expires
  std::string context;             // kubeconfig context used ("" in cluster)
  std::string default_namespace;   // context namespace, or the in-cluster namespace file
  bool in_cluster = false;
  std::string source;  // added: the kubeconfig file(s) or service account directory used
};

struct LoadOptions {
  std::string kubeconfig;  // --kubeconfig
  std::string context;     // --context
};

base::Result<ClusterConfig> LoadClusterConfig(const LoadOptions& opts);

// Added, for tests and tools: the pieces LoadClusterConfig chooses between.
// Parses kubeconfig files (merged in order; files missing from a $KUBECONFIG list are skipped
// unless none exists) and selects `context` (or the current-context).
base::Result<ClusterConfig> LoadKubeconfig(const std::vector<std::string>& files,
                                           const std::string& context);
// The in-cluster configuration from the environment and the service account directory.
base::Result<ClusterConfig> LoadInCluster();

}  // namespace cairn::kube

// kube/exec_credential: client-go credential plugins (kubeconfig users[].user.exec).
//
// The plugin runs as a child process with stdin from /dev/null, the kubeconfig's env added to
// ours and KUBERNETES_EXEC_INFO describing the request (with the cluster when
// provideClusterInfo is set). It prints an ExecCredential (client.authentication.k8s.io/v1 or
// v1beta1, the version the kubeconfig asked for) holding a bearer token or a client certificate
// and key, and optionally an expirationTimestamp after which it must be run again. Its stdout
// holds a credential, so it never appears in a message; its stderr is quoted (redacted, cut
// short) when it fails. A plugin that does not finish within its timeout, by the run's deadline
// or before the run is cancelled is killed with everything it started (its process group), so
// a hanging plugin cannot hold a run past --timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/retry.h"
#include "base/status.h"
#include "kube/config.h"

namespace cairn::kube {

struct ExecCredential {
  std::string token;
  std::string client_cert_pem, client_key_pem;
  std::optional<base::TimePoint> expiry;  // none: valid until the server rejects it
};

// The KUBERNETES_EXEC_INFO value for `exec`, from `cluster`.
std::string ExecInfoJson(const ExecConfig& exec, const ClusterConfig& cluster);

// Decodes the plugin's stdout. `plugin` names it in messages.
base::Result<ExecCredential> ParseExecCredential(std::string_view out, const ExecConfig& exec);

// What bounds one plugin run (the steady clock is the real one: the plugin is a real process).
struct ExecLimits {
  std::chrono::milliseconds timeout{60'000};  // the plugin's own limit
  const base::Deadline* deadline = nullptr;   // the run's deadline (--timeout)
  const std::atomic<bool>* cancel = nullptr;  // SIGTERM
};

// Runs the plugin of `cluster.exec` and decodes what it printed.
base::Result<ExecCredential> RunExecPlugin(const ClusterConfig& cluster, const ExecLimits& limits);
inline base::Result<ExecCredential> RunExecPlugin(
    const ClusterConfig& cluster, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return RunExecPlugin(cluster, ExecLimits{timeout});
}

}  // namespace cairn::kube

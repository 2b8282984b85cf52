// main/wiring: the only place where configuration becomes drivers.
//
// Every executable parses its command line with ParseInvocation (common flags + its own, the
// config file, the vault) and opens its store with OpenStore. Both report an invalid invocation
// as exit code 2 with a message on stderr; nothing here touches the network.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "base/retry.h"
#include "config/cli.h"
#include "config/flags.h"
#include "kube/client.h"
#include "store/object_store.h"
#include "vault/layout.h"

namespace cairn::wiring {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartiallyFailed = 3;

// "cairn 0.1.0"
std::string Version();

struct Invocation {
  config::ParsedFlags flags;
  config::CommonFlags common;
  std::optional<config::Config> config;
  config::ResolvedVault vault;
  config::ResolvedSettings settings;
};

// Parses argv. Returns the invocation, or the exit code to stop with: 0 after printing --help
// or --version, 2 after printing why the invocation is wrong. Sets up logging.
// `vault_hint`, when given, names the vault to use when neither --vault nor --url does (a
// backup policy's vault), before the config's defaults apply.
using VaultHint = std::function<std::string(const config::Config*, const config::ParsedFlags&)>;
std::variant<Invocation, int> ParseInvocation(const config::FlagSet& flags, int argc, char** argv,
                                              const VaultHint& vault_hint = {});

// How a store's or a cluster client's requests are bounded (RunControl gives the two paths).
struct Bounds {
  const std::atomic<bool>* cancel = nullptr;  // the data path stops when it is set
  const base::Deadline* deadline = nullptr;   // no request or wait outlives it
  // Multipart aborts after a stop (s3): never cancelled, never past this deadline.
  const base::Deadline* cleanup_deadline = nullptr;
  // Overrides retry_timeout: reporting must not hold a run up.
  std::optional<std::chrono::milliseconds> retry_timeout;
};

// Reporting retries a request for this long at most (status object, ConfigMap, events).
inline constexpr std::chrono::milliseconds kReportRetryTimeout{20'000};

// Opens the vault's store: file:// → posix, s3:// → s3 with credentials from the vault's
// credentials_file or the AWS environment. AWS_ENDPOINT_URL, AWS_REGION and AWS_CA_BUNDLE fill
// what neither flags nor config set. Each request is retried for retry_timeout, never past
// --timeout or `bounds.deadline`.
base::Result<std::unique_ptr<store::ObjectStore>> OpenStore(const config::VaultConfig& vault,
                                                            const config::ResolvedSettings& s,
                                                            const Bounds& bounds);
base::Result<std::unique_ptr<store::ObjectStore>> OpenStore(
    const config::VaultConfig& vault, const config::ResolvedSettings& s,
    const std::atomic<bool>* cancel = nullptr);

// Client options every cairn Kubernetes client starts from: the user agent, the rate limit
// ([kubernetes] qps/burst, --kube-qps/--kube-burst) and the retry budget (retry_timeout).
kube::ClientOptions KubeClientOptions(const config::ResolvedSettings& settings);
kube::ClientOptions KubeClientOptions(const config::ResolvedSettings& settings,
                                      const Bounds& bounds);

// The cluster a run reports to (status ConfigMap, events): the one it runs in
// (KUBERNETES_SERVICE_HOST), or the one --kubeconfig / [kubernetes] kubeconfig names. nullptr
// when there is none; a cluster that cannot be configured is a warning, never a failure.
std::unique_ptr<kube::Client> OpenCluster(const Invocation& inv, std::vector<std::string>* warnings,
                                          const Bounds& bounds = {});

// A kubeconfig that is given but wrong (a missing file, an unreadable client key, not YAML) is
// an invocation error (exit 2) even for the executables that only report to a cluster
// (vault-check, gc); a cluster that cannot be reached, or a pod without its service account,
// stays a warning of the run (OpenCluster).
base::Status KubeconfigProblem(const Invocation& inv);

vault::Layout LayoutFor(const config::VaultConfig& vault);

// "file:///x" or "s3://bucket/prefix (endpoint ...)" for messages.
std::string DescribeVault(const config::VaultConfig& vault);

// How a run is stopped early: SIGTERM, SIGINT and the run's timeout set one flag that every data
// path polls (the HTTP clients, the store, the op). One per process: the signal handlers are
// global. The timeout counts from construction; Stop (or the destructor) ends the timer.
//
// Two deadlines bound every wait. deadline() is the run's (construction + timeout): the data
// path, API calls and exec plugins never outlive it. final_deadline() bounds what must still be
// written when the run ends — multipart aborts, the final status, its events — on clients that
// cancellation cannot reach: it is the run's deadline while the run goes on, and `grace` from
// the moment the run stops (cancel, timeout, or Stop() after a normal end). So a run ends at
// most `grace` after its timeout, with its status written. The timeout sets the cancel flag
// kDeadlineAfterCancel before deadline() passes, so whatever stops sees the cancel and its
// reason first.
inline constexpr std::chrono::milliseconds kFinalWritesGrace{15'000};
inline constexpr std::chrono::milliseconds kDeadlineAfterCancel{1'000};

class RunControl {
 public:
  explicit RunControl(std::optional<base::Duration> timeout,
                      std::chrono::milliseconds grace = kFinalWritesGrace);
  ~RunControl();
  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  std::atomic<bool>& cancel();
  const base::Deadline& deadline() const { return deadline_; }
  const base::Deadline& final_deadline() const { return final_; }
  // The data path: cancellable, bounded by the run's deadline; its aborts on the final path.
  Bounds DataPath();
  // Reporting: never cancelled, bounded by the final deadline, short retries.
  Bounds ReportPath() const;
  // The run is over: ends the timer and starts the final writes' grace.
  void Stop();
  // "timeout 1h exceeded", "received SIGTERM", "interrupted (SIGINT)"; "" when not cancelled.
  std::string Reason() const;

 private:
  void Watch();
  void ArmFinal();

  std::optional<base::Duration> timeout_;
  std::chrono::steady_clock::time_point timeout_at_{};
  std::chrono::milliseconds grace_;
  base::Deadline deadline_, final_;
  std::atomic<bool> final_armed_{false};
  std::atomic<bool> timed_out_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread timer_;
};

}  // namespace cairn::wiring

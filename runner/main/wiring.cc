#include "main/wiring.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "base/log.h"
#include "store/posix/posix_store.h"
#include "store/s3/credentials.h"
#include "store/s3/s3_store.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif

namespace cairn::wiring {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int UsageError(const std::string& program, const base::Status& st) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), base::Redact(st.ToString()).c_str());
  std::fprintf(stderr, "run '%s --help' for usage\n", program.c_str());
  return kExitUsage;
}

}  // namespace

std::string Version() { return std::string("cairn ") + CAIRN_VERSION; }

std::variant<Invocation, int> ParseInvocation(const config::FlagSet& flags, int argc, char** argv,
                                              const VaultHint& vault_hint) {
  const std::string& program = flags.program();
  auto parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) return UsageError(program, parsed.status());
  Invocation inv;
  inv.flags = std::move(parsed).value();
  if (inv.flags.GetBool("help")) {
    std::fputs(flags.Usage().c_str(), stdout);
    return kExitOk;
  }
  if (inv.flags.GetBool("version")) {
    std::printf("%s %s\n", program.c_str(), Version().c_str());
    return kExitOk;
  }
  auto common = config::GetCommonFlags(inv.flags);
  if (!common.ok()) return UsageError(program, common.status());
  inv.common = std::move(common).value();
  auto cfg = config::LoadConfigForFlags(inv.common);
  if (!cfg.ok()) return UsageError(program, cfg.status());
  inv.config = std::move(cfg).value();
  const config::Config* cp = inv.config ? &*inv.config : nullptr;
  inv.settings = config::ResolveSettings(cp, inv.common);
  // JSON lines unless asked otherwise; human text when stderr is a terminal and nothing is set.
  bool log_set = !inv.common.log_format.empty() || inv.config.has_value();
  if (log_set) {
    base::SetLogFormat(inv.settings.log_format == "json" ? base::LogFormat::kJson
                                                         : base::LogFormat::kText);
  } else {
    base::SetLogFormat(isatty(2) ? base::LogFormat::kText : base::LogFormat::kJson);
  }
  config::CommonFlags for_vault = inv.common;
  if (vault_hint && for_vault.vault.empty() && for_vault.url.empty()) {
    for_vault.vault = vault_hint(cp, inv.flags);
  }
  auto vault = config::ResolveVault(cp, for_vault);
  if (!vault.ok()) return UsageError(program, vault.status());
  inv.vault = std::move(vault).value();
  // AWS_ENDPOINT_URL is read like --endpoint (when neither it nor the vault sets one).
  if (inv.vault.vault.location.scheme == config::VaultUrl::Scheme::kS3 &&
      inv.vault.vault.endpoint.empty() && !Env("AWS_ENDPOINT_URL").empty()) {
    base::Status st = config::ValidateEndpointUrl(Env("AWS_ENDPOINT_URL"));
    if (!st.ok()) return UsageError(program, st.Wrap("AWS_ENDPOINT_URL"));
  }
  return inv;
}

kube::ClientOptions KubeClientOptions(const config::ResolvedSettings& settings) {
  kube::ClientOptions o;
  o.user_agent = Version();
  o.qps = settings.kube_qps;
  o.burst = settings.kube_burst;
  o.retry.overall_deadline =
      std::chrono::duration_cast<std::chrono::milliseconds>(settings.retry_timeout);
  return o;
}

kube::ClientOptions KubeClientOptions(const config::ResolvedSettings& settings,
                                      const Bounds& bounds) {
  kube::ClientOptions o = KubeClientOptions(settings);
  o.cancel = bounds.cancel;
  o.deadline = bounds.deadline;
  if (bounds.retry_timeout) o.retry.overall_deadline = *bounds.retry_timeout;
  return o;
}

std::unique_ptr<kube::Client> OpenCluster(const Invocation& inv, std::vector<std::string>* warnings,
                                          const Bounds& bounds) {
  const config::ResolvedSettings& s = inv.settings;
  bool in_pod = !Env("KUBERNETES_SERVICE_HOST").empty();
  if (s.kubeconfig.empty() && !in_pod) {
    base::LogDebug("no cluster to report to (not in a pod, no --kubeconfig)");
    return nullptr;
  }
  auto cfg = kube::LoadClusterConfig({s.kubeconfig, s.context});
  if (!cfg.ok()) {
    warnings->push_back("cluster reporting disabled: " + cfg.status().message());
    base::LogWarn("cluster reporting disabled", {{"error", cfg.status().message()}});
    return nullptr;
  }
  kube::ClientOptions opts = KubeClientOptions(s, bounds);
  // Reporting must not hold a run up: a short deadline, then a warning.
  opts.retry.overall_deadline = std::min(opts.retry.overall_deadline, kReportRetryTimeout);
  auto client = kube::Client::Create(std::move(cfg).value(), opts);
  if (!client.ok()) {
    warnings->push_back("cluster reporting disabled: " + client.status().message());
    return nullptr;
  }
  return std::move(client).value();
}

base::Status KubeconfigProblem(const Invocation& inv) {
  const config::ResolvedSettings& s = inv.settings;
  if (s.kubeconfig.empty() && Env("KUBERNETES_SERVICE_HOST").empty()) return base::Status::Ok();
  auto cfg = kube::LoadClusterConfig({s.kubeconfig, s.context});
  if (cfg.ok() || cfg.status().code() != base::Code::kInvalidArgument) return base::Status::Ok();
  return cfg.status();
}

vault::Layout LayoutFor(const config::VaultConfig& v) {
  return vault::Layout(v.location.scheme == config::VaultUrl::Scheme::kS3 ? v.location.prefix : "");
}

std::string DescribeVault(const config::VaultConfig& v) {
  std::string s = v.location.ToString();
  if (v.location.scheme == config::VaultUrl::Scheme::kS3) {
    std::string ep = v.endpoint.empty() ? Env("AWS_ENDPOINT_URL") : v.endpoint;
    if (!ep.empty()) s += " (endpoint " + ep + ")";
  }
  return s;
}

base::Result<std::unique_ptr<store::ObjectStore>> OpenStore(const config::VaultConfig& v,
                                                            const config::ResolvedSettings& s,
                                                            const std::atomic<bool>* cancel) {
  return OpenStore(v, s, Bounds{cancel, nullptr, nullptr, std::nullopt});
}

base::Result<std::unique_ptr<store::ObjectStore>> OpenStore(const config::VaultConfig& v,
                                                            const config::ResolvedSettings& s,
                                                            const Bounds& bounds) {
  if (v.location.scheme == config::VaultUrl::Scheme::kFile) {
    auto posix = store::PosixStore::Open(v.location.path);
    if (!posix.ok()) return posix.status();
    return std::unique_ptr<store::ObjectStore>(std::move(posix).value());
  }
  store::S3Options o;
  o.bucket = v.location.bucket;
  o.endpoint = !v.endpoint.empty() ? v.endpoint : Env("AWS_ENDPOINT_URL");
  o.region = !v.region.empty()                    ? v.region
             : !Env("AWS_REGION").empty()         ? Env("AWS_REGION")
             : !Env("AWS_DEFAULT_REGION").empty() ? Env("AWS_DEFAULT_REGION")
                                                  : "us-east-1";
  o.path_style = v.path_style;
  o.oss_network = v.oss_network;
  o.unsigned_payload = v.payload_signing == "unsigned";
  o.part_size = v.part_size;
  o.parallel_parts = v.parallel_parts;
  o.storage_class = v.storage_class;
  o.http.ca_file = !v.ca_file.empty() ? v.ca_file : Env("AWS_CA_BUNDLE");
  o.http.insecure_skip_verify = v.insecure_skip_tls_verify;
  o.http.user_agent = Version();
  o.http.cancel = bounds.cancel;
  o.http.deadline = bounds.deadline;
  o.cleanup_deadline = bounds.cleanup_deadline;
  o.http.retry.overall_deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
      bounds.retry_timeout ? *bounds.retry_timeout : s.retry_timeout);
  if (v.insecure_skip_tls_verify) {
    base::LogWarn("TLS verification of the S3 endpoint is disabled (insecure_skip_tls_verify)");
  }
  if (s.timeout) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*s.timeout);
    o.http.retry.overall_deadline = std::min(o.http.retry.overall_deadline, ms);
    o.http.request_timeout = std::min(o.http.request_timeout, ms);
    o.http.connect_timeout = std::min(o.http.connect_timeout, ms);
  }
  std::string where;
  auto creds = store::s3::LoadCredentials({v.credentials_file, v.profile}, &where);
  if (!creds.ok()) return creds.status();
  o.credentials = std::move(creds).value();
  base::LogDebug("s3 credentials loaded", {{"from", where}});
  auto s3 = store::S3Store::Create(std::move(o));
  if (!s3.ok()) return s3.status();
  return std::unique_ptr<store::ObjectStore>(std::move(s3).value());
}

namespace {
std::atomic<bool> g_cancel{false};
std::atomic<int> g_signal{0};
extern "C" void OnStopSignal(int sig) {
  g_signal = sig;
  g_cancel = true;
}
}  // namespace

RunControl::RunControl(std::optional<base::Duration> timeout, std::chrono::milliseconds grace)
    : timeout_(timeout), grace_(grace) {
  std::signal(SIGTERM, OnStopSignal);
  std::signal(SIGINT, OnStopSignal);
  // A write past the file size limit (ulimit -f) or to a closed pipe fails with EFBIG or EPIPE,
  // which the run reports, instead of killing the process before it can write its status.
  std::signal(SIGXFSZ, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  if (timeout_) {
    timeout_at_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(*timeout_);
    // The cancel (with its reason) comes first; the deadline is the backstop just after it.
    deadline_.Set(timeout_at_ + kDeadlineAfterCancel);
    final_.Set(timeout_at_ + grace_);
  }
  timer_ = std::thread([this] { Watch(); });
}

RunControl::~RunControl() { Stop(); }

std::atomic<bool>& RunControl::cancel() { return g_cancel; }

Bounds RunControl::DataPath() { return Bounds{&g_cancel, &deadline_, &final_, std::nullopt}; }

Bounds RunControl::ReportPath() const {
  return Bounds{nullptr, &final_, &final_, kReportRetryTimeout};
}

// Until the run stops: the timeout sets the cancel flag; a cancel (signal or timeout) starts
// the final writes' grace. Polls every 50 ms (a signal handler can only set flags).
void RunControl::Watch() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (timeout_ && std::chrono::steady_clock::now() >= timeout_at_ && !g_cancel.load()) {
      timed_out_ = true;
      g_cancel = true;
    }
    if (g_cancel.load()) {
      ArmFinal();
      return;
    }
    cv_.wait_for(l, std::chrono::milliseconds(50), [this] { return stop_; });
  }
}

void RunControl::ArmFinal() {
  if (final_armed_.exchange(true)) return;
  final_.Set(std::chrono::steady_clock::now() + grace_);
}

void RunControl::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  ArmFinal();
}

std::string RunControl::Reason() const {
  if (!g_cancel.load()) return "";
  if (timed_out_) return "timeout " + base::FormatDuration(*timeout_) + " exceeded";
  return g_signal == SIGINT ? "interrupted (SIGINT)" : "received SIGTERM";
}

}  // namespace cairn::wiring

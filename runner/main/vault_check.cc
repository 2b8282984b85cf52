// vault-check: proves a vault usable and says exactly why not (runner/ops/vault_check).
#include "ops/vault_check/vault_check.h"

#include <cstdio>
#include <cstdlib>

#include "base/log.h"
#include "main/metrics.h"
#include "main/wiring.h"
#include "report/identity.h"
#include "report/metrics_catalog.h"
#include "report/reporter.h"
#include "vault/catalog.h"

using namespace cairn;

namespace {

// How long vault-check retries one request when retry_timeout is not set (README).
constexpr base::Duration kCheckRetryTimeout = std::chrono::seconds(30);

int List(store::ObjectStore& store, const wiring::Invocation& inv) {
  auto listing = ops::vault_check::ListVault(store, wiring::LayoutFor(inv.vault.vault));
  if (!listing.ok()) {
    std::fprintf(stderr, "VaultError: unable to list backups: %s\n",
                 base::Redact(listing.status().ToString()).c_str());
    return wiring::kExitFailed;
  }
  const base::TimePoint now = base::RealClock().Now();
  std::string out = inv.settings.output == "json"
                        ? ops::vault_check::BackupListJson(*listing, now)
                        : ops::vault_check::FormatBackupList(*listing, now);
  std::fputs(base::Redact(out).c_str(), stdout);
  return wiring::kExitOk;
}

// cairn_vault_* (report/metrics_catalog.h); the catalog is listed only when they go somewhere.
std::vector<std::string> PushMetrics(const wiring::Invocation& inv, const vault::RunStatus& st,
                                     store::ObjectStore* store) {
  report::MetricsTarget target = wiring::MetricsTargetFor(inv);
  if (target.pushgateway.empty() && target.metrics_file.empty()) return {};
  const config::VaultConfig& vc = inv.vault.vault;
  std::vector<std::string> warnings;
  std::optional<std::vector<vault::BackupEntry>> catalog;
  if (store != nullptr && st.phase == vault::kPhaseAvailable) {
    auto listed = vault::ListBackups(*store, wiring::LayoutFor(vc));
    if (listed.ok())
      catalog = std::move(*listed);
    else
      warnings.push_back("metrics: " + listed.status().message());
  }
  report::VaultFacts facts{vc.name, vc.location.bucket, vc.region, vc.endpoint, vc.oss_network};
  auto metrics = report::VaultMetrics(facts, st, catalog ? &*catalog : nullptr);
  auto pushed = wiring::DeliverMetrics(inv, "vault-check", {{"vault", vc.name}}, metrics);
  warnings.insert(warnings.end(), pushed.begin(), pushed.end());
  return warnings;
}

}  // namespace

int main(int argc, char** argv) {
  config::FlagSet flags("vault-check",
                        "proves a vault usable: reachability, bucket, credentials, a probe "
                        "object written, read back, listed and deleted, clock skew and format");
  flags.AddBool("init", "initialise an empty vault (create cairn-vault.json)");
  flags.AddBool("list",
                "list the backups in the vault (name, state, phase, size, age, why one is not "
                "restorable) and the pending multipart uploads with their bytes");
  auto parsed = wiring::ParseInvocation(flags, argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  auto& inv = std::get<wiring::Invocation>(parsed);
  // A check answers promptly: an endpoint that stays down for this long is Unavailable, unless
  // retry_timeout is set explicitly (the runs keep their longer default to ride out outages).
  if (!inv.settings.retry_timeout_given) inv.settings.retry_timeout = kCheckRetryTimeout;
  const config::VaultConfig& vc = inv.vault.vault;
  if (base::Status st = wiring::KubeconfigProblem(inv); !st.ok()) {
    std::fprintf(stderr, "vault-check: %s\n", base::Redact(st.ToString()).c_str());
    return wiring::kExitUsage;
  }

  ops::vault_check::Options opts;
  opts.vault_name = vc.name;
  opts.init = inv.flags.GetBool("init");
  opts.storage_class = vc.storage_class;
  opts.created_by = wiring::Version();
  vault::Layout layout = wiring::LayoutFor(vc);

  auto opened = wiring::OpenStore(vc, inv.settings);
  if (!opened.ok() && opened.status().code() == base::Code::kInvalidArgument) {
    // A wrong setting (credentials file, CA file, endpoint): retrying cannot help.
    std::fprintf(stderr, "vault-check: %s\n", base::Redact(opened.status().ToString()).c_str());
    return wiring::kExitUsage;
  }
  if (opened.ok() && inv.flags.GetBool("list")) return List(**opened, inv);
  vault::RunStatus status;
  if (!opened.ok()) {
    status = ops::vault_check::Unopenable(opts, opened.status(), base::RealClock());
  } else {
    base::LogInfo("checking vault", {{"vault", vc.name}, {"url", wiring::DescribeVault(vc)}});
    auto previous = vault::ReadStatus(**opened, layout.VaultStatusKey());
    status = ops::vault_check::Run(**opened, layout, opts, base::RealClock(),
                                   previous.ok() ? &*previous : nullptr);
  }
  store::ObjectStore* store = opened.ok() ? opened->get() : nullptr;
  bool available = status.phase == vault::kPhaseAvailable;
  bool writable = false;
  for (const auto& c : status.checks) {
    if (c.name == "write" && c.result == vault::kCheckPassed) writable = true;
  }

  // In a cluster: the status as ConfigMap cairn-vault-<name> and a VaultAvailable/VaultError
  // event on the Job. Problems reaching the cluster are warnings of this check.
  std::vector<std::string> warnings;
  std::unique_ptr<kube::Client> cluster = wiring::OpenCluster(inv, &warnings);
  std::optional<report::ClusterReporter> cluster_reporter;
  if (cluster) {
    report::Identity id = report::WhoAmI(*cluster, &warnings);
    status.job = {id.namespace_name, id.job, id.pod, id.cronjob, {}};
    cluster_reporter.emplace(*cluster, std::move(id), "vault", base::RealClock());
  }
  for (const auto& w : warnings) status.AddWarning(vault::kScopeCluster, w);
  for (const auto& w : PushMetrics(inv, status, store)) status.AddWarning(vault::kScopeRunner, w);
  report::Event event = available ? report::Event{"Normal", "VaultAvailable", status.message}
                                  : report::Event{"Warning", "VaultError", status.message};
  report::Reporter reporter(writable ? store : nullptr, layout.VaultStatusKey(),
                            cluster_reporter ? &*cluster_reporter : nullptr);
  for (const auto& w :
       reporter.Publish(status, event, available ? "" : ops::vault_check::FailureLine(status))) {
    status.AddWarning(vault::kScopeCluster, w);
  }
  std::string out = inv.settings.output == "json"
                        ? vault::ToJson(status)
                        : ops::vault_check::FormatChecks(status, wiring::DescribeVault(vc));
  std::fputs(base::Redact(out).c_str(), stdout);
  if (available) {
    base::LogInfo("VaultAvailable: backup vault is available", {{"vault", vc.name}});
    return wiring::kExitOk;
  }
  base::LogError(ops::vault_check::FailureLine(status), {{"vault", vc.name}});
  return wiring::kExitFailed;
}

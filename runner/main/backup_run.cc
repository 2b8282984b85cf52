// backup-run: API objects of selected namespaces → tar+zstd archive and manifest in a vault
// (runner/ops/backup). Exit 0 Completed, 3 PartiallyFailed, 1 Failed, 2 bad invocation.
#include <cstdio>

#include "base/log.h"
#include "config/schedule_interval.h"
#include "kube/config.h"
#include "main/metrics.h"
#include "main/mover.h"
#include "main/movers.h"
#include "main/wiring.h"
#include "ops/backup/backup.h"
#include "ops/backup/naming.h"
#include "report/identity.h"
#include "report/metrics_catalog.h"
#include "vault/catalog.h"

using namespace cairn;

namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "backup-run: %s\nrun 'backup-run --help' for usage\n", msg.c_str());
  return wiring::kExitUsage;
}

std::string Summary(const vault::RunStatus& st) {
  auto count = [&](const char* k) {
    auto it = st.counts.find(k);
    return it == st.counts.end() ? int64_t{0} : it->second;
  };
  auto size = [&](const char* k) {
    auto it = st.sizes.find(k);
    return it == st.sizes.end() ? int64_t{0} : it->second;
  };
  char buf[512];
  std::snprintf(buf, sizeof buf, "backup %s: %s, %.1fs\n", st.name.c_str(), st.phase.c_str(),
                st.duration_seconds);
  std::string out = buf;
  // Totals only for a backup that was published: a failed run stored nothing.
  if (st.phase != vault::kPhaseFailed) {
    std::snprintf(
        buf, sizeof buf,
        "  objects %lld in %lld namespaces (%lld cluster-scoped), %lld archive entries\n"
        "  stored %lld bytes (%lld before compression)\n",
        static_cast<long long>(count("objects")), static_cast<long long>(count("namespaces")),
        static_cast<long long>(count("clusterObjects")), static_cast<long long>(count("entries")),
        static_cast<long long>(size("storedBytes")), static_cast<long long>(size("logicalBytes")));
    out += buf;
    if (count("volumes") > 0) {
      std::snprintf(buf, sizeof buf, "  volumes %lld: %lld files, %lld bytes (stored %lld)\n",
                    static_cast<long long>(count("volumes")),
                    static_cast<long long>(count("volumeFiles")),
                    static_cast<long long>(size("volumeBytes")),
                    static_cast<long long>(size("volumeStoredBytes")));
      out += buf;
    }
  }
  for (const auto& e : st.errors.items) {
    out +=
        "  error [" + e.scope + "] " + (e.object.empty() ? "" : e.object + ": ") + e.message + "\n";
  }
  for (const auto& w : st.warnings.items) out += "  warning [" + w.scope + "] " + w.message + "\n";
  if (!st.message.empty()) out += "  " + st.message + "\n";
  return out;
}

// The run's metrics (report/metrics_catalog.h), the catalog read only when they go somewhere.
std::vector<std::string> PushMetrics(const wiring::Invocation& inv,
                                     const ops::backup::Options& opts, const vault::RunStatus& st,
                                     store::ObjectStore& store, const vault::Layout& layout) {
  report::MetricsTarget target = wiring::MetricsTargetFor(inv);
  if (target.pushgateway.empty() && target.metrics_file.empty()) return {};
  std::vector<std::string> warnings;
  auto catalog = vault::ListBackups(store, layout);
  if (!catalog.ok()) warnings.push_back("metrics: " + catalog.status().message());
  report::BackupFacts facts;
  facts.vault = opts.vault_name;
  facts.policy = opts.policy.name;
  if (auto interval = config::ScheduleInterval(opts.policy.schedule)) {
    facts.schedule_interval = std::chrono::duration<double>(*interval).count();
  }
  facts.run_name = opts.name;
  facts.from_schedule = opts.from_schedule;
  auto word = [&](const char* key, std::string fallback) {
    auto it = st.extra.find(key);
    auto j =
        it == st.extra.end() ? nlohmann::json() : nlohmann::json::parse(it->second, nullptr, false);
    return j.is_string() ? j.get<std::string>() : fallback;
  };
  facts.backup_type = word("backupType", "AppBackup");
  facts.data_type = word("dataType", "none");
  if (inv.config) {
    facts.failure_limit = static_cast<size_t>(inv.config->metrics.failure_info_limit);
    facts.kubedr = inv.config->metrics.kubedr_metrics;
  }
  auto metrics = report::BackupMetrics(
      facts, st, catalog.ok() ? std::move(*catalog) : std::vector<vault::BackupEntry>{});
  auto pushed = wiring::DeliverMetrics(
      inv, "backup", {{"vault", facts.vault}, {"policy", report::PolicyLabel(facts.policy)}},
      metrics);
  warnings.insert(warnings.end(), pushed.begin(), pushed.end());
  return warnings;
}

}  // namespace

int main(int argc, char** argv) {
  config::FlagSet flags("backup-run",
                        "backs up the API objects of selected namespaces into a vault: a "
                        "streamed tar+zstd archive and a checksummed manifest");
  flags.AddString("policy", "NAME", "the backup policy ([policies.NAME] in the config)");
  flags.AddString("name", "NAME", "the backup name (default: <policy>-<YYYYMMDDHHMMSS>)");
  flags.AddDuration("min-interval", "DURATION",
                    "do nothing (exit 0) when the policy's last successful backup is younger");
  config::AddPolicyFlags(flags);
  wiring::AddMoverFlags(flags);
  mover_main::AddMoverFlags(flags, mover_main::Direction::kBackup);
  std::string log;
  base::SetLogCapture(&log);
  // The policy's vault is the run's vault unless --vault or --url says otherwise.
  auto parsed = wiring::ParseInvocation(
      flags, argc, argv, [](const config::Config* cfg, const config::ParsedFlags& f) {
        std::string policy = f.GetString("policy");
        if (!cfg || policy.empty() || !cfg->policies.count(policy)) return std::string();
        return cfg->policies.at(policy).vault;
      });
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  auto& inv = std::get<wiring::Invocation>(parsed);
  if (auto code = mover_main::MaybeRunMover(inv, mover_main::Direction::kBackup)) return *code;
  base::Clock& clock = base::RealClock();

  // The policy: from the config by name, then the flags on top.
  const std::string policy_name = inv.flags.GetString("policy");
  auto base_policy = config::SelectPolicy(inv.config ? &*inv.config : nullptr, policy_name);
  if (!base_policy.ok()) return Usage(base_policy.status().message());
  auto policy = config::PolicyFromFlags(inv.flags, *base_policy);
  if (!policy.ok()) return Usage(policy.status().message());
  const config::VaultConfig& vc = inv.vault.vault;

  ops::backup::Options opts;
  opts.policy = *policy;
  opts.vault_name = vc.name;
  opts.created_by = wiring::Version();
  opts.own_namespace = std::getenv("POD_NAMESPACE") ? std::getenv("POD_NAMESPACE") : "";
  opts.name = inv.flags.GetString("name");
  if (opts.name.empty()) {
    if (policy_name.empty())
      return Usage("give --name NAME, or --policy NAME for a generated name");
    opts.name = ops::backup::ScheduledName(policy_name, clock.Now());
    opts.from_schedule = true;
  }
  if (auto st = vault::ValidateName(opts.name, "backup name"); !st.ok()) {
    return Usage((opts.from_schedule ? "" : "--name: ") + st.message());
  }

  // SIGTERM, SIGINT and the timeout stop the data path; status writes after it must still work.
  wiring::RunControl control(opts.policy.timeout);
  std::atomic<bool>& cancel = control.cancel();
  config::ResolvedSettings data_settings = inv.settings;
  auto status_store = wiring::OpenStore(vc, inv.settings, control.ReportPath());
  if (!status_store.ok()) {
    if (status_store.status().code() == base::Code::kInvalidArgument) {
      return Usage(status_store.status().message());
    }
    std::fprintf(stderr, "BackupFailed: %s\n", status_store.status().message().c_str());
    return wiring::kExitFailed;
  }
  auto data_store = wiring::OpenStore(vc, inv.settings, control.DataPath());
  vault::Layout layout = wiring::LayoutFor(vc);

  if (auto min = inv.flags.GetDuration("min-interval")) {
    auto backups = vault::ListBackups(**status_store, layout);
    if (!backups.ok()) {
      // Not knowing is no reason to skip a backup: run it.
      base::LogWarn("--min-interval: unable to list backups; backing up",
                    {{"error", backups.status().message()}});
    } else if (auto recent =
                   ops::backup::RecentSuccess(*backups, opts.policy.name, *min, clock.Now())) {
      std::printf("backup-run: last successful backup %s is younger than %s: nothing to do\n",
                  recent->c_str(), base::FormatDuration(*min).c_str());
      return wiring::kExitOk;
    }
  }

  // The cluster: one client for the data path (cancellable), one for reporting.
  auto cluster_cfg = kube::LoadClusterConfig({inv.settings.kubeconfig, inv.settings.context});
  if (!cluster_cfg.ok()) return Usage(cluster_cfg.status().message());
  kube::ClientOptions kopts = wiring::KubeClientOptions(inv.settings, control.DataPath());
  auto kube = kube::Client::Create(*cluster_cfg, kopts);
  if (!kube.ok()) return Usage(kube.status().message());
  std::vector<std::string> warnings;
  std::unique_ptr<kube::Client> report_kube =
      wiring::OpenCluster(inv, &warnings, control.ReportPath());
  if (!report_kube) {
    kube::ClientOptions ro = wiring::KubeClientOptions(inv.settings, control.ReportPath());
    auto rk = kube::Client::Create(*cluster_cfg, ro);
    if (rk.ok()) report_kube = std::move(rk).value();
  }
  report::Identity id = report::WhoAmI(*report_kube, &warnings);
  if (opts.own_namespace.empty() && !id.pod.empty()) opts.own_namespace = id.namespace_name;
  report::ClusterReporter cluster(*report_kube, id, "backup", clock);

  report::Reporter reporter(status_store->get(),
                            layout.BackupObjectKey(opts.name, vault::kStatusObject), &cluster);
  ops::backup::Deps deps{
      **data_store, layout, **kube, reporter, clock, cancel, [&] { return control.Reason(); },
      &log};
  deps.cleanup_kube = report_kube.get();  // a stopped run still deletes its snapshots
  wiring::Movers movers;
  if (opts.policy.volumes != "none") {
    auto set_up = wiring::SetUpMovers(inv, **kube, *report_kube,
                                      wiring::OwnImage(*report_kube, id.namespace_name, id.pod));
    if (set_up.ok()) {
      movers = std::move(*set_up);
      deps.movers = movers.setup.get();
    } else if (opts.policy.volumes != "snapshot") {  // snapshots alone need no mover
      return Usage(set_up.status().message());
    }
  } else if (inv.flags.Has("local-volumes")) {
    return Usage("--local-volumes: the policy takes no volume data (volumes = \"none\")");
  }

  if (inv.settings.dry_run) {
    auto plan = ops::backup::MakePlan(deps, opts);
    control.Stop();
    std::fputs(ops::backup::FormatPlan(plan).c_str(), stdout);
    return plan.errors.empty() ? wiring::kExitOk : wiring::kExitPartiallyFailed;
  }

  base::LogInfo("backup started", {{"backup", opts.name}, {"vault", vc.name}});
  ops::backup::Outcome outcome = ops::backup::Run(deps, opts);
  control.Stop();
  vault::RunStatus& st = outcome.status;
  for (const auto& w : warnings) st.AddWarning(vault::kScopeCluster, w);
  st.job = {id.namespace_name, id.job, id.pod, id.cronjob, {}};
  for (const auto& w : PushMetrics(inv, opts, st, **status_store, layout)) {
    st.AddWarning(vault::kScopeRunner, w);
  }
  const std::string reason = st.phase == vault::kPhaseCompleted         ? "BackupSucceeded"
                             : st.phase == vault::kPhasePartiallyFailed ? "BackupPartiallyFailed"
                                                                        : "BackupFailed";
  report::Event event{st.phase == vault::kPhaseCompleted ? "Normal" : "Warning", reason,
                      st.message};
  std::string failure = st.phase == vault::kPhaseFailed ? reason + ": " + st.message : "";
  if (outcome.owns_name) {
    for (const auto& w : reporter.Publish(st, event, failure)) st.AddWarning("cluster", w);
  } else {  // the name belongs to an existing backup: leave its status and ConfigMap alone
    report::Reporter events_only(nullptr, "", nullptr);
    events_only.Publish(st, std::nullopt, failure);
    if (auto e = cluster.Emit(st, event); !e.ok()) st.AddWarning("cluster", e.message());
  }
  std::string out = inv.settings.output == "json" ? vault::ToJson(st) : Summary(st);
  std::fputs(base::Redact(out).c_str(), stdout);
  if (st.phase == vault::kPhaseFailed)
    base::LogError(failure, {{"backup", opts.name}});
  else
    base::LogInfo(reason + ": " + st.message, {{"backup", opts.name}});
  base::SetLogCapture(nullptr);
  return outcome.exit_code;
}

// restore-run: a verified backup applied to the current cluster, with namespace, storage
// class, access mode and image mappings (runner/ops/restore). Exit 0 Completed,
// 3 PartiallyFailed, 1 Failed, 2 bad invocation.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/log.h"
#include "kube/config.h"
#include "main/metrics.h"
#include "main/mover.h"
#include "main/movers.h"
#include "main/wiring.h"
#include "ops/restore/restore.h"
#include "report/identity.h"
#include "report/metrics_catalog.h"

using namespace cairn;

namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "restore-run: %s\nrun 'restore-run --help' for usage\n", msg.c_str());
  return wiring::kExitUsage;
}

ops::restore::RestoreOptions ToOptions(const config::RestorePolicy& p) {
  ops::restore::RestoreOptions o;
  o.include_namespaces = p.include_namespaces;
  o.exclude_namespaces = p.exclude_namespaces;
  o.include_resources = p.include_resources;
  o.exclude_resources = p.exclude_resources;
  o.label_selector = p.label_selector;
  o.namespace_mapping = p.namespace_mapping;
  o.storage_class_mapping = p.storage_class_mapping;
  o.convert_to_access_modes = p.convert_to_access_modes;
  o.image_registry_mapping = p.image_registry_mapping;
  o.existing_resource_policy = p.existing_resource_policy;
  o.preserve_node_ports = p.preserve_node_ports;
  o.restore_status = p.restore_status;
  o.priorities = p.priorities;
  return o;
}

std::string Summary(const vault::RunStatus& st) {
  std::string out = "restore " + st.name + " of backup " + st.backup + ": " + st.phase + "\n";
  for (const char* k : {"created", "updated", "skipped", "excluded", "failed"}) {
    auto it = st.counts.find(k);
    out +=
        std::string("  ") + k + " " + std::to_string(it == st.counts.end() ? 0 : it->second) + "\n";
  }
  if (auto v = st.counts.find("volumes"); v != st.counts.end()) {
    auto bytes = st.sizes.find("volumeBytes");
    out += "  volumes " + std::to_string(v->second) + " restored (" +
           std::to_string(bytes == st.sizes.end() ? 0 : bytes->second) + " bytes)\n";
  }
  for (const auto& e : st.errors.items) {
    out +=
        "  error [" + e.scope + "] " + (e.object.empty() ? "" : e.object + ": ") + e.message + "\n";
  }
  for (const auto& w : st.warnings.items) {
    out += "  warning [" + w.scope + "] " + (w.object.empty() ? "" : w.object + ": ") + w.message +
           "\n";
  }
  out += "  " + st.message + "\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  config::FlagSet flags("restore-run",
                        "verifies a backup and restores it into the current cluster, mapping "
                        "namespaces, storage classes, access modes and images");
  flags.AddString("backup", "NAME", "the backup to restore (required)");
  flags.AddString("name", "NAME", "the restore name (default: <backup>-restore-<YYYYMMDDHHMMSS>)");
  flags.AddString("policy", "NAME", "a restore policy ([restores.NAME] in the config)");
  flags.AddString("conversion", "NAME",
                  "apply this conversion of the backup (convert-run): its PVCs, PVs and "
                  "volumeClaimTemplates carry the converted classes, access modes and sizes");
  config::AddRestorePolicyFlags(flags);
  wiring::AddMoverFlags(flags);
  mover_main::AddMoverFlags(flags, mover_main::Direction::kRestore);
  auto parsed = wiring::ParseInvocation(
      flags, argc, argv, [](const config::Config* cfg, const config::ParsedFlags& f) {
        std::string policy = f.GetString("policy");
        if (!cfg || policy.empty() || !cfg->restores.count(policy)) return std::string();
        return cfg->restores.at(policy).vault;
      });
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  auto& inv = std::get<wiring::Invocation>(parsed);
  if (auto code = mover_main::MaybeRunMover(inv, mover_main::Direction::kRestore)) return *code;
  base::Clock& clock = base::RealClock();

  const std::string backup = inv.flags.GetString("backup");
  if (backup.empty()) return Usage("--backup NAME is required");
  if (auto st = vault::ValidateName(backup, "backup name"); !st.ok()) {
    return Usage("--backup: " + st.message());
  }
  auto base_policy = config::SelectRestorePolicy(inv.config ? &*inv.config : nullptr,
                                                 inv.flags.GetString("policy"));
  if (!base_policy.ok()) return Usage(base_policy.status().message());
  auto policy = config::RestorePolicyFromFlags(inv.flags, *base_policy);
  if (!policy.ok()) return Usage(policy.status().message());

  ops::restore::Options opts;
  opts.policy = ToOptions(*policy);
  opts.policy.backup_name = backup;
  opts.policy.restore_name = inv.flags.GetString("name");
  if (opts.policy.restore_name.empty()) {
    opts.policy.restore_name =
        vault::DerivedName(backup, "-restore-" + base::FormatCompact(clock.Now()));
  }
  if (auto st = vault::ValidateName(opts.policy.restore_name, "restore name"); !st.ok()) {
    return Usage((inv.flags.GetString("name").empty() ? "" : "--name: ") + st.message());
  }
  opts.vault_name = inv.vault.vault.name;
  opts.conversion = inv.flags.GetString("conversion");
  if (!opts.conversion.empty()) {
    if (auto st = vault::ValidateName(opts.conversion, "conversion name"); !st.ok()) {
      return Usage(st.message());
    }
  }
  // The verified objects wait in an unlinked file there (memory stays flat); in memory when
  // no file can be made (a read-only root filesystem without an emptyDir on /tmp).
  const char* tmpdir = std::getenv("TMPDIR");
  opts.spool_dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  opts.policy_name = policy->name;
  opts.parallel_applies = policy->restore_workers;
  opts.existing_data =
      inv.flags.Has("existing-data") ? inv.flags.GetString("existing-data") : policy->existing_data;
  opts.movers = policy->movers;

  // SIGTERM, SIGINT and the restore's timeout stop it between objects; reads of the vault are
  // bounded by the deadline, and the final status is written on the uncancellable path.
  wiring::RunControl control(policy->timeout);
  // One store for reads and the status: never cancelled (the restore checks between objects),
  // within the run's deadline, and the final status within the grace after it.
  auto store = wiring::OpenStore(
      inv.vault.vault, inv.settings,
      wiring::Bounds{nullptr, &control.final_deadline(), &control.final_deadline(), std::nullopt});
  if (!store.ok()) {
    if (store.status().code() == base::Code::kInvalidArgument) {
      return Usage(store.status().message());
    }
    std::fprintf(stderr, "RestoreFailed: %s\n", store.status().message().c_str());
    return wiring::kExitFailed;
  }
  auto cluster_cfg = kube::LoadClusterConfig({inv.settings.kubeconfig, inv.settings.context});
  if (!cluster_cfg.ok()) return Usage(cluster_cfg.status().message());

  kube::ClientOptions ro = wiring::KubeClientOptions(inv.settings, control.ReportPath());
  auto report_kube = kube::Client::Create(*cluster_cfg, ro);
  if (!report_kube.ok()) return Usage(report_kube.status().message());
  std::vector<std::string> warnings;
  report::Identity id = report::WhoAmI(**report_kube, &warnings);
  report::ClusterReporter cluster(**report_kube, id, "restore", clock);
  auto status_key =
      wiring::LayoutFor(inv.vault.vault).StatusKey("restore", opts.policy.restore_name);
  report::Reporter reporter(store->get(), status_key.ok() ? *status_key : "", &cluster);

  ops::restore::Deps deps{**store,
                          wiring::LayoutFor(inv.vault.vault),
                          [&]() -> base::Result<std::unique_ptr<kube::Client>> {
                            kube::ClientOptions ko =
                                wiring::KubeClientOptions(inv.settings, control.DataPath());
                            // Every worker's request in flight at once.
                            ko.max_in_flight = std::max(ko.max_in_flight, opts.parallel_applies);
                            return kube::Client::Create(*cluster_cfg, ko);
                          },
                          reporter,
                          clock,
                          control.cancel(),
                          [&] { return control.Reason(); },
                          nullptr,
                          ""};
  // Restore movers, used when the backup holds volume data (a vault they cannot reach makes
  // each volume say so).
  auto mover_kube = kube::Client::Create(
      *cluster_cfg, wiring::KubeClientOptions(inv.settings, control.DataPath()));
  if (!mover_kube.ok()) return Usage(mover_kube.status().message());
  auto movers = wiring::SetUpMovers(inv, **mover_kube, **report_kube,
                                    wiring::OwnImage(**report_kube, id.namespace_name, id.pod));
  if (movers.ok()) {
    deps.movers = movers->setup.get();
  } else {
    deps.no_movers_reason = movers.status().message();
  }
  ops::restore::Outcome outcome = ops::restore::Run(deps, opts, inv.settings.dry_run);
  control.Stop();
  vault::RunStatus& st = outcome.status;
  if (inv.settings.dry_run) {
    std::fputs(outcome.plan_text.c_str(), stdout);
    for (const auto& w : st.warnings.items) std::printf("warning: %s\n", w.message.c_str());
    for (const auto& e : st.errors.items) std::printf("error: %s\n", e.message.c_str());
    return outcome.exit_code;
  }
  for (const auto& w : warnings) st.AddWarning(vault::kScopeCluster, w);
  st.job = {id.namespace_name, id.job, id.pod, id.cronjob, {}};
  const std::string policy_label = report::PolicyLabel(policy->name);
  for (const auto& w : wiring::DeliverMetrics(
           inv, "restore", {{"vault", opts.vault_name}, {"policy", policy_label}},
           report::RestoreMetrics(opts.vault_name, policy->name, st))) {
    st.AddWarning(vault::kScopeRunner, w);
  }
  const std::string reason = st.phase == vault::kPhaseCompleted         ? "RestoreSucceeded"
                             : st.phase == vault::kPhasePartiallyFailed ? "RestorePartiallyFailed"
                                                                        : "RestoreFailed";
  std::string failure = st.phase == vault::kPhaseFailed ? reason + ": " + st.message : "";
  for (const auto& w :
       reporter.Publish(st,
                        report::Event{st.phase == vault::kPhaseCompleted ? "Normal" : "Warning",
                                      reason, st.message},
                        failure)) {
    st.AddWarning(vault::kScopeCluster, w);
  }
  std::string out = inv.settings.output == "json" ? vault::ToJson(st) : Summary(st);
  std::fputs(base::Redact(out).c_str(), stdout);
  if (!failure.empty()) base::LogError(failure, {{"restore", st.name}});
  return outcome.exit_code;
}

// convert-run: a StorageClass conversion of a backup for the target cluster
// (runner/ops/convert), published for restore-run --conversion. Exit 0 Completed, 1 Failed,
// 2 bad invocation.
#include <cstdio>
#include <cstdlib>

#include "base/log.h"
#include "config/restore_policy.h"
#include "io/hash.h"
#include "kube/config.h"
#include "main/metrics.h"
#include "main/wiring.h"
#include "ops/convert/convert.h"
#include "report/identity.h"
#include "report/metrics_catalog.h"

using namespace cairn;

namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "convert-run: %s\nrun 'convert-run --help' for usage\n", msg.c_str());
  return wiring::kExitUsage;
}

// The default name: the same mappings of the same backup give the same name, so running the
// same conversion twice finds the first one.
std::string DefaultName(const ops::convert::Options& o) {
  std::string key;
  for (const auto& [f, t] : o.storage_class_mapping) key += "sc:" + f + "=" + t + ";";
  for (const auto& [f, t] : o.access_mode_mapping) key += "am:" + f + "=" + t + ";";
  return "conv-" + io::Sha256Hex(key).substr(0, 10);
}

// Options from the flags; an error message for a bad invocation.
std::variant<ops::convert::Options, std::string> OptionsFrom(const wiring::Invocation& inv) {
  ops::convert::Options o;
  o.backup = inv.flags.GetString("backup");
  if (o.backup.empty()) return std::string("--backup NAME is required");
  if (auto st = vault::ValidateName(o.backup, "backup name"); !st.ok()) return st.message();
  o.reset = inv.flags.GetBool("reset");
  o.storage_class_mapping = inv.flags.GetMap("storage-class-mapping");
  o.access_mode_mapping = inv.flags.GetMap("convert-to-access-modes");
  for (auto [kind, mapping] :
       {std::pair{config::MappingKind::kStorageClass, &o.storage_class_mapping},
        std::pair{config::MappingKind::kAccessMode, &o.access_mode_mapping}}) {
    auto problems = config::CheckMapping(kind, *mapping);
    if (!problems.empty())
      return "--" + config::MappingFlag(kind) + ": " + problems.front().message;
  }
  if (o.storage_class_mapping.empty() && !o.reset) {
    return std::string("--storage-class-mapping FROM=TO,... is required");
  }
  o.name = inv.flags.GetString("name");
  if (o.name.empty()) {
    if (o.reset) return std::string("--reset needs --name NAME (the conversion to delete)");
    o.name = DefaultName(o);
  }
  if (auto st = vault::ValidateName(o.name, "conversion name"); !st.ok()) return st.message();
  if (inv.config) o.provisioners = inv.config->provisioners;
  o.dry_run = inv.settings.dry_run;
  o.vault_name = inv.vault.vault.name;
  o.created_by = wiring::Version();
  const char* tmpdir = std::getenv("TMPDIR");
  o.spool_dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  return o;
}

std::string Summary(const vault::RunStatus& st) {
  std::string out = "conversion " + st.name + " of backup " + st.backup + ": " + st.phase + "\n";
  // Every message names its object already (the rules' and verification's alike).
  for (const auto& e : st.errors.items) out += "  error: " + e.message + "\n";
  for (const auto& w : st.warnings.items) out += "  warning: " + w.message + "\n";
  return out + "  " + st.message + "\n";
}

// Metrics, status, event, output; returns the exit code.
int Report(const wiring::Invocation& inv, ops::convert::Outcome& out, report::Reporter& reporter,
           const report::Identity& id, const std::vector<std::string>& warnings) {
  vault::RunStatus& st = out.status;
  for (const auto& w : warnings) st.AddWarning(vault::kScopeCluster, w);
  st.job = {id.namespace_name, id.job, id.pod, id.cronjob, {}};
  for (const auto& w : wiring::DeliverMetrics(inv, "convert", {{"vault", st.vault}},
                                              report::ConversionMetrics(st.vault, st))) {
    st.AddWarning(vault::kScopeRunner, w);
  }
  const bool ok = st.phase == vault::kPhaseCompleted;
  const std::string reason = ok ? "ConvertSucceeded" : "ConvertFailed";
  std::string failure = ok ? "" : reason + ": " + st.message;
  for (const auto& w : reporter.Publish(
           st, report::Event{ok ? "Normal" : "Warning", reason, st.message}, failure)) {
    st.AddWarning(vault::kScopeCluster, w);
  }
  if (inv.settings.output != "json") std::fputs(out.plan_text.c_str(), stdout);
  std::string text = inv.settings.output == "json" ? vault::ToJson(st) : Summary(st);
  std::fputs(base::Redact(text).c_str(), stdout);
  if (!ok) base::LogError(failure, {{"conversion", st.name}});
  return out.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  config::FlagSet flags("convert-run",
                        "maps and validates the storage classes and access modes of a backup's "
                        "PVCs, PVs and volumeClaimTemplates for the target cluster, and publishes "
                        "a conversion that restore-run --conversion applies");
  flags.AddString("backup", "NAME", "the backup to convert (required)");
  flags.AddString("name", "NAME",
                  "the conversion name (default: conv-<hash of the mappings>, the same for the "
                  "same mappings)");
  flags.AddMap("storage-class-mapping", "FROM=TO,...",
               "replace storage class FROM by TO (required, except with --reset)");
  flags.AddMap("convert-to-access-modes", "FROM=TO,...",
               "replace access mode FROM by TO, e.g. ReadWriteMany=ReadWriteOnce");
  flags.AddBool("reset", "delete the conversion --name of --backup, and do nothing else");
  auto parsed = wiring::ParseInvocation(flags, argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  auto& inv = std::get<wiring::Invocation>(parsed);
  auto options = OptionsFrom(inv);
  if (auto* msg = std::get_if<std::string>(&options)) return Usage(*msg);
  auto& opts = std::get<ops::convert::Options>(options);

  wiring::RunControl control(inv.settings.timeout);
  auto store = wiring::OpenStore(
      inv.vault.vault, inv.settings,
      wiring::Bounds{nullptr, &control.final_deadline(), &control.final_deadline(), std::nullopt});
  if (!store.ok()) {
    if (store.status().code() == base::Code::kInvalidArgument)
      return Usage(store.status().message());
    std::fprintf(stderr, "ConvertFailed: %s\n", base::Redact(store.status().message()).c_str());
    return wiring::kExitFailed;
  }
  auto cluster_cfg = kube::LoadClusterConfig({inv.settings.kubeconfig, inv.settings.context});
  if (!cluster_cfg.ok()) return Usage(cluster_cfg.status().message());
  auto report_kube = kube::Client::Create(
      *cluster_cfg, wiring::KubeClientOptions(inv.settings, control.ReportPath()));
  if (!report_kube.ok()) return Usage(report_kube.status().message());
  auto kube = kube::Client::Create(*cluster_cfg,
                                   wiring::KubeClientOptions(inv.settings, control.DataPath()));
  if (!kube.ok()) return Usage(kube.status().message());
  std::vector<std::string> warnings;
  report::Identity id = report::WhoAmI(**report_kube, &warnings);
  base::Clock& clock = base::RealClock();
  report::ClusterReporter cluster(**report_kube, id, "conversion", clock);
  vault::Layout layout = wiring::LayoutFor(inv.vault.vault);
  report::Reporter reporter(store->get(), layout.ConversionStatusKey(opts.backup, opts.name),
                            &cluster);
  ops::convert::Deps deps{**store, layout, kube->get(), reporter, clock, control.cancel()};
  ops::convert::Outcome out = ops::convert::Run(deps, opts);
  control.Stop();
  if (opts.dry_run || out.reset) {
    std::fputs(out.plan_text.c_str(), stdout);
    std::fputs(out.reset ? (out.status.message + "\n").c_str() : Summary(out.status).c_str(),
               stdout);
    if (!opts.dry_run) base::LogInfo(out.status.message, {{"conversion", opts.name}});
    return out.exit_code;
  }
  return Report(inv, out, reporter, id, warnings);
}

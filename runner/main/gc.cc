// gc: expiry, retention, delete requests, abandoned runs, orphans and stale uploads, for one
// vault or every vault of the config (runner/ops/gc). Exit 0 Completed (or another gc holds
// the lease), 3 PartiallyFailed, 1 Failed, 2 bad invocation.
#include "ops/gc/gc.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/log.h"
#include "main/metrics.h"
#include "main/wiring.h"
#include "report/identity.h"
#include "report/metrics_catalog.h"

using namespace cairn;

namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "gc: %s\nrun 'gc --help' for usage\n", msg.c_str());
  return wiring::kExitUsage;
}

std::string HostName() {
  char buf[256] = {};
  return gethostname(buf, sizeof(buf) - 1) == 0 ? buf : "";
}

// The options every vault of the run shares; an error message for a bad flag.
std::variant<ops::gc::Options, std::string> BaseOptions(const wiring::Invocation& inv,
                                                        const report::Identity& id) {
  ops::gc::Options o;
  o.dry_run = inv.settings.dry_run;
  o.holder = {"", HostName(), id.pod, id.job};
  if (std::string s = inv.flags.GetString("stale-after"); !s.empty()) {
    auto d = base::ParseDuration(s);  // 0s is allowed: every InProgress run counts as stale
    if (!d.ok()) return "--stale-after: " + d.status().message();
    o.plan.stale_after = *d;
  }
  o.plan.ttl_override = inv.flags.GetDuration("ttl-override");
  if (inv.config) {
    for (const auto& [name, p] : inv.config->policies) o.plan.policies[name] = p.retention;
  }
  if (config::HasRetentionFlags(inv.flags)) {
    o.plan.retention_override = config::RetentionFromFlags(inv.flags, config::Retention{});
  }
  return o;
}

// One vault: open, run, publish, print. Returns the exit code.
int RunVault(const wiring::Invocation& inv, const config::VaultConfig& vc, ops::gc::Options opts,
             kube::Client* kube, const report::Identity& id, std::vector<std::string> warnings,
             ops::gc::Outcome* out) {
  base::Clock& clock = base::RealClock();
  opts.vault_name = vc.name;
  opts.run_name = "gc-" + base::FormatCompact(clock.Now());
  if (vault::ValidateName("gc-" + vc.name + "-x").ok()) {
    opts.run_name = "gc-" + vc.name + "-" + base::FormatCompact(clock.Now());
  }
  if (opts.run_name.size() > 63) opts.run_name = "gc-" + base::FormatCompact(clock.Now());
  wiring::RunControl control(inv.settings.timeout);
  auto store = wiring::OpenStore(vc, inv.settings, &control.cancel());
  if (!store.ok()) {
    std::fprintf(stderr, "GCFailed: vault %s: %s\n", vc.name.c_str(),
                 base::Redact(store.status().message()).c_str());
    return store.status().code() == base::Code::kInvalidArgument ? wiring::kExitUsage
                                                                 : wiring::kExitFailed;
  }
  // The status, events and the lease's release are written after a stop too.
  auto final_store = wiring::OpenStore(vc, inv.settings, control.ReportPath());
  if (!final_store.ok()) {
    std::fprintf(stderr, "GCFailed: vault %s: %s\n", vc.name.c_str(),
                 base::Redact(final_store.status().message()).c_str());
    return wiring::kExitFailed;
  }
  vault::Layout layout = wiring::LayoutFor(vc);
  std::optional<report::ClusterReporter> cr;
  if (kube) cr.emplace(*kube, id, "gc", clock);
  std::unique_ptr<ops::gc::Cluster> cluster = kube ? ops::gc::NewKubeCluster(*kube, *cr) : nullptr;
  auto key = layout.StatusKey("gc", opts.run_name);
  report::Reporter reporter(final_store->get(), key.ok() ? *key : "", cr ? &*cr : nullptr);
  ops::gc::Deps deps{**store,
                     layout,
                     reporter,
                     cluster.get(),
                     clock,
                     control.cancel(),
                     [&] { return control.Reason(); },
                     final_store->get()};
  *out = ops::gc::Run(deps, opts);
  control.Stop();
  vault::RunStatus& st = out->status;
  const bool json = inv.settings.output == "json";
  if (!json) {
    std::printf("gc of vault %s (%s):\n", vc.name.c_str(), wiring::DescribeVault(vc).c_str());
  }
  if (out->skipped) {
    std::printf("%s\n", out->message.c_str());
    base::LogInfo(out->message, {{"vault", vc.name}});
    return wiring::kExitOk;
  }
  if (opts.dry_run || !json) {
    std::fputs(ops::gc::FormatPlan(out->plan).c_str(), stdout);
  }
  if (opts.dry_run) return out->exit_code;
  for (const auto& w : warnings) st.AddWarning(vault::kScopeCluster, w);
  st.job = {id.namespace_name, id.job, id.pod, id.cronjob, {}};
  for (const auto& w :
       wiring::DeliverMetrics(inv, "gc", {{"vault", vc.name}}, report::GcMetrics(vc.name, st))) {
    st.AddWarning(vault::kScopeRunner, w);
  }
  const bool ok = st.phase == vault::kPhaseCompleted;
  std::string failure = ok ? "" : "GCFailed: " + st.message;
  for (const auto& w : reporter.Publish(
           st,
           report::Event{ok ? "Normal" : "Warning", ok ? "GCCompleted" : "GCFailed", st.message},
           failure)) {
    st.AddWarning(vault::kScopeCluster, w);
  }
  for (const auto& e : json ? std::vector<vault::Issue>{} : st.errors.items) {
    std::printf("  error: %s%s\n", e.object.empty() ? "" : (e.object + ": ").c_str(),
                e.message.c_str());
  }
  std::string text = json ? vault::ToJson(st) : st.message + "\n";
  std::fputs(base::Redact(text).c_str(), stdout);
  if (!ok) base::LogError(failure, {{"vault", vc.name}});
  return out->exit_code;
}

// The delete-request ConfigMaps of cairn's namespace; a listing failure is a warning.
std::vector<ops::gc::DeleteRequest> ListRequests(kube::Client& kube, const report::Identity& id,
                                                 std::vector<std::string>* warnings) {
  report::ClusterReporter cr(kube, id, "gc", base::RealClock());
  auto listed = ops::gc::NewKubeCluster(kube, cr)->ListDeleteRequests();
  if (listed.ok()) return std::move(*listed);
  warnings->push_back(listed.status().message());
  return {};
}

// The run's vault, or every vault named in `names` (--all-vaults); an error message.
std::variant<std::vector<config::VaultConfig>, std::string> VaultsToCollect(
    const wiring::Invocation& inv, const std::vector<std::string>& names) {
  if (names.empty()) return std::vector<config::VaultConfig>{inv.vault.vault};
  std::vector<config::VaultConfig> out;
  for (const std::string& name : names) {
    config::CommonFlags f = inv.common;
    f.vault = name;
    f.url.clear();
    auto v = config::ResolveVault(&*inv.config, f);
    if (!v.ok()) return v.status().message();
    out.push_back(v->vault);
  }
  return out;
}

// gc --delete: exit 1, saying why, when the backup is not there or may not be deleted now.
int DeleteFlagOutcome(const std::vector<std::pair<std::string, const ops::gc::Outcome*>>& runs) {
  int code = wiring::kExitOk;
  for (const auto& [vault, out] : runs) {
    for (const auto& a : out->plan.requests) {
      if (!a.found) {
        std::fprintf(stderr, "gc: backup '%s' not found in vault %s\n", a.request.backup.c_str(),
                     vault.c_str());
        code = wiring::kExitFailed;
      } else if (!a.refusal.empty()) {
        std::fprintf(stderr, "gc: refusing to delete backup '%s': %s\n", a.request.backup.c_str(),
                     a.refusal.c_str());
        code = wiring::kExitFailed;
      }
    }
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  config::FlagSet flags("gc",
                        "deletes expired backups and those no retention rule keeps, honours "
                        "delete requests, marks abandoned runs Failed and removes their leftovers");
  flags.AddBool("all-vaults", "collect every vault defined in the config, one after another");
  flags.AddString("delete", "BACKUP", "delete this one backup now (and do nothing else)");
  flags.AddString("stale-after", "DURATION",
                  "an InProgress run whose heartbeat is older is abandoned (default 15m; 0s: "
                  "every one)");
  flags.AddDuration("ttl-override", "DURATION",
                    "for this run, every backup expires DURATION after it started");
  config::AddRetentionFlags(flags);
  auto parsed = wiring::ParseInvocation(
      flags, argc, argv, [](const config::Config* cfg, const config::ParsedFlags& f) {
        if (!f.GetBool("all-vaults") || !cfg || cfg->vaults.empty()) return std::string();
        return cfg->vaults.begin()->first;  // any: every vault is collected
      });
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  auto& inv = std::get<wiring::Invocation>(parsed);
  const bool all = inv.flags.GetBool("all-vaults");
  if (all && (!inv.config || inv.config->vaults.empty())) {
    return Usage("--all-vaults needs a config that defines vaults");
  }
  if (base::Status st = wiring::KubeconfigProblem(inv); !st.ok()) {
    return Usage(base::Redact(st.ToString()));
  }
  std::vector<std::string> warnings;
  std::unique_ptr<kube::Client> kube = wiring::OpenCluster(inv, &warnings);
  report::Identity id;
  if (kube) id = report::WhoAmI(*kube, &warnings);
  auto base_opts = BaseOptions(inv, id);
  if (auto* msg = std::get_if<std::string>(&base_opts)) return Usage(*msg);
  ops::gc::Options opts = std::get<ops::gc::Options>(base_opts);

  std::vector<ops::gc::DeleteRequest> requests;
  if (std::string b = inv.flags.GetString("delete"); !b.empty()) {
    if (auto st = vault::ValidateName(b, "backup name"); !st.ok()) {
      return Usage("--delete: " + st.message());
    }
    requests.push_back({"", b, ""});
    opts.plan.only_requests = true;
  } else if (kube) {
    requests = ListRequests(*kube, id, &warnings);
  }
  std::vector<std::string> defined;
  if (inv.config) {
    for (const auto& [name, v] : inv.config->vaults) defined.push_back(name);
  }
  auto vaults = VaultsToCollect(inv, all ? defined : std::vector<std::string>{});
  if (auto* msg = std::get_if<std::string>(&vaults)) return Usage(*msg);
  auto& list = std::get<std::vector<config::VaultConfig>>(vaults);

  int code = wiring::kExitOk;
  bool all_handled = true;
  std::vector<ops::gc::Outcome> outcomes(list.size());
  std::vector<std::pair<std::string, const ops::gc::Outcome*>> runs;
  for (size_t i = 0; i < list.size(); ++i) {
    ops::gc::Options o = opts;
    for (const auto& r : requests) {
      if (r.vault.empty() || r.vault == list[i].name) o.plan.requests.push_back(r);
    }
    int c = RunVault(inv, list[i], o, kube.get(), id, warnings, &outcomes[i]);
    // Only a run that read its vault can say a requested backup is not there.
    if (c == wiring::kExitOk || c == wiring::kExitPartiallyFailed) {
      if (!outcomes[i].skipped) runs.push_back({list[i].name, &outcomes[i]});
    }
    if (c != wiring::kExitOk && c != wiring::kExitPartiallyFailed) all_handled = false;
    if (outcomes[i].skipped) all_handled = false;
    if (c != wiring::kExitOk && (code == wiring::kExitOk || c == wiring::kExitFailed)) code = c;
  }
  if (opts.plan.only_requests) return std::max(code, DeleteFlagOutcome(runs));
  if (kube && !opts.dry_run && !requests.empty()) {
    report::ClusterReporter cr(*kube, id, "gc", base::RealClock());
    auto cluster = ops::gc::NewKubeCluster(*kube, cr);
    for (const auto& w : ops::gc::SettleRequests(*cluster, requests, runs, defined, all_handled)) {
      base::LogWarn("delete request not answered", {{"error", w}});
    }
  }
  return code;
}

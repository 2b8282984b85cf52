// The restore run: verify, plan, apply tier by tier, report.
#include <set>
#include <sstream>
#include <thread>

#include "base/log.h"
#include "io/zstd.h"
#include "ops/restore/restore.h"
#include "ops/restore/transform.h"
#include "ops/restore/verify.h"
#include "vault/manifest.h"

namespace cairn::ops::restore {
namespace {

using base::Code;
using base::Status;

const char* kCrdGroup = "apiextensions.k8s.io";

std::string Qualified(const std::string& group, const std::string& resource) {
  return group.empty() ? resource : resource + "." + group;
}

// Collects every object's outcome and the run's counts, from several apply threads.
class Ledger {
 public:
  explicit Ledger(vault::RunStatus& st) : st_(st) {}
  void Record(const std::string& path, const std::string& ns, const std::string& object,
              const std::string& action, const std::string& message) {
    std::lock_guard<std::mutex> l(mu_);
    st_.counts[action]++;
    nlohmann::json line = {
        {"path", path}, {"namespace", ns}, {"object", object}, {"action", action}};
    if (!message.empty()) line["message"] = message;
    results_ += (results_.empty() ? "[\n" : ",\n") + line.dump();
    std::string scope = ns.empty() ? std::string(vault::kScopeCluster) : vault::NamespaceScope(ns);
    if (action == "failed") st_.AddError(scope, message, object);
    if (action == "skipped" && !message.empty()) st_.AddWarning(scope, message, object);
  }
  void Warn(const std::string& scope, const std::string& message, const std::string& object) {
    std::lock_guard<std::mutex> l(mu_);
    st_.AddWarning(scope, message, object);
  }
  std::string Results() const { return (results_.empty() ? "[" : results_) + "\n]\n"; }

 private:
  vault::RunStatus& st_;
  std::mutex mu_;
  std::string results_;
};

// Target versions serving (group, resource), and the group's preferred version.
void TargetVersions(const kube::Discovery& d, const std::string& group, const std::string& resource,
                    std::vector<std::string>* served, std::string* preferred) {
  for (const auto& r : d.resources) {
    if (r.group == group && r.resource == resource) served->push_back(r.version);
  }
  *preferred = d.PreferredVersion(group);
}

std::string BackupPreferred(const nlohmann::json& metadata, const std::string& group) {
  auto cluster = metadata.find("cluster");
  if (cluster == metadata.end() || !cluster->is_object()) return "";
  auto groups = cluster->find("apiGroups");
  if (groups == cluster->end() || !groups->is_array()) return "";
  for (const auto& g : *groups) {
    if (g.is_object() && g.value("group", "") == group) return g.value("preferredVersion", "");
  }
  return "";
}

struct PlanResult {
  std::vector<PlannedObject> objects;
  std::vector<std::string> pending_crd;  // dry run: resources that need a CRD first
  std::set<std::string> restored_pvs;
};

// Plans the objects of `content` whose resource passes `want`, moving their text out of
// `content` (each object is held once).
PlanResult MakePlan(BackupContent& content, const kube::Discovery& d, const Options& opts,
                    const std::function<bool(const std::string&)>& want, Ledger& ledger,
                    bool dry_run, const std::set<std::string>& crds_in_backup) {
  PlanResult out;
  // Kinds being restored (owner-based skipping needs them) and PVs being restored.
  std::set<std::string> kinds;
  for (const auto& [gr, objs] : content.objects) {
    if (!want(gr.first) || objs.empty()) continue;
    const std::string& text = objs.begin()->second.begin()->second;
    auto obj = nlohmann::json::parse(text, nullptr, false);
    if (obj.is_object()) kinds.insert(gr.first + "/" + obj.value("kind", ""));
  }
  std::set<std::string>& pvs = out.restored_pvs;
  for (auto& [gr, objs] : content.objects) {
    if (!want(gr.first)) continue;
    std::vector<std::string> served;
    std::string preferred;
    TargetVersions(d, gr.first, gr.second, &served, &preferred);
    const std::string qualified = Qualified(gr.first, gr.second);
    std::vector<std::string> stored;
    for (const auto& [key, versions] : objs) {
      for (const auto& [v, _] : versions) {
        if (std::find(stored.begin(), stored.end(), v) == stored.end()) stored.push_back(v);
      }
    }
    auto version =
        ChooseVersion(stored, BackupPreferred(content.metadata, gr.first), served, preferred);
    if (!version) {
      if (dry_run && crds_in_backup.count(qualified)) {
        out.pending_crd.push_back(qualified + ": restored once its CustomResourceDefinition is");
        continue;
      }
      ledger.Warn("cluster",
                  served.empty()
                      ? "the target cluster does not serve " + qualified + "; deploy it manually"
                      : "no API version in common for " + qualified + "; deploy it manually",
                  qualified);
      continue;
    }
    const kube::ApiResource* target = d.Find(gr.first, *version, gr.second);
    if (!target) continue;
    for (auto& [key, versions] : objs) {
      auto it = versions.find(*version);
      if (it == versions.end()) it = versions.begin();  // an object stored in fewer versions
      EntryRef ref{gr.first, gr.second, it->first, key.first, key.second};
      auto obj = nlohmann::json::parse(it->second, nullptr, false);
      std::string path = EntryPath(ref);
      std::string object =
          qualified + "/" + (key.first.empty() ? "" : key.first + "/") + key.second;
      if (!obj.is_object()) {
        ledger.Record(path, key.first, object, "failed", "not a JSON object in the archive");
        continue;
      }
      Decision dec = Decide(ref, obj, opts.policy, kinds);
      if (!dec.restore) {
        ledger.Record(path, key.first, object, "excluded", dec.reason);
        continue;
      }
      if (gr.first.empty() && gr.second == "persistentvolumes") pvs.insert(key.second);
      out.objects.push_back(
          {path, ref, *target,
           TierOf(gr.first, gr.second, obj.value("kind", ""), opts.policy.priorities),
           std::move(it->second)});
      versions.clear();  // the other stored versions are not needed any more
    }
  }
  std::stable_sort(out.objects.begin(), out.objects.end(),
                   [](const PlannedObject& a, const PlannedObject& b) { return a.tier < b.tier; });
  return out;
}

}  // namespace

namespace {

// Creates (or, by policy, updates) one object and records what happened.
void ApplyOne(kube::Client& kube, const PlannedObject& p, const TransformContext& ctx,
              const Options& opts, Ledger& ledger) {
  const std::string qualified = Qualified(p.ref.group, p.ref.resource);
  const std::string target_ns =
      p.resource.namespaced ? MapNamespace(p.ref.namespace_name, opts.policy) : "";
  const std::string object =
      qualified + "/" + (target_ns.empty() ? "" : target_ns + "/") + p.ref.name;
  auto parsed = nlohmann::json::parse(p.text, nullptr, false);
  auto obj = Transform(p.ref, std::move(parsed), ctx);
  if (!obj.ok()) {
    ledger.Record(p.path, target_ns, object, "failed", obj.status().message());
    return;
  }
  // The version chosen for the target (server-side apply needs both).
  (*obj)["apiVersion"] =
      p.resource.group.empty() ? p.resource.version : p.resource.group + "/" + p.resource.version;
  (*obj)["kind"] = p.resource.kind;
  kube::ResourceRef ref{p.resource.group, p.resource.version, p.resource.resource,
                        p.resource.namespaced};
  auto created = kube.Create(ref, target_ns, *obj);
  if (created.ok()) {
    ledger.Record(p.path, target_ns, object, "created", "");
    return;
  }
  if (created.status().code() != Code::kAlreadyExists) {
    ledger.Record(p.path, target_ns, object, "failed", created.status().message());
    return;
  }
  if (opts.policy.existing_resource_policy == "update") {
    kube::ApplyOptions ao;
    ao.force = true;
    auto applied = kube.Apply(ref, target_ns, p.ref.name, *obj, ao);
    if (applied.ok()) {
      ledger.Record(p.path, target_ns, object, "updated", "");
    } else {
      ledger.Record(p.path, target_ns, object, "failed", applied.status().message());
    }
    return;
  }
  auto live = kube.Get(ref, target_ns, p.ref.name);
  std::string why;
  if (live.ok() && DiffersFromLive(*obj, *live)) {
    why = "exists and differs from the backup (existing_resource_policy = none keeps it)";
  }
  ledger.Record(p.path, target_ns, object, "skipped", why);
}

// Applies planned objects tier by tier, `parallel` at a time within a tier.
void ApplyTiers(kube::Client& kube, const std::vector<PlannedObject>& plan,
                const TransformContext& ctx, const Options& opts, Ledger& ledger,
                const std::atomic<bool>& cancel) {
  size_t i = 0;
  while (i < plan.size() && !cancel.load()) {
    size_t end = i;
    while (end < plan.size() && plan[end].tier.first == plan[i].tier.first) ++end;
    std::atomic<size_t> next{i};
    std::vector<std::thread> threads;
    for (int t = 0; t < std::max(1, opts.parallel_applies); ++t) {
      threads.emplace_back([&, end] {
        for (size_t k = next++; k < end && !cancel.load(); k = next++) {
          ApplyOne(kube, plan[k], ctx, opts, ledger);
        }
      });
    }
    for (auto& t : threads) t.join();
    i = end;
  }
}

// Creates the target namespaces that the plan needs and the backup does not restore itself.
void EnsureNamespaces(kube::Client& kube, const std::vector<PlannedObject>& plan,
                      const Options& opts, Ledger& ledger) {
  std::set<std::string> needed, restored;
  for (const auto& p : plan) {
    if (p.resource.namespaced) needed.insert(MapNamespace(p.ref.namespace_name, opts.policy));
    if (p.ref.group.empty() && p.ref.resource == "namespaces") {
      restored.insert(MapNamespace(p.ref.name, opts.policy));
    }
  }
  for (const auto& ns : needed) {
    if (restored.count(ns)) continue;
    nlohmann::json obj = {{"apiVersion", "v1"},
                          {"kind", "Namespace"},
                          {"metadata",
                           {{"name", ns},
                            {"labels",
                             {{"cairn.io/backup-name", opts.policy.backup_name},
                              {"cairn.io/restore-name", opts.policy.restore_name}}}}}};
    auto r = kube.Create({"", "v1", "namespaces", false}, "", obj);
    if (!r.ok() && r.status().code() != Code::kAlreadyExists) {
      ledger.Warn(std::string(vault::kScopeCluster),
                  "unable to create namespace " + ns + ": " + r.status().message(),
                  "namespaces/" + ns);
    }
  }
}

// Waits until every restored CRD reports Established, so its resources can be served.
void WaitEstablished(kube::Client& kube, const std::vector<PlannedObject>& crds,
                     const Options& opts, base::Clock& clock, Ledger& ledger) {
  for (const auto& p : crds) {
    auto deadline = clock.Steady() + opts.crd_wait;
    bool established = false;
    while (!established && clock.Steady() < deadline) {
      auto crd = kube.Get({kCrdGroup, p.resource.version, "customresourcedefinitions", false}, "",
                          p.ref.name);
      if (crd.ok()) {
        auto st = crd->find("status");
        if (st != crd->end() && st->is_object() && st->contains("conditions") &&
            (*st)["conditions"].is_array()) {
          for (const auto& c : (*st)["conditions"]) {
            if (c.value("type", "") == "Established" && c.value("status", "") == "True") {
              established = true;
            }
          }
        }
      }
      if (!established) clock.SleepFor(std::chrono::milliseconds(250));
    }
    if (!established) {
      ledger.Warn(std::string(vault::kScopeCluster),
                  "CustomResourceDefinition " + p.ref.name + " is not Established after " +
                      base::FormatDuration(opts.crd_wait),
                  "customresourcedefinitions.apiextensions.k8s.io/" + p.ref.name);
    }
  }
}

std::string FormatPlan(const PlanResult& crds, const PlanResult& rest, const Options& opts) {
  std::ostringstream out;
  auto list = [&](const PlanResult& pr) {
    for (const auto& p : pr.objects) {
      std::string ns = p.resource.namespaced ? MapNamespace(p.ref.namespace_name, opts.policy) : "";
      out << "  [" << p.tier.first << "] " << Qualified(p.ref.group, p.ref.resource) << "/"
          << p.resource.version << " " << (ns.empty() ? "" : ns + "/") << p.ref.name
          << (opts.policy.existing_resource_policy == "update" ? ": create or update"
                                                               : ": create (keep if it exists)")
          << "\n";
    }
    for (const auto& s : pr.pending_crd) out << "  " << s << "\n";
  };
  out << "restore plan for backup " << opts.policy.backup_name << " (tier order):\n";
  list(crds);
  list(rest);
  out << (crds.objects.size() + rest.objects.size()) << " objects\n";
  return out.str();
}

}  // namespace

Outcome Run(Deps& deps, const Options& opts, bool dry_run) {
  Outcome out;
  vault::RunStatus& st = out.status;
  st.kind = std::string(vault::kKindRestore);
  st.name = opts.policy.restore_name;
  st.backup = opts.policy.backup_name;
  st.vault = opts.vault_name;
  st.policy = opts.policy_name;
  st.start_time = deps.clock.Now();
  st.heartbeat_time = st.start_time;
  const auto steady_start = deps.clock.Steady();
  Ledger ledger(st);
  auto finish = [&](std::string_view phase, std::string message, int code) {
    st.phase = std::string(phase);
    st.message = std::move(message);
    st.completion_time = deps.clock.Now();
    st.heartbeat_time = *st.completion_time;
    st.duration_seconds = std::chrono::duration<double>(deps.clock.Steady() - steady_start).count();
    out.exit_code = code;
    return out;
  };
  auto fail = [&](const std::string& why) {
    st.AddError(vault::kScopeRunner, why);
    return finish(vault::kPhaseFailed, "restore failed: " + why, 1);
  };
  if (!dry_run) {
    for (const auto& w : deps.reporter.Publish(
             st,
             report::Event{"Normal", "RestoreStarted",
                           "restore " + st.name + " of backup " + st.backup + " started"},
             "")) {
      st.AddWarning(vault::kScopeCluster, w);
    }
  }

  // 1. Verify before touching the cluster.
  auto manifest = vault::ReadManifest(deps.store, deps.layout, opts.policy.backup_name);
  if (!manifest.ok()) return fail(manifest.status().message());
  std::vector<std::string> problems;
  BackupContent content = ReadVerified(deps.store, deps.layout, *manifest, &problems);
  if (!problems.empty()) {
    for (const auto& p : problems) st.AddError(vault::kScopeRunner, p);
    return finish(vault::kPhaseFailed,
                  "restore failed: backup '" + opts.policy.backup_name + "' failed verification (" +
                      std::to_string(problems.size()) + " problems, first: " + problems.front() +
                      "); nothing was applied",
                  1);
  }
  if (deps.cancel.load()) return fail("cancelled before anything was applied");

  // 2-4. CRDs first, then (with a fresh discovery) everything else.
  auto kube = deps.kube();
  if (!kube.ok()) return fail(kube.status().message());
  auto discovery = (*kube)->Discover();
  if (!discovery.ok()) return fail(discovery.status().message());
  std::set<std::string> crds_in_backup;
  if (auto it = content.objects.find({kCrdGroup, "customresourcedefinitions"});
      it != content.objects.end()) {
    for (const auto& [key, _] : it->second) crds_in_backup.insert(key.second);
  }
  auto is_crd = [](const std::string& group) { return group == kCrdGroup; };
  PlanResult crd_plan = MakePlan(
      content, *discovery, opts, [&](const std::string& g) { return is_crd(g); }, ledger, dry_run,
      crds_in_backup);
  crd_plan.objects.erase(std::remove_if(crd_plan.objects.begin(), crd_plan.objects.end(),
                                        [](const PlannedObject& p) {
                                          return p.ref.resource != "customresourcedefinitions";
                                        }),
                         crd_plan.objects.end());
  if (dry_run) {
    PlanResult rest = MakePlan(
        content, *discovery, opts, [&](const std::string& g) { return !is_crd(g); }, ledger, true,
        crds_in_backup);
    out.plan_text = FormatPlan(crd_plan, rest, opts);
    return finish(vault::kPhaseCompleted, "dry run: nothing applied", 0);
  }
  TransformContext ctx{&opts.policy, {}, false};
  ApplyTiers(**kube, crd_plan.objects, ctx, opts, ledger, deps.cancel);
  WaitEstablished(**kube, crd_plan.objects, opts, deps.clock, ledger);
  if (!crd_plan.objects.empty()) {  // the new resources are discoverable now
    kube = deps.kube();
    if (!kube.ok()) return fail(kube.status().message());
    discovery = (*kube)->Discover();
    if (!discovery.ok()) return fail(discovery.status().message());
  }
  PlanResult rest = MakePlan(
      content, *discovery, opts, [&](const std::string& g) { return !is_crd(g); }, ledger, false,
      crds_in_backup);
  content.objects.clear();  // what was not planned is not needed
  ctx.restored_pvs = rest.restored_pvs;
  EnsureNamespaces(**kube, rest.objects, opts, ledger);
  std::vector<PlannedObject> custom, builtin;
  for (auto& p : rest.objects) {
    (crds_in_backup.count(Qualified(p.ref.group, p.ref.resource)) ? custom : builtin)
        .push_back(std::move(p));
  }
  ApplyTiers(**kube, builtin, ctx, opts, ledger, deps.cancel);
  ctx.is_custom_resource = true;
  ApplyTiers(**kube, custom, ctx, opts, ledger, deps.cancel);

  // 5. Report.
  {
    auto sink = deps.store.PutStream(
        deps.layout.RestoreObjectKey(opts.policy.restore_name, "results.json.zst"), {});
    Status rs = sink.status();
    if (rs.ok()) {
      auto z = io::ZstdCompressSink::Create(sink->get(), 3, 0);
      rs = z.ok() ? (*z)->Write(ledger.Results()) : z.status();
      if (rs.ok()) rs = (*z)->Close();
    }
    if (!rs.ok()) st.AddWarning(vault::kScopeRunner, "results not written: " + rs.message());
  }
  if (deps.cancel.load()) return fail("cancelled while applying; see results.json.zst");
  int64_t failed = st.counts.count("failed") ? st.counts["failed"] : 0;
  std::string summary = std::to_string(st.counts["created"]) + " created, " +
                        std::to_string(st.counts["updated"]) + " updated, " +
                        std::to_string(st.counts["skipped"]) + " skipped, " +
                        std::to_string(failed) + " failed";
  if (failed > 0) {
    return finish(vault::kPhasePartiallyFailed, "restore partially failed: " + summary, 3);
  }
  return finish(vault::kPhaseCompleted, "restore completed: " + summary, 0);
}

}  // namespace cairn::ops::restore

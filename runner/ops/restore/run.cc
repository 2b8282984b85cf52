// The restore run: verify, plan, apply tier by tier, report.
#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "base/log.h"
#include "ops/restore/apply.h"
#include "ops/restore/restore.h"
#include "ops/restore/target.h"
#include "ops/restore/transform.h"
#include "ops/restore/verify.h"
#include "vault/manifest.h"

namespace cairn::ops::restore {
namespace {

using base::Code;
using base::Status;

const char* kCrdGroup = "apiextensions.k8s.io";

using ResourceKey = Spool::ResourceKey;

bool IsCrdResource(const ResourceKey& k) {
  return k.first == kCrdGroup && k.second == "customresourcedefinitions";
}

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

struct Plans {
  std::vector<ResourcePlan> resources;   // in apply order: built-in tiers, then custom ones
  std::vector<std::string> pending_crd;  // dry run: resources that need a CRD first
};

// The resources of the backup that `want` selects, each with its target version and tier.
Plans MakePlans(const BackupContent& content, const kube::Discovery& d, const Options& opts,
                const std::function<bool(const ResourceKey&)>& want, Ledger& ledger, bool dry_run,
                const std::set<std::string>& crds_in_backup) {
  Plans out;
  for (const auto& [key, info] : content.objects.resources()) {
    if (!want(key)) continue;
    const auto& [group, resource] = key;
    std::vector<std::string> served;
    std::string preferred;
    TargetVersions(d, group, resource, &served, &preferred);
    const std::string qualified = QualifiedResource(group, resource);
    auto version =
        ChooseVersion(info.versions, BackupPreferred(content.metadata, group), served, preferred);
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
    const kube::ApiResource* target = d.Find(group, *version, resource);
    if (!target) continue;
    ResourcePlan p;
    p.key = key;
    p.qualified = qualified;
    p.target = *target;
    p.version = *version;
    p.tier = TierOf(group, resource, info.kind, opts.policy.priorities);
    p.custom = crds_in_backup.count(qualified) > 0;
    out.resources.push_back(std::move(p));
  }
  std::stable_sort(out.resources.begin(), out.resources.end(),
                   [](const ResourcePlan& a, const ResourcePlan& b) {
                     return std::tie(a.custom, a.tier) < std::tie(b.custom, b.tier);
                   });
  return out;
}

// Calls `fn` for each object of the plan's resource the restore considers, in spool order:
// those stored in the chosen version, and those stored only in other versions (an object
// created while the backup listed its versions), in the highest of those (VersionPrecedes).
// Only resources stored in several versions cost memory per object here.
base::Status ForEachChosen(const Spool& spool, const ResourcePlan& plan,
                           const std::function<void(SpooledObject&)>& fn) {
  const Spool::ResourceInfo* info = spool.Find(plan.key);
  const bool several = info && info->versions.size() > 1;
  using Key = std::pair<std::string, std::string>;
  std::set<Key> in_version, seen;
  std::map<Key, std::string> fallback;  // objects without the chosen version: their best one
  if (several) {
    RETURN_IF_ERROR(spool.ForEach(plan.key, [&](std::vector<SpooledObject>& batch) {
      for (const auto& o : batch) {
        Key k{o.ref.namespace_name, o.ref.name};
        if (o.ref.version == plan.version) {
          in_version.insert(k);
          continue;
        }
        auto [it, added] = fallback.emplace(k, o.ref.version);
        if (!added && VersionPrecedes(o.ref.version, it->second)) it->second = o.ref.version;
      }
      return Status::Ok();
    }));
  }
  return spool.ForEach(plan.key, [&](std::vector<SpooledObject>& batch) {
    for (auto& o : batch) {
      if (several && o.ref.version != plan.version) {
        Key k{o.ref.namespace_name, o.ref.name};
        if (in_version.count(k) || fallback[k] != o.ref.version || !seen.insert(k).second) {
          continue;
        }
      }
      fn(o);
    }
    return Status::Ok();
  });
}

// What the plan restores, decided once per object before anything is applied.
struct Survey {
  std::set<std::string> namespaces;           // target namespaces of restored objects
  std::set<std::string> restored_namespaces;  // Namespace objects restored (target names)
  std::set<std::string> pvs;                  // PersistentVolumes restored
  std::vector<std::string> crds;              // CustomResourceDefinitions restored
  int64_t objects = 0;
};

// Decides every object of `plans` (plan.restore), records the excluded ones, and collects what
// the apply needs to know first. With `plan_text`, writes the plan's lines there.
base::Status SurveyPlans(const Spool& spool, std::vector<ResourcePlan>& plans, const Options& opts,
                         const std::set<std::string>& kinds, Ledger& ledger, Survey* out,
                         std::ostringstream* plan_text) {
  const RestoreOptions& o = opts.policy;
  for (ResourcePlan& p : plans) {
    p.restore.clear();
    RETURN_IF_ERROR(ForEachChosen(spool, p, [&](SpooledObject& so) {
      const EntryRef& ref = so.ref;
      std::string object = p.qualified + "/" +
                           (ref.namespace_name.empty() ? "" : ref.namespace_name + "/") + ref.name;
      auto obj = nlohmann::json::parse(so.text, nullptr, false);
      if (!obj.is_object()) {
        ledger.Record(EntryPath(ref), ref.namespace_name, object, "failed",
                      "not a JSON object in the archive");
        p.restore.push_back(false);
        return;
      }
      Decision dec = Decide(ref, obj, o, kinds);
      p.restore.push_back(dec.restore);
      if (!dec.restore) {
        ledger.Record(EntryPath(ref), ref.namespace_name, object, "excluded", dec.reason);
        return;
      }
      ++out->objects;
      const std::string ns = p.target.namespaced ? MapNamespace(ref.namespace_name, o) : "";
      if (!ns.empty()) out->namespaces.insert(ns);
      if (p.key == ResourceKey{"", "namespaces"}) {
        out->restored_namespaces.insert(MapNamespace(ref.name, o));
      }
      if (p.key == ResourceKey{"", "persistentvolumes"}) out->pvs.insert(ref.name);
      if (IsCrdResource(p.key)) out->crds.push_back(ref.name);
      if (plan_text) {
        *plan_text << "  [" << p.tier.first << "] " << p.qualified << "/" << p.target.version << " "
                   << (ns.empty() ? "" : ns + "/") << ref.name
                   << (o.existing_resource_policy == "update" ? ": create or update"
                                                              : ": create (keep if it exists)")
                   << "\n";
      }
    }));
  }
  return Status::Ok();
}

// Applies the restored objects of `plans`, tier by tier (the pool drains between tiers), and
// frees each resource's spooled objects once they are handed over. Returns with the pool
// drained, also on error.
base::Status ApplyPlans(Spool& spool, const std::vector<ResourcePlan>& plans, ApplyPool& pool,
                        const std::atomic<bool>& cancel) {
  std::optional<std::pair<bool, int>> current;
  for (const ResourcePlan& p : plans) {
    if (cancel.load()) break;
    std::pair<bool, int> tier{p.custom, p.tier.first};
    if (current && *current != tier) pool.Drain();
    current = tier;
    size_t i = 0;
    Status read = ForEachChosen(spool, p, [&](SpooledObject& so) {
      bool restore = i < p.restore.size() && p.restore[i];
      ++i;
      if (restore && !cancel.load()) pool.Push({&p, std::move(so.ref), std::move(so.text)});
    });
    if (!read.ok()) {
      pool.Drain();  // what was handed over is applied and recorded before the run fails
      return read;
    }
    spool.Release(p.key);
  }
  pool.Drain();
  return Status::Ok();
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
  // While the run works, st is written under the ledger's lock only (the heartbeat reads it).
  std::atomic<bool> done{false};
  std::mutex hb_mu;
  std::condition_variable hb_cv;
  std::thread heartbeat;
  auto stop_heartbeat = [&] {
    {
      std::lock_guard<std::mutex> l(hb_mu);
      done = true;
    }
    hb_cv.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  };
  struct StopOnReturn {
    std::function<void()> stop;
    ~StopOnReturn() { stop(); }
  } stop_on_return{stop_heartbeat};
  bool applying = false;  // from the first write on, every end writes results.json.zst
  auto finish = [&](std::string_view phase, std::string message, int code) {
    stop_heartbeat();
    if (applying) {
      auto results = ledger.Finish();
      Status rs = results.status();
      if (rs.ok()) {
        rs = deps.store.Put(
            deps.layout.RestoreObjectKey(opts.policy.restore_name, "results.json.zst"), *results,
            {});
      }
      if (!rs.ok()) st.AddWarning(vault::kScopeRunner, "results not written: " + rs.message());
    }
    st.phase = std::string(phase);
    st.message = std::move(message);
    st.completion_time = deps.clock.Now();
    st.heartbeat_time = *st.completion_time;
    st.duration_seconds = std::chrono::duration<double>(deps.clock.Steady() - steady_start).count();
    out.exit_code = code;
    return out;
  };
  auto fail = [&](const std::string& why) {
    stop_heartbeat();
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
    heartbeat = std::thread([&] {
      std::unique_lock<std::mutex> l(hb_mu);
      while (!hb_cv.wait_for(l, opts.heartbeat, [&] { return done.load(); })) {
        vault::RunStatus snap = ledger.Snapshot();
        snap.heartbeat_time = deps.clock.Now();
        snap.duration_seconds =
            std::chrono::duration<double>(deps.clock.Steady() - steady_start).count();
        deps.reporter.Publish(snap, std::nullopt, "");
      }
    });
  }
  auto cancelled = [&](const std::string& when) {
    std::string why = deps.cancel_reason ? deps.cancel_reason() : "";
    return fail("cancelled" + (why.empty() ? "" : " (" + why + ")") + " " + when);
  };

  // 1. Verify before touching the cluster.
  auto manifest = vault::ReadManifest(deps.store, deps.layout, opts.policy.backup_name);
  if (!manifest.ok()) return fail(manifest.status().message());
  std::vector<VerifyProblem> problems;
  BackupContent content(opts.spool_dir);
  if (!content.objects.disk_error().empty()) {
    ledger.Warn(std::string(vault::kScopeRunner),
                "objects held in memory: " + content.objects.disk_error(), "");
  }
  Status kept = ReadVerified(deps.store, deps.layout, *manifest, &content, &problems);
  if (!kept.ok()) return fail(kept.message() + "; nothing was applied");
  if (!problems.empty()) {
    stop_heartbeat();
    for (const auto& p : problems) st.AddError(vault::kScopeRunner, p.message, p.object);
    return finish(vault::kPhaseFailed,
                  "restore failed: backup '" + opts.policy.backup_name + "' failed verification (" +
                      std::to_string(problems.size()) +
                      (problems.size() == 1 ? " problem: " : " problems, first: ") +
                      problems.front().message + "); nothing was applied",
                  1);
  }
  if (deps.cancel.load()) return cancelled("before anything was applied");
  if (auto partial = PartialBackupWarning(deps.store, deps.layout, opts.policy.backup_name);
      !partial.empty()) {
    ledger.Warn(std::string(vault::kScopeRunner), partial, "");
  }

  // 2-4. CRDs first, then (with a fresh discovery) everything else.
  auto kube = deps.kube();
  if (!kube.ok()) return fail(kube.status().message());
  auto discovery = (*kube)->Discover();
  if (!discovery.ok()) return fail(discovery.status().message());
  Spool& spool = content.objects;
  std::set<std::string> crds_in_backup, kinds;
  Status listed = spool.ForEach({kCrdGroup, "customresourcedefinitions"},
                                [&](std::vector<SpooledObject>& batch) {
                                  for (const auto& o : batch) crds_in_backup.insert(o.ref.name);
                                  return Status::Ok();
                                });
  if (!listed.ok()) return fail(listed.message());
  for (const auto& [key, info] : spool.resources()) {
    if (!info.kind.empty()) kinds.insert(KindKey(key.first, info.kind));
  }
  auto not_crd = [](const ResourceKey& k) { return !IsCrdResource(k); };
  Plans crd_plan =
      MakePlans(content, *discovery, opts, IsCrdResource, ledger, dry_run, crds_in_backup);
  Survey crds;
  std::ostringstream plan_text;
  Status surveyed = SurveyPlans(spool, crd_plan.resources, opts, kinds, ledger, &crds,
                                dry_run ? &plan_text : nullptr);
  if (!surveyed.ok()) return fail(surveyed.message());
  if (dry_run) {
    Plans rest = MakePlans(content, *discovery, opts, not_crd, ledger, true, crds_in_backup);
    Survey planned;
    surveyed = SurveyPlans(spool, rest.resources, opts, kinds, ledger, &planned, &plan_text);
    if (!surveyed.ok()) return fail(surveyed.message());
    for (const auto& s : rest.pending_crd) plan_text << "  " << s << "\n";
    out.plan_text = "restore plan for backup " + opts.policy.backup_name + " (in apply order):\n" +
                    plan_text.str() + std::to_string(crds.objects + planned.objects) + " objects\n";
    return finish(vault::kPhaseCompleted, "dry run: nothing applied", 0);
  }
  TransformContext builtin_ctx{&opts.policy, {}, false, {}};
  TransformContext custom_ctx{&opts.policy, {}, true, {}};
  applying = true;
  {
    ApplyPool pool(**kube, builtin_ctx, custom_ctx, opts.policy, ledger, deps.cancel,
                   opts.parallel_applies);
    Status applied = ApplyPlans(spool, crd_plan.resources, pool, deps.cancel);
    if (!applied.ok()) return fail(applied.message());
  }
  if (deps.cancel.load()) return cancelled("while applying; see results.json.zst");
  if (!crds.crds.empty()) {  // the new resources are discoverable then
    WaitEstablished(**kube, crd_plan.resources.front().target.version, crds.crds, opts.crd_wait,
                    deps.clock, deps.cancel, ledger);
    if (deps.cancel.load()) return cancelled("while applying; see results.json.zst");
    kube = deps.kube();
    if (!kube.ok()) return fail(kube.status().message());
    discovery = (*kube)->Discover();
    if (!discovery.ok()) return fail(discovery.status().message());
  }
  Plans rest = MakePlans(content, *discovery, opts, not_crd, ledger, false, crds_in_backup);
  {  // what is not planned is not needed
    std::set<ResourceKey> keep;
    for (const auto& p : rest.resources) keep.insert(p.key);
    for (const auto& [key, info] : spool.resources()) {
      if (!keep.count(key)) spool.Release(key);
    }
  }
  Survey planned;
  surveyed = SurveyPlans(spool, rest.resources, opts, kinds, ledger, &planned, nullptr);
  if (!surveyed.ok()) return fail(surveyed.message());
  std::set<std::string> missing;
  std::set_difference(planned.namespaces.begin(), planned.namespaces.end(),
                      planned.restored_namespaces.begin(), planned.restored_namespaces.end(),
                      std::inserter(missing, missing.end()));
  if (!deps.cancel.load()) EnsureNamespaces(**kube, missing, opts.policy, ledger);
  const bool services = std::any_of(rest.resources.begin(), rest.resources.end(), [](auto& p) {
    return p.key == ResourceKey{"", "services"};
  });
  TargetState target =
      ReadTarget(**kube, services && !opts.policy.preserve_node_ports, planned.pvs);
  for (const auto& w : target.warnings) ledger.Warn(std::string(vault::kScopeCluster), w, "");
  builtin_ctx.restored_pvs = target.restored_pvs;
  custom_ctx.restored_pvs = target.restored_pvs;
  builtin_ctx.target_node_ports = std::move(target.node_ports);
  {
    ApplyPool pool(**kube, builtin_ctx, custom_ctx, opts.policy, ledger, deps.cancel,
                   opts.parallel_applies);
    Status applied = ApplyPlans(spool, rest.resources, pool, deps.cancel);
    if (!applied.ok()) return fail(applied.message());
  }

  // 5. Report (finish writes results.json.zst).
  if (deps.cancel.load()) return cancelled("while applying; see results.json.zst");
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

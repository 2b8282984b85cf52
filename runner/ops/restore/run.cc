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
#include "ops/restore/apply_plans.h"
#include "ops/restore/conversion.h"
#include "ops/restore/restore.h"
#include "ops/restore/snapshots.h"
#include "ops/restore/target.h"
#include "ops/restore/transform.h"
#include "ops/restore/verify.h"
#include "ops/restore/volumes.h"
#include "vault/manifest.h"
#include "vault/read_lease.h"

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

// What the plan restores, decided once per object before anything is applied.
struct Survey {
  std::set<std::string> namespaces;           // target namespaces of restored objects
  std::set<std::string> restored_namespaces;  // Namespace objects restored (target names)
  std::set<std::string> pvs;                  // PersistentVolumes restored
  std::vector<std::string> crds;              // CustomResourceDefinitions restored
  int64_t objects = 0;
  // Owners: the backed-up uids the ownerReferences of restored objects name, and their kinds.
  std::set<std::string> referenced_uids, owner_kinds;
  // ResourceQuotas this restore writes: target namespace -> resources they count.
  std::map<std::string, std::set<std::string>> quota;
};

// The plan's resources in the order Decide must see them (owner kinds first, OwnerRank).
std::vector<ResourcePlan*> DecisionOrder(const Spool& spool, std::vector<ResourcePlan>& plans) {
  std::vector<ResourcePlan*> order;
  for (ResourcePlan& p : plans) order.push_back(&p);
  auto rank = [&](const ResourcePlan* p) {
    const Spool::ResourceInfo* info = spool.Find(p->key);
    return OwnerRank(p->key.first, info ? info->kind : "");
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const ResourcePlan* a, const ResourcePlan* b) { return rank(a) < rank(b); });
  return order;
}

// Notes what the apply needs to know first of a restored object.
void NoteRestored(const ResourcePlan& p, const EntryRef& ref, const nlohmann::json& obj,
                  const std::string& ns, const RestoreOptions& o, Survey* out) {
  ++out->objects;
  if (!ns.empty()) out->namespaces.insert(ns);
  if (p.key == ResourceKey{"", "namespaces"}) {
    out->restored_namespaces.insert(MapNamespace(ref.name, o));
  }
  if (p.key == ResourceKey{"", "persistentvolumes"}) out->pvs.insert(ref.name);
  if (IsCrdResource(p.key)) out->crds.push_back(ref.name);
  if (p.key == ResourceKey{"", "resourcequotas"} && obj.contains("spec") &&
      obj["spec"].is_object()) {
    auto counted = QuotaCountedResources(obj["spec"].value("hard", nlohmann::json()));
    out->quota[ns].insert(counted.begin(), counted.end());
  }
  for (auto& kind : OwnerKinds(obj)) out->owner_kinds.insert(std::move(kind));
  for (auto& uid : OwnerUids(obj)) out->referenced_uids.insert(std::move(uid));
}

// Decides every object of `plans` (plan.restore), records the ones not restored (a warning
// for those the restore decided, not the filters), and collects what the apply needs to know
// first. `kinds` holds the kinds that will exist (Decide's restored_kinds) and grows as owner
// kinds are decided. With `plan_text`, writes the plan's lines there, in apply order.
base::Status SurveyPlans(const Spool& spool, std::vector<ResourcePlan>& plans, const Options& opts,
                         std::set<std::string>& kinds, Ledger& ledger, Survey* out,
                         std::ostringstream* plan_text) {
  const RestoreOptions& o = opts.policy;
  std::map<const ResourcePlan*, std::string> lines;
  for (ResourcePlan* pp : DecisionOrder(spool, plans)) {
    ResourcePlan& p = *pp;
    p.restore.clear();
    p.has_owners.clear();
    RETURN_IF_ERROR(ForEachChosen(spool, p, [&](SpooledObject& so) {
      const EntryRef& ref = so.ref;
      const std::string ns = p.target.namespaced ? MapNamespace(ref.namespace_name, o) : "";
      std::string object = p.qualified + "/" + (ns.empty() ? "" : ns + "/") + ref.name;
      auto obj = nlohmann::json::parse(so.text, nullptr, false);
      if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) {
        ledger.Record(EntryPath(ref), ns, object, "failed", "not a JSON object in the archive");
        p.restore.push_back(false);
        p.has_owners.push_back(false);
        return;
      }
      Decision dec = Decide(ref, obj, o, kinds);
      if (WillExist(ref, obj, dec, kinds)) kinds.insert(KindKey(ref.group, p.target.kind));
      p.restore.push_back(dec.restore);
      p.has_owners.push_back(dec.restore && !OwnerUids(obj).empty());
      if (!dec.restore) {
        ledger.Record(EntryPath(ref), ns, object, "excluded", dec.reason);
        if (dec.kind != SkipKind::kFiltered) {
          ledger.Warn(ns.empty() ? std::string(vault::kScopeCluster) : vault::NamespaceScope(ns),
                      dec.reason, object);
        }
        return;
      }
      NoteRestored(p, ref, obj, ns, o, out);
      if (plan_text) {
        lines[&p] += "  [" + std::to_string(p.tier.first) + "] " + p.qualified + "/" +
                     p.target.version + " " + (ns.empty() ? "" : ns + "/") + ref.name +
                     (o.existing_resource_policy == "update" ? ": create or update"
                                                             : ": create (keep if it exists)") +
                     "\n";
      }
    }));
  }
  if (plan_text) {
    for (const ResourcePlan& p : plans) *plan_text << lines[&p];
  }
  return Status::Ok();
}

// The owners among the restored objects: those whose backed-up uid a restored object's
// ownerReferences name. Reads only resources of the kinds referenced.
base::Status FindOwners(const Spool& spool, const std::vector<ResourcePlan>& plans,
                        const Survey& survey, OwnerTable& owners) {
  if (survey.referenced_uids.empty()) return Status::Ok();
  for (const ResourcePlan& p : plans) {
    if (!survey.owner_kinds.count(KindKey(p.key.first, p.target.kind))) continue;
    size_t i = 0;
    RETURN_IF_ERROR(ForEachChosen(spool, p, [&](SpooledObject& so) {
      const bool restored = i < p.restore.size() && p.restore[i];
      ++i;
      if (!restored) return;
      const std::string uid = ObjectUid(nlohmann::json::parse(so.text, nullptr, false));
      if (!uid.empty() && survey.referenced_uids.count(uid)) owners.Expect(uid);
    }));
  }
  return Status::Ok();
}

// Where creates can consume quota: the target's ResourceQuotas and those of `survey`.
QuotaScope ScopeOfQuotas(kube::Client& kube, const Survey& survey) {
  QuotaScope scope;
  scope.counted = survey.quota;
  kube::ListOptions lo;
  Status listed =
      kube.ListItems({"", "v1", "resourcequotas", true}, lo, [&](const nlohmann::json& q) {
        auto spec = q.find("spec");
        if (spec == q.end() || !spec->is_object()) return true;
        auto counted = QuotaCountedResources(spec->value("hard", nlohmann::json()));
        scope.counted[ObjectNamespace(q)].insert(counted.begin(), counted.end());
        return true;
      });
  if (!listed.ok()) {
    scope.everywhere = true;  // unknown: look before every namespaced create
    base::LogWarn("resource quotas not listed; every object is looked up before it is created",
                  {{"error", listed.message()}});
  }
  return scope;
}

}  // namespace

Outcome Run(Deps& deps, const Options& requested, bool dry_run) {
  Options opts = requested;  // the backup's claims with volume data are added once it is read
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
  // gc never deletes a backup under a read lease (FORMAT.md §9.1); renewed by the heartbeat.
  vault::ReadLeaseGuard read_lease(deps.store, deps.layout, st.backup, "restore", st.name,
                                   opts.heartbeat, deps.clock, !dry_run);
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
        read_lease.Renew();
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
  ConvertedSpecs converted;
  if (!opts.conversion.empty()) {
    auto loaded =
        LoadConversion(deps.store, deps.layout, manifest->checksum, opts.conversion, opts.policy);
    if (!loaded.ok()) return fail(loaded.status().message());
    converted = std::move(*loaded);
  }
  if (deps.cancel.load()) return cancelled("before anything was applied");
  if (auto partial = PartialBackupWarning(deps.store, deps.layout, opts.policy.backup_name);
      !partial.empty()) {
    ledger.Warn(std::string(vault::kScopeRunner), partial, "");
  }

  for (const BackedUpVolume& v : VolumesOf(*manifest)) {
    opts.policy.claims_with_data.insert(v.namespace_name + "/" + v.pvc);
  }
  // 2-4. CRDs first, then (with a fresh discovery) everything else.
  auto kube = deps.kube();
  if (!kube.ok()) return fail(kube.status().message());
  const std::vector<vault::SnapshotRecord> snapshots =
      dry_run ? std::vector<vault::SnapshotRecord>()
              : SnapshotsToRestore(**kube, *manifest, ledger);
  for (const vault::SnapshotRecord& r : snapshots) {
    opts.policy.claims_with_data.insert(r.namespace_name + "/" + r.pvc);
  }
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
  // kinds: what will exist after the restore, filled as the survey decides owner kinds first.
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
  TransformContext builtin_ctx{&opts.policy, {}, false, {}, &converted};
  TransformContext custom_ctx{&opts.policy, {}, true, {}, &converted};
  std::map<std::string, nlohmann::json> claim_sources;  // filled when the claims' tier starts
  builtin_ctx.claim_sources = &claim_sources;
  applying = true;
  ApplyShared shared;
  {
    ApplyPool pool(**kube, builtin_ctx, custom_ctx, opts.policy, ledger, shared, deps.cancel,
                   opts.parallel_applies);
    Status applied = ApplyPlans(spool, crd_plan.resources, pool, shared.owners, deps.cancel);
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
  Status owners = FindOwners(spool, rest.resources, planned, shared.owners);
  if (!owners.ok()) return fail(owners.message());
  if (!deps.cancel.load()) shared.quota = ScopeOfQuotas(**kube, planned);
  {
    ApplyPool pool(**kube, builtin_ctx, custom_ctx, opts.policy, ledger, shared, deps.cancel,
                   opts.parallel_applies);
    const std::vector<BackedUpVolume> volumes = VolumesOf(*manifest);
    Status applied = ApplyPlans(
        spool, rest.resources, pool, shared.owners, deps.cancel,
        [&] { RestoreVolumes(deps, opts, **kube, volumes, snapshots, claim_sources, ledger); },
        [&] { claim_sources = PrepareSnapshotSources(deps, opts, **kube, snapshots, ledger); });
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

#include "ops/restore/plan.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <tuple>

#include "config/policy.h"

namespace cairn::ops::restore {
namespace {

using config::LabelRequirement;
using nlohmann::json;

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string_view StringAt(const json& j, std::initializer_list<std::string_view> keys) {
  const json* v = JsonAt(j, keys);
  return v != nullptr && v->is_string() ? std::string_view(v->get_ref<const std::string&>()) : "";
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// The default order (TierOf): qualified resource -> tier.
const std::map<std::string, int, std::less<>>& DefaultTiers() {
  static const auto* tiers = new std::map<std::string, int, std::less<>>{
      {"customresourcedefinitions.apiextensions.k8s.io", 0},
      {"namespaces", 1},
      {"storageclasses.storage.k8s.io", 2},
      {"volumesnapshotclasses.snapshot.storage.k8s.io", 3},
      {"persistentvolumes", 4},
      {"persistentvolumeclaims", 5},
      {"clusterroles.rbac.authorization.k8s.io", 6},
      {"roles.rbac.authorization.k8s.io", 7},
      {"serviceaccounts", 8},
      {"clusterrolebindings.rbac.authorization.k8s.io", 9},
      {"rolebindings.rbac.authorization.k8s.io", 10},
      {"secrets", 11},
      {"configmaps", 12},
      {"limitranges", 13},
      {"priorityclasses.scheduling.k8s.io", 14},
      {"deployments.apps", kWorkloadTier},
      {"statefulsets.apps", kWorkloadTier},
      {"daemonsets.apps", kWorkloadTier},
      {"replicasets.apps", kWorkloadTier},
      {"jobs.batch", kWorkloadTier},
      {"cronjobs.batch", kWorkloadTier},
      {"replicationcontrollers", kWorkloadTier},
      {"pods", kWorkloadTier},
      {"services", kWorkloadTier},
  };
  return *tiers;
}

// Owner kind (core kinds bare, others "group/Kind") -> the kinds it recreates, same notation.
// Jobs are not here: a CronJob does not recreate the Jobs it created, and a Job's Pods are
// run-to-completion work (JobDecision).
struct OwnerRule {
  std::string_view owner;
  std::string_view owned;
};
constexpr std::array<OwnerRule, 9> kOwnerRules = {{
    {"apps/Deployment", "apps/ReplicaSet"},
    {"apps/ReplicaSet", "Pod"},
    {"apps/StatefulSet", "Pod"},
    {"apps/DaemonSet", "Pod"},
    {"ReplicationController", "Pod"},
    {"apps/StatefulSet", "apps/ControllerRevision"},
    {"apps/DaemonSet", "apps/ControllerRevision"},
    {"Service", "Endpoints"},
    {"Service", "discovery.k8s.io/EndpointSlice"},
}};

// Whether `key` (KindKey form) is in the set, accepting "/Kind" and "core/Kind" for core.
bool KindRestored(const std::set<std::string>& kinds, const std::string& key) {
  if (kinds.count(key) > 0) return true;
  if (key.find('/') != std::string::npos) return false;
  return kinds.count("/" + key) > 0 || kinds.count("core/" + key) > 0;
}

// The controller ownerReference of `obj` (controller: true), or null.
const json* ControllerRef(const json& obj) {
  const json* refs = JsonAt(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return nullptr;
  for (const json& ref : *refs) {
    const json* controller = JsonMember(ref, "controller");
    if (controller != nullptr && controller->is_boolean() && controller->get<bool>()) return &ref;
  }
  return nullptr;
}

std::string OwnerKey(const json& ref) {
  return KindKey(GroupOfApiVersion(StringAt(ref, {"apiVersion"})), StringAt(ref, {"kind"}));
}

std::optional<std::string> LeftForController(const EntryRef& e, const json& obj,
                                             const std::set<std::string>& restored_kinds) {
  const std::string own_key = KindKey(e.group, StringAt(obj, {"kind"}));
  if (const json* ref = ControllerRef(obj)) {
    const std::string owner_key = OwnerKey(*ref);
    const bool rule = std::any_of(kOwnerRules.begin(), kOwnerRules.end(), [&](const auto& r) {
      return r.owner == owner_key && r.owned == own_key;
    });
    if (rule && KindRestored(restored_kinds, owner_key)) {
      return "left for its controller: owned by " + std::string(StringAt(*ref, {"kind"})) + " " +
             Quote(StringAt(*ref, {"name"}));
    }
  }
  // Endpoints and EndpointSlices the controllers maintain from Services carry no controller
  // reference in every Kubernetes version; recognise them by the controllers' own marks.
  if (!KindRestored(restored_kinds, "Service")) return std::nullopt;
  const std::string_view managed_by =
      StringAt(obj, {"metadata", "labels", "endpointslice.kubernetes.io/managed-by"});
  if (e.group == "discovery.k8s.io" && e.resource == "endpointslices" &&
      (managed_by == "endpointslice-controller.k8s.io" ||
       managed_by == "endpointslicemirroring-controller.k8s.io")) {
    return std::string("left for its controller: maintained from its Service by ") +
           std::string(managed_by);
  }
  if (e.group.empty() && e.resource == "endpoints" &&
      JsonAt(obj, {"metadata", "annotations",
                   "endpoints.kubernetes.io/last-change-trigger-time"}) != nullptr) {
    return std::string(
        "left for its controller: maintained from its Service by the endpoints "
        "controller");
  }
  return std::nullopt;
}

// Jobs created by a restored CronJob, and the Pods of any Job (Decide, step 4).
std::optional<std::string> JobDecision(const EntryRef& e, const json& obj,
                                       const std::set<std::string>& restored_kinds) {
  const json* ref = ControllerRef(obj);
  if (ref == nullptr) return std::nullopt;
  const std::string owner_key = OwnerKey(*ref);
  const std::string owner =
      std::string(StringAt(*ref, {"kind"})) + " " + Quote(StringAt(*ref, {"name"}));
  if (e.group == "batch" && e.resource == "jobs" && owner_key == "batch/CronJob" &&
      KindRestored(restored_kinds, owner_key)) {
    return "not restored: created by " + owner +
           ", which is restored and creates the next Jobs on its schedule (a restored Job "
           "would run again at once: its completion is status, which cannot be restored)";
  }
  if (e.group.empty() && e.resource == "pods" && owner_key == "batch/Job") {
    return "not restored: a Pod of " + owner +
           " (a restored Job starts its own Pods; a Pod restored alone would run again "
           "outside its Job)";
  }
  return std::nullopt;
}

// The target name of a backup namespace (transform.h's MapNamespace, which builds on this
// header).
std::string MapNamespaceName(std::string_view ns, const RestoreOptions& o) {
  for (const auto& [from, to] : o.namespace_mapping) {
    if (from == ns) return to;
  }
  return std::string(ns);
}

bool NamespaceSelected(std::string_view ns, const RestoreOptions& o) {
  bool included = o.include_namespaces.empty();
  for (const std::string& p : o.include_namespaces) {
    included = included || config::GlobMatch(p, ns);
  }
  if (!included) return false;
  return std::none_of(o.exclude_namespaces.begin(), o.exclude_namespaces.end(),
                      [&](const std::string& p) { return config::GlobMatch(p, ns); });
}

bool LabelsMatch(const json& obj, const std::vector<LabelRequirement>& requirements) {
  const json* labels = JsonAt(obj, {"metadata", "labels"});
  for (const LabelRequirement& r : requirements) {
    const json* v = labels == nullptr ? nullptr : JsonMember(*labels, r.key);
    const std::string* value =
        v != nullptr && v->is_string() ? &v->get_ref<const std::string&>() : nullptr;
    if (!config::LabelRequirementHolds(r, value)) return false;
  }
  return true;
}

}  // namespace

const nlohmann::json* JsonMember(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const nlohmann::json* JsonAt(const nlohmann::json& j,
                             std::initializer_list<std::string_view> keys) {
  const nlohmann::json* at = &j;
  for (std::string_view k : keys) {
    at = JsonMember(*at, k);
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::optional<std::string> ChooseVersion(const std::vector<std::string>& stored_versions,
                                         const std::string& backup_preferred,
                                         const std::vector<std::string>& target_served,
                                         const std::string& target_preferred) {
  if (!target_preferred.empty() && Contains(stored_versions, target_preferred) &&
      Contains(target_served, target_preferred)) {
    return target_preferred;
  }
  if (!backup_preferred.empty() && Contains(stored_versions, backup_preferred) &&
      Contains(target_served, backup_preferred)) {
    return backup_preferred;
  }
  std::optional<std::string> best;
  for (const std::string& v : stored_versions) {
    if (!Contains(target_served, v)) continue;
    if (!best || VersionPrecedes(v, *best)) best = v;
  }
  return best;
}

std::pair<int, std::string> TierOf(std::string_view group, std::string_view resource,
                                   const std::vector<std::string>& priorities) {
  return TierOf(group, resource, "", priorities);
}

std::pair<int, std::string> TierOf(std::string_view group, std::string_view resource,
                                   std::string_view kind,
                                   const std::vector<std::string>& priorities) {
  std::string name = QualifiedResource(group, resource);
  for (size_t i = 0; i < priorities.size(); ++i) {
    if (priorities[i] != "*" && ResourceMatches(group, resource, kind, priorities[i])) {
      return {static_cast<int>(i), name};
    }
  }
  const int shift = static_cast<int>(priorities.size());
  const auto& tiers = DefaultTiers();
  auto it = tiers.find(name);
  return {shift + (it == tiers.end() ? kOtherTier : it->second), std::move(name)};
}

std::string KindKey(std::string_view group, std::string_view kind) {
  if (group.empty()) return std::string(kind);
  std::string out(group);
  out += "/";
  out += kind;
  return out;
}

std::string GroupOfApiVersion(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? "" : std::string(api_version.substr(0, slash));
}

Decision Decide(const EntryRef& e, const json& obj, const RestoreOptions& o,
                const std::set<std::string>& restored_kinds) {
  auto skip = [](std::string reason, SkipKind kind = SkipKind::kFiltered) {
    return Decision{false, std::move(reason), kind};
  };
  const bool core = e.group.empty();
  const std::string_view kind = StringAt(obj, {"kind"});

  // 1. Namespaces.
  if (!e.namespace_name.empty() && !NamespaceSelected(e.namespace_name, o)) {
    return skip("namespace " + Quote(e.namespace_name) + " is not selected");
  }
  if (core && e.resource == "namespaces" && !NamespaceSelected(e.name, o)) {
    return skip("namespace " + Quote(e.name) + " is not selected");
  }
  if (core && e.resource == "persistentvolumes") {
    const std::string_view claim_ns = StringAt(obj, {"spec", "claimRef", "namespace"});
    if (!claim_ns.empty() && !NamespaceSelected(claim_ns, o)) {
      return skip("claimed from namespace " + Quote(claim_ns) + ", which is not selected");
    }
  }

  // 2. Resources.
  for (const std::string& item : o.exclude_resources) {
    if (ResourceMatches(e.group, e.resource, kind, item)) {
      return skip("excluded by exclude_resources " + Quote(item));
    }
  }
  if (!o.include_resources.empty() &&
      std::none_of(o.include_resources.begin(), o.include_resources.end(),
                   [&](const std::string& item) {
                     return ResourceMatches(e.group, e.resource, kind, item);
                   })) {
    return skip("not in include_resources");
  }

  // 3. Labels.
  if (!e.namespace_name.empty() && !o.label_selector.empty()) {
    base::Result<std::vector<LabelRequirement>> reqs = config::ParseLabelSelector(o.label_selector);
    if (!reqs.ok()) return skip("invalid label_selector: " + reqs.status().message());
    if (!LabelsMatch(obj, *reqs)) {
      return skip("labels do not match label_selector " + Quote(o.label_selector));
    }
  }

  // 4. Objects their controller recreates.
  if (std::optional<std::string> reason = LeftForController(e, obj, restored_kinds)) {
    return skip(std::move(*reason), SkipKind::kController);
  }
  if (std::optional<std::string> reason = JobDecision(e, obj, restored_kinds)) {
    return skip(std::move(*reason), SkipKind::kController);
  }

  // 5. Service-account tokens.
  if (core && e.resource == "secrets" &&
      StringAt(obj, {"type"}) == "kubernetes.io/service-account-token") {
    return skip(
        "not restored: a service-account token secret holds a token signed by the source "
        "cluster; the target issues its own tokens",
        SkipKind::kNotRestorable);
  }

  // 6. PersistentVolumes that would provision anew anyway.
  if (core && e.resource == "persistentvolumes" &&
      StringAt(obj, {"spec", "persistentVolumeReclaimPolicy"}) == "Delete") {
    const std::string_view claim_ns = StringAt(obj, {"spec", "claimRef", "namespace"});
    const std::string_view claim = StringAt(obj, {"spec", "claimRef", "name"});
    std::string who =
        claim.empty()
            ? std::string("a claim of it")
            : "its claim " + Quote(MapNamespaceName(claim_ns, o) + "/" + std::string(claim));
    if (o.claims_with_data.count(std::string(claim_ns) + "/" + std::string(claim))) {
      return skip("not restored: persistentVolumeReclaimPolicy is Delete; " + who +
                      " is bound to a new volume, into which the backed-up data is restored",
                  SkipKind::kNotRestorable);
    }
    return skip(
        "not restored: persistentVolumeReclaimPolicy is Delete and this backup has no "
        "volume data for it; " +
            who + " comes back empty, bound to a new volume",
        SkipKind::kNotRestorable);
  }
  return Decision{};
}

bool WillExist(const EntryRef& e, const json& obj, const Decision& d,
               const std::set<std::string>& restored_kinds) {
  return d.restore || LeftForController(e, obj, restored_kinds).has_value();
}

int OwnerRank(std::string_view group, std::string_view kind) {
  const std::string key = KindKey(group, kind);
  if (key == "Pod") return 2;
  if (key == "batch/Job") return 1;
  return std::any_of(kOwnerRules.begin(), kOwnerRules.end(),
                     [&](const OwnerRule& r) { return r.owned == key; })
             ? 1
             : 0;
}

std::vector<std::string> OwnerUids(const json& obj) {
  std::vector<std::string> out;
  const json* refs = JsonAt(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return out;
  for (const json& ref : *refs) {
    const std::string_view uid = StringAt(ref, {"uid"});
    if (!uid.empty()) out.emplace_back(uid);
  }
  return out;
}

std::vector<std::string> OwnerKinds(const json& obj) {
  std::vector<std::string> out;
  const json* refs = JsonAt(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return out;
  for (const json& ref : *refs) {
    if (!StringAt(ref, {"kind"}).empty()) out.push_back(OwnerKey(ref));
  }
  return out;
}

std::string ObjectUid(const json& obj) { return std::string(StringAt(obj, {"metadata", "uid"})); }

std::string ObjectNamespace(const json& obj) {
  return std::string(StringAt(obj, {"metadata", "namespace"}));
}

std::string ObjectName(const json& obj) { return std::string(StringAt(obj, {"metadata", "name"})); }

json RepointOwnerReferences(const json& refs,
                            const std::function<OwnerState(const std::string& uid)>& owner,
                            std::vector<std::string>* dropped) {
  json out = json::array();
  if (!refs.is_array()) return out;
  for (const json& ref : refs) {
    const std::string uid(StringAt(ref, {"uid"}));
    if (uid.empty() || StringAt(ref, {"kind"}).empty() || StringAt(ref, {"name"}).empty()) {
      continue;
    }
    const OwnerState st = owner(uid);
    if (st.kind == OwnerState::Kind::kWritten && !st.uid.empty()) {
      json r = ref;
      r["uid"] = st.uid;
      out.push_back(std::move(r));
      continue;
    }
    const std::string why = st.kind == OwnerState::Kind::kFailed ? "the owner failed to restore"
                            : st.kind == OwnerState::Kind::kPending
                                ? "the owner was not written before it"
                                : "the owner is not restored by this restore";
    if (dropped != nullptr) {
      dropped->push_back("ownerReference to " + std::string(StringAt(ref, {"kind"})) + " " +
                         Quote(StringAt(ref, {"name"})) + " dropped: " + why);
    }
  }
  return out;
}

std::set<std::string> QuotaCountedResources(const json& hard) {
  std::set<std::string> out;
  if (!hard.is_object()) return out;
  static const std::set<std::string, std::less<>> kCore = {"pods",
                                                           "services",
                                                           "configmaps",
                                                           "secrets",
                                                           "persistentvolumeclaims",
                                                           "replicationcontrollers",
                                                           "resourcequotas"};
  for (const auto& [key, value] : hard.items()) {
    std::string_view k = key;
    if (k.starts_with("count/")) {
      std::string_view r = k.substr(6);
      const size_t dot = r.find('.');
      out.insert(dot == std::string_view::npos
                     ? std::string(r)
                     : QualifiedResource(r.substr(dot + 1), r.substr(0, dot)));
    } else if (kCore.count(k) > 0) {
      out.insert(std::string(k));
    } else if (k.starts_with("services.")) {
      out.insert("services");
    } else if (k == "requests.storage" ||
               k.find(".storageclass.storage.k8s.io/") != std::string_view::npos) {
      out.insert("persistentvolumeclaims");
    } else {
      out.insert("pods");  // cpu, memory, requests.*, limits.*, hugepages-*, extended
    }
  }
  return out;
}

}  // namespace cairn::ops::restore

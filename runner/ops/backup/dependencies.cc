#include "ops/backup/dependencies.h"

#include <string_view>

namespace cairn::ops::backup {
namespace {

using nlohmann::json;

const json& At(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// The string at a path of keys, or "" when any step is missing or not a string.
std::string Str(const json& j, std::initializer_list<std::string_view> path) {
  const json* cur = &j;
  for (std::string_view key : path) cur = &At(*cur, key);
  return cur->is_string() ? cur->get<std::string>() : "";
}

bool Is(const kube::ApiResource& r, std::string_view group, std::string_view resource) {
  return r.group == group && r.resource == resource;
}

std::string NamespacedName(const json& obj) {
  return Str(obj, {"metadata", "namespace"}) + "/" + Str(obj, {"metadata", "name"});
}

// The pod spec inside a workload, or null when `r` is not a workload with a pod template.
const json& PodSpecOf(const kube::ApiResource& r, const json& obj) {
  static const json kNull;
  if (Is(r, "", "pods")) return At(obj, "spec");
  if (Is(r, "", "podtemplates")) return At(At(obj, "template"), "spec");
  if (Is(r, "batch", "cronjobs")) {
    return At(At(At(At(At(obj, "spec"), "jobTemplate"), "spec"), "template"), "spec");
  }
  if (Is(r, "apps", "deployments") || Is(r, "apps", "statefulsets") ||
      Is(r, "apps", "daemonsets") || Is(r, "apps", "replicasets") ||
      Is(r, "", "replicationcontrollers") || Is(r, "batch", "jobs")) {
    return At(At(At(obj, "spec"), "template"), "spec");
  }
  return kNull;
}

// A PVC's (or a volumeClaimTemplate's) storage class, new field or legacy annotation.
std::string StorageClassOfClaim(const json& claim) {
  std::string sc = Str(claim, {"spec", "storageClassName"});
  if (sc.empty()) {
    sc = Str(claim, {"metadata", "annotations", "volume.beta.kubernetes.io/storage-class"});
  }
  return sc;
}

constexpr std::string_view kSnapshotGroup = "snapshot.storage.k8s.io";
constexpr std::string_view kRbacGroup = "rbac.authorization.k8s.io";

}  // namespace

int ClusterOrder(const kube::ApiResource& r) {
  if (Is(r, "", "persistentvolumes") || Is(r, kRbacGroup, "clusterrolebindings") ||
      Is(r, kSnapshotGroup, "volumesnapshotcontents")) {
    return 0;
  }
  return 1;
}

void DependencyCollector::Need(Target target, std::string_view name, std::string reason) {
  if (name.empty()) return;
  auto [it, inserted] = needed_.try_emplace({target, std::string(name)}, reason);
  if (!inserted && reason < it->second) it->second = std::move(reason);
}

std::optional<std::string> DependencyCollector::Needed(Target target, std::string_view name) const {
  auto it = needed_.find(std::pair(target, std::string(name)));
  if (it == needed_.end()) return std::nullopt;
  return it->second;
}

void DependencyCollector::ObservePodSpec(const json& pod_spec, const std::string& user) {
  Need(Target::kPriorityClass, Str(pod_spec, {"priorityClassName"}), "used by " + user);
  Need(Target::kRuntimeClass, Str(pod_spec, {"runtimeClassName"}), "used by " + user);
}

void DependencyCollector::Observe(const kube::ApiResource& r, const json& obj) {
  const std::string ns = Str(obj, {"metadata", "namespace"});
  if (ns.empty()) return;  // not a namespaced object
  const std::string id = NamespacedName(obj);
  const std::string kind = r.kind.empty() ? r.resource : r.kind;
  std::lock_guard<std::mutex> lock(mu_);
  namespaces_.insert(ns);
  if (!r.group.empty()) {
    const std::string crd = r.resource + "." + r.group;
    Need(Target::kCrd, crd, "defines " + crd + " used in namespace " + ns);
  }
  if (const json& pod_spec = PodSpecOf(r, obj); pod_spec.is_object()) {
    ObservePodSpec(pod_spec, kind + " " + id);
  }
  if (Is(r, "", "persistentvolumeclaims")) {
    pvcs_.insert(id);
    Need(Target::kPersistentVolume, Str(obj, {"spec", "volumeName"}), "bound to PVC " + id);
    Need(Target::kStorageClass, StorageClassOfClaim(obj), "used by PVC " + id);
  } else if (Is(r, "apps", "statefulsets")) {
    const json& templates = At(At(obj, "spec"), "volumeClaimTemplates");
    if (templates.is_array()) {
      for (const json& t : templates) {
        Need(Target::kStorageClass, StorageClassOfClaim(t), "used by StatefulSet " + id);
      }
    }
  } else if (Is(r, kRbacGroup, "rolebindings")) {
    if (Str(obj, {"roleRef", "kind"}) == "ClusterRole") {
      Need(Target::kClusterRole, Str(obj, {"roleRef", "name"}), "referenced by RoleBinding " + id);
    }
  } else if (Is(r, kSnapshotGroup, "volumesnapshots")) {
    snapshots_.insert(id);
    Need(Target::kSnapshotClass, Str(obj, {"spec", "volumeSnapshotClassName"}),
         "used by VolumeSnapshot " + id);
    Need(Target::kSnapshotContent, Str(obj, {"status", "boundVolumeSnapshotContentName"}),
         "bound to VolumeSnapshot " + id);
  } else if (Is(r, "networking.k8s.io", "ingresses")) {
    Need(Target::kIngressClass, Str(obj, {"spec", "ingressClassName"}), "used by Ingress " + id);
  }
}

void DependencyCollector::ObserveCluster(const kube::ApiResource& r, const json& cluster_obj) {
  const std::string name = Str(cluster_obj, {"metadata", "name"});
  std::lock_guard<std::mutex> lock(mu_);
  if (Is(r, "", "persistentvolumes")) {
    Need(Target::kStorageClass, StorageClassOfClaim(cluster_obj),
         "used by PersistentVolume " + name);
  } else if (Is(r, kRbacGroup, "clusterrolebindings")) {
    if (Str(cluster_obj, {"roleRef", "kind"}) == "ClusterRole") {
      Need(Target::kClusterRole, Str(cluster_obj, {"roleRef", "name"}),
           "referenced by ClusterRoleBinding " + name);
    }
  } else if (Is(r, kSnapshotGroup, "volumesnapshotcontents")) {
    Need(Target::kSnapshotClass, Str(cluster_obj, {"spec", "volumeSnapshotClassName"}),
         "used by VolumeSnapshotContent " + name);
  }
}

std::optional<std::string> DependencyCollector::Reason(const kube::ApiResource& r,
                                                       const json& cluster_obj) const {
  const std::string name = Str(cluster_obj, {"metadata", "name"});
  if (name.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  if (Is(r, "", "namespaces")) {
    if (namespaces_.count(name) > 0) return "namespace of selected objects";
    return std::nullopt;
  }
  if (Is(r, "", "persistentvolumes")) {
    if (auto reason = Needed(Target::kPersistentVolume, name)) return reason;
    const std::string claim = Str(cluster_obj, {"spec", "claimRef", "namespace"}) + "/" +
                              Str(cluster_obj, {"spec", "claimRef", "name"});
    if (pvcs_.count(claim) > 0) return "bound to PVC " + claim;
    return std::nullopt;
  }
  if (Is(r, kRbacGroup, "clusterrolebindings")) {
    const json& subjects = At(cluster_obj, "subjects");
    if (!subjects.is_array()) return std::nullopt;
    constexpr std::string_view kSaGroup = "system:serviceaccounts:";
    for (const json& s : subjects) {
      const std::string kind = Str(s, {"kind"});
      const std::string subject = Str(s, {"name"});
      const std::string ns = Str(s, {"namespace"});
      if (kind == "ServiceAccount" && namespaces_.count(ns) > 0) {
        return "binds ServiceAccount " + ns + "/" + subject;
      }
      if (kind == "Group" && subject.rfind(kSaGroup, 0) == 0 &&
          namespaces_.count(subject.substr(kSaGroup.size())) > 0) {
        return "binds Group " + subject;
      }
    }
    return std::nullopt;
  }
  if (Is(r, kSnapshotGroup, "volumesnapshotcontents")) {
    if (auto reason = Needed(Target::kSnapshotContent, name)) return reason;
    const std::string snap = Str(cluster_obj, {"spec", "volumeSnapshotRef", "namespace"}) + "/" +
                             Str(cluster_obj, {"spec", "volumeSnapshotRef", "name"});
    if (snapshots_.count(snap) > 0) return "bound to VolumeSnapshot " + snap;
    return std::nullopt;
  }
  static const std::pair<std::pair<std::string_view, std::string_view>, Target> kByName[] = {
      {{"storage.k8s.io", "storageclasses"}, Target::kStorageClass},
      {{"apiextensions.k8s.io", "customresourcedefinitions"}, Target::kCrd},
      {{kRbacGroup, "clusterroles"}, Target::kClusterRole},
      {{"scheduling.k8s.io", "priorityclasses"}, Target::kPriorityClass},
      {{"node.k8s.io", "runtimeclasses"}, Target::kRuntimeClass},
      {{"networking.k8s.io", "ingressclasses"}, Target::kIngressClass},
      {{kSnapshotGroup, "volumesnapshotclasses"}, Target::kSnapshotClass},
  };
  for (const auto& [key, target] : kByName) {
    if (Is(r, key.first, key.second)) return Needed(target, name);
  }
  return std::nullopt;
}

std::set<std::string> DependencyCollector::namespaces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return namespaces_;
}

}  // namespace cairn::ops::backup

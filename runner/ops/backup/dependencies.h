// ops/backup/dependencies: which cluster-scoped objects a selection of namespaced objects
// depends on (include_cluster_resources = "auto"), each with the reason it is pulled in.
//
// How a backup run uses it:
//   1. While the namespaced resources stream, Observe() every object written to the archive
//      (after every filter). Only small sets of names are kept: namespaces, PVC and
//      VolumeSnapshot names, and the names of the cluster objects they reference.
//   2. Then list the `cluster_auto` resources (selection.h) sorted by ClusterOrder() and, for
//      each object, keep it when Reason() gives one; record the reason in the run's selection
//      and call ObserveCluster() on every object kept. ClusterOrder puts the objects that
//      reference other cluster objects first (PersistentVolumes before StorageClasses,
//      ClusterRoleBindings before ClusterRoles, VolumeSnapshotContents before
//      VolumeSnapshotClasses), so one pass over the cluster resources is enough.
//
// The rules, with the reason recorded:
//   Namespace             a selected object lives in it       "namespace of selected objects"
//   PersistentVolume      pvc.spec.volumeName, or pv.spec.claimRef naming a selected PVC
//                                                             "bound to PVC shop/data-0"
//   StorageClass          of a selected PVC (spec.storageClassName or the legacy
//                         volume.beta.kubernetes.io/storage-class annotation), a StatefulSet's
//                         volumeClaimTemplates, or a pulled-in PV  "used by PVC shop/data"
//   CustomResourceDefinition  "<plural>.<group>" of a selected object's resource
//                                   "defines databases.example.com used in namespace shop"
//   ClusterRoleBinding    a ServiceAccount subject in a selected namespace, or the Group
//                         system:serviceaccounts:<ns>          "binds ServiceAccount shop/app"
//   ClusterRole           roleRef of a selected RoleBinding or a pulled-in ClusterRoleBinding
//                                                             "referenced by RoleBinding shop/x"
//   PriorityClass         spec.priorityClassName of a selected Pod or pod template (Deployment,
//                         StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
//                         CronJob's jobTemplate, PodTemplate)   "used by Deployment shop/web"
//   RuntimeClass          spec.runtimeClassName of the same     "used by Pod shop/x"
//   IngressClass          spec.ingressClassName of a selected Ingress  "used by Ingress shop/web"
//   VolumeSnapshotClass   spec.volumeSnapshotClassName of a selected VolumeSnapshot or a
//                         pulled-in VolumeSnapshotContent   "used by VolumeSnapshot shop/snap"
//   VolumeSnapshotContent status.boundVolumeSnapshotContentName of a selected VolumeSnapshot,
//                         or spec.volumeSnapshotRef naming one  "bound to VolumeSnapshot shop/s"
// When several objects pull in the same one, the reason is the smallest in string order, so
// it does not depend on the order objects arrived in. Every method is thread-safe (resources
// are listed in parallel). Objects of resources this file does not know give no reason.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "kube/discovery.h"

namespace cairn::ops::backup {

// 0 for the cluster resources whose objects reference other cluster objects
// (persistentvolumes, clusterrolebindings, volumesnapshotcontents), 1 for the rest. Sort the
// `cluster_auto` resources by (ClusterOrder, group, resource) before listing them.
int ClusterOrder(const kube::ApiResource& r);

class DependencyCollector {
 public:
  // A selected namespaced object that was written to the archive.
  void Observe(const kube::ApiResource& r, const nlohmann::json& obj);

  // Why the cluster-scoped object `cluster_obj` is needed by the selection, or nullopt.
  std::optional<std::string> Reason(const kube::ApiResource& r,
                                    const nlohmann::json& cluster_obj) const;

  // A cluster-scoped object that was pulled in: what it references is needed too.
  void ObserveCluster(const kube::ApiResource& r, const nlohmann::json& cluster_obj);

  // The namespaces that hold at least one observed object, for the run's summary.
  std::set<std::string> namespaces() const;

 private:
  enum class Target {
    kPersistentVolume,
    kStorageClass,
    kCrd,
    kClusterRole,
    kPriorityClass,
    kRuntimeClass,
    kIngressClass,
    kSnapshotClass,
    kSnapshotContent,
  };

  // Records that `name` of `target` is needed, keeping the smallest reason. mu_ held.
  void Need(Target target, std::string_view name, std::string reason);
  // spec.priorityClassName / spec.runtimeClassName of a pod spec. mu_ held.
  void ObservePodSpec(const nlohmann::json& pod_spec, const std::string& user);
  std::optional<std::string> Needed(Target target, std::string_view name) const;

  mutable std::mutex mu_;
  std::set<std::string> namespaces_;
  std::set<std::string> pvcs_;       // "ns/name" of observed PVCs
  std::set<std::string> snapshots_;  // "ns/name" of observed VolumeSnapshots
  std::map<std::pair<Target, std::string>, std::string, std::less<>> needed_;
};

}  // namespace cairn::ops::backup

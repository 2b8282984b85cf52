// ops/restore/transform: turns a backed-up object into the object to create in the target
// cluster, and compares it with what already exists there. Pure functions over JSON: no
// network, no clock. Objects are data from an archive: a member of an unexpected type is left
// alone, never trusted and never thrown on.
//
// What Transform does, in order (resources are matched by the entry's group and resource):
//   - metadata: drops uid, resourceVersion, generation, creationTimestamp, deletionTimestamp,
//     deletionGracePeriodSeconds, managedFields, selfLink and ownerReferences. Owner
//     references are dropped entirely: the uid they carry names an object of the source
//     cluster, and the garbage collector deletes a dependent whose owner uid does not exist,
//     so keeping them would make the target delete what was just restored. Controllers
//     re-adopt their dependents by selector (ReplicaSets, Pods, ControllerRevisions); objects
//     a controller recreates are not restored at all (plan.h, Decide). Finalizers are kept.
//   - status: dropped, except for custom resources when restore_status is set (the caller
//     writes it through the status subresource after creating the object).
//   - namespace mapping: metadata.namespace of namespaced objects (from the entry), the name of
//     Namespace objects (and their kubernetes.io/metadata.name label), the subjects of
//     RoleBindings and ClusterRoleBindings that name a namespace (ServiceAccount subjects'
//     namespace, the Group system:serviceaccounts:<ns> and the User
//     system:serviceaccount:<ns>:<name>), spec.claimRef.namespace of PVs, and the namespace
//     names NetworkPolicy peers select by the kubernetes.io/metadata.name label
//     (namespaceSelector matchLabels, and matchExpressions values with In/NotIn). A
//     namespaceSelector that selects a mapped namespace's name under another label key cannot
//     be mapped: it is kept and noted as a warning.
//   - Services: spec.clusterIP and spec.clusterIPs are dropped unless headless ("None"); with
//     preserve_node_ports false, assigned nodePorts and healthCheckNodePorts are dropped, and
//     explicit ones (from kubectl's last-applied configuration or managedFields) are kept
//     unless another Service of the target holds them (node_ports.h: then dropped and noted,
//     so the target assigns a new one and the caller warns naming both ports).
//   - PVCs whose spec.volumeName is not in restored_pvs (the PVs this run creates) lose
//     spec.volumeName and the binding annotations (kPvcBindingAnnotations), so they provision
//     anew; those whose PV is restored keep spec.volumeName and lose the annotations that
//     say the binding is complete (kBindCompletedAnnotations), as the restored PVs do: the PV
//     controller treats a claim marked bind-completed whose volume's claimRef has no uid as
//     misbound (ClaimMisbound, phase Lost). PVs lose spec.claimRef.uid and .resourceVersion
//     (keeping its name and mapped namespace), so the PV controller binds them to the
//     restored claim.
//   - Jobs without spec.manualSelector: true lose what the API server generated from the
//     source Job's uid (pkg/registry/batch/job/strategy.go): the controller-uid and
//     batch.kubernetes.io/controller-uid keys of spec.selector.matchLabels (the selector when
//     nothing else is left) and the labels controller-uid, batch.kubernetes.io/controller-uid,
//     job-name and batch.kubernetes.io/job-name of the pod template (kJobGeneratedLabels). The
//     target generates them anew; it refuses a Job that brings a selector for another uid
//     ("`selector` not auto-generated").
//   - storage_class_mapping: spec.storageClassName and the legacy
//     volume.beta.kubernetes.io/storage-class annotation of PVCs and PVs, and
//     spec.volumeClaimTemplates[].spec.storageClassName of StatefulSets. StorageClass objects
//     keep their names.
//   - convert_to_access_modes: spec.accessModes of PVCs, PVs and StatefulSet
//     volumeClaimTemplates, duplicates removed after conversion (first occurrence kept).
//   - image_registry_mapping: every image of containers, initContainers and
//     ephemeralContainers of Pods and of the pod templates of Deployments, StatefulSets,
//     DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs
//     (spec.jobTemplate.spec.template) and PodTemplates (MapImage).
//   - Pods: spec.nodeName is dropped (the source's nodes do not exist in the target: the pod
//     is scheduled again) and spec.priority is dropped (the Priority admission plugin computes
//     it from the target's PriorityClasses and rejects a pod whose value differs).
//   - labels cairn.io/backup-name and cairn.io/restore-name (plan.h) are set when the names
//     are non-empty.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ops/restore/node_ports.h"
#include "ops/restore/plan.h"

namespace cairn::ops::restore {

// PVC annotations written by the PV controller and the provisioners while binding.
inline constexpr std::string_view kPvcBindingAnnotations[] = {
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
};

// Annotations of a bound claim (and of its volume) that say the binding is complete.
inline constexpr std::string_view kBindCompletedAnnotations[] = {
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
};

// Pod template labels the API server adds to a Job without a manual selector.
inline constexpr std::string_view kJobGeneratedLabels[] = {
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
};

// What a conversion (convert-run; restore-run --conversion) rewrote, by the object's identity
// in the backup: the whole spec of PVCs ("ns/name"), of PVs (name) and of StatefulSet
// volumeClaimTemplates (TemplateKey). Such a spec replaces the backed-up one, and the
// restore's own storage_class_mapping and convert_to_access_modes do not apply to it (the
// legacy storage-class annotation follows the conversion's mapping); everything else of the
// transform still does (volumeName, claimRef, namespaces).
struct ConvertedSpecs {
  std::map<std::string, nlohmann::json> claims, volumes, templates;
  std::vector<std::pair<std::string, std::string>> storage_class_mapping;
  static std::string TemplateKey(std::string_view ns, std::string_view statefulset,
                                 std::string_view name);
};

struct TransformContext {
  const RestoreOptions* options = nullptr;    // required
  std::set<std::string> restored_pvs;         // names of the PersistentVolumes this run creates
  bool is_custom_resource = false;            // the resource is defined by a CRD
  NodePortOwners target_node_ports;           // nodePorts the target holds (target.h)
  const ConvertedSpecs* converted = nullptr;  // restore-run --conversion; null: none
  // Claims made from a CSI snapshot (ops/restore/snapshots.h): the claim as backed up
  // ("ns/pvc") → its spec.dataSource (also set as dataSourceRef). Null: none.
  const std::map<std::string, nlohmann::json>* claim_sources = nullptr;
};

// What Transform noted for the caller to report once the object is written.
struct TransformNotes {
  std::vector<std::string> warnings;
  std::vector<ReassignedNodePort> node_ports;  // explicit nodePorts the target holds
};

// The object to create for entry `e`. InvalidArgument when `obj` is not a JSON object with an
// object `metadata` (the message names the entry); InvalidArgument when ctx.options is null.
// `notes` (optional) receives what the caller reports (NoteWarnings).
base::Result<nlohmann::json> Transform(const EntryRef& e, nlohmann::json obj,
                                       const TransformContext& ctx,
                                       TransformNotes* notes = nullptr);

// The warnings of `notes` once the object is written: the notes' warnings and one per
// reassigned nodePort naming the port the target assigned (`written`: the API's answer).
std::vector<std::string> NoteWarnings(const TransformNotes& notes, const nlohmann::json& written);

// The target namespace of a backup namespace: its namespace_mapping entry, else itself.
std::string MapNamespace(std::string_view ns, const RestoreOptions& o);

// The image after image_registry_mapping, or nullopt when no prefix applies. The longest
// matching prefix wins (the first listed among equals). A prefix is matched against the image
// as written and, when none matches, against its fully qualified Docker Hub form, so that
// "docker.io/library/" applies to "nginx:1.25" ("docker.io/library/nginx:1.25") and
// "docker.io/" to "bitnami/redis" (a first path component with '.' or ':', or "localhost",
// is a registry host and makes the reference already qualified).
std::optional<std::string> MapImage(std::string_view image, const RestoreOptions& o);

// For existing_resource_policy=none: whether a live object differs from the desired one
// (Transform's output) in what the restore would set. Compared: every member of `desired`
// except metadata and status, recursively, as a subset of `live` (members the server added or
// defaulted are ignored; a desired null, {} or [] matches an absent member; arrays must have
// the same length and match element by element), plus metadata.labels and
// metadata.annotations as subsets, ignoring the cairn.io/backup-name and cairn.io/restore-name
// labels and the annotations controllers maintain (kControllerAnnotations).
bool DiffersFromLive(const nlohmann::json& desired, const nlohmann::json& live);

// Annotations controllers rewrite on live objects; never a reason to call an object different.
inline constexpr std::string_view kControllerAnnotations[] = {
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "endpoints.kubernetes.io/last-change-trigger-time",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "pv.kubernetes.io/provisioned-by",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
};

}  // namespace cairn::ops::restore

// ops/restore/plan: what a restore restores, in which API version and in which order, as pure
// functions over archive entry paths, objects and the restore policy. No network, no clock, no
// state: restore-run calls these while it reads the verified archive (issue 5, "Plan").
//
// The rules:
//   - Versions (ChooseVersion): the target cluster's preferred version if the backup holds it,
//     else the backup's preferred version if the target serves it, else the highest version
//     both share; none in common is the caller's warning ("no API version in common; deploy
//     it manually").
//   - Order (TierOf): CRDs, Namespaces, StorageClasses, VolumeSnapshotClasses, PVs, PVCs,
//     ClusterRoles, Roles, ServiceAccounts, ClusterRoleBindings, RoleBindings, Secrets,
//     ConfigMaps, LimitRanges, PriorityClasses, then workloads and Services (one tier), then
//     everything else alphabetically; `priorities` go first, in their order.
//   - Selection (Decide): namespace globs (over the backup's namespaces, before mapping; also
//     applied to Namespace objects by name and to PVs by their claim's namespace), resource
//     filters (exclude wins), the label selector (namespaced objects only: cluster-scoped
//     objects in a backup are there because they were selected or needed, as in the backup's
//     include_cluster_resources=auto), then the objects the target recreates by itself.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/policy.h"
#include "kube/discovery.h"

namespace cairn::ops::restore {

// One archive entry: an object of one resource in one stored version.
struct EntryRef {
  std::string group;  // "" for the core group ("core" in the path)
  std::string resource;
  std::string version;
  std::string namespace_name;  // "" for cluster-scoped objects
  std::string name;
};

// "resources/<group|core>/<resource>/<version>/namespaces/<ns>/<name>.json" or
// "resources/<group|core>/<resource>/<version>/cluster/<name>.json" (runner/vault/FORMAT.md
// §5.1); nullopt for anything else (metadata/backup.json, empty segments, garbage).
std::optional<EntryRef> ParseEntryPath(std::string_view path);

// The inverse of ParseEntryPath: the archive entry path of `e` (for messages and results).
std::string EntryPath(const EntryRef& e);

// The restore policy, already validated (config/restore_policy.h).
struct RestoreOptions {
  // Globs (fnmatch); empty include = all; namespaces of the BACKUP (before mapping).
  std::vector<std::string> include_namespaces, exclude_namespaces;
  // "resource", "resource.group", "Kind", "Kind.group" (Kind case-insensitive) or "*".
  std::vector<std::string> include_resources, exclude_resources;
  // Kubernetes selector syntax (=, ==, !=, in, notin, exists, !exists); "" = everything.
  std::string label_selector;
  std::vector<std::pair<std::string, std::string>> namespace_mapping;      // old -> new
  std::vector<std::pair<std::string, std::string>> storage_class_mapping;  // old -> new
  // "ReadWriteMany" -> "ReadWriteOnce".
  std::vector<std::pair<std::string, std::string>> convert_to_access_modes;
  // Prefix rewrite "docker.io/library/" -> "mirror.example.com/lib/" (transform.h).
  std::vector<std::pair<std::string, std::string>> image_registry_mapping;
  std::string existing_resource_policy = "none";  // none | update
  bool preserve_node_ports = false;
  bool restore_status = false;  // custom resources only
  // Restored first, in this order, before the default order ("resource" or "resource.group").
  std::vector<std::string> priorities;
  std::string backup_name, restore_name;  // for the labels cairn.io/backup-name, -restore-name
};

// Labels every restored object gets (values: RestoreOptions backup_name and restore_name).
inline constexpr std::string_view kBackupNameLabel = "cairn.io/backup-name";
inline constexpr std::string_view kRestoreNameLabel = "cairn.io/restore-name";

// --- Versions ---------------------------------------------------------------------------------

// Kubernetes version priority: GA before beta before alpha, higher numbers first, versions
// that do not look like vN[alpha|beta]M last in lexical order. True when `a` sorts first.
using kube::VersionPrecedes;

// The version to restore a resource in. `stored_versions`: the versions the archive holds for
// the resource; `backup_preferred`: the source cluster's preferred version of its group
// (metadata/backup.json); `target_served`: the versions the target serves THIS resource in;
// `target_preferred`: the target's preferred version of the group. Either preferred version
// may be "". Returns, in this order: target_preferred when stored; backup_preferred when
// stored and served; the highest (VersionPrecedes) version both hold; nullopt when none.
std::optional<std::string> ChooseVersion(const std::vector<std::string>& stored_versions,
                                         const std::string& backup_preferred,
                                         const std::vector<std::string>& target_served,
                                         const std::string& target_preferred);

// --- Order ------------------------------------------------------------------------------------

// "resource" for the core group, "resource.group" otherwise.
std::string QualifiedResource(std::string_view group, std::string_view resource);

// The tier of the workloads-and-Services group in the default order, and of everything else.
inline constexpr int kWorkloadTier = 15;
inline constexpr int kOtherTier = 16;

// Sort key of a resource: ascending keys restore first; one tier is applied as a unit (in
// parallel inside), tiers one after another. Default tiers: 0 customresourcedefinitions, 1
// namespaces, 2 storageclasses, 3 volumesnapshotclasses, 4 persistentvolumes, 5
// persistentvolumeclaims, 6 clusterroles, 7 roles, 8 serviceaccounts, 9 clusterrolebindings, 10
// rolebindings, 11 secrets, 12 configmaps, 13 limitranges, 14 priorityclasses, kWorkloadTier
// (deployments, statefulsets, daemonsets, replicasets, jobs, cronjobs, replicationcontrollers,
// pods, services), kOtherTier; the second member is QualifiedResource, which orders the rest
// alphabetically. A non-empty `priorities` list puts the resources it names first, item i in
// tier i; every other tier shifts by priorities.size(). An item is matched as by
// ResourceMatches ("resource" in any group, "resource.group"; "*" matches nothing here); the
// first item that matches wins.
std::pair<int, std::string> TierOf(std::string_view group, std::string_view resource,
                                   const std::vector<std::string>& priorities);
// The same, also matching items that name the resource's Kind ("Secret", "Deployment.apps"),
// which the restore policy allows in `priorities` as in include_resources.
std::pair<int, std::string> TierOf(std::string_view group, std::string_view resource,
                                   std::string_view kind,
                                   const std::vector<std::string>& priorities);

// --- Selection --------------------------------------------------------------------------------

// Whether a resource answers to an include_resources/exclude_resources item: "*", "resource",
// "resource.group", "Kind" or "Kind.group" (Kind case-insensitive). `kind` may be "".
using config::ResourceMatches;

// The key of a kind in Decide's `restored_kinds`: "apps/Deployment", and for the core group
// the bare Kind ("Service"). Decide also accepts "/Service" and "core/Service" for core kinds.
std::string KindKey(std::string_view group, std::string_view kind);

// "apps/v1" -> "apps", "v1" -> "" (the group of an apiVersion).
std::string GroupOfApiVersion(std::string_view api_version);

struct Decision {
  bool restore = true;
  std::string reason;  // why not; lowercase, for the plan and the warnings; "" when restored
};

// Whether an object of the backup is restored, and why not. In this order:
//   1. namespace filters: namespaced objects by their namespace, Namespace objects by name,
//      PersistentVolumes by spec.claimRef.namespace when they have a claim;
//   2. resource filters (exclude wins), matched against the entry and the object's `kind`;
//   3. label_selector, on namespaced objects only (an invalid selector restores nothing:
//      options are validated before, so this cannot happen from config/);
//   4. objects left for their controller: a controller ownerReference (controller: true) to a
//      kind in `restored_kinds` (KindKey) that recreates it: Deployment -> ReplicaSet;
//      ReplicaSet, Job, StatefulSet, DaemonSet, ReplicationController -> Pod; CronJob -> Job;
//      StatefulSet, DaemonSet -> ControllerRevision; Service -> Endpoints, EndpointSlice.
//      EndpointSlices managed by the endpointslice controllers and Endpoints maintained by the
//      endpoints controller (annotation endpoints.kubernetes.io/last-change-trigger-time) are
//      also left to them when Services are restored;
//   5. Secrets of type kubernetes.io/service-account-token (the token belongs to the source
//      cluster's signing key);
//   6. PersistentVolumes with persistentVolumeReclaimPolicy Delete: this version restores no
//      volume data, so their claims provision new volumes.
Decision Decide(const EntryRef& e, const nlohmann::json& obj, const RestoreOptions& o,
                const std::set<std::string>& restored_kinds);

}  // namespace cairn::ops::restore

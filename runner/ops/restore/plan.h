// ops/restore/plan: what a restore restores, in which API version and in which order, as pure
// functions over archive entry paths, objects and the restore policy. No network, no clock, no
// state: restore-run calls these while it reads the verified archive.
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

#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/policy.h"
#include "content/entry_ref.h"
#include "kube/discovery.h"

namespace cairn::ops::restore {

// Archive entries (content/entry_ref.h), by the names the restore has always used.
using content::EntryPath;
using content::EntryRef;
using content::ParseEntryPath;

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
  // "ns/pvc" (as backed up) of the claims whose volume data the backup holds.
  std::set<std::string> claims_with_data;
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
using content::QualifiedResource;

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

// Why an object is not restored: asked for (the filters: a record in results.json.zst, no
// warning), or decided by the restore (its controller recreates it, or it cannot be restored
// as it is: a warning each, so that every skip is visible in the status).
enum class SkipKind { kNone, kFiltered, kController, kNotRestorable };

struct Decision {
  bool restore = true;
  std::string reason;  // why not; lowercase, for the plan and the warnings; "" when restored
  SkipKind kind = SkipKind::kNone;
};

// Whether an object of the backup is restored, and why not. In this order:
//   1. namespace filters: namespaced objects by their namespace, Namespace objects by name,
//      PersistentVolumes by spec.claimRef.namespace when they have a claim;
//   2. resource filters (exclude wins), matched against the entry and the object's `kind`;
//   3. label_selector, on namespaced objects only (an invalid selector restores nothing:
//      options are validated before, so this cannot happen from config/);
//   4. objects left for their controller: a controller ownerReference (controller: true) to a
//      kind in `restored_kinds` (KindKey) that recreates it: Deployment -> ReplicaSet;
//      ReplicaSet, Job, StatefulSet, DaemonSet, ReplicationController -> Pod;
//      StatefulSet, DaemonSet -> ControllerRevision; Service -> Endpoints, EndpointSlice.
//      EndpointSlices managed by the endpointslice controllers and Endpoints maintained by the
//      endpoints controller (annotation endpoints.kubernetes.io/last-change-trigger-time) are
//      also left to them when Services are restored. `restored_kinds` holds the kinds that
//      will exist after this restore: the kinds this restore writes and, recursively, the
//      kinds their controllers recreate (WillExist; run.cc decides owner kinds first,
//      OwnerRank). A Job created by a restored CronJob is not restored either: the CronJob
//      creates the next Jobs on its schedule, and a restored Job would run once more at once
//      (a Job's completion is status, which a create cannot carry);
//   5. Secrets of type kubernetes.io/service-account-token (the token belongs to the source
//      cluster's signing key);
//   6. PersistentVolumes with persistentVolumeReclaimPolicy Delete: this version restores no
//      volume data, so their claims come back bound to new, empty volumes.
// 1-3 are kFiltered, 4 kController, 5-6 kNotRestorable.
Decision Decide(const EntryRef& e, const nlohmann::json& obj, const RestoreOptions& o,
                const std::set<std::string>& restored_kinds);

// Whether objects of the object's kind will exist after the restore because of this object:
// it is restored (`d.restore`), or a controller of a kind in `restored_kinds` recreates it
// (step 4 of Decide, whatever the filters say: --exclude-resources replicasets still leaves
// the Deployments' ReplicaSets to exist, and their Pods to them).
bool WillExist(const EntryRef& e, const nlohmann::json& obj, const Decision& d,
               const std::set<std::string>& restored_kinds);

// The order in which Decide must see resources so that `restored_kinds` is complete for every
// owner kind before its dependents are decided: 0 for kinds no rule recreates, 1 for
// ReplicaSets, Jobs, ControllerRevisions, Endpoints and EndpointSlices, 2 for Pods.
int OwnerRank(std::string_view group, std::string_view kind);

// --- Owners -----------------------------------------------------------------------------------

// What the restore knows of an owner (by the owner's uid in the backup) when its dependent is
// written.
struct OwnerState {
  enum class Kind { kNotRestored, kPending, kWritten, kFailed } kind = Kind::kNotRestored;
  std::string uid;  // kWritten: the owner's uid in the target cluster
};

// The ownerReferences of a dependent (`refs`, as backed up) for the target: a reference to an
// owner written by this restore points to the owner's new uid; any other reference is dropped
// and described in `dropped` ("ownerReference to Deployment 'web' dropped: ...") for a
// warning. Malformed members are dropped silently. `owner` answers by backed-up uid.
nlohmann::json RepointOwnerReferences(
    const nlohmann::json& refs, const std::function<OwnerState(const std::string& uid)>& owner,
    std::vector<std::string>* dropped);

// The backed-up uids the ownerReferences of `obj` name ("" and malformed members left out).
std::vector<std::string> OwnerUids(const nlohmann::json& obj);
// The owners' kinds (KindKey) the ownerReferences of `obj` name, malformed members left out.
std::vector<std::string> OwnerKinds(const nlohmann::json& obj);

// Members of an object read as strings: "" when absent or of another type (archive data is
// never trusted, and never thrown on).
// The member `key` of object `j`, or the value at `keys` one member after another; nullptr when
// a step is missing or not an object. Objects from the archive are read through these.
const nlohmann::json* JsonMember(const nlohmann::json& j, std::string_view key);
const nlohmann::json* JsonAt(const nlohmann::json& j, std::initializer_list<std::string_view> keys);
std::string ObjectUid(const nlohmann::json& obj);        // metadata.uid
std::string ObjectNamespace(const nlohmann::json& obj);  // metadata.namespace
std::string ObjectName(const nlohmann::json& obj);       // metadata.name

// --- Quotas -----------------------------------------------------------------------------------

// The resources (QualifiedResource) whose creates a ResourceQuota with these spec.hard keys
// counts: count/<resource>[.<group>], the core object counts (pods, services, configmaps,
// secrets, persistentvolumeclaims, replicationcontrollers, resourcequotas), services.* ->
// services, requests.storage and <class>.storageclass.storage.k8s.io/* -> persistentvolumeclaims,
// and every compute or extended resource (cpu, memory, requests.*, limits.*, hugepages-*) ->
// pods. A create the quota counts is admitted (and counted) before the API server finds that
// the object exists, so the restore looks before it creates such objects.
std::set<std::string> QuotaCountedResources(const nlohmann::json& hard);

}  // namespace cairn::ops::restore

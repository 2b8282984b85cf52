// snapshot/names: the API resources and the names and labels cairn gives snapshot objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "kube/client.h"
#include "kube/paths.h"

namespace cairn::snapshot {

inline constexpr std::string_view kGroup = "snapshot.storage.k8s.io";
inline constexpr std::string_view kBackupLabel = "cairn.io/backup-name";
// On the VolumeSnapshot and VolumeSnapshotContent a restore creates to reach a backup's
// snapshot from another namespace (a second handle on the same storage snapshot).
inline constexpr std::string_view kRestoreLabel = "cairn.io/restore-name";

const kube::ResourceRef& VolumeSnapshots();
const kube::ResourceRef& VolumeSnapshotContents();
const kube::ResourceRef& VolumeSnapshotClasses();
const kube::ResourceRef& PersistentVolumeClaims();

// "<prefix>-<a>-<b>" when it fits `max` characters, else cut and ended with "-" and 10 hex
// digits of a hash of the whole, so distinct inputs stay distinct. Deterministic.
std::string JoinName(std::string_view prefix, std::string_view a, std::string_view b,
                     size_t max = 253);

// The VolumeSnapshot a backup takes of a PVC: "cairn-<backup>-<pvc>".
std::string SnapshotName(std::string_view backup, std::string_view pvc);

// The identity of a cluster: the uid of its kube-system Namespace (stable for the cluster's
// life, different in every cluster, readable with get on namespaces/kube-system).
[[nodiscard]] base::Result<std::string> ClusterIdentity(kube::Client& kube);

// The string at `path` of object `j` ("" when absent or not a string); `path` is '.'-separated.
std::string StringAt(const nlohmann::json& j, std::string_view path);
// metadata.labels[key] / metadata.annotations[key] of an object ("" when absent): keys hold dots.
std::string MetaMapValue(const nlohmann::json& obj, std::string_view map, std::string_view key);

}  // namespace cairn::snapshot

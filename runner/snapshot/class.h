// snapshot/class: which VolumeSnapshotClass takes a PVC's snapshot.
//
// The class named in the policy when there is one (it must exist and be for the PVC's CSI
// driver), else the one default class of that driver: annotation
// snapshot.storage.kubernetes.io/is-default-class "true", as the snapshot controller chooses
// when a VolumeSnapshot names no class. The PVC's driver is its bound PV's spec.csi.driver, or,
// before it is bound, its StorageClass's provisioner. No class is kFailedPrecondition with a
// reason naming the PVC and the driver, never a guess.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kube/client.h"

namespace cairn::snapshot {

inline constexpr std::string_view kDefaultClassAnnotation =
    "snapshot.storage.kubernetes.io/is-default-class";

struct SnapshotClass {
  std::string name;
  std::string driver;
  std::string deletion_policy;  // Delete | Retain
  bool is_default = false;
};

// A VolumeSnapshotClass object as the API returns it.
SnapshotClass ParseClass(const nlohmann::json& obj);

// Pure: the class for a PVC (`pvc` "ns/name", for messages) of CSI driver `driver`; `wanted`
// is the class the policy names ("" = the driver's default).
[[nodiscard]] base::Result<SnapshotClass> ChooseClass(const std::vector<SnapshotClass>& classes,
                                                      std::string_view driver,
                                                      std::string_view wanted,
                                                      std::string_view pvc);

// The CSI driver of `pvc` (a PersistentVolumeClaim object): its PV's spec.csi.driver when bound,
// else its StorageClass's provisioner. kFailedPrecondition when the volume is not a CSI volume
// or the PVC has neither.
[[nodiscard]] base::Result<std::string> PvcDriver(kube::Client& kube, const nlohmann::json& pvc);

// Every VolumeSnapshotClass of the cluster.
[[nodiscard]] base::Result<std::vector<SnapshotClass>> ListClasses(kube::Client& kube);

// PvcDriver, ListClasses, ChooseClass.
[[nodiscard]] base::Result<SnapshotClass> ResolveClass(kube::Client& kube,
                                                       const nlohmann::json& pvc,
                                                       std::string_view wanted);

}  // namespace cairn::snapshot

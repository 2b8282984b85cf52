#include "snapshot/class.h"

#include "snapshot/names.h"

namespace cairn::snapshot {
namespace {

using base::Code;
using base::Status;

const kube::ResourceRef kPersistentVolumes{"", "v1", "persistentvolumes", false};
const kube::ResourceRef kStorageClasses{"storage.k8s.io", "v1", "storageclasses", false};

std::string Names(const std::vector<const SnapshotClass*>& cs) {
  std::string out;
  for (const SnapshotClass* c : cs) out += (out.empty() ? "" : ", ") + c->name;
  return out;
}

}  // namespace

SnapshotClass ParseClass(const nlohmann::json& obj) {
  SnapshotClass c;
  c.name = StringAt(obj, "metadata.name");
  c.driver = StringAt(obj, "driver");
  c.deletion_policy = StringAt(obj, "deletionPolicy");
  c.is_default = MetaMapValue(obj, "annotations", kDefaultClassAnnotation) == "true";
  return c;
}

base::Result<SnapshotClass> ChooseClass(const std::vector<SnapshotClass>& classes,
                                        std::string_view driver, std::string_view wanted,
                                        std::string_view pvc) {
  if (!wanted.empty()) {
    for (const SnapshotClass& c : classes) {
      if (c.name != wanted) continue;
      if (c.driver != driver) {
        return Status(Code::kFailedPrecondition,
                      "volume snapshot class '" + c.name + "' is for CSI driver '" + c.driver +
                          "', not '" + std::string(driver) + "', the driver of PVC '" +
                          std::string(pvc) + "'");
      }
      return c;
    }
    return Status(Code::kFailedPrecondition, "volume snapshot class '" + std::string(wanted) +
                                                 "' (for PVC '" + std::string(pvc) +
                                                 "') does not exist in the cluster");
  }
  std::vector<const SnapshotClass*> defaults;
  for (const SnapshotClass& c : classes) {
    if (c.is_default && c.driver == driver) defaults.push_back(&c);
  }
  if (defaults.size() == 1) return *defaults[0];
  if (defaults.empty()) {
    return Status(Code::kFailedPrecondition,
                  "no default VolumeSnapshotClass for CSI driver '" + std::string(driver) +
                      "' of PVC '" + std::string(pvc) + "'\nHINT: annotate one with " +
                      std::string(kDefaultClassAnnotation) +
                      "=true or name one in the policy (volume_snapshot_class)");
  }
  return Status(Code::kFailedPrecondition,
                std::to_string(defaults.size()) +
                    " default VolumeSnapshotClasses for CSI driver '" + std::string(driver) +
                    "' of PVC '" + std::string(pvc) + "' (" + Names(defaults) +
                    "); the snapshot controller refuses to choose: name one in "
                    "the policy");
}

base::Result<std::string> PvcDriver(kube::Client& kube, const nlohmann::json& pvc) {
  const std::string ns = StringAt(pvc, "metadata.namespace");
  const std::string what = "PVC '" + ns + "/" + StringAt(pvc, "metadata.name") + "'";
  const std::string volume = StringAt(pvc, "spec.volumeName");
  if (!volume.empty()) {
    auto pv = kube.Get(kPersistentVolumes, "", volume);
    if (!pv.ok()) return pv.status().Wrap("unable to find the CSI driver of " + what);
    std::string driver = StringAt(*pv, "spec.csi.driver");
    if (driver.empty()) {
      return Status(Code::kFailedPrecondition, what + " is not a CSI volume (persistent volume '" +
                                                   volume +
                                                   "' has no spec.csi): it cannot be "
                                                   "snapshotted");
    }
    return driver;
  }
  const std::string sc = StringAt(pvc, "spec.storageClassName");
  if (sc.empty()) {
    return Status(Code::kFailedPrecondition,
                  what + " is neither bound nor has a storage class: no CSI driver to snapshot it");
  }
  auto cls = kube.Get(kStorageClasses, "", sc);
  if (!cls.ok()) return cls.status().Wrap("unable to find the CSI driver of " + what);
  return StringAt(*cls, "provisioner");
}

base::Result<std::vector<SnapshotClass>> ListClasses(kube::Client& kube) {
  std::vector<SnapshotClass> out;
  Status listed = kube.ListItems(VolumeSnapshotClasses(), {}, [&](const nlohmann::json& item) {
    out.push_back(ParseClass(item));
    return true;
  });
  if (!listed.ok()) return listed.Wrap("unable to list volume snapshot classes");
  return out;
}

base::Result<SnapshotClass> ResolveClass(kube::Client& kube, const nlohmann::json& pvc,
                                         std::string_view wanted) {
  ASSIGN_OR_RETURN(std::string driver, PvcDriver(kube, pvc));
  ASSIGN_OR_RETURN(std::vector<SnapshotClass> classes, ListClasses(kube));
  return ChooseClass(classes, driver, wanted,
                     StringAt(pvc, "metadata.namespace") + "/" + StringAt(pvc, "metadata.name"));
}

}  // namespace cairn::snapshot

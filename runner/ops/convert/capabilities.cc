#include "ops/convert/capabilities.h"

namespace cairn::ops::convert {
namespace {

constexpr uint64_t kGi = uint64_t{1} << 30;

// zonal, multi_node, block_multi_attach, min_size
Capabilities Caps(bool zonal, bool multi_node, bool block_multi_attach, uint64_t min_size) {
  return {zonal, multi_node, block_multi_attach, min_size, "built-in"};
}

}  // namespace

const std::vector<BuiltinProvisioner>& BuiltinProvisioners() {
  // Zonal block disks attach to one node (some to several, as raw block devices only); file
  // systems and object stores mount anywhere; node-local volumes are pinned harder than zonal.
  static const auto* table = new std::vector<BuiltinProvisioner>{
      {"ebs.csi.aws.com", Caps(true, false, true, 1 * kGi)},  // io1/io2 Multi-Attach: block
      {"kubernetes.io/aws-ebs", Caps(true, false, false, 1 * kGi)},
      {"efs.csi.aws.com", Caps(false, true, false, 0)},
      {"pd.csi.storage.gke.io", Caps(true, false, false, 10 * kGi)},
      {"kubernetes.io/gce-pd", Caps(true, false, false, 10 * kGi)},
      {"filestore.csi.storage.gke.io", Caps(false, true, false, 1024 * kGi)},
      {"disk.csi.azure.com", Caps(true, false, true, 1 * kGi)},  // shared disks: block only
      {"kubernetes.io/azure-disk", Caps(true, false, false, 1 * kGi)},
      {"file.csi.azure.com", Caps(false, true, false, 0)},
      {"kubernetes.io/azure-file", Caps(false, true, false, 0)},
      {"diskplugin.csi.alibabacloud.com", Caps(true, false, false, 20 * kGi)},
      {"nasplugin.csi.alibabacloud.com", Caps(false, true, false, 0)},
      {"ossplugin.csi.alibabacloud.com", Caps(false, true, false, 0)},
      {"rbd.csi.ceph.com", Caps(false, false, true, 0)},  // RWX only as raw block
      {"cephfs.csi.ceph.com", Caps(false, true, false, 0)},
      {"nfs.csi.k8s.io", Caps(false, true, false, 0)},
      {"rancher.io/local-path", Caps(true, false, false, 0)},
      {"hostpath.csi.k8s.io", Caps(true, false, false, 0)},
  };
  return *table;
}

CapabilityTable::CapabilityTable(std::map<std::string, config::ProvisionerConfig> overrides)
    : overrides_(std::move(overrides)) {}

bool CapabilityTable::Known(std::string_view provisioner) const {
  if (overrides_.count(std::string(provisioner))) return true;
  for (const auto& b : BuiltinProvisioners()) {
    if (b.name == provisioner) return true;
  }
  return false;
}

Capabilities CapabilityTable::Lookup(std::string_view provisioner) const {
  Capabilities c;
  c.source = "unknown";
  for (const auto& b : BuiltinProvisioners()) {
    if (b.name == provisioner) c = b.caps;
  }
  auto it = overrides_.find(std::string(provisioner));
  if (it == overrides_.end()) return c;
  const config::ProvisionerConfig& o = it->second;
  if (o.zonal) c.zonal = *o.zonal;
  if (o.multi_node) c.multi_node = *o.multi_node;
  if (o.block_multi_attach) c.block_multi_attach = *o.block_multi_attach;
  if (o.min_size) c.min_size = *o.min_size;
  c.source = "config" + (o.origin.empty() ? std::string() : " " + o.origin);
  return c;
}

}  // namespace cairn::ops::convert

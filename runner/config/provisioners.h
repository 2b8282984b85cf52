// config/provisioners: [provisioners."NAME"], what a StorageClass provisioner can do, overriding
// convert-run's built-in table (runner/ops/convert/README.md) for one provisioner.
//
//   [provisioners."ebs.csi.aws.com"]
//   zonal = true              # its volumes live in one zone
//   multi_node = false        # a volume attaches to one node at a time
//   block_multi_attach = true # ... except raw block volumes (volumeMode: Block)
//   min_size = "20Gi"         # smallest volume it makes (a Kubernetes quantity)
//
// Keys left out keep the built-in value (or, for a provisioner the table does not know, the
// capable default). NAME is a provisioner name as StorageClasses write it: 1 to 253 characters
// of [A-Za-z0-9._/-].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cairn::config {

struct ProvisionerConfig {
  std::string name;
  std::optional<bool> zonal;
  std::optional<bool> multi_node;
  std::optional<bool> block_multi_attach;
  std::optional<uint64_t> min_size;  // bytes
  std::string origin;                // "FILE:LINE" of the table
};

// Ok for a provisioner name as described above.
[[nodiscard]] base::Status ValidateProvisionerName(std::string_view name);

}  // namespace cairn::config

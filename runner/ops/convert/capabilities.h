// ops/convert/capabilities: what a StorageClass provisioner can do, from a built-in table of
// well-known CSI drivers (and their in-tree predecessors), overridden per provisioner by the
// config's [provisioners."NAME"] (config/provisioners.h). README.md lists the table.
//
// An unknown provisioner is treated as capable (not zonal, multi-node, no minimum size) so a
// conversion is never refused on a guess; the caller warns about it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/provisioners.h"

namespace cairn::ops::convert {

struct Capabilities {
  bool zonal = false;               // a volume lives in one zone (or one node)
  bool multi_node = true;           // a volume attaches to several nodes (RWX/ROX file systems)
  bool block_multi_attach = false;  // ... only as a raw block volume (volumeMode: Block)
  uint64_t min_size = 0;            // bytes; 0: no minimum
  // Where these came from: "built-in", "config FILE:LINE" (over the built-in values, if any),
  // or "unknown" (the capable default).
  std::string source;
};

struct BuiltinProvisioner {
  std::string_view name;
  Capabilities caps;
};

// The built-in table, in the order README.md lists it.
const std::vector<BuiltinProvisioner>& BuiltinProvisioners();

class CapabilityTable {
 public:
  // `overrides`: the config's [provisioners."NAME"] tables, by name.
  explicit CapabilityTable(std::map<std::string, config::ProvisionerConfig> overrides = {});
  // The capabilities of `provisioner`: built-in values, then the config's keys over them.
  Capabilities Lookup(std::string_view provisioner) const;
  // Whether the table or the config says anything about `provisioner`.
  bool Known(std::string_view provisioner) const;

 private:
  std::map<std::string, config::ProvisionerConfig> overrides_;
};

}  // namespace cairn::ops::convert

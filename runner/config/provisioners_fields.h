// Internal to runner/config: the binding of [provisioners."NAME"] (config/provisioners.h),
// used by config.cc's root field list.
#pragma once

#include <vector>

#include "config/provisioners.h"
#include "config/toml_binder.h"

namespace cairn::config::internal {

const std::vector<Field<ProvisionerConfig>>& ProvisionerFields();
void FinishProvisioner(const NamedEntry& entry, ProvisionerConfig& p, Binder& b);

}  // namespace cairn::config::internal

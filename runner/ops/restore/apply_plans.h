// ops/restore/apply_plans: the apply phase of a restore run over the planned resources: the
// objects each plan chose, handed to the ApplyPool tier by tier, objects that wait for an owner
// written by this restore deferred to rounds after the tiers, and the hooks around the claims'
// tier (snapshot sources before it, volume data after it).
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "base/status.h"
#include "ops/restore/apply.h"
#include "ops/restore/spool.h"

namespace cairn::ops::restore {

// Calls `fn` for each object of the plan's resource the restore considers, in spool order:
// those stored in the chosen version, and those stored only in other versions (an object
// created while the backup listed its versions), in the highest of those (VersionPrecedes).
// Only resources stored in several versions cost memory per object here.
base::Status ForEachChosen(const Spool& spool, const ResourcePlan& plan,
                           const std::function<void(SpooledObject&)>& fn);

// Applies the restored objects of `plans`, tier by tier (the pool drains between tiers), and
// frees each resource's spooled objects once they are handed over. Objects whose owner is
// written by this restore in the same or a later tier wait until it is, in rounds after the
// tiers. `after_claims` runs once the tier that holds PersistentVolumeClaims is applied (the
// volume data goes in before the workloads that use it); `before_claims` just before that tier
// (the claims' namespaces exist then). Returns with the pool drained, also on
// error.
base::Status ApplyPlans(Spool& spool, std::vector<ResourcePlan>& plans, ApplyPool& pool,
                        const OwnerTable& owners, const std::atomic<bool>& cancel,
                        const std::function<void()>& after_claims = {},
                        const std::function<void()>& before_claims = {});

}  // namespace cairn::ops::restore

// ops/gc/snapshots: a deleted backup's CSI snapshots (manifest member "snapshots", FORMAT.md
// §6.7) go with it, before its manifest, which is the only list of them.
//
// In the cluster that took them (the identity the records carry equals the cluster gc runs in)
// they are deleted (snapshot/cleanup.h: deletionPolicy Delete, then the VolumeSnapshot and the
// content). Otherwise, or when gc runs outside a cluster, or the cluster refuses (RBAC), a
// warning names every content left behind and how to delete it; the backup still goes, so a
// missing permission never pins a vault's data forever. A transient failure (the API server
// unavailable, a deadline) stops this backup's deletion instead: the next gc run retries it.
#pragma once

#include "base/status.h"
#include "ops/gc/execute.h"
#include "ops/gc/plan.h"

namespace cairn::ops::gc {

[[nodiscard]] base::Status ReleaseSnapshots(ExecContext& ctx, const BackupDecision& d);

}  // namespace cairn::ops::gc

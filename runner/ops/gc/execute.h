// ops/gc/execute: the changes a plan asks for, one backup, run or upload at a time, each
// idempotent (a repeated step finds its work done) and each stopping at its first failure so
// that nothing is deleted out of order (status Deleting → manifest → data → status).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "ops/gc/cluster.h"
#include "ops/gc/plan.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/status.h"

namespace cairn::ops::gc {

struct ExecContext {
  store::ObjectStore& store;
  const vault::Layout& layout;
  Cluster* cluster;  // may be null
  base::TimePoint now{};
  std::vector<std::string>* warnings = nullptr;  // what gc could not do in the cluster
};

// Deletes backup `d`: marks its status Deleting (with the reason), deletes the CSI snapshots its
// manifest lists (snapshots.h), then manifest.json, every other object and pending upload of its
// directory, then status.json.
[[nodiscard]] base::Status DeleteBackup(ExecContext& ctx, const BackupDecision& d);

// Abandoned backup (unless the run came back to life since the plan): its objects but
// status.json and its pending uploads go, then the status says Failed with the heartbeat reason
// (in that order, so a gc stopped in between leaves a run the next gc abandons again).
// `warnings` receives what could not be told to the cluster.
[[nodiscard]] base::Status AbandonBackup(ExecContext& ctx, const BackupDecision& d,
                                         const vault::RunStatus& gc,
                                         std::vector<std::string>* warnings);

// A kept failed run: its objects but status.json go.
[[nodiscard]] base::Status PurgePartial(ExecContext& ctx, const BackupDecision& d);

// Abandoned restore: status Failed with the heartbeat reason.
[[nodiscard]] base::Status AbandonRestore(ExecContext& ctx, const RunDecision& r,
                                          const vault::RunStatus& gc,
                                          std::vector<std::string>* warnings);

}  // namespace cairn::ops::gc

#include "ops/backup/snapshots.h"

#include "base/log.h"
#include "snapshot/class.h"
#include "snapshot/cleanup.h"
#include "snapshot/names.h"
#include "snapshot/take.h"

namespace cairn::ops::backup {
namespace {

using base::Result;

std::string ClaimObject(const std::string& ns, const std::string& pvc) {
  return "persistentvolumeclaims " + ns + "/" + pvc;
}

}  // namespace

bool SnapshotsEveryClaim(const std::string& mode) { return mode == "snapshot" || mode == "all"; }
bool ExportsSnapshots(const std::string& mode) { return mode == "all"; }

Result<std::string> SnapshotPhase::Cluster() {
  if (!cluster_) {
    ASSIGN_OR_RETURN(std::string id, snapshot::ClusterIdentity(deps_.kube));
    cluster_ = id;
  }
  return *cluster_;
}

bool SnapshotPhase::HasClass(const nlohmann::json& claim) {
  return snapshot::ResolveClass(deps_.kube, claim, opts_.policy.volume_snapshot_class).ok();
}

Result<vault::SnapshotRecord> SnapshotPhase::Take(const nlohmann::json& claim) {
  const std::string ns = snapshot::StringAt(claim, "metadata.namespace");
  const std::string pvc = snapshot::StringAt(claim, "metadata.name");
  snapshot::TakeOptions to;
  to.backup = opts_.name;
  to.namespace_name = ns;
  to.pvc = pvc;
  to.snapshot_class = opts_.policy.volume_snapshot_class;
  to.timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(opts_.policy.movers.volume_timeout);
  Result<vault::SnapshotRecord> rec = [&]() -> Result<vault::SnapshotRecord> {
    ASSIGN_OR_RETURN(to.cluster, Cluster());
    return snapshot::Take(deps_.kube, deps_.clock, to, &deps_.cancel, &deps_.Cleanup());
  }();
  if (!rec.ok()) {
    state_.AddError(
        vault::NamespaceScope(ns),
        "volume snapshot of " + ns + "/" + pvc + " not taken: " + rec.status().message(),
        ClaimObject(ns, pvc));
    return rec.status();
  }
  taken_->push_back(*rec);
  base::LogInfo("volume snapshot ready", {{"pvc", ns + "/" + pvc},
                                          {"snapshot", rec->volume_snapshot},
                                          {"content", rec->volume_snapshot_content}});
  return rec;
}

Result<std::string> SnapshotPhase::CreateTemporaryClaim(const nlohmann::json& claim,
                                                        const vault::SnapshotRecord& record) {
  snapshot::TempPvc t = snapshot::TempPvcFor(claim, record, opts_.name);
  temporary_.push_back(t);  // deleted afterwards even when the create half-happened
  auto made = snapshot::CreateTempPvc(deps_.kube, t);
  if (!made.ok()) {
    const std::string msg = "unable to export the snapshot of " + record.namespace_name + "/" +
                            record.pvc + ": " + made.status().message();
    state_.AddError(vault::NamespaceScope(record.namespace_name), msg,
                    ClaimObject(record.namespace_name, record.pvc));
    return base::Error(made.status().code(), msg);
  }
  return t.name;
}

void SnapshotPhase::DeleteTemporaryClaims() {
  for (const snapshot::TempPvc& t : temporary_) {
    if (base::Status st = snapshot::DeleteTempPvc(deps_.Cleanup(), t); !st.ok()) {
      state_.AddWarning(vault::NamespaceScope(t.namespace_name),
                        "temporary volume claim not deleted: " + st.message(),
                        ClaimObject(t.namespace_name, t.name));
    }
  }
  temporary_.clear();
}

void DropSnapshots(Deps& deps, const Options& opts, RunState& state,
                   const std::vector<vault::SnapshotRecord>& taken) {
  if (taken.empty()) return;
  std::vector<std::string> deleted;
  base::Status st = snapshot::DeleteBackupSnapshots(deps.Cleanup(), opts.name, taken, &deleted);
  base::LogInfo("volume snapshots of a failed backup deleted",
                {{"objects", std::to_string(deleted.size())}});
  if (!st.ok()) {
    state.AddError("",
                   "the failed backup's volume snapshots were not all deleted: " + st.message());
  }
}

}  // namespace cairn::ops::backup

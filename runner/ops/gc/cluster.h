// ops/gc/cluster: what gc does in the cluster, behind an interface so the operation is tested
// without one: its own events, the status ConfigMaps of the runs it marks Failed, and the
// delete-request ConfigMaps (label cairn.io/delete-request=true in cairn's namespace, data
// `backup` and optionally `vault`). Every failure here is reported by the caller as a warning.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kube/client.h"
#include "ops/gc/plan.h"
#include "report/cluster.h"
#include "vault/snapshot_record.h"
#include "vault/status.h"

namespace cairn::ops::gc {

inline constexpr std::string_view kDeleteRequestLabel = "cairn.io/delete-request";

class Cluster {
 public:
  virtual ~Cluster() = default;
  // An event of the gc run itself (on its Job, or its status ConfigMap).
  virtual base::Status Emit(const vault::RunStatus& gc, const report::Event& event) = 0;
  // `run` (kind "backup" or "restore") was marked Failed: its ConfigMap cairn-<kind>-<name>
  // gets the new status when it exists, and `event` goes on it (else on the gc run).
  virtual base::Status MarkFailed(std::string_view kind, const vault::RunStatus& run,
                                  const vault::RunStatus& gc, const report::Event& event) = 0;
  virtual base::Result<std::vector<DeleteRequest>> ListDeleteRequests() = 0;
  // `event` on the request's ConfigMap; then, when `remove`, the ConfigMap is deleted.
  virtual base::Status Answer(const DeleteRequest& request, const report::Event& event,
                              bool remove) = 0;
  // The cluster's identity (snapshot::ClusterIdentity: the kube-system namespace uid), to tell
  // whether a backup's CSI snapshots are in this cluster. The default knows none.
  virtual base::Result<std::string> Identity() {
    return base::Status(base::Code::kFailedPrecondition, "no cluster identity");
  }
  // Deletes a backup's CSI snapshots from this cluster (snapshot::DeleteBackupSnapshots);
  // `deleted` names what went.
  virtual base::Status DeleteSnapshots(std::string_view backup,
                                       const std::vector<vault::SnapshotRecord>& records,
                                       std::vector<std::string>* deleted) {
    (void)backup, (void)records, (void)deleted;
    return base::Status(base::Code::kFailedPrecondition, "no cluster to delete snapshots in");
  }
};

// The real one: `reporter` is the gc run's own ClusterReporter (its identity names cairn's
// namespace, where requests are looked for).
std::unique_ptr<Cluster> NewKubeCluster(kube::Client& client, report::ClusterReporter& reporter);

}  // namespace cairn::ops::gc

// report/reporter: the traces a run leaves behind, written so that a reporting failure never
// changes the run's outcome.
//
// Publish() writes the status object to the vault, the same document as the run's ConfigMap
// and an Event in the cluster when there is one (report/cluster.h), and, when the run failed,
// the one-line reason to the termination-message file (/dev/termination-log in a pod) so
// `kubectl describe pod` shows it. What cannot be written is returned as warnings for the
// run's status (no RBAC for events, API server down), never as the run's error. The store and
// cluster client it is given must be on the final path (wiring::RunControl::ReportPath): not
// stopped by the run's cancellation, bounded by the run's deadline and then by the final
// writes' grace, so a cancelled or timed-out run still records why it failed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/cluster.h"
#include "store/object_store.h"
#include "vault/status.h"

namespace cairn::report {

struct ReporterOptions {
  // Where the termination message goes; written only when the file exists (as in a pod).
  std::string termination_log = "/dev/termination-log";
};

class Reporter {
 public:
  // `store` may be null (the vault itself is unusable); `cluster` is null outside a cluster.
  Reporter(store::ObjectStore* store, std::string status_key, ClusterReporter* cluster,
           ReporterOptions opts = {})
      : store_(store),
        status_key_(std::move(status_key)),
        cluster_(cluster),
        opts_(std::move(opts)) {}

  // Writes `status` everywhere it belongs and emits `event` when given. `failure_line` (empty
  // for a successful run) goes to the termination log. Returns what could not be written.
  std::vector<std::string> Publish(const vault::RunStatus& status,
                                   const std::optional<Event>& event,
                                   const std::string& failure_line);

 private:
  store::ObjectStore* store_;
  std::string status_key_;
  ClusterReporter* cluster_;
  ReporterOptions opts_;
};

// Writes `line` (one line, truncated to 4 KiB, the kubelet's limit) to `path` when it exists.
void WriteTerminationMessage(const std::string& path, const std::string& line);

}  // namespace cairn::report

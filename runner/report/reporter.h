// report/reporter: the traces a run leaves behind, written so that a reporting failure never
// changes the run's outcome.
//
// Publish() writes the status object to the vault (a failure there is logged and returned as
// a warning text, never as the run's error) and, when the run failed, writes the one-line
// reason to the termination-message file (/dev/termination-log in a pod) so
// `kubectl describe pod` shows it. In-cluster reporting (ConfigMap, Events) and metrics join
// here as they are built.
#pragma once

#include <optional>
#include <string>

#include "store/object_store.h"
#include "vault/status.h"

namespace cairn::report {

struct ReporterOptions {
  // Where the termination message goes; written only when the file exists (as in a pod).
  std::string termination_log = "/dev/termination-log";
};

class Reporter {
 public:
  Reporter(store::ObjectStore* store, std::string status_key, ReporterOptions opts = {})
      : store_(store), status_key_(std::move(status_key)), opts_(std::move(opts)) {}

  // Writes `status` where it belongs. Returns the warnings about what could not be written
  // (empty when everything was written).
  std::vector<std::string> Publish(const vault::RunStatus& status, const std::string& failure_line);

 private:
  store::ObjectStore* store_;  // may be null: the vault itself is unusable
  std::string status_key_;
  ReporterOptions opts_;
};

// Writes `line` (one line, truncated to 4 KiB, the kubelet's limit) to `path` when it exists.
void WriteTerminationMessage(const std::string& path, const std::string& line);

}  // namespace cairn::report

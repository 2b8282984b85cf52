// mover/scheduler: runs the movers of a run with a bound per node, waits for each with the
// volume timeout, cleans every one up, and returns each volume's outcome.
//
// Movers pinned to a node count against that node; unpinned movers (not yet scheduled) count
// against the pseudo-node "*", so at most `per_node` unpinned movers are in flight at once
// as well (README "Concurrency"). A mover that does not finish within `volume_timeout` is
// deleted and Failed with its last Pending/Running reason; cancellation (SIGTERM) deletes
// every mover in flight and fails the ones not started. Whatever happens, Delete is called
// for every mover that was started.
#pragma once

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "mover/launcher.h"

namespace cairn::mover {

struct VolumeTask {
  std::string namespace_name, pvc;  // for messages and the outcome
  std::string node;                 // pinned node, "" = unpinned
  nlohmann::json job;               // BuildJob's output (possibly adjusted by the caller)
  SecretData secret;
};

struct VolumeOutcome {
  std::string namespace_name, pvc;
  bool completed = false;
  std::string reason;  // Failed: "volume NS/PVC: mover JOB failed: ..."
  std::string node;
};

struct SchedulerOptions {
  int per_node = 1;  // mover_concurrency
  std::chrono::milliseconds volume_timeout{std::chrono::hours(1)};
  std::chrono::milliseconds poll_min{500}, poll_max{5000};  // poll backoff per round
  const std::atomic<bool>* cancel = nullptr;
};

// Outcomes in the order of `tasks`.
std::vector<VolumeOutcome> RunMovers(Launcher& launcher, std::vector<VolumeTask> tasks,
                                     const SchedulerOptions& opts, base::Clock& clock);

}  // namespace cairn::mover

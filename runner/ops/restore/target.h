// ops/restore/target: what restore-run reads from the target cluster once, after planning and
// before the first write, because it decides how objects are transformed (transform.h): the
// nodePorts its Services hold, and which of the PersistentVolumes to restore exist already.
// A read that fails is a warning and the restore goes on as if the target held nothing.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "kube/client.h"
#include "ops/restore/node_ports.h"

namespace cairn::ops::restore {

struct TargetState {
  NodePortOwners node_ports;           // every nodePort and healthCheckNodePort in use
  std::set<std::string> restored_pvs;  // the planned PVs that do not exist in the target
  std::vector<std::string> warnings;   // reads that failed, and what follows from that
};

// Reads the target's Services (when `services` is set) and PersistentVolumes (when `pvs`, the
// PVs the plan restores, is not empty). A PV that exists already is not created by this run,
// so its claims lose spec.volumeName and are provisioned anew (transform.h).
TargetState ReadTarget(kube::Client& kube, bool services, const std::set<std::string>& pvs);

}  // namespace cairn::ops::restore

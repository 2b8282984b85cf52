// ops/restore/node_ports: which nodePorts of a backed-up Service are part of the application
// (set by a user or a tool) and which the API server assigned, and what becomes of an explicit
// port that another Service already holds in the target. Pure functions over JSON, used by
// Transform (transform.h); target.h reads the ports the target holds.
//
// Explicit: a nodePort (spec.ports[].nodePort) or spec.healthCheckNodePort is explicit when
//   - kubectl's last-applied-configuration annotation sets that very value, or
//   - a field manager owns the field in metadata.managedFields (f:spec / f:ports /
//     k:{"port":P,"protocol":T} / f:nodePort, or f:spec / f:healthCheckNodePort): Helm,
//     `kubectl create`, server-side apply, Argo CD and Flux all leave such an entry. The API
//     server allocates ports after it records field ownership, so an assigned port has no
//     manager. "before-first-apply" (ownership of every field of an object that had no
//     managedFields, handed out by the first server-side apply) is no evidence and ignored.
// Assigned ports are dropped (the target assigns new ones) unless preserve_node_ports.
//
// Taken: an explicit port that the target has allocated to another Service (a copy into
// another namespace of the same cluster) would be refused (422 "provided port is already
// allocated"). Without preserve_node_ports it is dropped and recorded, and the caller warns
// with the port the target assigned instead (ReassignedNodePortWarnings); with
// preserve_node_ports it is kept and the create fails, naming the port.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cairn::ops::restore {

// nodePorts (and healthCheckNodePorts) allocated in the target: port -> "namespace/name" of
// the Service that holds it.
using NodePortOwners = std::map<int64_t, std::string>;

// An explicit nodePort dropped because another Service of the target holds it.
struct ReassignedNodePort {
  std::string service;        // "namespace/name" in the target
  bool health_check = false;  // spec.healthCheckNodePort, else spec.ports[] (port, protocol)
  int64_t port = 0;
  std::string protocol;
  int64_t node_port = 0;  // as backed up
  std::string held_by;    // "namespace/name" of the Service that holds it in the target
};

// Drops the nodePorts of a Service spec (in place) that the restore does not keep, as the
// header says. `service` is the target "namespace/name"; `obj` the backed-up object (for its
// annotations and managedFields); `taken` the target's ports. Dropped explicit ports are
// appended to `reassigned`.
void RestoreNodePorts(nlohmann::json& spec, const nlohmann::json& obj, const std::string& service,
                      bool preserve_node_ports, const NodePortOwners& taken,
                      std::vector<ReassignedNodePort>* reassigned);

// One warning per reassigned port, naming the Service, the backed-up port and the one the
// target assigned (read from `written`, the object the API server returned; "a new port" when
// it shows none).
std::vector<std::string> ReassignedNodePortWarnings(const std::vector<ReassignedNodePort>& ports,
                                                    const nlohmann::json& written);

}  // namespace cairn::ops::restore

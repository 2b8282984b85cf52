// mover/placement: where a mover for one PersistentVolumeClaim may run and as whom.
//
// Pure functions over the JSON objects the caller listed (the PVC and the pods of its
// namespace); nothing here talks to the API. The rules (README "Placement"):
// - the workload pod is a pod that mounts the claim and is not finished (phase Pending or
//   Running, no deletionTimestamp), the first by name when there are several;
// - ReadWriteOnce in use: the mover is pinned to that pod's node (spec.nodeName), because only
//   pods on that node can mount it; unused or ReadWriteMany (or ReadOnlyMany): anywhere the
//   node policy allows; ReadWriteOncePod in use: not mountable (`mountable` false, `reason`
//   says why; the caller takes a snapshot or warns);
// - the mover runs with the workload's identity (uid, gid, fsGroup, supplementalGroups; the
//   container's securityContext overrides the pod's) and tolerations;
// - a workload running as root needs a privileged mover, allowed only with mover_privileged.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cairn::mover {

enum class NodePolicy { kExclude, kInclude, kPrefer };

// "exclude" | "include" | "prefer" (the policy key `node_policy`); anything else is
// InvalidArgument naming the value.
base::Result<NodePolicy> ParseNodePolicy(std::string_view s);
std::string_view NodePolicyName(NodePolicy p);

// The workload's identity the mover takes. Unset fields stay unset in the Job spec.
struct Identity {
  std::optional<int64_t> uid, gid, fs_group;
  std::vector<int64_t> supplemental_groups;
  // The workload runs as root: runAsUser 0, or no runAsUser anywhere and runAsNonRoot not
  // true (the image's own user is then used, which cairn cannot see: taken as root).
  bool root = false;
  // Set when the placement allowed a root workload (mover_privileged): the Job spec then runs
  // the mover as uid 0 with only the capabilities its direction needs.
  bool privileged = false;
};

struct Placement {
  std::string workload_pod;  // "" = the claim is not in use
  std::string node_name;     // "" = anywhere the node policy allows; else pinned there
  std::string access_mode;   // the mode that decided: ReadWriteOnce, ReadWriteMany, ...
  bool mountable = true;     // false: ReadWriteOncePod in use (see reason)
  std::string reason;        // why not mountable, naming the PVC and the pod
  Identity identity;
  nlohmann::json tolerations = nlohmann::json::array();  // copied from the workload pod
};

// Pods in `pods` that are not finished and mount the claim `pvc_name`, sorted by name.
std::vector<const nlohmann::json*> PodsUsingClaim(const std::vector<nlohmann::json>& pods,
                                                  std::string_view pvc_name);

// The identity of `pod` as its first container that runs (the container's securityContext
// over the pod's).
Identity PodIdentity(const nlohmann::json& pod);

// Decides the placement of the mover for `pvc`. `mover_privileged` allows a root workload;
// without it such a workload is a FailedPrecondition error naming the PVC and the pod, with a
// HINT about `mover_privileged = true`.
base::Result<Placement> Place(const nlohmann::json& pvc, const std::vector<nlohmann::json>& pods,
                              bool mover_privileged);

}  // namespace cairn::mover

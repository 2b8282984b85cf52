// mover/launcher: starts one mover from its Job spec, reports its state, and removes it.
//
// Contract of every Launcher:
// - Start creates whatever runs the mover and the credentials it needs; on error nothing it
//   created is left behind (it deletes what it made before returning the error).
// - Poll never blocks for long; it reports Pending (with the reason a user needs: the pod's
//   PodScheduled=False message, an image pull error), Running, Succeeded or Failed (with the
//   mover's reason: Job condition, termination message, last stderr lines).
// - Delete removes the mover, its pods or processes and its credentials whatever its state,
//   and is safe to repeat; after it returns nothing of the mover is left.
// - Credential values are never part of a message.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace cairn::kube {
class Client;
}

namespace cairn::mover {

using SecretData = std::map<std::string, std::string>;  // key → plain (not base64) value

struct MoverId {
  std::string namespace_name, name;  // the Job's
};

struct MoverState {
  enum class Phase { kPending, kRunning, kSucceeded, kFailed };
  Phase phase = Phase::kPending;
  std::string reason;  // Pending/Failed: why ("Pending: 0/3 nodes are available: ...")
  std::string node;    // where it was scheduled, when known
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual base::Result<MoverId> Start(const nlohmann::json& job, const SecretData& secret) = 0;
  virtual base::Result<MoverState> Poll(const MoverId& id) = 0;
  virtual base::Status Delete(const MoverId& id) = 0;
};

// Movers as Kubernetes Jobs (README "Secret handling"): Start creates the Job, then its
// credentials Secret (type Opaque) owner-referenced to the Job, so the Secret never outlives
// it; Delete removes the Job (propagationPolicy Background: its pods go with it) and the
// Secret. `cleanup` (default: `client`) makes the deletions: give a client whose requests a
// SIGTERM does not abort (main/wiring's report-path bounds: no cancel, the final deadline),
// so that a cancelled run still deletes its movers.
std::unique_ptr<Launcher> NewKubeLauncher(kube::Client& client, kube::Client* cleanup = nullptr);

// Movers as local child processes (`--local-volumes DIR`): the container's command and args
// (a command without '/' is the executable of that name next to the running one), `--path`
// replaced by DIR/<namespace>/<pvc> (from the Job's cairn.io labels), env from the spec with
// the Secret's values, the CA bundle in a private temporary file. Each child has its own
// process group; Delete kills it (SIGTERM, then SIGKILL after 5 s).
std::unique_ptr<Launcher> NewLocalLauncher(std::string volumes_dir);

// The workload namespace/claim a Job moves (its annotations cairn.io/namespace, cairn.io/pvc).
std::string JobVolume(const nlohmann::json& job);

}  // namespace cairn::mover

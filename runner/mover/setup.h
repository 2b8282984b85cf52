// mover/setup: what a run (backup-run, restore-run) hands its volume phase to start movers:
// the launcher and the parts of every Job spec that do not depend on the volume. main/ fills it
// from the invocation (main/movers.cc); ops/backup and ops/restore read it.
#pragma once

#include <string>
#include <vector>

#include "mover/launcher.h"

namespace cairn::mover {

struct Setup {
  Launcher& launcher;  // Kubernetes Jobs, or local processes (--local-volumes)
  std::string image;   // the running image, unless the policy's mover_image says otherwise
  std::vector<std::string> vault_args;       // the mover's vault flags
  SecretData secret;                         // what the mover's credentials Secret holds
  std::vector<std::string> credential_keys;  // its keys that become environment variables
};

}  // namespace cairn::mover

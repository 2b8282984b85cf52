// main/movers: how backup-run and restore-run start their volume movers (runner/mover): the
// launcher (Kubernetes Jobs, or local processes with --local-volumes DIR), the image, the vault
// flags and the credentials a mover gets.
#pragma once

#include <memory>
#include <string>

#include "config/flags.h"
#include "kube/client.h"
#include "main/wiring.h"
#include "mover/launcher.h"
#include "mover/setup.h"

namespace cairn::wiring {

// --local-volumes DIR, on both executables.
void AddMoverFlags(config::FlagSet& flags);

struct Movers {
  std::unique_ptr<mover::Launcher> launcher;
  std::unique_ptr<mover::Setup> setup;
};

// The movers of a run. `kube` starts and watches them; `cleanup` deletes them (a client a
// SIGTERM does not abort). `own_image` is the running pod's image ("" when not in a pod).
// kInvalidArgument (exit 2) for what mover Jobs cannot be given: a file:// vault outside
// --local-volumes, or a vault key no mover flag carries.
base::Result<Movers> SetUpMovers(const Invocation& inv, kube::Client& kube, kube::Client& cleanup,
                                 const std::string& own_image);

// The image of container 0 of the pod this process runs in ("" outside a pod or when unknown).
std::string OwnImage(kube::Client& kube, const std::string& ns, const std::string& pod);

}  // namespace cairn::wiring

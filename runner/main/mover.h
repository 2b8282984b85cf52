// main/mover: the volume mover, a mode of backup-run and restore-run (`--mover`).
//
// A mover Job (or a local child process) runs the same image as its parent run with
// `--mover --volume NS/PVC --path DIR`: backup-run streams DIR into the vault
// (backups/<name>/volumes/<ns>/<pvc>.tar.zst) and restore-run streams a backup's volume archive,
// taken from the verified manifest, into DIR. Each leaves a result document next to it
// (vault/volume_result.h) for the parent run, and talks to no cluster. Exit codes are the
// runs': 0 Completed, 3 PartiallyFailed, 1 Failed, 2 invocation.
#pragma once

#include <optional>

#include "config/flags.h"
#include "main/wiring.h"

namespace cairn::mover_main {

enum class Direction { kBackup, kRestore };

// Registers --mover, --volume, --path (and --existing-data for restore) on `flags`.
void AddMoverFlags(config::FlagSet& flags, Direction direction);

// The exit code when `inv` is a mover invocation (after running it) or misuses the mover flags
// (exit 2: --volume without --mover, --mover with --policy, ...); nullopt for a normal run.
std::optional<int> MaybeRunMover(const wiring::Invocation& inv, Direction direction);

}  // namespace cairn::mover_main

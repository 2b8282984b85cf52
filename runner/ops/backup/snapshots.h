// ops/backup/snapshots: the CSI snapshots of a backup's claims (`volumes = "snapshot"` / "all",
// and a ReadWriteOncePod claim in use under "fs"), through runner/snapshot: each claim's
// VolumeSnapshot is taken (ready, content Retain) and recorded for the manifest; for an export
// (`all`) a temporary PVC is made from it for a mover to read, and deleted afterwards whatever
// happens. The records taken so far are kept in `taken` as they come, so that a run that fails
// before its manifest can delete them (DropSnapshots): nothing is left in the cluster.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ops/backup/backup.h"
#include "ops/backup/run_state.h"
#include "snapshot/restore.h"
#include "vault/snapshot_record.h"

namespace cairn::ops::backup {

// The policy's mode takes a snapshot of every claim it copies.
bool SnapshotsEveryClaim(const std::string& mode);
// The policy's mode exports the snapshot's files through a mover ("all").
bool ExportsSnapshots(const std::string& mode);

class SnapshotPhase {
 public:
  SnapshotPhase(Deps& deps, const Options& opts, RunState& state,
                std::vector<vault::SnapshotRecord>* taken)
      : deps_(deps), opts_(opts), state_(state), taken_(taken) {}
  ~SnapshotPhase() { DeleteTemporaryClaims(); }

  // Whether the claim's driver has a snapshot class (the policy's, or the driver's default).
  bool HasClass(const nlohmann::json& claim);
  // Takes the claim's snapshot. A failure is an error in the status naming the claim and what
  // the snapshot showed, returned as its message (the record is then absent).
  base::Result<vault::SnapshotRecord> Take(const nlohmann::json& claim);
  // Creates the temporary PVC a mover reads the snapshot through; returns its name.
  base::Result<std::string> CreateTemporaryClaim(const nlohmann::json& claim,
                                                 const vault::SnapshotRecord& record);
  // Deletes every temporary PVC made (a failure is a warning naming it).
  void DeleteTemporaryClaims();

 private:
  base::Result<std::string> Cluster();

  Deps& deps_;
  const Options& opts_;
  RunState& state_;
  std::vector<vault::SnapshotRecord>* taken_;
  std::optional<std::string> cluster_;
  std::vector<snapshot::TempPvc> temporary_;
};

// A run that ends before its manifest deletes the snapshots it took (errors become the
// status's errors: the snapshots are named so that a user can delete them).
void DropSnapshots(Deps& deps, const Options& opts, RunState& state,
                   const std::vector<vault::SnapshotRecord>& taken);

}  // namespace cairn::ops::backup

// ops/restore/volumes: the volume data of a backup taken with `volumes = "fs"`, written into the
// claims this restore created, after the claims' tier and before the workloads that use them
// (run.cc calls RestoreVolumes between those tiers, so every workload waits until every restore
// mover has finished). One restore mover per volume (runner/mover) mounts the new claim and runs
// `restore-run --mover`, which verifies the archive's sizes and digests as it streams and
// refuses hostile entries. The outcome of each volume is in the status (`volumes`), a failed
// volume is an error naming its claim (PartiallyFailed), and a volume the restore does not write
// (its claim excluded, or existing with existing_data = "empty") is recorded with the reason. A
// claim created from a CSI snapshot is listed as Completed with the snapshot's name: its data is
// the CSI driver's to provision when the claim binds.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kube/client.h"
#include "mover/setup.h"
#include "ops/restore/apply.h"
#include "ops/restore/restore.h"
#include "vault/manifest.h"
#include "vault/snapshot_record.h"

namespace cairn::ops::restore {

// The backup's volume archives ("volumes/<ns>/<pvc>.tar.zst" with a "volume" member).
struct BackedUpVolume {
  std::string namespace_name, pvc;  // as backed up
  const vault::StoredObject* object = nullptr;
};
std::vector<BackedUpVolume> VolumesOf(const vault::Manifest& manifest);

// Claims made from the backup's CSI snapshots are listed in `volumes` too (source "snapshot"):
// `snapshots` are the records this restore used, `claim_sources` the data sources it could
// prepare ("<ns>/<pvc>" as backed up).
void RestoreVolumes(Deps& deps, const Options& opts, kube::Client& kube,
                    const std::vector<BackedUpVolume>& volumes,
                    const std::vector<vault::SnapshotRecord>& snapshots,
                    const std::map<std::string, nlohmann::json>& claim_sources, Ledger& ledger);

}  // namespace cairn::ops::restore

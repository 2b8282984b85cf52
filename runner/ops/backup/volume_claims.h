// ops/backup/volume_claims: which PersistentVolumeClaims of a backup get their data copied, and
// how the outcome of each is recorded (status `backupType`, `dataType`, `volumes`; a manifest
// stored object per archive). The movers that copy the data are runner/mover's; the phase that
// drives them is volumes.cc.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ops/backup/walker.h"
#include "vault/manifest.h"
#include "vault/snapshot_record.h"
#include "vault/status.h"

namespace cairn::ops::backup {

// The opt-out label or annotation: "false" leaves the claim's data out.
inline constexpr std::string_view kVolumeBackupKey = "cairn.io/volume-backup";

// The claims the walk archived (a claim left out of the backup never gets its data copied).
// Offer is called from the lister threads.
class ClaimCollector {
 public:
  void Offer(const Visit& v);
  std::vector<nlohmann::json> Take();

 private:
  std::mutex mu_;
  std::vector<nlohmann::json> claims_;
};

// One claim's data: taken, skipped (opted out, not bound), or failed.
struct VolumeOutcome {
  std::string namespace_name;
  std::string pvc;
  std::string phase;  // Completed | PartiallyFailed | Failed | Skipped
  std::string message;
  std::optional<vault::StoredObject> object;  // the archive, when one was published
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::string node;                               // where the mover ran, when known
  std::optional<vault::SnapshotRecord> snapshot;  // the CSI snapshot, when one was taken
};

// Why a claim's data is not copied ("" when it is): opted out, or not bound to a volume.
std::string SkipReason(const nlohmann::json& claim);

// The status members of a run with `policy_volumes` ("none" | "fs" | "snapshot" | "all"):
// backupType (AppBackup when no archive and no snapshot was taken, else AppAndPvBackup), dataType
// (the mode asked for, or "none" when the selected namespaces use no claim; absent when no volume
// data was asked for) and `volumes`, one entry per claim.
void RecordVolumes(const std::string& policy_volumes, const std::vector<VolumeOutcome>& outcomes,
                   vault::RunStatus& st);

// "volumes/<ns>/<pvc>.tar.zst", the archive's key inside the backup.
std::string VolumeArchiveName(const std::string& ns, const std::string& pvc);

}  // namespace cairn::ops::backup

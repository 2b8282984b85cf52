// vault/catalog: the backups present in a vault, derived from the vault itself (FORMAT.md §10.5).
//
// There is no stored index to drift out of date: one recursive listing of <prefix>/backups/
// plus one GET per status.json. Garbage is tolerated, never fatal: an unreadable status gives
// phase "Unknown" and a warning on the entry; keys that do not form backups/<name>/<key> are
// skipped. Store failures (permissions, outages) do fail the call: gc acts on this list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/status.h"

namespace cairn::vault {

struct BackupEntry {
  std::string name;
  bool complete = false;                           // manifest.json exists: the backup is committed
  std::string phase = std::string(kPhaseUnknown);  // from status.json, else "Unknown"
  uint64_t size = 0;          // stored bytes of every object in the backup directory
  uint64_t object_count = 0;  // objects in the backup directory
  // Status startTime; for a complete backup with an unreadable status the manifest's created;
  // else the oldest object's modification time.
  base::TimePoint created{};
  base::TimePoint last_modified{};    // newest object's modification time (gc grace periods)
  bool has_status = false;            // status.json exists (even when unreadable)
  std::optional<RunStatus> status;    // the parsed status, when readable
  std::vector<std::string> warnings;  // what was wrong with this backup's documents
};

// Every backup directory of the vault, sorted by created (then name).
[[nodiscard]] base::Result<std::vector<BackupEntry>> ListBackups(store::ObjectStore& store,
                                                                 const Layout& layout);

}  // namespace cairn::vault

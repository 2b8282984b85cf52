// vault/catalog: the backups present in a vault, derived from the vault itself (FORMAT.md §10.5).
//
// There is no stored index to drift out of date: one recursive listing of <prefix>/backups/
// plus one GET per status.json and one per manifest.json. Garbage is tolerated, never fatal: an
// unreadable status gives phase "Unknown" and a warning on the entry; a manifest that cannot be
// read or verified makes the backup Unreadable (never restorable) with the reason; keys that do
// not form backups/<name>/<key> are skipped. Store failures (permissions, outages) do fail the
// call: gc acts on this list. ListPendingUploads adds what the listing of objects cannot see:
// multipart uploads that were started and never completed or aborted, with their bytes.
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

// Whether a backup can be restored (FORMAT.md §5): only a Complete one can.
enum class BackupState {
  kIncomplete,  // no manifest.json: the run is in progress, failed, or died
  kUnreadable,  // manifest.json exists but does not verify (checksum, format, another backup's)
  kComplete,    // manifest.json exists and verifies
};
std::string_view StateName(BackupState state);  // "Incomplete", "Unreadable", "Complete"

// An InProgress run whose heartbeat is older than this is taken for dead (FORMAT.md §10.4):
// gc's default `stale_after`, far past the default 30 s heartbeat.
inline constexpr base::Duration kStaleHeartbeat = std::chrono::minutes(15);

struct BackupEntry {
  std::string name;
  bool complete = false;  // manifest.json exists: the backup was committed
  BackupState state = BackupState::kIncomplete;
  std::string unreadable_reason;                   // kUnreadable: why the manifest cannot be read
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

  bool restorable() const { return state == BackupState::kComplete; }
};

// True for an incomplete backup whose run is over without a manifest: its status is not
// InProgress, or its heartbeat (else its newest object) is older than kStaleHeartbeat.
bool IsAbandoned(const BackupEntry& e, base::TimePoint now);

// Why `e` cannot be restored, for listings: "manifest unreadable: <reason>", "in progress
// (last heartbeat 40s ago)", "abandoned: InProgress, last heartbeat 3h0m0s ago", "run Failed:
// <message>", "no manifest"; "" when it is restorable.
std::string NotRestorableReason(const BackupEntry& e, base::TimePoint now);

// Every backup directory of the vault, sorted by created (then name).
[[nodiscard]] base::Result<std::vector<BackupEntry>> ListBackups(store::ObjectStore& store,
                                                                 const Layout& layout);

// Uploads sized at most, per listing: each costs one or more ListParts requests.
inline constexpr size_t kMaxSizedUploads = 100;

struct PendingUploadEntry {
  store::PendingUpload upload;
  std::string backup;             // the backup whose directory it writes into; "" elsewhere
  std::optional<uint64_t> bytes;  // its parts' bytes; unset beyond the sizing bound
};

struct PendingUploads {
  std::string prefix;                       // where they were listed: "<p>/", or "" (bucket)
  std::vector<PendingUploadEntry> uploads;  // every pending upload under the vault's prefix
  uint64_t bytes = 0;                       // sum over the sized uploads
  size_t unsized = 0;                       // uploads beyond `max_sized`, not in `bytes`
};

// The multipart uploads pending under the vault's prefix (space a finished upload never
// frees; gc aborts them), the first `max_sized` of them sized by listing their parts. An upload
// that completes or is aborted while it is sized is left out. Store failures fail the call.
[[nodiscard]] base::Result<PendingUploads> ListPendingUploads(store::ObjectStore& store,
                                                              const Layout& layout,
                                                              size_t max_sized = kMaxSizedUploads);

}  // namespace cairn::vault

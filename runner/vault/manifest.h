// vault/manifest: the commit point of a backup (FORMAT.md §6).
//
// A Manifest lists every stored object of a backup with its size and SHA-256 as stored and of
// the logical payload, and carries a checksum over its own canonical JSON. SerializeManifest
// produces the exact stored bytes; ParseManifest checks the format version first (newer major →
// kFailedPrecondition), then the checksum (kDataLoss "manifest checksum mismatch ..."), then
// every member. Members a newer minor version added are kept, so a manifest read and
// re-serialised is byte-identical. PublishManifest is the only way a manifest enters a vault:
// after the data, with a conditional create, never overwriting.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/vault_info.h"

namespace cairn::vault {

inline constexpr std::string_view kManifestKindBackup = "Backup";
inline constexpr std::string_view kManifestKindConversion = "Conversion";

struct StoredObject {
  std::string key;  // relative to the backup (or conversion) directory
  uint64_t stored_size = 0;
  std::string stored_sha256;  // 64 lowercase hex
  uint64_t logical_size = 0;
  std::string logical_sha256;
  std::string compression = "zstd";  // "zstd" | "none"
  std::string content_type;          // of the logical payload: "application/x-tar"
  std::optional<uint64_t> entry_count;
  std::map<std::string, std::string> extra;  // unknown members: name → JSON text
};

struct Manifest {
  std::string format_version = std::string(kFormatVersion);
  std::string kind = std::string(kManifestKindBackup);
  std::string name;
  std::string backup;           // kind Conversion: the converted backup; else empty
  base::TimePoint created{};    // run start (= status startTime)
  base::TimePoint completed{};  // all data committed
  std::string created_by;       // optional: "cairn 0.1.0"
  std::string policy;           // optional
  std::vector<StoredObject> objects;
  std::string checksum;  // "sha256:<hex>" as parsed; SerializeManifest computes its own
  std::map<std::string, std::string> extra;         // unknown members, preserved
  std::map<std::string, std::string> totals_extra;  // unknown members of "totals"
};

struct ManifestTotals {
  uint64_t object_count = 0;
  uint64_t stored_size = 0;
  uint64_t logical_size = 0;
  std::optional<uint64_t> entry_count;  // set when any object has one
};
ManifestTotals ComputeTotals(const Manifest& manifest);

// The exact bytes of manifest.json (FORMAT.md §6.4). Objects are written sorted by key.
// kInvalidArgument when the manifest breaks a rule of §6 (bad name or key, duplicate key,
// digest not 64 lowercase hex, unknown compression, ...).
[[nodiscard]] base::Result<std::string> SerializeManifest(const Manifest& manifest);

// The checksum SerializeManifest would write: "sha256:<hex>".
[[nodiscard]] base::Result<std::string> ComputeManifestChecksum(const Manifest& manifest);

// Parses and verifies manifest bytes. `source` (the key) names it in messages.
[[nodiscard]] base::Result<Manifest> ParseManifest(std::string_view bytes,
                                                   std::string_view source = "manifest.json");

// Reads and verifies the manifest of backup `name`. kNotFound when there is none (the backup
// does not exist or is incomplete); kDataLoss when it names another backup.
[[nodiscard]] base::Result<Manifest> ReadManifest(store::ObjectStore& store, const Layout& layout,
                                                  std::string_view name);

// Publishes `manifest` (kind Backup under backups/<name>/, kind Conversion under
// conversions/<backup>/<name>/). First checks that every listed object exists with its stored
// size (kFailedPrecondition when missing, kDataLoss when the size differs) and, for the objects
// in `etags` (object key → the ETag the store reported when this run's upload of it completed),
// that the vault still holds that upload (kDataLoss naming the object when another writer
// replaced it), then creates the manifest conditionally: kAlreadyExists "backup 'x' already
// exists in vault" when a manifest is already there. Never overwrites.
[[nodiscard]] base::Status PublishManifest(store::ObjectStore& store, const Layout& layout,
                                           const Manifest& manifest,
                                           const std::map<std::string, std::string>& etags = {});

}  // namespace cairn::vault

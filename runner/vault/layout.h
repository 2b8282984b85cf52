// vault/layout: every key cairn reads or writes in a vault (FORMAT.md §2), and nowhere else.
//
// A Layout is built from the vault prefix (normalised: no leading or trailing '/', no empty
// segments; empty means the bucket root) and turns names into keys. Key functions take names
// that already passed ValidateName (operations validate at their entry, before touching the
// vault); StatusKey validates itself because its kind comes from callers as text. Directory
// and prefix keys end with '/', ready for List.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cairn::vault {

// Fixed object names inside a backup directory.
inline constexpr std::string_view kResourcesObject = "resources.tar.zst";
inline constexpr std::string_view kLogsObject = "logs.jsonl.zst";
inline constexpr std::string_view kResourceListObject = "resource-list.json.zst";
inline constexpr std::string_view kStatusObject = "status.json";
inline constexpr std::string_view kManifestObject = "manifest.json";
// The largest object entry a backup writes into resources.tar.zst and a restore reads back
// (FORMAT.md §5.1); the apiserver's own request limit (3 MiB) keeps real objects far below it.
inline constexpr uint64_t kMaxObjectEntryBytes = uint64_t{16} << 20;
// The deepest nesting of an object entry (the object itself is level 1). A restore refuses
// deeper entries as hostile, so a backup refuses such an object instead of storing it; real
// objects stay far below (a CRD's schema embedding a pod template is about 25 levels).
inline constexpr int kMaxObjectEntryDepth = 64;

// Ok when `name` matches ^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$. `what` names the thing in the
// message: ValidateName("Shop", "backup name") → kInvalidArgument "invalid backup name 'Shop':
// must be 1 to 63 characters of ...".
[[nodiscard]] base::Status ValidateName(std::string_view name, std::string_view what = "name");

// A name derived from a valid name: `base` + `suffix` ("-restore-20261202103000"), with `base`
// cut so the result stays within 63 characters and cut back further past any trailing '-' or
// '.'. `suffix` must start with '-' and end with a letter or digit.
std::string DerivedName(std::string_view base, std::string_view suffix);

// Ok when `rel` is a valid key relative to a backup directory (FORMAT.md §2): 1 to 512 bytes,
// '/'-separated segments of [A-Za-z0-9._-], none empty, "." or "..".
[[nodiscard]] base::Status ValidateObjectKey(std::string_view rel);

// "volumes/<ns>/<pvc>.tar.zst", relative to the backup directory.
std::string VolumeObjectKey(std::string_view ns, std::string_view pvc);

// A key inside a backup directory, split.
struct BackupKeyParts {
  std::string name;  // a valid backup name
  std::string rel;   // relative to the backup directory; never empty
};

class Layout {
 public:
  explicit Layout(std::string_view prefix);

  // The normalised prefix ("" for the bucket root).
  const std::string& prefix() const { return prefix_; }

  std::string VaultInfoKey() const;    // <p>/cairn-vault.json
  std::string VaultStatusKey() const;  // <p>/vault-status.json

  std::string BackupsPrefix() const;                   // <p>/backups/
  std::string BackupDir(std::string_view name) const;  // <p>/backups/<name>/
  std::string BackupObjectKey(std::string_view name, std::string_view rel) const;
  std::string ManifestKey(std::string_view name) const;  // <p>/backups/<name>/manifest.json

  std::string RestoresPrefix() const;  // <p>/restores/
  // <p>/restores/<name>/<rel> (results.json.zst)
  std::string RestoreObjectKey(std::string_view name, std::string_view rel) const;
  std::string GcPrefix() const;  // <p>/gc/
  // Status of a run: kind "backup" → <p>/backups/<name>/status.json, "restore" →
  // <p>/restores/<name>/status.json, "gc" → <p>/gc/<name>/status.json. Conversions use
  // ConversionStatusKey and vault checks VaultStatusKey. kInvalidArgument for another kind
  // or an invalid name.
  [[nodiscard]] base::Result<std::string> StatusKey(std::string_view kind,
                                                    std::string_view name) const;

  std::string ConversionsPrefix() const;  // <p>/conversions/
  std::string ConversionDir(std::string_view backup, std::string_view name) const;
  std::string ConversionObjectKey(std::string_view backup, std::string_view name,
                                  std::string_view rel) const;
  std::string ConversionManifestKey(std::string_view backup, std::string_view name) const;
  std::string ConversionStatusKey(std::string_view backup, std::string_view name) const;

  std::string LocksPrefix() const;                        // <p>/locks/
  std::string LockKey(std::string_view operation) const;  // <p>/locks/<operation>.json
  // Shared read leases on a backup (FORMAT.md §9.1): <p>/locks/read/<backup>/ and
  // <p>/locks/read/<backup>/<reader>.json
  std::string ReadLocksPrefix(std::string_view backup) const;
  std::string ReadLockKey(std::string_view backup, std::string_view reader) const;

  std::string ProbePrefix() const;                      // <p>/.cairn-probe/
  std::string ProbeKey(std::string_view random) const;  // <p>/.cairn-probe/<random>

  // Splits a key of the listing of BackupsPrefix() into backup name and relative key.
  // nullopt for keys outside it or not of the form backups/<valid name>/<rel> (garbage).
  std::optional<BackupKeyParts> ParseBackupKey(std::string_view key) const;
  // The backup name of such a key.
  std::optional<std::string> ParseBackupNameFromKey(std::string_view key) const;

 private:
  std::string Join(std::string_view rel) const;  // prefix + "/" + rel, or rel

  std::string prefix_;
};

}  // namespace cairn::vault

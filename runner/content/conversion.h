// content/conversion: the document a StorageClass conversion publishes (FORMAT.md §6.6) and the
// only code that reads, writes and deletes one. convert-run writes it; restore-run
// --conversion reads it.
//
// A conversion of backup b named n is conversions/<b>/<n>/conversion.json (canonical JSON:
// sorted members, no whitespace, final newline, so the same conversion is the same bytes) and
// a manifest of kind Conversion listing it with its sizes and SHA-256 (published last, with a
// conditional create). ReadConversion verifies the manifest, the object's size and SHA-256, and
// that the document names the backup and the conversion it is stored under; any mismatch is
// kDataLoss naming the key. The backup itself is never touched.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/object_store.h"
#include "vault/layout.h"

namespace cairn::content {

inline constexpr std::string_view kConversionObject = "conversion.json";
inline constexpr std::string_view kConversionVersion = "1";

using Mapping = std::vector<std::pair<std::string, std::string>>;

// One object the conversion rewrote: a PVC, a PV or one volumeClaimTemplate of a StatefulSet.
struct ConvertedObject {
  std::string resource;        // persistentvolumeclaims | persistentvolumes | statefulsets
  std::string namespace_name;  // "" for PVs
  std::string name;            // the PVC, PV or StatefulSet
  std::string template_name;   // statefulsets: the volumeClaimTemplate's metadata.name
  std::string source_class;    // spec.storageClassName in the backup ("" when none)
  nlohmann::json spec;         // the whole rewritten spec (a claim spec or a PV spec)
};

// One result of validation. severity: "error" (the conversion failed) or "warning".
struct ConversionIssue {
  std::string severity;
  std::string object;         // "PVC shop/data", "PV pv-1", "StatefulSet shop/db template 'data'"
  std::string storage_class;  // the class concerned
  std::string message;
};

struct Conversion {
  std::string backup;           // the backup converted
  std::string backup_checksum;  // its manifest's checksum: a backup replaced since is refused
  std::string name;
  Mapping storage_class_mapping;  // old -> new, as given
  Mapping access_mode_mapping;    // ReadWriteMany -> ReadWriteOnce, as given
  nlohmann::json target;          // what was read of the target: zones, storage classes
  std::vector<ConvertedObject> objects;
  std::vector<ConversionIssue> validation;
};

// The exact bytes of conversion.json.
std::string SerializeConversion(const Conversion& c);
// kDataLoss naming `source` when the bytes are not a conversion document of this version.
[[nodiscard]] base::Result<Conversion> ParseConversion(std::string_view bytes,
                                                       std::string_view source);

// Writes conversion.json, then its manifest (kind Conversion, conditional create: kAlreadyExists
// when one exists). `created`: the run's start.
[[nodiscard]] base::Status PublishConversion(store::ObjectStore& store, const vault::Layout& layout,
                                             const Conversion& c, base::TimePoint created,
                                             base::TimePoint completed,
                                             const std::string& created_by);

// The published conversion `name` of `backup`, verified. kNotFound when it has no manifest.
[[nodiscard]] base::Result<Conversion> ReadConversion(store::ObjectStore& store,
                                                      const vault::Layout& layout,
                                                      std::string_view backup,
                                                      std::string_view name);

// The SHA-256 (hex) of conversion.json as its manifest records it; kNotFound without manifest.
[[nodiscard]] base::Result<std::string> PublishedConversionDigest(store::ObjectStore& store,
                                                                  const vault::Layout& layout,
                                                                  std::string_view backup,
                                                                  std::string_view name);

// The backups that have a conversion named `name` (a listing of conversions/).
[[nodiscard]] base::Result<std::vector<std::string>> BackupsWithConversion(
    store::ObjectStore& store, const vault::Layout& layout, std::string_view name);

// Deletes conversions/<backup>/<name>/: the manifest first (so a partial delete never leaves a
// conversion that looks published), then every other object. Returns the keys deleted.
[[nodiscard]] base::Result<std::vector<std::string>> DeleteConversion(store::ObjectStore& store,
                                                                      const vault::Layout& layout,
                                                                      std::string_view backup,
                                                                      std::string_view name);

}  // namespace cairn::content

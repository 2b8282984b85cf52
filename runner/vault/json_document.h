// vault/json_document: reading and writing the JSON documents of the vault (FORMAT.md §1, §3).
//
// Internal to runner/vault: only vault .cc files include this header, so nlohmann/json stays a
// private dependency of cairn_vault. No function here throws: nlohmann exceptions are caught
// inside json_document.cc. Parsing is strict (object at top level, valid UTF-8, no duplicate
// member names, bounded depth) and every malformed document is kDataLoss naming the object.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace cairn::vault::internal {

using Json = nlohmann::json;
// Members a reader did not know: name → JSON text of the value, written back unchanged.
using Extra = std::map<std::string, std::string>;

// The major version of the vault format this code implements.
inline constexpr uint32_t kFormatMajor = 1;

// Parses `text` as a vault document. `what` names it in messages ("manifest 'backups/x/...'").
[[nodiscard]] base::Result<Json> ParseDocument(std::string_view text, std::string_view what);

// The canonical form of FORMAT.md §1.1. kInvalidArgument on invalid UTF-8 or a non-integer
// number (checksummed documents hold integers only).
[[nodiscard]] base::Result<std::string> Canonical(const Json& value, std::string_view what);

// Two-space indentation, sorted members, final newline; invalid UTF-8 becomes U+FFFD.
std::string Pretty(const Json& value);

struct FormatVersion {
  uint32_t major = 0;
  uint32_t minor = 0;
};
// Parses "MAJOR.MINOR" (FORMAT.md §3); kDataLoss when malformed.
[[nodiscard]] base::Result<FormatVersion> ParseFormatVersion(std::string_view text,
                                                             std::string_view what);
// Ok when this cairn can read `text`; kFailedPrecondition "vault format 2.0 is newer than this
// cairn understands (1.x); upgrade cairn" prefixed with `what` when the major is newer.
[[nodiscard]] base::Status CheckFormatReadable(std::string_view text, std::string_view what);

// Members of `obj` not in `known`, as JSON text.
Extra CollectUnknown(const Json& obj, std::initializer_list<std::string_view> known);
// Adds `extra` members to `obj`; members already present win, unparsable text is skipped.
void AddUnknown(Json& obj, const Extra& extra);

// Typed access to the members of one JSON object. The first problem is remembered (as
// "field 'objects[1].key' must be a string") and later calls return defaults, so a parser
// reads every field in a straight line and checks status() once. Children share the error.
class FieldReader {
 public:
  // `obj` must outlive the reader. A non-object records an error.
  explicit FieldReader(const Json& obj) : FieldReader(&obj, "", std::make_shared<std::string>()) {}

  std::string Str(std::string_view name);                 // required string
  std::string OptStr(std::string_view name);              // "" when absent or null
  uint64_t U64(std::string_view name);                    // required non-negative integer
  std::optional<uint64_t> OptU64(std::string_view name);  // nullopt when absent or null
  int64_t I64(std::string_view name);                     // required integer
  double Number(std::string_view name);                   // required number
  base::TimePoint Time(std::string_view name);            // required RFC 3339 timestamp
  std::optional<base::TimePoint> OptTime(std::string_view name);
  std::map<std::string, int64_t> IntMap(std::string_view name);  // {} when absent
  // A nested object; absent and not required gives an empty object.
  FieldReader Child(std::string_view name, bool required = true);
  // Length of a required (or optional: 0 when absent) array; its elements via Element().
  size_t ArraySize(std::string_view name, bool required = true);
  // Element `index` of array `name`, which must be an object.
  FieldReader Element(std::string_view name, size_t index);
  // Records a problem found by the caller ("objects are not sorted by key").
  void Fail(std::string problem);

  bool ok() const { return error_->empty(); }
  // Ok, or kDataLoss "<what> is malformed: <problem>".
  [[nodiscard]] base::Status status(std::string_view what) const;

 private:
  FieldReader(const Json* obj, std::string path, std::shared_ptr<std::string> error);
  const Json* Find(std::string_view name, bool required);
  std::string Path(std::string_view name) const;
  void FailField(std::string_view name, std::string_view want);

  const Json* obj_;
  std::string path_;
  std::shared_ptr<std::string> error_;
};

}  // namespace cairn::vault::internal

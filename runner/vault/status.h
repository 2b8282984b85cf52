// vault/status: the status object every run leaves behind (FORMAT.md §7, §8).
//
// One schema for all operations (Backup, Restore, Conversion, VaultCheck, GC). The same
// document goes to the vault (<kind>s/<name>/status.json, vault-status.json for vault checks)
// and, through report/, to a ConfigMap. Errors and warnings are counted in full but only the
// first kMaxIssueItems of each are kept, and text is capped, so a run with a million failures
// still fits in a ConfigMap. Members this version does not know survive a read and rewrite.
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

namespace cairn::vault {

inline constexpr std::string_view kStatusApiVersion = "cairn.io/v1";

inline constexpr std::string_view kKindBackup = "Backup";
inline constexpr std::string_view kKindRestore = "Restore";
inline constexpr std::string_view kKindConversion = "Conversion";
inline constexpr std::string_view kKindVaultCheck = "VaultCheck";
inline constexpr std::string_view kKindGc = "GC";

inline constexpr std::string_view kPhaseInProgress = "InProgress";
inline constexpr std::string_view kPhaseCompleted = "Completed";
inline constexpr std::string_view kPhasePartiallyFailed = "PartiallyFailed";
inline constexpr std::string_view kPhaseFailed = "Failed";
inline constexpr std::string_view kPhaseAvailable = "Available";      // vault checks
inline constexpr std::string_view kPhaseUnavailable = "Unavailable";  // vault checks
inline constexpr std::string_view kPhaseUnknown = "Unknown";          // catalog: no readable status

inline constexpr std::string_view kScopeRunner = "runner";
inline constexpr std::string_view kScopeCluster = "cluster";
inline constexpr std::string_view kScopeOther = "other";  // byScope overflow key
// "namespace/<ns>"
std::string NamespaceScope(std::string_view ns);

inline constexpr std::string_view kCheckPassed = "passed";
inline constexpr std::string_view kCheckFailed = "failed";
inline constexpr std::string_view kCheckWarning = "warning";
inline constexpr std::string_view kCheckSkipped = "skipped";

inline constexpr size_t kMaxIssueItems = 50;
inline constexpr size_t kMaxIssueScopes = 100;
inline constexpr size_t kMaxIssueTextBytes = 1024;

using ExtraMembers = std::map<std::string, std::string>;  // unknown members: name → JSON text

struct Issue {
  std::string scope;  // runner | cluster | namespace/<ns>
  std::string message;
  std::string object;  // optional: the API object or key concerned
  ExtraMembers extra;
};

struct IssueList {
  int64_t count = 0;                        // every issue of the run
  std::map<std::string, int64_t> by_scope;  // count split by scope (≤ 100 scopes + "other")
  std::vector<Issue> items;                 // the first kMaxIssueItems
  ExtraMembers extra;

  // Counts the issue; keeps it when fewer than kMaxIssueItems are kept; caps text length.
  void Add(std::string_view scope, std::string_view message, std::string_view object = {});
};

struct Check {
  std::string name;    // "put", "get", "list", "delete", "clock-skew", ...
  std::string result;  // passed | failed | warning | skipped
  int64_t duration_ms = 0;
  std::string message;
  ExtraMembers extra;
};

struct JobIdentity {
  std::string namespace_name;
  std::string name;
  std::string pod;
  std::string cronjob;
  ExtraMembers extra;
};

struct RunStatus {
  std::string api_version = std::string(kStatusApiVersion);
  std::string kind;  // kKind*
  std::string name;
  std::string vault;
  std::string policy;
  std::string backup;  // Restore, Conversion: the backup used
  std::string phase = std::string(kPhaseInProgress);
  std::string message;
  base::TimePoint start_time{};
  base::TimePoint heartbeat_time{};
  std::optional<base::TimePoint> completion_time;
  double duration_seconds = 0;  // written with millisecond precision
  JobIdentity job;
  std::map<std::string, int64_t> counts;
  std::map<std::string, int64_t> sizes;
  IssueList errors;
  IssueList warnings;
  std::vector<Check> checks;                      // vault checks
  std::optional<base::TimePoint> last_validated;  // vault checks
  ExtraMembers extra;

  void AddError(std::string_view scope, std::string_view message, std::string_view object = {}) {
    errors.Add(scope, message, object);
  }
  void AddWarning(std::string_view scope, std::string_view message, std::string_view object = {}) {
    warnings.Add(scope, message, object);
  }
};

// The document's bytes: two-space indented JSON, sorted members, final newline.
std::string ToJson(const RunStatus& status);

// Parses a status document. kDataLoss when malformed; kFailedPrecondition for a newer
// apiVersion (cairn.io/v2 ...). `source` names it in messages.
[[nodiscard]] base::Result<RunStatus> ParseRunStatus(std::string_view json,
                                                     std::string_view source = "status.json");

// Overwrites `key` with the status (plain PUT: the last write wins).
[[nodiscard]] base::Status WriteStatus(store::ObjectStore& store, std::string_view key,
                                       const RunStatus& status);

// Creates `key` with the status only when nothing is there yet (create-only, vault/create.h):
// a run claims its name this way before writing anything else. kAlreadyExists when another
// run holds the name; later writes of the same run use WriteStatus.
[[nodiscard]] base::Status CreateStatus(store::ObjectStore& store, std::string_view key,
                                        const RunStatus& status);

// Reads and parses the status at `key`; kNotFound passes through.
[[nodiscard]] base::Result<RunStatus> ReadStatus(store::ObjectStore& store, std::string_view key);

}  // namespace cairn::vault

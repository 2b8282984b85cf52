// ops/gc/plan: what one gc run does to one vault — a value, computed by a pure function from
// what the vault holds (catalog, restore statuses, pending uploads, read leases) and the
// requests, so `gc --dry-run` prints exactly what Execute would do and tests can check every
// decision.
//
// Per backup, first match wins:
//   1. status `Deleting`                                  → finish deleting (an earlier gc died)
//   2. no manifest, status InProgress, heartbeat older than stale_after
//                                                         → abandon (Failed, partial objects go)
//   3. status InProgress (heartbeat fresh)                → keep: a live run
//      (a manifest, status InProgress, heartbeat older than stale_after: its run stopped after
//      publishing it; a complete, successful backup for the rules below, its uploads stale)
//   4. a live read lease (a restore reads it)             → keep, even when requested
//   5. a delete request                                   → delete
//   6. no manifest and no readable status                 → orphan once its newest object is
//                                                           older than stale_after, else keep
//   7. kept by a retention rule of its policy             → keep (the rules are named)
//   8. a TTL that has not passed                          → keep
//   9. a TTL that has passed                              → expire
//  10. no TTL, its policy has retention rules              → delete (not kept by retention)
//  11. otherwise (manual run or policy without rules, no TTL) → keep
// "A backup goes only when no rule keeps it and its TTL (if any) allows": a retention rule
// protects a backup past its TTL, and a TTL protects a backup that no rule keeps until it
// passes. Successful backups (complete; Completed, or an unreadable status) are retained by
// keep_last … keep_within; failed runs (Failed, PartiallyFailed, unknown phases) by
// keep_failed_last. Manual backups (no policy) and policies without keep_* rules: TTL only.
// A kept failed run that left partial objects (no manifest) keeps only its status.json.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "config/policy.h"
#include "store/object_store.h"
#include "vault/catalog.h"
#include "vault/lease.h"
#include "vault/status.h"

namespace cairn::ops::gc {

inline constexpr base::Duration kDefaultStaleAfter = vault::kStaleHeartbeat;

enum class Action {
  kKeep,
  kExpire,          // TTL passed
  kRetention,       // no retention rule keeps it
  kRequest,         // gc --delete or a delete-request ConfigMap
  kFinishDeleting,  // status Deleting: an interrupted deletion
  kOrphan,          // no manifest, no status, no live run
  kAbandon,         // InProgress with a lost heartbeat → Failed; partial objects go
};
const char* ActionWord(Action a);  // KEEP, EXPIRE, DELETE, DELETE, FINISH, ORPHAN, ABANDON
// Whether the backup's objects all go (the abandoned run keeps its status).
bool DeletesBackup(Action a);

// A request to delete a backup: from a ConfigMap (its name) or from --delete ("").
struct DeleteRequest {
  std::string configmap;  // "" for --delete
  std::string backup;
  std::string vault;  // "" = any vault this run handles
};

struct BackupDecision {
  std::string name;
  std::string policy;
  std::string phase;
  bool complete = false;
  base::TimePoint created{};
  base::TimePoint heartbeat{};  // kAbandon, or a complete backup's run that stopped: when lost
  bool live_run = false;        // InProgress with a fresh heartbeat: its uploads are the run's
  uint64_t size = 0;
  Action action = Action::kKeep;
  std::string reason;          // the rules that keep it, or why it goes
  bool purge_partial = false;  // kKeep of a failed run: its objects but status.json go
  std::vector<store::PendingUpload> uploads;  // pending uploads under its directory
  std::vector<std::string> requests;          // ConfigMaps asking for it ("" for --delete)
};

struct RunDecision {  // an abandoned restore
  std::string name;
  base::TimePoint heartbeat{};
};

struct RequestAnswer {  // a request that names no backup of this vault, or that must wait
  DeleteRequest request;
  bool found = false;
  std::string refusal;  // why it waits (read lease, live run); "" when found and honoured
};

struct Plan {
  base::TimePoint now{};
  base::Duration stale_after = kDefaultStaleAfter;
  std::vector<BackupDecision> backups;        // sorted by created, then name
  std::vector<RunDecision> restores;          // abandoned restores
  std::vector<store::PendingUpload> uploads;  // stale, outside any backup decided above
  std::vector<RequestAnswer> requests;        // one per request given, in order
  std::vector<std::string> warnings;          // e.g. a policy the config does not define
};

// What the vault holds, read by Gather (run.cc).
struct Inputs {
  std::vector<vault::BackupEntry> backups;
  std::vector<vault::RunStatus> restores;     // readable restore statuses
  std::vector<store::PendingUpload> uploads;  // pending uploads under cairn's key prefixes
  std::map<std::string, std::vector<vault::Lease>> read_leases;  // backup → live leases
};

struct PlanOptions {
  base::TimePoint now{};
  std::string backups_prefix = "backups/";  // vault::Layout::BackupsPrefix(): owns uploads
  base::Duration stale_after = kDefaultStaleAfter;
  std::map<std::string, config::Retention> policies;    // by policy name, from the config
  std::optional<config::Retention> retention_override;  // --keep-* flags, for every policy
  std::optional<base::Duration> ttl_override;           // --ttl-override
  std::vector<DeleteRequest> requests;
  bool only_requests = false;  // gc --delete: decide nothing else
};

Plan MakePlan(const Inputs& in, const PlanOptions& opts);

// The plan as text: one line per backup with its decision and reason, then restores,
// uploads and requests, then a summary line.
std::string FormatPlan(const Plan& plan);

// The backup's expiration for this run: created + --ttl-override, else the status member
// `expiration` (nullopt: no TTL; a `ttl` of 0 also means none).
std::optional<base::TimePoint> Expiration(const vault::BackupEntry& e,
                                          const std::optional<base::Duration>& ttl_override);

}  // namespace cairn::ops::gc

// ops/backup: one backup run, end to end (issue: backup-run).
//
// Phases, in order (run.cc): claim (the vault is usable; status.json is created create-only
// before any data, so a name another run holds is refused without touching it), start (status
// InProgress in the vault and ConfigMap, BackupStarted event, a heartbeat every
// policy.heartbeat_interval), stream (discover and select resources; several listers, one page
// each, hand objects through a bounded queue to the one archive writer: tar → zstd → multipart
// upload; cluster-scoped objects the namespaces depend on follow), publish (the run's log, then
// the manifest with a conditional create, after checking the vault still holds what this run
// uploaded), finish (final phase and exit code; the caller writes the status and event).
// Completed (exit 0) has no errors; PartiallyFailed (3) names every resource or object that
// failed; Failed (1) published no manifest. Cancel (SIGTERM, timeout) aborts the uploads, so
// nothing is ever visible as a backup; gc removes the incomplete upload.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "config/policy.h"
#include "kube/client.h"
#include "mover/setup.h"
#include "report/reporter.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/status.h"

namespace cairn::ops::backup {

struct Options {
  config::BackupPolicy policy;
  std::string name;  // the backup name (validated)
  bool from_schedule = false;
  std::string vault_name;
  std::string own_namespace;  // cairn's namespace: excluded unless named
  std::string created_by;     // "cairn 0.1.0"
  int parallel_lists = 4;
  int zstd_workers = 2;
};

struct Deps {
  store::ObjectStore& store;  // the data path; its transfers stop when `cancel` is set
  vault::Layout layout;
  kube::Client& kube;
  report::Reporter& reporter;
  base::Clock& clock;
  const std::atomic<bool>& cancel;
  // Why `cancel` was set ("received SIGTERM", "timeout 60m0s exceeded"), read once it is.
  std::function<std::string()> cancel_reason;
  // The run's own log so far (JSON lines), uploaded as logs.jsonl.zst before the manifest.
  const std::string* log = nullptr;
  mover::Setup* movers = nullptr;  // set when the policy takes volume data
  // What a stopped run must still undo in the cluster (snapshots and temporary claims of a
  // failed backup) goes through this client, which the cancel cannot stop (bounded by the
  // run's final deadline instead); `kube` when null.
  kube::Client* cleanup_kube = nullptr;
  kube::Client& Cleanup() { return cleanup_kube != nullptr ? *cleanup_kube : kube; }
};

// What a run would back up (--dry-run): nothing is written.
struct Plan {
  std::map<std::string, std::map<std::string, int64_t>> counts;  // namespace → resource → n
  std::vector<std::pair<std::string, std::string>> pulled_in;    // object → reason
  std::vector<std::string> skipped;                              // resource: reason
  std::vector<std::string> warnings;
  std::vector<std::string> errors;
};
Plan MakePlan(Deps& deps, const Options& opts);
std::string FormatPlan(const Plan& plan);

struct Outcome {
  vault::RunStatus status;
  int exit_code = 1;
  // False when the name was taken: the existing backup's status must not be overwritten.
  bool owns_name = true;
};
Outcome Run(Deps& deps, const Options& opts);

}  // namespace cairn::ops::backup

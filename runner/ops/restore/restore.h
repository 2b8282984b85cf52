// ops/restore: one restore run — a verified backup applied to the current cluster.
//
// Phases: (1) read the manifest and stream every stored object once, checking sizes and
// SHA-256 as stored and after decompression, and keeping the archive's objects; any problem
// fails the run before anything is applied, naming every bad object. (2) Plan: per resource the
// API version to restore (ops/restore/plan.h), filters, owner-based skipping, mappings, tiers.
// (3) Apply tier by tier (CRDs first, then waiting until they are Established), a few objects
// in parallel within a tier, under the client's rate limit: created, updated (server-side
// apply with existing_resource_policy = update), skipped (exists), failed (with the API's
// reason). (4) Report: status, results.json.zst, events; exit 0 / 3 / 1.
//
// Memory: the backup's objects are held compressed between verification and apply
// (ops/restore/spool.h; verification must finish before the first write), their outcomes are
// compressed as they are recorded, and the plan keeps a bit per object; only a resource stored
// in several versions keeps its objects' names while it is read. README.md has the numbers.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "config/policy.h"
#include "kube/client.h"
#include "mover/setup.h"
#include "ops/restore/plan.h"
#include "report/reporter.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/status.h"

namespace cairn::ops::restore {

struct Options {
  RestoreOptions policy;  // filters and mappings (backup_name, restore_name set)
  std::string vault_name;
  std::string policy_name;
  int parallel_applies = 4;
  std::chrono::seconds crd_wait{60};
  // The status (vault and ConfigMap) is written again this often while the restore runs, so a
  // run that died is told from one that is still working (heartbeatTime).
  std::chrono::seconds heartbeat{30};
  // Where the verified objects wait for the apply (an unlinked temporary file; ops/restore/
  // spool.h); "" keeps them in memory.
  std::string spool_dir;
  // restore-run --conversion: a conversion of the backup (ops/restore/conversion.h) whose
  // rewritten PVCs, PVs and volumeClaimTemplates replace the backed-up ones; "" for none.
  std::string conversion;
  // Volume data (ops/restore/volumes.h): "empty" | "overwrite", and how restore movers are made.
  std::string existing_data = "empty";
  config::MoverSettings movers;
};

struct Deps {
  store::ObjectStore& store;
  vault::Layout layout;
  // Makes a client for the target cluster; called again after CRDs are established, so the
  // new resources are discovered.
  std::function<base::Result<std::unique_ptr<kube::Client>>()> kube;
  report::Reporter& reporter;
  base::Clock& clock;
  const std::atomic<bool>& cancel;
  // Why `cancel` is set ("received SIGTERM", "timeout 1h exceeded"), for the status.
  std::function<std::string()> cancel_reason;
  // Starts the restore movers; nullptr: volume data is not restored (each volume says so).
  mover::Setup* movers = nullptr;
  std::string no_movers_reason;  // why movers is nullptr
};

struct Outcome {
  vault::RunStatus status;
  int exit_code = 1;
  std::string plan_text;  // --dry-run: the plan, printed instead of applied
};

// Verifies, plans and (unless dry_run) applies.
Outcome Run(Deps& deps, const Options& opts, bool dry_run);

}  // namespace cairn::ops::restore

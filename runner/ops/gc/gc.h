// ops/gc: one gc run over one vault (issue: gc).
//
// Phases: read the vault (cairn-vault.json must be a format we write), take the vault's gc
// lease (another live holder: nothing is done, exit 0 saying who and until when), gather
// (catalog, restore statuses, pending uploads, read leases), plan (ops/gc/plan.h: a pure
// function, printed by --dry-run), execute, report. Execute, per backup that goes: status
// `Deleting` first, then manifest.json (it stops being restorable), then every other object
// and pending upload of its directory, then status.json; a gc killed midway leaves a `Deleting`
// backup that the next run finishes. Abandoned runs become Failed (vault and ConfigMap,
// Warning event BackupAbandoned / RestoreAbandoned) and lose their partial objects. Every key
// touched is under the vault's prefix, inside cairn's own directories. The lease is renewed
// between steps every lease_duration / 3; losing it stops the run.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ops/gc/cluster.h"
#include "ops/gc/plan.h"
#include "report/reporter.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/lease.h"
#include "vault/status.h"

namespace cairn::ops::gc {

struct Options {
  std::string run_name;    // gc-<YYYYMMDDHHMMSS>; the status object's name
  std::string vault_name;  // for the status and messages
  PlanOptions plan;        // `now` and `backups_prefix` are filled by Run
  bool dry_run = false;
  vault::LeaseHolder holder;
  std::chrono::seconds lease_duration{300};
};

struct Deps {
  store::ObjectStore& store;
  vault::Layout layout;
  report::Reporter& reporter;  // the gc run's status (vault, ConfigMap) and final event
  Cluster* cluster;            // null outside a cluster
  base::Clock& clock;
  const std::atomic<bool>& cancel;
  // Why `cancel` was set ("received SIGTERM", "timeout 10m0s exceeded").
  std::function<std::string()> cancel_reason = {};
  // Writes that must happen after a stop (the lease's release): a store a stop does not cancel.
  // nullptr: `store`.
  store::ObjectStore* final_store = nullptr;
};

struct Outcome {
  vault::RunStatus status;
  Plan plan;
  int exit_code = 1;
  bool skipped = false;              // another gc holds the lease: nothing was done (exit 0)
  std::vector<std::string> deleted;  // backups whose deletion finished in this run
  std::string message;               // one line for the user
};

Outcome Run(Deps& deps, const Options& opts);

// After every vault of the run: answers the delete-request ConfigMaps. A request honoured in
// some vault gets a Normal event and is removed; one that must wait (read lease, live run) gets
// a Warning event and stays; one whose backup no handled vault has (or that names a vault the
// config does not define) gets a Warning event and is removed, never retried forever. Requests
// naming a defined vault this run did not handle are left for its gc, and so are requests naming
// no vault that no vault deleted when `all_handled` is false (a vault could not be read: the
// backup may be there). Returns warnings.
std::vector<std::string> SettleRequests(
    Cluster& cluster, const std::vector<DeleteRequest>& all,
    const std::vector<std::pair<std::string, const Outcome*>>& runs,
    const std::vector<std::string>& defined_vaults, bool all_handled);

}  // namespace cairn::ops::gc

// ops/convert: one convert-run — a StorageClass conversion of a backup for the target cluster.
//
// Phases: (1) take a shared read lease on the backup (gc leaves it alone meanwhile); read its
// manifest and stream every stored object once, verified as restore-run verifies it
// (content/verify.h), keeping the objects in the spool; (2) read the target's StorageClasses
// and Nodes (target.h); (3) Plan: the rules of rules.h over every PVC, PV and StatefulSet
// volumeClaimTemplate (plan.h) — --dry-run prints it and stops; (4) Execute: publish
// conversions/<backup>/<name>/ (content/conversion.h) unless validation failed. An identical
// conversion already published is left as it is (Completed, nothing written); a different one
// under the same name fails, with a HINT to --reset it. --reset deletes the conversion
// (manifest first) and does nothing else. The backup is never written.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "base/clock.h"
#include "config/provisioners.h"
#include "content/conversion.h"
#include "kube/client.h"
#include "report/reporter.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/status.h"

namespace cairn::ops::convert {

struct Options {
  std::string backup, name;
  content::Mapping storage_class_mapping, access_mode_mapping;
  std::map<std::string, config::ProvisionerConfig> provisioners;  // [provisioners."NAME"]
  bool reset = false;
  bool dry_run = false;
  std::string vault_name;
  std::string created_by;  // "cairn 0.1.0"
  std::string spool_dir;   // where the verified objects wait ("" in memory)
  // The read lease is renewed (and the status rewritten) this often.
  std::chrono::seconds heartbeat{30};
};

struct Deps {
  store::ObjectStore& store;
  vault::Layout layout;
  kube::Client* kube;  // the target cluster; required unless reset
  report::Reporter& reporter;
  base::Clock& clock;
  const std::atomic<bool>& cancel;
};

struct Outcome {
  vault::RunStatus status;
  int exit_code = 1;
  std::string plan_text;  // the plan (also printed by a real run)
  bool reset = false;     // a --reset run: nothing to publish beyond its output
};

Outcome Run(Deps& deps, const Options& opts);

}  // namespace cairn::ops::convert

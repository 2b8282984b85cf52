// report/metrics_catalog: the metric families each operation pushes (README "Metrics"), built
// from the run's final status and the vault's catalog (vault/catalog.h).
//
// Values that must survive a failed run or a restarted pod come from the catalog, never from
// process memory: the last success of a policy is the newest complete, Completed backup of
// that policy in the vault, so a failed run pushes the right one; run counts, the failure
// table and the KubeDR-compatible series are recomputed on every push. The run being reported
// replaces its own (still InProgress) catalog entry. No label carries a run or pod name,
// except `backup` of cairn_backup_failure_info, which is bounded by `failure_limit`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/metrics.h"
#include "vault/catalog.h"
#include "vault/status.h"

namespace cairn::report {

// The `policy` label (and grouping key) of a run without a policy.
inline constexpr std::string_view kManualPolicy = "_manual";
inline constexpr size_t kDefaultFailureInfoLimit = 10;

struct VaultFacts {
  std::string name;
  std::string bucket;  // "" for file:// vaults
  std::string region;
  std::string endpoint;
  std::string network;  // internal | public (OSS), else default
};

// cairn_vault_*: from a vault-check's status and, when the vault could be listed, its catalog.
MetricSet VaultMetrics(const VaultFacts& vault, const vault::RunStatus& check,
                       const std::vector<vault::BackupEntry>* catalog);

struct BackupFacts {
  std::string vault;
  std::string policy;                       // "" for a run without a policy
  std::optional<double> schedule_interval;  // seconds, from the policy's schedule
  std::string backup_type = "AppBackup";    // AppBackup | AppAndPvBackup
  std::string data_type = "none";           // none | fs | snapshot | all
  std::string run_name;                     // this run's backup name
  bool from_schedule = false;               // this run was named by its schedule
  size_t failure_limit = kDefaultFailureInfoLimit;
  bool kubedr = true;  // the KubeDR-compatible families
};

// cairn_backup_* and kubedr_*: `run` is this run's final status, `catalog` the vault's backups
// (may be empty when the vault could not be listed).
MetricSet BackupMetrics(const BackupFacts& facts, const vault::RunStatus& run,
                        std::vector<vault::BackupEntry> catalog);

// cairn_restore_*: `policy` is the restore policy's name ("" for none).
MetricSet RestoreMetrics(const std::string& vault, const std::string& policy,
                         const vault::RunStatus& run);

// cairn_gc_*: the last gc run of `vault` (its counts and freed bytes).
MetricSet GcMetrics(const std::string& vault, const vault::RunStatus& run);

// cairn_convert_*: the last conversion of `vault` (objects rewritten, sizes raised).
MetricSet ConversionMetrics(const std::string& vault, const vault::RunStatus& run);

// "1" Completed / Available, "0.5" PartiallyFailed, "0" otherwise.
double StatusValue(std::string_view phase);

// The reason of a failed run in a short, stable form: the first line of its first error (or
// of its message), at most 120 bytes, cut on a UTF-8 boundary.
std::string ShortReason(const vault::RunStatus& run);

// The label value of a policy: the name, or kManualPolicy.
std::string PolicyLabel(std::string_view policy);

}  // namespace cairn::report

#include "report/metrics_catalog.h"

#include <algorithm>
#include <chrono>
#include <map>

namespace cairn::report {
namespace {

// Whole seconds, the precision of the status documents, so a value read back from the catalog
// equals the one the run itself pushed.
double Seconds(base::TimePoint t) {
  return static_cast<double>(
      std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
}

// When a run ended: its completion time, else its heartbeat, else its start.
base::TimePoint EndOf(const vault::RunStatus& st) {
  if (st.completion_time) return *st.completion_time;
  return st.heartbeat_time != base::TimePoint{} ? st.heartbeat_time : st.start_time;
}

int64_t Get(const std::map<std::string, int64_t>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// KubeDR's documented bucket bounds: 15s 30s 1m 5m 10m 15m 30m 1h 2h 5h 10h.
const std::vector<double> kKubedrBuckets = {15,   30,   60,   300,   600,  900,
                                            1800, 3600, 7200, 18000, 36000};

bool IsFailure(std::string_view phase) {
  return phase == vault::kPhaseFailed || phase == vault::kPhasePartiallyFailed;
}

// The run replaces its catalog entry (written InProgress at its start), or joins the catalog.
void MergeRun(std::vector<vault::BackupEntry>& catalog, const vault::RunStatus& run) {
  for (auto& e : catalog) {
    if (e.name != run.name) continue;
    e.phase = run.phase;
    e.status = run;
    return;
  }
  vault::BackupEntry e;
  e.name = run.name;
  e.phase = run.phase;
  e.created = run.start_time;
  e.status = run;
  catalog.push_back(std::move(e));
}

void LastRunFamilies(MetricSet& m, const Labels& l, const vault::RunStatus& run,
                     const std::string& op) {
  const std::string p = "cairn_" + op + "_last_";
  m.Gauge(p + "status",
          "Outcome of the last " + op + " run: 1 Completed, 0.5 PartiallyFailed, 0 Failed.", l,
          StatusValue(run.phase));
  m.Gauge(p + "run_timestamp_seconds", "When the last " + op + " run ended (Unix time).", l,
          Seconds(EndOf(run)));
  m.Gauge(p + "duration_seconds", "Duration of the last " + op + " run.", l, run.duration_seconds);
  m.Gauge(p + "errors", "Errors of the last " + op + " run.", l,
          static_cast<double>(run.errors.count));
  m.Gauge(p + "warnings", "Warnings of the last " + op + " run.", l,
          static_cast<double>(run.warnings.count));
}

void FailureInfo(MetricSet& m, const BackupFacts& f, const std::vector<vault::BackupEntry>& mine) {
  size_t n = 0;
  for (auto it = mine.rbegin(); it != mine.rend() && n < f.failure_limit; ++it) {
    if (!IsFailure(it->phase) || !it->status) continue;
    ++n;
    auto sched = it->status->extra.find("fromSchedule");
    const bool scheduled = sched != it->status->extra.end()
                               ? sched->second == "true"
                               : it->name == f.run_name && f.from_schedule;
    m.Gauge("cairn_backup_failure_info",
            "1 for each of the most recent failed or partially failed backups of the policy.",
            {{"vault", f.vault},
             {"policy", PolicyLabel(f.policy)},
             {"backup", it->name},
             {"backup_type", f.backup_type},
             {"data_type", f.data_type},
             {"from_schedule", scheduled ? "true" : "false"},
             {"reason", ShortReason(*it->status)}},
            1);
  }
}

void Kubedr(MetricSet& m, const BackupFacts& f, const vault::RunStatus& run,
            const std::vector<vault::BackupEntry>& mine) {
  const Labels l = {{"policyName", PolicyLabel(f.policy)}};
  int64_t ok = 0, failed = 0;
  std::vector<double> durations;
  for (const auto& e : mine) {
    ok += e.phase == vault::kPhaseCompleted ? 1 : 0;
    failed += IsFailure(e.phase) ? 1 : 0;
    if (e.status && e.phase != vault::kPhaseInProgress && e.status->duration_seconds > 0) {
      durations.push_back(e.status->duration_seconds);
    }
  }
  m.Gauge("kubedr_backup_size_bytes", "KubeDR-compatible: stored size of the last backup.", l,
          static_cast<double>(Get(run.sizes, "storedBytes")));
  m.Gauge("kubedr_num_backups", "KubeDR-compatible: backups of the policy in the vault.", l,
          static_cast<double>(mine.size()));
  m.Gauge("kubedr_num_successful_backups",
          "KubeDR-compatible: Completed backups of the policy in the vault.", l,
          static_cast<double>(ok));
  m.Gauge("kubedr_num_failed_backups",
          "KubeDR-compatible: Failed or PartiallyFailed backups of the policy in the vault.", l,
          static_cast<double>(failed));
  m.Histogram("kubedr_backup_duration_seconds",
              "KubeDR-compatible: durations of the policy's backups in the vault.", l,
              kKubedrBuckets, durations);
}

}  // namespace

double StatusValue(std::string_view phase) {
  if (phase == vault::kPhaseCompleted || phase == vault::kPhaseAvailable) return 1;
  if (phase == vault::kPhasePartiallyFailed) return 0.5;
  return 0;
}

std::string PolicyLabel(std::string_view policy) {
  return policy.empty() ? std::string(kManualPolicy) : std::string(policy);
}

std::string ShortReason(const vault::RunStatus& run) {
  std::string s = run.errors.items.empty() ? run.message : run.errors.items.front().message;
  if (size_t nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  if (s.size() > 120) {
    size_t cut = 120;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
  }
  return s.empty() ? "unknown" : s;
}

MetricSet VaultMetrics(const VaultFacts& v, const vault::RunStatus& check,
                       const std::vector<vault::BackupEntry>* catalog) {
  MetricSet m;
  const Labels l = {{"vault", v.name}};
  m.Gauge("cairn_vault_info", "The vault's location; always 1.",
          {{"vault", v.name},
           {"bucket", v.bucket},
           {"region", v.region},
           {"endpoint", v.endpoint},
           {"network", v.network.empty() ? "default" : v.network}},
          1);
  for (std::string_view phase :
       {vault::kPhaseAvailable, vault::kPhaseUnavailable, vault::kPhaseInProgress}) {
    m.Gauge("cairn_vault_phase", "The vault's phase as a state set: 1 for the current phase.",
            {{"vault", v.name}, {"phase", std::string(phase)}}, check.phase == phase ? 1 : 0);
  }
  m.Gauge("cairn_vault_last_check_timestamp_seconds", "When the vault was last checked.", l,
          Seconds(EndOf(check)));
  m.Gauge("cairn_vault_check_duration_seconds", "Duration of the last vault check.", l,
          check.duration_seconds);
  if (catalog == nullptr) return m;
  std::map<std::string, int64_t> by_phase = {{std::string(vault::kPhaseCompleted), 0},
                                             {std::string(vault::kPhasePartiallyFailed), 0},
                                             {std::string(vault::kPhaseFailed), 0},
                                             {std::string(vault::kPhaseInProgress), 0}};
  double stored = 0;
  std::optional<base::TimePoint> oldest;
  for (const auto& e : *catalog) {
    ++by_phase[e.phase];
    stored += static_cast<double>(e.size);
    if (e.complete && (!oldest || e.created < *oldest)) oldest = e.created;
  }
  for (const auto& [phase, n] : by_phase) {
    m.Gauge("cairn_vault_backups", "Backups in the vault by phase.",
            {{"vault", v.name}, {"phase", phase}}, static_cast<double>(n));
  }
  m.Gauge("cairn_vault_stored_bytes", "Bytes stored under the vault's backups.", l, stored);
  if (oldest) {
    m.Gauge("cairn_vault_oldest_backup_timestamp_seconds",
            "When the oldest complete backup in the vault was taken.", l, Seconds(*oldest));
  }
  return m;
}

MetricSet BackupMetrics(const BackupFacts& f, const vault::RunStatus& run,
                        std::vector<vault::BackupEntry> catalog) {
  MergeRun(catalog, run);
  std::vector<vault::BackupEntry> mine;  // this policy's backups, oldest first
  for (auto& e : catalog) {
    if (e.status && e.status->policy == f.policy) mine.push_back(std::move(e));
  }
  std::stable_sort(mine.begin(), mine.end(),
                   [](const auto& a, const auto& b) { return a.created < b.created; });
  MetricSet m;
  const Labels l = {{"vault", f.vault}, {"policy", PolicyLabel(f.policy)}};
  LastRunFamilies(m, l, run, "backup");
  std::optional<base::TimePoint> success;
  std::map<std::string, int64_t> runs = {{std::string(vault::kPhaseCompleted), 0},
                                         {std::string(vault::kPhasePartiallyFailed), 0},
                                         {std::string(vault::kPhaseFailed), 0},
                                         {std::string(vault::kPhaseInProgress), 0}};
  for (const auto& e : mine) {
    ++runs[e.phase];
    if (e.phase == vault::kPhaseCompleted && (e.complete || e.name == run.name)) {
      base::TimePoint t = EndOf(*e.status);
      if (!success || t > *success) success = t;
    }
  }
  if (success) {
    m.Gauge("cairn_backup_last_success_timestamp_seconds",
            "When the newest Completed backup of the policy in the vault ended.", l,
            Seconds(*success));
  }
  m.Gauge("cairn_backup_last_size_bytes", "Stored bytes of the last backup.", l,
          static_cast<double>(Get(run.sizes, "storedBytes")));
  m.Gauge("cairn_backup_last_logical_bytes", "Bytes of the last backup before compression.", l,
          static_cast<double>(Get(run.sizes, "logicalBytes")));
  m.Gauge("cairn_backup_last_items", "API objects in the last backup.", l,
          static_cast<double>(Get(run.counts, "objects")));
  for (const auto& [phase, n] : runs) {
    m.Gauge("cairn_backup_runs", "Backups of the policy in the vault by phase.",
            {{"vault", f.vault}, {"policy", PolicyLabel(f.policy)}, {"phase", phase}},
            static_cast<double>(n));
  }
  if (f.schedule_interval) {
    m.Gauge("cairn_backup_schedule_interval_seconds",
            "Longest gap between two scheduled runs of the policy.", l, *f.schedule_interval);
  }
  m.Gauge("cairn_backup_info", "The kind of backup the policy takes; always 1.",
          {{"vault", f.vault},
           {"policy", PolicyLabel(f.policy)},
           {"backup_type", f.backup_type},
           {"data_type", f.data_type}},
          1);
  FailureInfo(m, f, mine);
  if (f.kubedr) Kubedr(m, f, run, mine);
  return m;
}

MetricSet RestoreMetrics(const std::string& vault, const std::string& policy,
                         const vault::RunStatus& run) {
  MetricSet m;
  const Labels l = {{"vault", vault}, {"policy", PolicyLabel(policy)}};
  LastRunFamilies(m, l, run, "restore");
  for (const char* action : {"created", "updated", "skipped", "failed"}) {
    m.Gauge("cairn_restore_last_items", "Objects of the last restore by what was done to them.",
            {{"vault", vault}, {"policy", PolicyLabel(policy)}, {"action", action}},
            static_cast<double>(Get(run.counts, action)));
  }
  return m;
}

MetricSet GcMetrics(const std::string& vault, const vault::RunStatus& run) {
  MetricSet m;
  const Labels l = {{"vault", vault}};
  LastRunFamilies(m, l, run, "gc");
  const int64_t deleted = Get(run.counts, "expired") + Get(run.counts, "deletedByRetention") +
                          Get(run.counts, "deletedByRequest");
  m.Gauge("cairn_gc_last_deleted_backups",
          "Backups the last gc deleted (expired, by retention or by request).", l,
          static_cast<double>(deleted));
  m.Gauge("cairn_gc_last_freed_bytes", "Stored bytes the last gc freed.", l,
          static_cast<double>(Get(run.sizes, "freedBytes")));
  m.Gauge("cairn_gc_last_reaped_runs", "Abandoned runs the last gc marked Failed.", l,
          static_cast<double>(Get(run.counts, "abandonedRuns")));
  m.Gauge("cairn_gc_last_aborted_uploads", "Pending multipart uploads the last gc aborted.", l,
          static_cast<double>(Get(run.counts, "uploadsAborted")));
  return m;
}

MetricSet ConversionMetrics(const std::string& vault, const vault::RunStatus& run) {
  MetricSet m;
  const Labels l = {{"vault", vault}};
  LastRunFamilies(m, l, run, "convert");
  m.Gauge("cairn_convert_last_rewritten_objects",
          "PVCs, PVs and volumeClaimTemplates the last conversion rewrote.", l,
          static_cast<double>(Get(run.counts, "rewritten")));
  m.Gauge("cairn_convert_last_raised_sizes",
          "Claims the last conversion raised to their provisioner's minimum size.", l,
          static_cast<double>(Get(run.counts, "sizesRaised")));
  return m;
}

}  // namespace cairn::report

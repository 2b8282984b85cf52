// config/policy: backup policies, [policies.NAME] in the config file or the same keys as flags.
//
// A BackupPolicy says what one backup-run takes (namespaces, resources, label selectors,
// cluster-scoped objects, API versions) and how (vault, ttl, timeout, schedule, compression).
// Everything in it has been validated: namespace patterns are well-formed globs, resource
// names have a valid form, label selectors parse, the schedule is a valid 5-field cron
// expression or an interval, and `vault` names a vault defined in the same file. The config
// loader (config.h) binds [policies.NAME] and reports problems as FILE:LINE:COLUMN like every
// other key; PolicyFromFlags applies the flags of a one-off run on top of a policy.
//
// The pattern and selector languages are defined here, beside their validation, so the
// config and the backup (ops/backup/selection.h) can never disagree about what they mean:
//   - namespace patterns are fnmatch-style globs: `*`, `?`, `[a-z]`, `[!a-z]` (or `[^a-z]`);
//   - resources are `resource` ("deployments"), `resource.group` ("deployments.apps") or
//     `Kind` ("Deployment", matched case-insensitively), optionally `Kind.group`; "*" is all;
//   - label selectors are Kubernetes' syntax: `a=b`, `a==b`, `a!=b`, `a in (b,c)`,
//     `a notin (b,c)`, `a` (exists), `!a` (does not exist), comma-separated (AND).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/flags.h"

namespace cairn::config {

// `schedule`: a 5-field cron expression (or @daily-style descriptor) for a CronJob, or an
// interval ("6h30m") for a run started by a more frequent CronJob with --min-interval.
struct Schedule {
  std::string text;                        // as written; empty: no schedule
  std::optional<base::Duration> interval;  // set for the interval form
  bool empty() const { return text.empty(); }
  bool is_cron() const { return !text.empty() && !interval.has_value(); }
};

inline constexpr base::Duration kDefaultTtl = std::chrono::hours(720);
inline constexpr base::Duration kDefaultPolicyTimeout = std::chrono::minutes(60);
inline constexpr base::Duration kMinScheduleInterval = std::chrono::minutes(1);
inline constexpr int kDefaultCompressionLevel = 3;
inline constexpr base::Duration kDefaultHeartbeatInterval = std::chrono::seconds(30);
// At most a third of the 15 minutes after which gc and vault-check take a silent run for
// abandoned (vault::kStaleHeartbeat), so a live run never looks abandoned.
inline constexpr base::Duration kMaxHeartbeatInterval = std::chrono::minutes(5);
// Ok when `d` is from 1s to kMaxHeartbeatInterval.
base::Status CheckHeartbeatInterval(base::Duration d);
inline constexpr int kMinCompressionLevel = 1;
inline constexpr int kMaxCompressionLevel = 19;

// Retention of a policy's backups, applied by gc with restic's semantics (ops/gc/retention.h):
// keep_last N newest; keep_hourly/daily/weekly/monthly/yearly: the newest backup of each of the
// N most recent hours/days/ISO weeks/months/years (UTC) that have one; keep_within: every
// backup made within that duration of the newest one; keep_failed_last: the N newest failed or
// partially failed runs. 0 disables a rule, -1 means unlimited. A policy with no keep_* rule
// (keep_failed_last aside) is governed by TTL only.
struct Retention {
  int keep_last = 0;
  int keep_hourly = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
  base::Duration keep_within{0};
  int keep_failed_last = 1;
  // True when a rule other than keep_failed_last is set.
  bool Any() const {
    return keep_last || keep_hourly || keep_daily || keep_weekly || keep_monthly || keep_yearly ||
           keep_within > base::Duration::zero();
  }
};
inline constexpr int kMaxKeepCount = 1000000;

// Volume data of a backup (README "Volume data"; runner/mover/README.md).
inline constexpr base::Duration kDefaultVolumeTimeout = std::chrono::hours(1);
inline constexpr int kMaxMoverConcurrency = 64;
// mover_resources: requests and limits of each mover container ("cpu", "memory",
// "ephemeral-storage" → a Kubernetes quantity). A table given in the config replaces the
// default of its kind.
struct MoverResources {
  std::map<std::string, std::string> requests = {{"cpu", "50m"}, {"memory", "64Mi"}};
  std::map<std::string, std::string> limits = {{"memory", "256Mi"}};
};
// How the mover Jobs of a run (backup or restore) are made (runner/mover/README.md).
struct MoverSettings {
  base::Duration volume_timeout = kDefaultVolumeTimeout;  // one volume's mover, start to end
  int concurrency = 1;                                    // mover_concurrency: per node
  // mover_nodes: where a mover may run when no workload pins it: "exclude" (all but nodes
  // labelled cairn.io/agent-excluded=true), "include" (only cairn.io/agent-included=true),
  // "prefer" (anywhere, preferring cairn.io/agent-included=true).
  std::string nodes = "exclude";
  std::string image;  // mover_image: "" = the image of the running executable
  MoverResources resources;
  // mover_privileged: movers of workloads that run as root get CAP_DAC_READ_SEARCH (backup) or
  // CAP_CHOWN/CAP_FOWNER (restore); without it such a volume fails, naming the setting.
  bool privileged = false;
};
// Ok for "none", "fs", "snapshot", "all"; the word otherwise names what is not supported.
base::Status CheckVolumesMode(std::string_view mode);
// volume_snapshot_class: "" (the driver's default class) or a DNS subdomain.
base::Status CheckSnapshotClassName(std::string_view name);

// [policies.NAME]
struct BackupPolicy {
  std::string name;   // NAME: same rules as vault names; "" for an ad-hoc (flags only) run
  std::string vault;  // a vault defined in the config; "" = the run's usual vault choice
  std::vector<std::string> include_namespaces;  // globs; empty = every namespace
  std::vector<std::string> exclude_namespaces;  // globs
  std::vector<std::string> include_resources;   // empty = every resource
  std::vector<std::string> exclude_resources;
  std::string label_selector;                   // "" = none
  std::vector<std::string> or_label_selectors;  // an object matching any of them is selected
  // "auto": the cluster-scoped objects the selected namespaces depend on
  // (ops/backup/dependencies.h); "true": every cluster-scoped object; "false": none. The file
  // takes the string "auto" or a boolean; it is stored as one of these three words.
  std::string include_cluster_resources = "auto";
  std::string api_versions = "all";  // "all" served versions of each resource, or "preferred"
  base::Duration ttl = kDefaultTtl;
  // Whole-run deadline. A policy without the key takes [defaults] timeout when that is set.
  base::Duration timeout = kDefaultPolicyTimeout;
  Schedule schedule;
  int compression_level = kDefaultCompressionLevel;  // zstd level, 1..19
  Retention retention;                               // keep_* keys: what gc keeps (Retention above)
  // How often a running backup rewrites its status (heartbeatTime) in the vault and ConfigMap.
  base::Duration heartbeat_interval = kDefaultHeartbeatInterval;
  std::string origin;  // "FILE:LINE" of [policies.NAME]; empty when ad hoc
  // --- volume data ---
  // "none": API objects only; "fs": each selected PVC's files through a mover Job; "snapshot":
  // a CSI snapshot of each; "all": both (the files exported from the snapshot).
  std::string volumes = "none";
  // "snapshot"/"all": the VolumeSnapshotClass to use; "" = the default class of each PVC's driver.
  std::string volume_snapshot_class;
  MoverSettings movers;
};

// Policy names become label values (cairn.io/policy) and run-name prefixes: the vault-name
// rules ([a-z0-9][-a-z0-9]*, at most 63 characters, ending with a letter or digit).
base::Status ValidatePolicyName(std::string_view name);

// A scheduled backup is named "<policy>-<YYYYMMDDHHMMSS>" (ops/backup/naming.h): 15 characters
// after the policy name. A backup name has at most 63 characters (vault::ValidateName): it is
// a Kubernetes label value (cairn.io/backup-name on restored objects, at most 63) and names the
// status ConfigMap "cairn-backup-<name>" (76 of the 253 a ConfigMap name may have). So a backup
// policy's name has at most 63 - 15 = 48 characters.
inline constexpr size_t kMaxBackupNameLength = 63;
inline constexpr size_t kScheduledNameSuffixLength = 15;  // "-YYYYMMDDHHMMSS"
inline constexpr size_t kMaxBackupPolicyNameLength =
    kMaxBackupNameLength - kScheduledNameSuffixLength;

// [policies.NAME]: ValidatePolicyName, and at most kMaxBackupPolicyNameLength characters so
// that every scheduled backup name is valid.
base::Status ValidateBackupPolicyName(std::string_view name);

// --- Value languages -------------------------------------------------------------------------

// A namespace glob: lowercase letters, digits and '-', plus `*`, `?` and bracket classes.
base::Status ValidateNamespacePattern(std::string_view pattern);
// fnmatch(3) without flags over the whole of `s`. A malformed class matches nothing.
bool GlobMatch(std::string_view pattern, std::string_view s);
// True when `pattern` has no glob metacharacter (it can only name one namespace literally).
bool IsLiteralPattern(std::string_view pattern);

// `resource`, `resource.group`, `Kind`, `Kind.group` or "*".
base::Status ValidateResourceName(std::string_view name);

// One requirement of a label selector.
struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kNotExists };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;  // one for kEquals/kNotEquals, sorted set for kIn/kNotIn
  bool operator==(const LabelRequirement&) const = default;
};

// Whether one requirement holds for a label's value (`value` null: the object lacks the label).
bool LabelRequirementHolds(const LabelRequirement& r, const std::string* value);

// Whether a resource answers to a resource item of a backup or restore policy: "*",
// "resource", "resource.group", "Kind" or "Kind.group" (Kind case-insensitive; `kind` may be "").
bool ResourceMatches(std::string_view group, std::string_view resource, std::string_view kind,
                     std::string_view item);

// Parses a Kubernetes label selector; "" is the empty selector (no requirements: matches
// everything). Keys are qualified names (optional DNS-subdomain prefix and '/'), values are
// label values (at most 63 characters, may be empty). `>`/`<` (node selectors only) are
// rejected.
base::Result<std::vector<LabelRequirement>> ParseLabelSelector(std::string_view selector);

// A 5-field cron expression as Kubernetes CronJobs accept it (minute hour day-of-month month
// day-of-week; `*`, `?`, lists, ranges, steps, JAN-DEC and SUN-SAT names; day-of-week 0-6),
// or @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly.
base::Status ValidateCron(std::string_view expr);
// A cron expression or a positive interval of at least kMinScheduleInterval.
base::Result<Schedule> ParseSchedule(std::string_view text);

// --- Flags -----------------------------------------------------------------------------------

// Registers one flag per policy key: --include-namespaces,
// --exclude-namespaces, --include-resources, --exclude-resources (comma lists),
// --label-selector, --or-label-selectors ("A or B", Velero's form: commas belong to the
// selectors), --include-cluster-resources auto|true|false, --api-versions all|preferred,
// --ttl, --compression-level. The policy's timeout is the common --timeout. `vault` has no
// flag of its own: --vault/--url choose the vault (config/cli.h ResolveVault). --policy NAME
// is the executable's (SelectPolicy in config.h resolves it).
void AddPolicyFlags(FlagSet& flags);

// `base` with every policy flag that was given applied on top (flags win; a list flag
// replaces the list). Values are validated like the config's; errors name the flag.
base::Result<BackupPolicy> PolicyFromFlags(const ParsedFlags& flags, const BackupPolicy& base);

// gc's retention flags: --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly,
// --keep-yearly (N, -1 = unlimited), --keep-within DURATION, --keep-failed-last N.
void AddRetentionFlags(FlagSet& flags);
// Whether any retention flag was given.
bool HasRetentionFlags(const ParsedFlags& flags);
// `base` with every retention flag that was given applied on top.
Retention RetentionFromFlags(const ParsedFlags& flags, const Retention& base);

// Splits an --or-label-selectors value on " or " and validates each selector.
base::Result<std::vector<std::string>> SplitOrSelectors(std::string_view value);

}  // namespace cairn::config

// config/restore_policy: restore policies, [restores.NAME] in the config file or the same keys
// as flags.
//
// A RestorePolicy says what one restore-run takes out of a backup (namespaces, resources, a label
// selector) and how it lands in the target cluster (namespace, storage class, access mode and
// image registry mappings, what happens to objects that already exist, the order). Everything in
// it has been validated: namespace patterns, resource names and the label selector follow the
// backup policy's languages (config/policy.h), mapping keys and values have the form of what
// they name, no two namespaces are mapped onto one, and `vault` names a vault defined in the
// same file. The config loader (config.h) binds [restores.NAME] and reports problems as
// FILE:LINE:COLUMN like every other key; RestorePolicyFromFlags applies the flags of a run on
// top of a policy; SelectRestorePolicy picks the policy by name.
//
// Filters apply to the objects as they are in the backup, before any mapping: include_namespaces
// names source namespaces. Mappings, as TOML inline tables or FROM=TO,... flags:
//   - namespace_mapping      { shop = "shop-copy" }: namespace names (RFC 1123 labels), no two
//                            sources with the same target (that would merge two namespaces);
//   - storage_class_mapping  { standard = "fast-ssd" }: StorageClass names (RFC 1123
//                            subdomains); several classes may become one;
//   - convert_to_access_modes { ReadWriteMany = "ReadWriteOnce" }: ReadWriteOnce, ReadOnlyMany,
//                            ReadWriteMany or ReadWriteOncePod on both sides;
//   - image_registry_mapping { "docker.io/library/" = "mirror.example.com/lib/" }: image
//                            reference prefixes (non-empty, no whitespace or control characters),
//                            replaced as plain string prefixes.
// A mapping keeps its entries in the order written (file order, or the order of the flag).
// A mapping target that is also a namespace of the backup which is itself not mapped away
// merges two namespaces too; only the backup's contents can tell, so the restore plan checks it.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/flags.h"
#include "config/policy.h"

namespace cairn::config {

struct Config;

inline constexpr base::Duration kDefaultRestoreTimeout = std::chrono::minutes(60);
// Objects written at once (restore_workers, --restore-workers).
inline constexpr int kDefaultRestoreWorkers = 4;
inline constexpr int kMaxRestoreWorkers = 64;

// FROM -> TO pairs in the order given.
using Mapping = std::vector<std::pair<std::string, std::string>>;

// [restores.NAME]
struct RestorePolicy {
  std::string name;    // NAME: the policy-name rules (config/policy.h); "" for an ad-hoc run
  std::string origin;  // "FILE:LINE" of [restores.NAME]; empty when ad hoc
  std::string vault;   // a vault defined in the config; "" = the run's usual vault choice
  std::vector<std::string> include_namespaces;  // globs over source namespaces; empty = all
  std::vector<std::string> exclude_namespaces;  // globs
  std::vector<std::string> include_resources;   // resource, resource.group, Kind; empty = all
  std::vector<std::string> exclude_resources;
  std::string label_selector;  // "" = none
  Mapping namespace_mapping;
  Mapping storage_class_mapping;
  Mapping convert_to_access_modes;
  Mapping image_registry_mapping;
  // "none": an object that already exists is kept (a warning when it differs from the backup);
  // "update": it is updated with server-side apply.
  std::string existing_resource_policy = "none";
  // Volume data of a backup with volumes: "empty" restores into empty volumes only (a volume
  // holding files is an error naming the PVC); "overwrite" writes over existing files.
  std::string existing_data = "empty";
  MoverSettings movers;              // the restore movers (volume_timeout, mover_* keys)
  bool preserve_node_ports = false;  // keep Services' auto-assigned nodePorts
  bool restore_status = false;       // restore the status of custom resources
  // Resources restored first, in this order, before the built-in order for everything else.
  // Each is a resource name as in include_resources ("*" is not allowed), at most once.
  std::vector<std::string> priorities;
  // Objects written to the API server at once, 1..kMaxRestoreWorkers. The client's rate limit
  // ([kubernetes] qps, burst) still applies to all of them together.
  int restore_workers = kDefaultRestoreWorkers;
  // Whole-run deadline: the restore's `timeout`, else [defaults] timeout, else 60m. The loader,
  // SelectRestorePolicy and RestorePolicyFromFlags always leave it set.
  std::optional<base::Duration> timeout = kDefaultRestoreTimeout;
};

// --- Value languages -------------------------------------------------------------------------

// A namespace name (not a pattern): an RFC 1123 label, at most 63 characters.
base::Status ValidateNamespaceName(std::string_view name);
// A StorageClass name: an RFC 1123 subdomain, at most 253 characters.
base::Status ValidateStorageClassName(std::string_view name);
// ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod (exact spelling).
base::Status ValidateAccessMode(std::string_view mode);
// An image reference prefix such as "docker.io/library/": non-empty, no whitespace or control
// characters.
base::Status ValidateRegistryPrefix(std::string_view prefix);

enum class MappingKind { kNamespace, kStorageClass, kAccessMode, kImageRegistry };

// The key and flag words of a mapping: "namespace_mapping" / "namespace-mapping", ...
std::string_view MappingKey(MappingKind kind);
std::string MappingFlag(MappingKind kind);

// One problem of a mapping: entry `index`, in its FROM (at_target false) or its TO.
struct MappingProblem {
  size_t index = 0;
  bool at_target = false;
  std::string message;
};

// Every problem of `mapping`, in entry order: the form of each FROM and TO, a FROM given twice,
// and for namespaces an entry whose TO an earlier entry already maps to ("namespaces a and b
// both map to c", reported at the later entry's TO). Empty when the mapping is valid.
std::vector<MappingProblem> CheckMapping(MappingKind kind, const Mapping& mapping);

// Every problem of a priorities list: invalid resource names, "*", an item given twice.
// Pairs of (index, message), in order.
std::vector<std::pair<size_t, std::string>> CheckPriorities(const std::vector<std::string>& list);

// --- Flags -----------------------------------------------------------------------------------

// Registers one flag per restore policy key: --include-namespaces, --exclude-namespaces,
// --include-resources, --exclude-resources (comma lists), --label-selector,
// --namespace-mapping, --storage-class-mapping, --convert-to-access-modes,
// --image-registry-mapping (FROM=TO,...), --existing-resource-policy none|update,
// --preserve-node-ports, --restore-status (bools, =false to turn a policy's true off),
// --priorities (comma list), --restore-workers N. The timeout is the common --timeout; `vault` has
// no flag (--vault and --url choose the vault). The filter flags share their names with the backup
// policy's (AddPolicyFlags): an executable registers only one of the two sets.
void AddRestorePolicyFlags(FlagSet& flags);

// `base` with every restore flag that was given applied on top (flags win; a list or mapping
// flag replaces the policy's). Values are validated like the config's; errors name the flag:
// "--namespace-mapping: namespaces a and b both map to c".
base::Result<RestorePolicy> RestorePolicyFromFlags(const ParsedFlags& flags,
                                                   const RestorePolicy& base);

// The restore policy of a run (--policy NAME): [restores.NAME] of `cfg` (kInvalidArgument
// naming the defined restore policies, with a did-you-mean, when there is none), or for an empty
// `name` an ad-hoc policy with the built-in defaults and [defaults] timeout. `cfg` is null when
// there is no config file. Declared here and in reach of config.h's users alike.
base::Result<RestorePolicy> SelectRestorePolicy(const Config* cfg, std::string_view name);

}  // namespace cairn::config

// mover/job_spec: the mover Job (batch/v1) as a pure function of its inputs.
//
// One Job per volume, in the PVC's namespace: the `backup-run --mover` / `restore-run --mover`
// container mounts the claim at /cairn/volume (read-only for a backup), reads the vault
// credentials from a Secret the launcher creates beside it, and runs under Pod Security
// `restricted` unless the workload runs as root and mover_privileged allowed it (README
// "Security"). The same input always gives the same JSON (golden files in
// tests/unit/mover/golden); the names are deterministic and valid DNS labels.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "mover/placement.h"

namespace cairn::mover {

enum class Direction { kBackup, kRestore };
std::string_view DirectionName(Direction d);  // "backup" | "restore"

inline constexpr char kVolumeMountPath[] = "/cairn/volume";
inline constexpr char kCaMountDir[] = "/cairn/ca";
inline constexpr char kCaKey[] = "ca.crt";  // the Secret key holding the CA bundle
inline constexpr char kContainerName[] = "mover";
// Job annotations: the volume as backed up, and the credentials Secret's name.
inline constexpr char kNamespaceAnnotation[] = "cairn.io/namespace";
inline constexpr char kPvcAnnotation[] = "cairn.io/pvc";
inline constexpr char kSecretAnnotation[] = "cairn.io/credentials-secret";

struct OwnerRef {  // metadata.ownerReferences[0] (same namespace only)
  std::string api_version, kind, name, uid;
};

struct JobSpecInput {
  Direction direction = Direction::kBackup;
  std::string backup_name;          // the backup (both directions)
  std::string restore_name;         // restore only
  std::string namespace_name, pvc;  // the volume as named in the backup (NS/PVC)
  // The claim the Job mounts and the namespace it runs in: the PVC itself, a temporary PVC made
  // from a snapshot (ReadWriteOncePod) or, for a restore, the new PVC. "" = pvc/namespace_name.
  std::string claim_name, job_namespace;
  std::string image;
  std::vector<std::string> vault_args;  // vault flags as the parent got them (--url ...)
  std::vector<std::string> extra_args;  // e.g. --existing-data overwrite, --compression-level 3
  std::string secret_name;              // the credentials Secret (SecretName(job name) usually)
  std::vector<std::string> credential_keys;  // its keys that become env vars (AWS_ACCESS_KEY_ID...)
  bool ca_bundle = false;  // the Secret holds kCaKey: mounted, `--ca-file` points at it
  Placement placement;     // node pinning, identity, tolerations
  NodePolicy node_policy = NodePolicy::kExclude;        // when the placement does not pin a node
  nlohmann::json resources = nlohmann::json::object();  // container resources as given
  int64_t active_deadline_seconds = 3600;               // volume_timeout
  int64_t ttl_seconds_after_finished = 600;
  std::optional<OwnerRef> owner;  // the run's status ConfigMap when in the same namespace
};

// "cairn-backup-<backup>-<pvc>" / "cairn-restore-<restore>-<pvc>", lowercased, characters
// outside [a-z0-9-] as '-'; when that is longer than 63 characters or had to be changed, it is
// cut to 54 and "-<8 hex of a hash of the exact inputs>" appended, so different inputs give
// different names.
std::string JobName(Direction d, std::string_view run_name, std::string_view pvc);
// The credentials Secret of a Job: "<job>-vault" when that fits 63, else the job name cut.
std::string SecretName(std::string_view job_name);
// A valid label value for `v` (≤ 63, alphanumeric at both ends): `v` when valid, else a cut
// form with a hash suffix.
std::string LabelValue(std::string_view v);

// The Job. The caller has validated the names (a PVC and a namespace name are always valid).
nlohmann::json BuildJob(const JobSpecInput& in);

// Whether a built Job can run in a cluster: its container has an image. The API server accepts
// a Job whose template has none, but the job controller can never create its pod
// ("spec.containers[0].image: Required value"), so the mover would wait out volume_timeout.
// An image is unknown when the run is not in a pod and the policy sets no mover_image.
base::Status CheckClusterJob(const nlohmann::json& job);

}  // namespace cairn::mover

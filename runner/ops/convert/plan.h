// ops/convert/plan: the conversion of a verified backup for a target cluster, as a value.
//
// MakePlan reads the backup's PersistentVolumeClaims, PersistentVolumes and StatefulSets (their
// volumeClaimTemplates) from the spool, in the version v1 when stored (else the first stored),
// applies rules.h to each, and returns the conversion document: every object whose spec the
// conversion rewrites, and every validation result. It is what --dry-run prints and what
// Execute publishes; it holds no clock and no I/O, so the same backup, options and target make
// the same bytes (which is what makes a second identical run a no-op).
#pragma once

#include <string>

#include "base/status.h"
#include "content/conversion.h"
#include "content/spool.h"
#include "ops/convert/capabilities.h"
#include "ops/convert/rules.h"

namespace cairn::ops::convert {

struct PlanInput {
  std::string backup, backup_checksum, name;
  content::Mapping storage_class_mapping, access_mode_mapping;
  const CapabilityTable* table = nullptr;
  const Target* target = nullptr;
};

struct Plan {
  content::Conversion conversion;
  int64_t pvcs = 0, pvs = 0, templates = 0;  // claims read from the backup
  int64_t sizes_raised = 0;                  // claims raised to their class's minimum size
  int64_t errors() const;
  int64_t warnings() const;
};

[[nodiscard]] base::Result<Plan> MakePlan(const content::Spool& spool, const PlanInput& in);

// The plan as text: the mapping, then every rewritten object with its old and new class, access
// modes and size (the validation results are the run's errors and warnings).
std::string FormatPlan(const Plan& plan);

}  // namespace cairn::ops::convert

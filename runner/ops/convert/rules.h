// ops/convert/rules: the validation of one claim (a PVC, a PV or a StatefulSet's
// volumeClaimTemplate) of a backup against the target cluster, as a pure function.
//
// A claim whose storage class is mapped (storage_class_mapping) is rewritten and checked:
//   1. the target class exists, else an error "storageclass 'x' not exists in the target
//      cluster";
//   2. in a multi-zone cluster (Nodes carry more than one topology.kubernetes.io/zone), a
//      class with volumeBindingMode Immediate whose provisioner is zonal is an error "current
//      cluster is multi-zoned: storageclass 'x' binds immediately and would pin volumes to one
//      zone", with a HINT to use a WaitForFirstConsumer class;
//   3. access modes after convert_to_access_modes: ReadWriteMany or ReadOnlyMany on a class
//      whose provisioner is single-node is an error "multi-node writing is only supported for
//      block volume or shared file systems: PVC ns/x is ReadWriteMany, storageclass 'y'
//      (provisioner z) is single-node", unless the provisioner attaches raw block volumes to
//      several nodes and the claim is volumeMode: Block;
//   4. a requested size below the provisioner's minimum is raised to it, with a warning naming
//      the claim and both sizes (PVs keep their capacity: it describes an existing volume).
// A claim whose class is not mapped keeps it; when no class of that name exists in the target
// it is a warning ("will stay Pending until a class 'x' exists"). convert_to_access_modes applies
// to every claim (as restore-run applies it). A claim without a class (the default class)
// is left alone. An unknown provisioner is capable (capabilities.h), with a warning from the
// caller, once per class.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "content/conversion.h"
#include "ops/convert/capabilities.h"

namespace cairn::ops::convert {

// A StorageClass of the target cluster.
struct TargetClass {
  std::string name;
  std::string provisioner;
  std::string binding_mode = "Immediate";  // Immediate | WaitForFirstConsumer
};

struct Target {
  std::map<std::string, TargetClass> classes;  // by name
  std::set<std::string> zones;                 // topology.kubernetes.io/zone of the Nodes
  bool multi_zone() const { return zones.size() > 1; }
};

enum class ClaimKind { kPvc, kPv, kTemplate };

// What a rule needs of a claim, read from its object.
struct Claim {
  ClaimKind kind = ClaimKind::kPvc;
  std::string
      label;  // "PVC shop/data", "PV pv-1", "StatefulSet shop/db volumeClaimTemplate 'data'"
  nlohmann::json spec;  // the claim's (or PV's) spec as backed up
};

struct ClaimResult {
  bool changed = false;      // the spec differs from the backup's
  bool size_raised = false;  // rule 4 raised the request
  std::string source_class, target_class;
  nlohmann::json spec;  // rewritten
  std::vector<content::ConversionIssue> issues;
};

struct Rules {
  content::Mapping storage_class_mapping;
  content::Mapping access_mode_mapping;
  const CapabilityTable* table = nullptr;
  const Target* target = nullptr;
};

// The class of a claim spec: spec.storageClassName ("" when none).
std::string ClaimClass(const nlohmann::json& spec);

// Applies the rules to one claim.
ClaimResult Check(const Claim& claim, const Rules& rules);

}  // namespace cairn::ops::convert

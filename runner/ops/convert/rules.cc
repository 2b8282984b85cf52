#include "ops/convert/rules.h"

#include <algorithm>

#include "config/quantity.h"

namespace cairn::ops::convert {
namespace {

using nlohmann::json;

const std::string* Mapped(const content::Mapping& m, const std::string& from) {
  for (const auto& [f, t] : m) {
    if (f == from) return &t;
  }
  return nullptr;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

content::ConversionIssue Issue(const char* severity, const Claim& c, const std::string& cls,
                               std::string message) {
  return {severity, c.label, cls, std::move(message)};
}

// Maps spec.accessModes in place, dropping the duplicates the mapping creates.
void MapAccessModes(json& spec, const content::Mapping& m) {
  auto it = spec.find("accessModes");
  if (it == spec.end() || !it->is_array() || m.empty()) return;
  json out = json::array();
  for (json mode : *it) {
    if (mode.is_string()) {
      if (const std::string* to = Mapped(m, mode.get<std::string>())) mode = *to;
    }
    if (std::find(out.begin(), out.end(), mode) == out.end()) out.push_back(std::move(mode));
  }
  *it = std::move(out);
}

// The first multi-node access mode of the spec, or "".
std::string MultiNodeMode(const json& spec) {
  auto it = spec.find("accessModes");
  if (it == spec.end() || !it->is_array()) return "";
  for (const json& m : *it) {
    if (m == "ReadWriteMany" || m == "ReadOnlyMany") return m.get<std::string>();
  }
  return "";
}

bool IsBlock(const json& spec) { return spec.value("volumeMode", json()) == "Block"; }

// The member holding the claim's size: resources.requests.storage (claims) or
// capacity.storage (PVs); nullptr when absent.
json* SizeMember(json& spec, ClaimKind kind) {
  const char* outer = kind == ClaimKind::kPv ? "capacity" : "resources";
  auto o = spec.find(outer);
  if (o == spec.end() || !o->is_object()) return nullptr;
  json* holder = &*o;
  if (kind != ClaimKind::kPv) {
    auto r = holder->find("requests");
    if (r == holder->end() || !r->is_object()) return nullptr;
    holder = &*r;
  }
  auto s = holder->find("storage");
  return s == holder->end() ? nullptr : &*s;
}

// Rule 4: raises a claim's request to the provisioner's minimum.
void RaiseToMinimum(const Claim& c, const TargetClass& cls, const Capabilities& caps,
                    ClaimResult& r) {
  if (c.kind == ClaimKind::kPv || caps.min_size == 0) return;
  json* size = SizeMember(r.spec, c.kind);
  if (size == nullptr || !size->is_string()) return;
  const std::string was = size->get<std::string>();
  auto bytes = config::ParseQuantity(was);
  if (!bytes.ok() || *bytes >= caps.min_size) return;
  const std::string min = config::FormatQuantity(caps.min_size);
  *size = min;
  r.size_raised = true;
  r.issues.push_back(Issue("warning", c, cls.name,
                           c.label + " requests " + was + ", below the minimum of storageclass " +
                               Quote(cls.name) + " (provisioner " + cls.provisioner +
                               "): raised from " + was + " to " + min));
}

// Rules 1-3 for a mapped claim; false when the class does not exist (nothing more to check).
void CheckTargetClass(const Claim& c, const Rules& rules, ClaimResult& r) {
  auto it = rules.target->classes.find(r.target_class);
  if (it == rules.target->classes.end()) {
    r.issues.push_back(Issue("error", c, r.target_class,
                             "storageclass " + Quote(r.target_class) +
                                 " not exists in the target cluster (" + c.label +
                                 " maps storageclass " + Quote(r.source_class) + " to it)"));
    return;
  }
  const TargetClass& cls = it->second;
  const Capabilities caps = rules.table->Lookup(cls.provisioner);
  if (rules.target->multi_zone() && cls.binding_mode == "Immediate" && caps.zonal &&
      c.kind != ClaimKind::kPv) {
    r.issues.push_back(Issue(
        "error", c, cls.name,
        "current cluster is multi-zoned: storageclass " + Quote(cls.name) +
            " binds immediately and would pin volumes to one zone (" + c.label + ", provisioner " +
            cls.provisioner +
            ")\nHINT: map it to a StorageClass with volumeBindingMode: WaitForFirstConsumer"));
  }
  const std::string mode = MultiNodeMode(r.spec);
  if (!mode.empty() && !caps.multi_node && !(caps.block_multi_attach && IsBlock(r.spec))) {
    r.issues.push_back(Issue(
        "error", c, cls.name,
        "multi-node writing is only supported for block volume or shared file systems: " + c.label +
            " is " + mode + ", storageclass " + Quote(cls.name) + " (provisioner " +
            cls.provisioner + ") is single-node\nHINT: --convert-to-access-modes " + mode +
            "=ReadWriteOnce, or map it to a class of a shared file system"));
  }
  RaiseToMinimum(c, cls, caps, r);
}

}  // namespace

std::string ClaimClass(const json& spec) {
  auto it = spec.find("storageClassName");
  return it != spec.end() && it->is_string() ? it->get<std::string>() : "";
}

ClaimResult Check(const Claim& claim, const Rules& rules) {
  ClaimResult r;
  r.spec = claim.spec.is_object() ? claim.spec : json::object();
  r.source_class = ClaimClass(r.spec);
  r.target_class = r.source_class;
  MapAccessModes(r.spec, rules.access_mode_mapping);
  if (r.source_class.empty()) {
    r.changed = r.spec != claim.spec;
    return r;
  }
  if (const std::string* to = Mapped(rules.storage_class_mapping, r.source_class)) {
    r.target_class = *to;
    r.spec["storageClassName"] = *to;
    CheckTargetClass(claim, rules, r);
  } else if (!rules.target->classes.count(r.source_class)) {
    r.issues.push_back(Issue("warning", claim, r.source_class,
                             claim.label + " uses storageclass " + Quote(r.source_class) +
                                 ", which has no mapping and does not exist in the target "
                                 "cluster: it will stay Pending until a class " +
                                 Quote(r.source_class) + " exists"));
  }
  r.changed = r.spec != claim.spec;
  return r;
}

}  // namespace cairn::ops::convert

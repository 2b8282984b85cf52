#include "ops/convert/plan.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <tuple>

namespace cairn::ops::convert {
namespace {

using nlohmann::json;
using ResourceKey = content::Spool::ResourceKey;

// The version of a resource the conversion reads: v1 when stored, else the first stored.
std::string ReadVersion(const content::Spool& spool, const ResourceKey& key) {
  const content::Spool::ResourceInfo* info = spool.Find(key);
  if (info == nullptr || info->versions.empty()) return "";
  auto v1 = std::find(info->versions.begin(), info->versions.end(), "v1");
  return v1 != info->versions.end() ? "v1" : info->versions.front();
}

// Calls `fn` with each object of `key` in the version ReadVersion picks, parsed.
base::Status ForEachObject(const content::Spool& spool, const ResourceKey& key,
                           const std::function<void(const content::EntryRef&, const json&)>& fn) {
  const std::string version = ReadVersion(spool, key);
  if (version.empty()) return base::Status::Ok();
  return spool.ForEach(key, [&](std::vector<content::SpooledObject>& batch) {
    for (const auto& o : batch) {
      if (o.ref.version != version) continue;
      json obj = json::parse(o.text, nullptr, false);
      if (obj.is_object()) fn(o.ref, obj);
    }
    return base::Status::Ok();
  });
}

json SpecOf(const json& obj) {
  auto it = obj.find("spec");
  return it != obj.end() && it->is_object() ? *it : json::object();
}

// The classes the plan refers to, with their capabilities, for the document's `target`.
json TargetRecord(const PlanInput& in, const std::set<std::string>& used) {
  json classes = json::array();
  for (const std::string& name : used) {
    auto it = in.target->classes.find(name);
    if (it == in.target->classes.end()) continue;
    const Capabilities c = in.table->Lookup(it->second.provisioner);
    classes.push_back({{"name", name},
                       {"provisioner", it->second.provisioner},
                       {"volumeBindingMode", it->second.binding_mode},
                       {"capabilities",
                        {{"zonal", c.zonal},
                         {"multiNode", c.multi_node},
                         {"blockMultiAttach", c.block_multi_attach},
                         {"minSize", c.min_size},
                         {"source", c.source}}}});
  }
  return {{"zones", in.target->zones}, {"storageClasses", classes}};
}

// One warning per mapped-to class whose provisioner cairn does not know.
void WarnUnknownProvisioners(const PlanInput& in, const std::set<std::string>& mapped_to,
                             std::vector<content::ConversionIssue>& out) {
  for (const std::string& name : mapped_to) {
    auto it = in.target->classes.find(name);
    if (it == in.target->classes.end() || in.table->Known(it->second.provisioner)) continue;
    const std::string& p = it->second.provisioner;
    out.push_back({"warning", "StorageClass " + name, name,
                   "storageclass '" + name + "' uses provisioner '" + p +
                       "', which cairn does not know: treated as capable (not zonal, "
                       "multi-node, no minimum size); describe it in the config as "
                       "[provisioners.\"" +
                       p + "\"]"});
  }
}

class Builder {
 public:
  Builder(const PlanInput& in, Plan& plan) : in_(in), plan_(plan) {
    rules_ = {in.storage_class_mapping, in.access_mode_mapping, in.table, in.target};
  }
  void Add(const Claim& claim, content::ConvertedObject object) {
    ClaimResult r = Check(claim, rules_);
    if (!r.source_class.empty()) used_.insert(r.target_class);
    if (r.target_class != r.source_class) mapped_to_.insert(r.target_class);
    for (auto& i : r.issues) plan_.conversion.validation.push_back(std::move(i));
    if (r.size_raised) ++plan_.sizes_raised;
    if (!r.changed) return;
    object.source_class = r.source_class;
    object.spec = std::move(r.spec);
    plan_.conversion.objects.push_back(std::move(object));
  }
  void Finish() {
    WarnUnknownProvisioners(in_, mapped_to_, plan_.conversion.validation);
    plan_.conversion.target = TargetRecord(in_, used_);
  }

 private:
  const PlanInput& in_;
  Plan& plan_;
  Rules rules_;
  std::set<std::string> used_, mapped_to_;
};

base::Status AddStatefulSets(const content::Spool& spool, Builder& b, Plan& plan) {
  return ForEachObject(
      spool, {"apps", "statefulsets"}, [&](const content::EntryRef& ref, const json& obj) {
        json spec = SpecOf(obj);
        auto templates = spec.find("volumeClaimTemplates");
        if (templates == spec.end() || !templates->is_array()) return;
        for (const json& t : *templates) {
          if (!t.is_object()) continue;
          const json::json_pointer at("/metadata/name");
          const std::string name =
              t.contains(at) && t[at].is_string() ? t[at].get<std::string>() : std::string();
          ++plan.templates;
          b.Add({ClaimKind::kTemplate,
                 "StatefulSet " + ref.namespace_name + "/" + ref.name + " volumeClaimTemplate '" +
                     name + "'",
                 SpecOf(t)},
                {"statefulsets", ref.namespace_name, ref.name, name, "", {}});
        }
      });
}

}  // namespace

int64_t Plan::errors() const {
  return std::count_if(conversion.validation.begin(), conversion.validation.end(),
                       [](const auto& i) { return i.severity == "error"; });
}

int64_t Plan::warnings() const {
  return static_cast<int64_t>(conversion.validation.size()) - errors();
}

base::Result<Plan> MakePlan(const content::Spool& spool, const PlanInput& in) {
  Plan plan;
  content::Conversion& c = plan.conversion;
  c.backup = in.backup;
  c.backup_checksum = in.backup_checksum;
  c.name = in.name;
  c.storage_class_mapping = in.storage_class_mapping;
  c.access_mode_mapping = in.access_mode_mapping;
  Builder b(in, plan);
  RETURN_IF_ERROR(ForEachObject(
      spool, {"", "persistentvolumeclaims"}, [&](const content::EntryRef& ref, const json& obj) {
        ++plan.pvcs;
        const std::string id = ref.namespace_name + "/" + ref.name;
        b.Add({ClaimKind::kPvc, "PVC " + id, SpecOf(obj)},
              {"persistentvolumeclaims", ref.namespace_name, ref.name, "", "", {}});
      }));
  RETURN_IF_ERROR(ForEachObject(spool, {"", "persistentvolumes"},
                                [&](const content::EntryRef& ref, const json& obj) {
                                  ++plan.pvs;
                                  b.Add({ClaimKind::kPv, "PV " + ref.name, SpecOf(obj)},
                                        {"persistentvolumes", "", ref.name, "", "", {}});
                                }));
  RETURN_IF_ERROR(AddStatefulSets(spool, b, plan));
  b.Finish();
  auto key = [](const content::ConvertedObject& o) {
    return std::tie(o.resource, o.namespace_name, o.name, o.template_name);
  };
  std::sort(c.objects.begin(), c.objects.end(),
            [&](const auto& x, const auto& y) { return key(x) < key(y); });
  return plan;
}

namespace {

std::string Modes(const json& spec) {
  auto it = spec.find("accessModes");
  if (it == spec.end() || !it->is_array()) return "-";
  std::string out;
  for (const json& m : *it) {
    if (m.is_string()) out += (out.empty() ? "" : ",") + m.get<std::string>();
  }
  return out.empty() ? "-" : out;
}

std::string Size(const json& spec) {
  for (const char* p : {"/resources/requests/storage", "/capacity/storage"}) {
    const json::json_pointer ptr(p);
    if (spec.contains(ptr) && spec[ptr].is_string()) return spec[ptr].get<std::string>();
  }
  return "-";
}

}  // namespace

std::string FormatPlan(const Plan& plan) {
  const content::Conversion& c = plan.conversion;
  std::ostringstream out;
  out << "conversion " << c.name << " of backup " << c.backup << ":\n";
  for (const auto& [from, to] : c.storage_class_mapping) {
    out << "  storageclass " << from << " -> " << to << "\n";
  }
  for (const auto& [from, to] : c.access_mode_mapping) {
    out << "  access mode " << from << " -> " << to << "\n";
  }
  out << "  read " << plan.pvcs << " PVCs, " << plan.pvs << " PVs, " << plan.templates
      << " volumeClaimTemplates; " << c.objects.size() << " rewritten:\n";
  for (const auto& o : c.objects) {
    std::string what = o.resource == "persistentvolumeclaims" ? "PVC " + o.namespace_name + "/"
                       : o.resource == "persistentvolumes"
                           ? "PV "
                           : "StatefulSet " + o.namespace_name + "/";
    what +=
        o.name + (o.template_name.empty() ? "" : " volumeClaimTemplate '" + o.template_name + "'");
    out << "    " << what << ": class " << (o.source_class.empty() ? "-" : o.source_class) << " -> "
        << ClaimClass(o.spec) << ", access modes " << Modes(o.spec) << ", size " << Size(o.spec)
        << "\n";
  }
  return out.str();
}

}  // namespace cairn::ops::convert

#include "ops/restore/target.h"

#include <cstdint>

namespace cairn::ops::restore {
namespace {

using nlohmann::json;

std::string MetaString(const json& obj, const char* key) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return "";
  auto v = meta->find(key);
  return v != meta->end() && v->is_string() ? v->get<std::string>() : "";
}

void AddPort(const json& value, const std::string& holder, NodePortOwners* out) {
  if (value.is_number_integer()) out->emplace(value.get<int64_t>(), holder);
}

// Every Service's nodePorts, page by page (only the ports are kept).
base::Status ListNodePorts(kube::Client& kube, NodePortOwners* out) {
  return kube.ListItems({"", "v1", "services", true}, {}, [&](const json& svc) {
    const std::string holder = MetaString(svc, "namespace") + "/" + MetaString(svc, "name");
    auto spec = svc.find("spec");
    if (spec == svc.end() || !spec->is_object()) return true;
    if (auto health = spec->find("healthCheckNodePort"); health != spec->end()) {
      AddPort(*health, holder, out);
    }
    auto ports = spec->find("ports");
    if (ports == spec->end() || !ports->is_array()) return true;
    for (const json& p : *ports) {
      if (p.is_object() && p.contains("nodePort")) AddPort(p["nodePort"], holder, out);
    }
    return true;
  });
}

// The names of `wanted` that exist as PersistentVolumes.
base::Status ExistingPvs(kube::Client& kube, const std::set<std::string>& wanted,
                         std::set<std::string>* out) {
  return kube.ListItems({"", "v1", "persistentvolumes", false}, {}, [&](const json& pv) {
    const std::string name = MetaString(pv, "name");
    if (wanted.count(name) > 0) out->insert(name);
    return true;
  });
}

}  // namespace

TargetState ReadTarget(kube::Client& kube, bool services, const std::set<std::string>& pvs) {
  TargetState t;
  if (services) {
    base::Status st = ListNodePorts(kube, &t.node_ports);
    if (!st.ok()) {
      t.node_ports.clear();
      t.warnings.push_back("unable to list the target's Services to find the nodePorts in use (" +
                           st.message() +
                           "); an explicit nodePort another Service holds fails its Service");
    }
  }
  t.restored_pvs = pvs;
  if (pvs.empty()) return t;
  std::set<std::string> existing;
  base::Status st = ExistingPvs(kube, pvs, &existing);
  if (!st.ok()) {
    t.warnings.push_back("unable to list the target's PersistentVolumes (" + st.message() +
                         "); claims keep their volumeName as if every restored volume were new");
    return t;
  }
  for (const std::string& name : existing) t.restored_pvs.erase(name);
  return t;
}

}  // namespace cairn::ops::restore

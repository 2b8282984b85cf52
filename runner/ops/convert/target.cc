#include "ops/convert/target.h"

namespace cairn::ops::convert {
namespace {

using nlohmann::json;

std::string StringAt(const json& j, const char* pointer) {
  const json::json_pointer at(pointer);
  return j.contains(at) && j[at].is_string() ? j[at].get<std::string>() : "";
}

}  // namespace

base::Result<Target> ReadTarget(kube::Client& kube) {
  Target t;
  kube::ListOptions lo;
  base::Status classes =
      kube.ListItems({"storage.k8s.io", "v1", "storageclasses", false}, lo, [&](const json& sc) {
        TargetClass c;
        c.name = StringAt(sc, "/metadata/name");
        c.provisioner = StringAt(sc, "/provisioner");
        const std::string mode = StringAt(sc, "/volumeBindingMode");
        if (!mode.empty()) c.binding_mode = mode;  // the apiserver defaults it to Immediate
        if (!c.name.empty()) t.classes[c.name] = std::move(c);
        return true;
      });
  if (!classes.ok()) {
    return base::Error(classes.code(),
                       "unable to list the target cluster's storage classes: " + classes.message());
  }
  base::Status nodes = kube.ListItems({"", "v1", "nodes", false}, lo, [&](const json& n) {
    std::string zone = StringAt(n, "/metadata/labels/topology.kubernetes.io~1zone");
    if (zone.empty())
      zone = StringAt(n, "/metadata/labels/failure-domain.beta.kubernetes.io~1zone");
    if (!zone.empty()) t.zones.insert(std::move(zone));
    return true;
  });
  if (!nodes.ok()) {
    return base::Error(nodes.code(),
                       "unable to list the target cluster's nodes: " + nodes.message());
  }
  return t;
}

}  // namespace cairn::ops::convert

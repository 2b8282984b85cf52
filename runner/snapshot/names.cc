#include "snapshot/names.h"

#include <cstdio>

namespace cairn::snapshot {

const kube::ResourceRef& VolumeSnapshots() {
  static const kube::ResourceRef r{std::string(kGroup), "v1", "volumesnapshots", true};
  return r;
}
const kube::ResourceRef& VolumeSnapshotContents() {
  static const kube::ResourceRef r{std::string(kGroup), "v1", "volumesnapshotcontents", false};
  return r;
}
const kube::ResourceRef& VolumeSnapshotClasses() {
  static const kube::ResourceRef r{std::string(kGroup), "v1", "volumesnapshotclasses", false};
  return r;
}
const kube::ResourceRef& PersistentVolumeClaims() {
  static const kube::ResourceRef r{"", "v1", "persistentvolumeclaims", true};
  return r;
}

std::string JoinName(std::string_view prefix, std::string_view a, std::string_view b, size_t max) {
  std::string whole = std::string(prefix) + "-" + std::string(a) + "-" + std::string(b);
  if (whole.size() <= max) return whole;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across builds and platforms
  for (unsigned char c : whole) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  std::string cut = whole.substr(0, max - 11);
  while (!cut.empty() && (cut.back() == '-' || cut.back() == '.')) cut.pop_back();
  return cut + "-" + std::string(hex, 10);
}

std::string SnapshotName(std::string_view backup, std::string_view pvc) {
  return JoinName("cairn", backup, pvc);
}

base::Result<std::string> ClusterIdentity(kube::Client& kube) {
  static const kube::ResourceRef kNamespaces{"", "v1", "namespaces", false};
  auto ns = kube.Get(kNamespaces, "", "kube-system");
  if (!ns.ok()) return ns.status().Wrap("unable to read the cluster identity");
  std::string uid = StringAt(*ns, "metadata.uid");
  if (uid.empty()) {
    return base::Status(base::Code::kInternal, "namespace kube-system has no metadata.uid");
  }
  return uid;
}

std::string MetaMapValue(const nlohmann::json& obj, std::string_view map, std::string_view key) {
  if (!obj.is_object()) return "";
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return "";
  auto m = meta->find(std::string(map));
  if (m == meta->end() || !m->is_object()) return "";
  auto v = m->find(std::string(key));
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string StringAt(const nlohmann::json& j, std::string_view path) {
  const nlohmann::json* cur = &j;
  while (true) {
    size_t dot = path.find('.');
    std::string key(path.substr(0, dot));
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

}  // namespace cairn::snapshot

#include "kube/discovery.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <tuple>

namespace cairn::kube {
namespace {

using base::Code;
using base::Error;
using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> StrList(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object()) return out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

const json& Obj(const json& j, const char* key) {
  static const json kEmpty = json::object();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

const json& Array(const json& j, const char* key) {
  static const json kEmpty = json::array();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

std::string GroupVersion(std::string_view group, std::string_view version) {
  return group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
}

GroupInfo* FindGroup(Discovery* d, std::string_view group) {
  for (auto& g : d->groups) {
    if (g.group == group) return &g;
  }
  return nullptr;
}

// Adds `sub` to the parent resource "pods" of "pods/status", creating nothing if the parent is
// unknown (a subresource whose parent is not served is dropped).
void AddSubresource(Discovery* d, std::string_view group, std::string_view version,
                    std::string_view parent, std::string_view sub) {
  for (auto& r : d->resources) {
    if (r.group == group && r.version == version && r.resource == parent) {
      r.subresources.emplace_back(sub);
      return;
    }
  }
}

}  // namespace

const char kAggregatedDiscoveryAccept[] =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json";

const ApiResource* Discovery::Find(std::string_view group, std::string_view version,
                                   std::string_view resource) const {
  for (const auto& r : resources) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

std::string Discovery::PreferredVersion(std::string_view group) const {
  for (const auto& g : groups) {
    if (g.group == group) return g.preferred_version;
  }
  return "";
}

const ApiResource* Discovery::FindPreferred(std::string_view group,
                                            std::string_view resource) const {
  std::string v = PreferredVersion(group);
  return v.empty() ? nullptr : Find(group, v, resource);
}

bool IsAggregatedDiscovery(const json& doc) {
  return doc.is_object() && Str(doc, "kind") == "APIGroupDiscoveryList";
}

base::Status AddAggregatedDiscovery(const json& doc, Discovery* out) {
  if (!IsAggregatedDiscovery(doc)) {
    return Error(Code::kInternal, "discovery document is not an APIGroupDiscoveryList");
  }
  for (const auto& item : Array(doc, "items")) {
    std::string group = Str(Obj(item, "metadata"), "name");
    GroupInfo info;
    info.group = group;
    for (const auto& v : Array(item, "versions")) {
      std::string version = Str(v, "version");
      if (version.empty()) continue;
      info.versions.push_back(version);
      // client-go treats a stale group version as failed and keeps none of its resources.
      if (Str(v, "freshness") == "Stale") {
        out->failed.push_back(GroupVersion(group, version));
        continue;
      }
      for (const auto& r : Array(v, "resources")) {
        ApiResource res;
        res.group = group;
        res.version = version;
        res.resource = Str(r, "resource");
        if (res.resource.empty()) continue;
        res.kind = Str(Obj(r, "responseKind"), "kind");
        res.singular = Str(r, "singularResource");
        res.namespaced = Str(r, "scope") != "Cluster";
        res.verbs = StrList(r, "verbs");
        res.short_names = StrList(r, "shortNames");
        res.categories = StrList(r, "categories");
        for (const auto& s : Array(r, "subresources")) {
          std::string sub = Str(s, "subresource");
          if (!sub.empty()) res.subresources.push_back(sub);
        }
        out->resources.push_back(std::move(res));
      }
    }
    if (info.versions.empty()) continue;
    info.preferred_version = info.versions.front();  // the server lists its preference first
    if (!FindGroup(out, group)) out->groups.push_back(std::move(info));
  }
  return base::Status::Ok();
}

base::Status AddCoreVersions(const json& api_versions, Discovery* out) {
  std::vector<std::string> versions = StrList(api_versions, "versions");
  if (versions.empty()) {
    return Error(Code::kInternal, "discovery: /api lists no versions");
  }
  if (!FindGroup(out, "")) out->groups.push_back(GroupInfo{"", versions.front(), versions});
  return base::Status::Ok();
}

base::Status AddGroupList(const json& group_list, Discovery* out) {
  if (!group_list.is_object() || Str(group_list, "kind") != "APIGroupList") {
    return Error(Code::kInternal, "discovery: /apis did not return an APIGroupList");
  }
  for (const auto& g : Array(group_list, "groups")) {
    GroupInfo info;
    info.group = Str(g, "name");
    if (info.group.empty()) continue;
    for (const auto& v : Array(g, "versions")) {
      std::string version = Str(v, "version");
      if (!version.empty()) info.versions.push_back(version);
    }
    info.preferred_version = Str(Obj(g, "preferredVersion"), "version");
    if (info.preferred_version.empty() && !info.versions.empty()) {
      info.preferred_version = info.versions.front();
    }
    if (!info.versions.empty() && !FindGroup(out, info.group)) out->groups.push_back(info);
  }
  return base::Status::Ok();
}

base::Status AddResourceList(const json& list, std::string_view group, std::string_view version,
                             Discovery* out) {
  if (!list.is_object() || Str(list, "kind") != "APIResourceList") {
    return Error(Code::kInternal, "discovery: " + GroupVersion(group, version) +
                                      " did not return an APIResourceList");
  }
  std::vector<std::pair<std::string, std::string>> subs;  // parent, subresource
  for (const auto& r : Array(list, "resources")) {
    std::string name = Str(r, "name");
    if (name.empty()) continue;
    if (size_t slash = name.find('/'); slash != std::string::npos) {
      subs.emplace_back(name.substr(0, slash), name.substr(slash + 1));
      continue;
    }
    ApiResource res;
    res.group = std::string(group);
    res.version = std::string(version);
    res.resource = name;
    res.kind = Str(r, "kind");
    res.singular = Str(r, "singularName");
    auto ns = r.find("namespaced");
    res.namespaced = ns == r.end() || !ns->is_boolean() || ns->get<bool>();
    res.verbs = StrList(r, "verbs");
    res.short_names = StrList(r, "shortNames");
    res.categories = StrList(r, "categories");
    if (res.singular.empty() && !res.kind.empty()) {  // older servers leave it empty
      res.singular = res.kind;
      std::transform(res.singular.begin(), res.singular.end(), res.singular.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    out->resources.push_back(std::move(res));
  }
  for (const auto& [parent, sub] : subs) AddSubresource(out, group, version, parent, sub);
  return base::Status::Ok();
}

void SortCoreFirst(Discovery* d) {
  std::stable_partition(d->groups.begin(), d->groups.end(),
                        [](const GroupInfo& g) { return g.group.empty(); });
}

namespace {

std::optional<std::tuple<int, int, int>> KubeVersion(std::string_view v) {
  if (v.size() < 2 || v[0] != 'v') return std::nullopt;
  auto number = [](std::string_view s, int* out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size() && !s.empty() && s[0] != '0';
  };
  const size_t end = v.find_first_not_of("0123456789", 1);
  int major = 0;
  if (!number(v.substr(1, end == std::string_view::npos ? end : end - 1), &major)) {
    return std::nullopt;
  }
  if (end == std::string_view::npos) return std::tuple(major, 2, 0);
  std::string_view rest = v.substr(end);
  int stability = 0;
  if (rest.rfind("beta", 0) == 0) {
    stability = 1;
    rest.remove_prefix(4);
  } else if (rest.rfind("alpha", 0) == 0) {
    rest.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  int minor = 0;
  if (!number(rest, &minor)) return std::nullopt;
  return std::tuple(major, stability, minor);
}

}  // namespace

bool VersionPrecedes(std::string_view a, std::string_view b) {
  const auto ka = KubeVersion(a), kb = KubeVersion(b);
  if (ka && kb) {
    const auto& [ma, sa, na] = *ka;
    const auto& [mb, sb, nb] = *kb;
    if (sa != sb) return sa > sb;
    if (ma != mb) return ma > mb;
    return na > nb;
  }
  if (ka || kb) return ka.has_value();
  return a < b;
}

}  // namespace cairn::kube

// kube/discovery: which API groups, versions and resources a cluster serves.
//
// Two wire forms feed the same Discovery value: aggregated discovery (one APIGroupDiscoveryList
// from /api and one from /apis, apidiscovery.k8s.io v2 or v2beta1), and the classic form (/api,
// /apis, then one APIResourceList per group version). Subresources ("deployments/status") are
// folded into their parent's `subresources`. A group version the server could not describe
// (aggregated "Stale", or a classic request that failed: an aggregated API server that is down)
// is listed in `failed` and contributes no resources, as client-go does; the caller decides
// whether that matters. Parsing never throws.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cairn::kube {

struct ApiResource {
  std::string group, version, resource, kind, singular;
  bool namespaced = true;
  std::vector<std::string> verbs, subresources, short_names;
  std::vector<std::string> categories;  // added: "all", ...
};

struct GroupInfo {
  std::string group, preferred_version;
  std::vector<std::string> versions;  // in the server's order of preference
};

struct Discovery {
  std::vector<GroupInfo> groups;       // core ("") first
  std::vector<ApiResource> resources;  // every served group/version, no subresources
  std::vector<std::string> failed;     // added: "group/version" that could not be discovered
  const ApiResource* Find(std::string_view group, std::string_view version,
                          std::string_view resource) const;
  std::string PreferredVersion(std::string_view group) const;  // "" when the group is unknown
  // Added: the resource in the group's preferred version, or nullptr.
  const ApiResource* FindPreferred(std::string_view group, std::string_view resource) const;
};

// The Accept header that asks for aggregated discovery and falls back on the classic form.
extern const char kAggregatedDiscoveryAccept[];

// True when `doc` is an APIGroupDiscoveryList (what the server answered to the Accept above).
bool IsAggregatedDiscovery(const nlohmann::json& doc);

// Adds the groups and resources of an APIGroupDiscoveryList (from /api or /apis).
base::Status AddAggregatedDiscovery(const nlohmann::json& doc, Discovery* out);

// Classic discovery: /api (APIVersions) gives the core group, /apis (APIGroupList) the others.
base::Status AddCoreVersions(const nlohmann::json& api_versions, Discovery* out);
base::Status AddGroupList(const nlohmann::json& group_list, Discovery* out);
// Adds the resources of one APIResourceList (/api/v1 or /apis/{group}/{version}).
base::Status AddResourceList(const nlohmann::json& list, std::string_view group,
                             std::string_view version, Discovery* out);

// Puts the core group first (stable for the rest).
void SortCoreFirst(Discovery* d);

// Kubernetes version priority (GA before beta before alpha, higher numbers first; versions not
// of the form vN[alphaM|betaM] last, in lexical order). True when `a` sorts before `b`.
bool VersionPrecedes(std::string_view a, std::string_view b);

}  // namespace cairn::kube

// kube/paths: REST paths, list queries and the names used in messages for a resource.
//
// Core resources live under /api/v1, the others under /apis/{group}/{version}; namespaced
// resources add namespaces/{ns}. An empty namespace on a namespaced resource means all
// namespaces (lists); a namespace given for a cluster-scoped resource is ignored. Names,
// namespaces and query values are percent-encoded.
#pragma once

#include <string>
#include <string_view>

namespace cairn::kube {

struct ResourceRef {
  std::string group;  // "" = core
  std::string version;
  std::string resource;  // plural, lowercase: "configmaps"
  bool namespaced = true;
};

// "configmaps", "deployments.apps": how the API server names a resource in its messages.
std::string QualifiedResource(const ResourceRef& r);

// "/api/v1/namespaces/shop/configmaps/x", "/apis/apps/v1/deployments" (all namespaces), with
// "/{subresource}" appended when given (only meaningful with a name).
std::string ResourcePath(const ResourceRef& r, std::string_view ns, std::string_view name = "",
                         std::string_view subresource = "");

// For messages: `configmaps "x" in namespace "shop"`, `configmaps in all namespaces`,
// `namespaces "shop"`, `deployments.apps in namespace "shop"`.
std::string DescribeObject(const ResourceRef& r, std::string_view ns, std::string_view name);

// "?limit=500&continue=...&labelSelector=...&fieldSelector=..." (empty parts left out; a limit
// of 0 or less asks for everything at once).
std::string ListQuery(int limit, std::string_view continue_token, std::string_view label_selector,
                      std::string_view field_selector);

}  // namespace cairn::kube

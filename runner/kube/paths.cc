#include "kube/paths.h"

#include "http/client.h"

namespace cairn::kube {

std::string QualifiedResource(const ResourceRef& r) {
  return r.group.empty() ? r.resource : r.resource + "." + r.group;
}

std::string ResourcePath(const ResourceRef& r, std::string_view ns, std::string_view name,
                         std::string_view subresource) {
  std::string p = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + http::UrlEncode(ns, false);
  p += "/" + r.resource;
  if (!name.empty()) {
    p += "/" + http::UrlEncode(name, false);
    if (!subresource.empty()) p += "/" + std::string(subresource);
  }
  return p;
}

std::string DescribeObject(const ResourceRef& r, std::string_view ns, std::string_view name) {
  std::string d = QualifiedResource(r);
  if (!name.empty()) d += " \"" + std::string(name) + "\"";
  if (r.namespaced) {
    d += ns.empty() ? (name.empty() ? " in all namespaces" : "")
                    : " in namespace \"" + std::string(ns) + "\"";
  }
  return d;
}

std::string ListQuery(int limit, std::string_view continue_token, std::string_view label_selector,
                      std::string_view field_selector) {
  std::string q;
  auto add = [&q](std::string_view k, std::string_view v) {
    q += (q.empty() ? "?" : "&") + std::string(k) + "=" + http::UrlEncode(v, false);
  };
  if (limit > 0) add("limit", std::to_string(limit));
  if (!continue_token.empty()) add("continue", continue_token);
  if (!label_selector.empty()) add("labelSelector", label_selector);
  if (!field_selector.empty()) add("fieldSelector", field_selector);
  return q;
}

}  // namespace cairn::kube

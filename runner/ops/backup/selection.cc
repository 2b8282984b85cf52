#include "ops/backup/selection.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <tuple>
#include <utility>

namespace cairn::ops::backup {
namespace {

using config::BackupPolicy;
using config::LabelRequirement;
using nlohmann::json;

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const json* Member(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string_view StringAt(const json& j, std::string_view a, std::string_view b) {
  const json* outer = Member(j, a);
  const json* v = outer == nullptr ? nullptr : Member(*outer, b);
  return v != nullptr && v->is_string() ? std::string_view(v->get_ref<const std::string&>()) : "";
}

bool NeverBackedUp(const kube::ApiResource& r) {
  const std::string q = QualifiedResource(r);
  for (std::string_view n : kNeverBackedUp) {
    if (n == q) return true;
  }
  for (std::string_view g : kNeverBackedUpGroups) {
    if (g == r.group) return true;
  }
  return false;
}

}  // namespace

bool NamespaceSelected(std::string_view ns, const BackupPolicy& policy,
                       std::string_view own_namespace) {
  const bool named_literally = Contains(policy.include_namespaces, ns);
  bool protected_ns = !own_namespace.empty() && ns == own_namespace;
  for (std::string_view s : kSystemNamespaces) protected_ns = protected_ns || ns == s;
  if (protected_ns && !named_literally) return false;
  bool included = policy.include_namespaces.empty() || named_literally;
  for (const std::string& p : policy.include_namespaces) {
    included = included || config::GlobMatch(p, ns);
  }
  if (!included) return false;
  for (const std::string& p : policy.exclude_namespaces) {
    if (config::GlobMatch(p, ns)) return false;
  }
  return true;
}

std::string QualifiedResource(const kube::ApiResource& r) {
  return r.group.empty() ? r.resource : r.resource + "." + r.group;
}

bool ResourceMatches(const kube::ApiResource& r, std::string_view item) {
  return config::ResourceMatches(r.group, r.resource, r.kind, item);
}

std::vector<ResourceChoice> SelectResources(const kube::Discovery& discovery,
                                            const BackupPolicy& policy,
                                            std::vector<std::string>* skipped_with_reason) {
  std::vector<std::string> skipped;
  // group+resource -> its listable versions.
  std::map<std::pair<std::string, std::string>, std::vector<const kube::ApiResource*>> by_name;
  for (const kube::ApiResource& r : discovery.resources) {
    if (!Contains(r.verbs, "list") || !Contains(r.verbs, "get")) continue;
    by_name[{r.group, r.resource}].push_back(&r);
  }
  std::vector<bool> include_matched(policy.include_resources.size(), false);
  std::vector<ResourceChoice> out;
  for (const auto& [key, served] : by_name) {
    // The primary version: the group's preferred one, else the highest served.
    const std::string preferred = discovery.PreferredVersion(key.first);
    std::vector<const kube::ApiResource*> ordered = served;
    std::sort(ordered.begin(), ordered.end(), [&](const auto* a, const auto* b) {
      if ((a->version == preferred) != (b->version == preferred)) return a->version == preferred;
      return VersionPrecedes(a->version, b->version);
    });
    const kube::ApiResource& r = *ordered.front();

    bool included = policy.include_resources.empty();
    bool named = false;  // by an include_resources item other than "*"
    for (size_t i = 0; i < policy.include_resources.size(); ++i) {
      if (!ResourceMatches(r, policy.include_resources[i])) continue;
      included = include_matched[i] = true;
      named = named || policy.include_resources[i] != "*";
    }
    for (const std::string& item : policy.exclude_resources) {
      if (ResourceMatches(r, item)) included = false;
    }
    if (!included) continue;
    if (!r.namespaced && policy.include_cluster_resources == "false") {
      if (named && !NeverBackedUp(r)) {
        skipped.push_back(QualifiedResource(r) +
                          ": cluster-scoped, and include_cluster_resources is false");
      }
      continue;
    }
    if (NeverBackedUp(r)) {
      // Only worth a warning where the user could have expected the resource.
      if (r.namespaced || policy.include_cluster_resources == "true") {
        skipped.push_back(QualifiedResource(r) + ": " + std::string(kRegeneratedReason));
      }
      continue;
    }
    ResourceChoice choice;
    choice.resource = &r;
    for (const kube::ApiResource* v : ordered) {
      choice.versions.push_back(v->version);
      if (policy.api_versions == "preferred") break;
    }
    choice.cluster_auto = !r.namespaced && policy.include_cluster_resources == "auto";
    out.push_back(std::move(choice));
  }
  for (size_t i = 0; i < policy.include_resources.size(); ++i) {
    if (!include_matched[i]) {
      skipped.push_back("include_resources '" + policy.include_resources[i] +
                        "': matches no listable resource");
    }
  }
  for (const std::string& gv : discovery.failed) {
    skipped.push_back(gv + ": not discovered, its resources are not backed up");
  }
  if (skipped_with_reason != nullptr) {
    skipped_with_reason->insert(skipped_with_reason->end(), skipped.begin(), skipped.end());
  }
  return out;
}

bool ObjectExcludedByLabel(const json& obj) {
  const json* meta = Member(obj, "metadata");
  const json* labels = meta == nullptr ? nullptr : Member(*meta, "labels");
  const json* v = labels == nullptr ? nullptr : Member(*labels, kExcludeLabel);
  return v != nullptr && v->is_string() && v->get_ref<const std::string&>() == "true";
}

std::optional<std::string> RegeneratedObjectReason(const kube::ApiResource& r, const json& obj) {
  const std::string prefix = std::string(kRegeneratedReason) + ": ";
  if (r.group == "apiregistration.k8s.io" && r.resource == "apiservices") {
    const json* spec = Member(obj, "spec");
    const json* service = spec == nullptr ? nullptr : Member(*spec, "service");
    if (service == nullptr || service->is_null()) {
      return prefix + "APIService served by the kube-apiserver itself";
    }
  } else if (r.group.empty() && r.resource == "pods") {
    const json* meta = Member(obj, "metadata");
    const json* annotations = meta == nullptr ? nullptr : Member(*meta, "annotations");
    if (annotations != nullptr && Member(*annotations, "kubernetes.io/config.mirror") != nullptr) {
      return prefix + "mirror pod of a static pod, recreated by the kubelet";
    }
  } else if (r.group.empty() && r.resource == "configmaps" &&
             StringAt(obj, "metadata", "name") == "kube-root-ca.crt") {
    return prefix + "published in every namespace by the root CA publisher";
  } else if (r.group == "discovery.k8s.io" && r.resource == "endpointslices") {
    const LabelMap labels = LabelsOf(obj);
    auto it = labels.find("endpointslice.kubernetes.io/managed-by");
    if (it != labels.end() && it->second.ends_with(".k8s.io")) {
      return prefix + "EndpointSlice maintained by " + it->second;
    }
  }
  return std::nullopt;
}

bool ServiceEndpointsWrittenByHand(const json& service) {
  const json* spec = Member(service, "spec");
  if (spec == nullptr) return true;
  const json* type = Member(*spec, "type");
  if (type != nullptr && type->is_string() && *type == "ExternalName") return true;
  const json* selector = Member(*spec, "selector");
  return selector == nullptr || !selector->is_object() || selector->empty();
}

bool EndpointsWrittenByHand(const json& endpoints,
                            const std::set<std::string>& hand_written_services) {
  const LabelMap labels = LabelsOf(endpoints);
  auto skip = labels.find("endpointslice.kubernetes.io/skip-mirror");
  if (skip != labels.end() && skip->second == "true") return false;
  return hand_written_services.count(std::string(StringAt(endpoints, "metadata", "namespace")) +
                                     "/" + std::string(StringAt(endpoints, "metadata", "name"))) >
         0;
}

LabelMap LabelsOf(const json& obj) {
  LabelMap out;
  const json* meta = Member(obj, "metadata");
  const json* labels = meta == nullptr ? nullptr : Member(*meta, "labels");
  if (labels == nullptr || !labels->is_object()) return out;
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it->is_string()) out.emplace(it.key(), it->get<std::string>());
  }
  return out;
}

base::Result<LabelSelector> LabelSelector::Parse(std::string_view selector) {
  ASSIGN_OR_RETURN(std::vector<LabelRequirement> reqs, config::ParseLabelSelector(selector));
  LabelSelector s;
  s.requirements_ = std::move(reqs);
  return s;
}

bool LabelSelector::Matches(const LabelMap& labels) const {
  for (const LabelRequirement& r : requirements_) {
    auto it = labels.find(r.key);
    if (!config::LabelRequirementHolds(r, it == labels.end() ? nullptr : &it->second)) {
      return false;
    }
  }
  return true;
}

base::Result<PolicySelectors> PolicySelectors::Create(const BackupPolicy& policy) {
  PolicySelectors out;
  if (!policy.label_selector.empty()) {
    ASSIGN_OR_RETURN(LabelSelector s, LabelSelector::Parse(policy.label_selector));
    out.any_of_.push_back(std::move(s));
  }
  for (const std::string& text : policy.or_label_selectors) {
    ASSIGN_OR_RETURN(LabelSelector s, LabelSelector::Parse(text));
    out.any_of_.push_back(std::move(s));
  }
  return out;
}

bool PolicySelectors::Matches(const LabelMap& labels) const {
  if (any_of_.empty()) return true;
  return std::any_of(any_of_.begin(), any_of_.end(),
                     [&](const LabelSelector& s) { return s.Matches(labels); });
}

bool MatchesPolicySelectors(const LabelMap& labels, const BackupPolicy& policy) {
  base::Result<PolicySelectors> s = PolicySelectors::Create(policy);
  return s.ok() && s->Matches(labels);
}

std::optional<std::string> ServerSideSelector(const BackupPolicy& policy) {
  const size_t count = (policy.label_selector.empty() ? 0 : 1) + policy.or_label_selectors.size();
  if (count != 1) return std::nullopt;
  return policy.label_selector.empty() ? policy.or_label_selectors.front() : policy.label_selector;
}

std::string ObjectEntryPath(const kube::ApiResource& r, std::string_view version,
                            std::string_view ns, std::string_view name) {
  std::string out = "resources/";
  out += r.group.empty() ? "core" : r.group;
  out += "/" + r.resource + "/";
  out += version;
  if (r.namespaced) {
    out += "/namespaces/";
    out += ns;
  } else {
    out += "/cluster";
  }
  out += "/";
  out += name;
  out += ".json";
  return out;
}

}  // namespace cairn::ops::backup

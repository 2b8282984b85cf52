#include "ops/restore/transform.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <utility>
#include <vector>

namespace cairn::ops::restore {
namespace {

using base::Code;
using base::Error;
using nlohmann::json;
using Mapping = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kLegacyStorageClass = "volume.beta.kubernetes.io/storage-class";

// The member `key` of `j` when `j` is an object that has it, else nullptr.
json* Member(json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
const json* Member(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

json* Path(json& j, std::initializer_list<std::string_view> keys) {
  json* at = &j;
  for (std::string_view k : keys) {
    at = Member(*at, k);
    if (at == nullptr) return nullptr;
  }
  return at;
}

void Erase(json* j, std::string_view key) {
  if (j != nullptr && j->is_object()) j->erase(std::string(key));
}

// The mapped value of a string member, in place.
void MapString(json* j, const Mapping& mapping) {
  if (j == nullptr || !j->is_string()) return;
  const std::string& v = j->get_ref<const std::string&>();
  for (const auto& [from, to] : mapping) {
    if (from == v) {
      *j = to;
      return;
    }
  }
}

void MapNamespaceMember(json* j, const RestoreOptions& o) {
  if (j != nullptr && j->is_string()) *j = MapNamespace(j->get_ref<const std::string&>(), o);
}

// Converts an accessModes array in place and removes the duplicates the conversion created.
void ConvertAccessModes(json* modes, const Mapping& mapping) {
  if (modes == nullptr || !modes->is_array() || mapping.empty()) return;
  json out = json::array();
  for (json m : *modes) {
    MapString(&m, mapping);
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(std::move(m));
  }
  *modes = std::move(out);
}

// The storage class and access modes of a PVC spec (also a volumeClaimTemplate's spec).
void MapClaimSpec(json* spec, const RestoreOptions& o) {
  MapString(Member(*spec, "storageClassName"), o.storage_class_mapping);
  ConvertAccessModes(Member(*spec, "accessModes"), o.convert_to_access_modes);
}

void MapImages(json* pod_spec, const RestoreOptions& o) {
  if (pod_spec == nullptr || o.image_registry_mapping.empty()) return;
  for (std::string_view list : {"containers", "initContainers", "ephemeralContainers"}) {
    json* containers = Member(*pod_spec, list);
    if (containers == nullptr || !containers->is_array()) continue;
    for (json& c : *containers) {
      json* image = Member(c, "image");
      if (image == nullptr || !image->is_string()) continue;
      if (std::optional<std::string> mapped = MapImage(image->get_ref<const std::string&>(), o)) {
        *image = std::move(*mapped);
      }
    }
  }
}

// Where the pod spec of a workload lives, by group and resource; empty when it has none.
std::vector<std::string_view> PodSpecPath(std::string_view group, std::string_view resource) {
  if (group.empty() && resource == "pods") return {"spec"};
  if (group.empty() && resource == "podtemplates") return {"template", "spec"};
  if ((group.empty() && resource == "replicationcontrollers") ||
      (group == "apps" && (resource == "deployments" || resource == "statefulsets" ||
                           resource == "daemonsets" || resource == "replicasets")) ||
      (group == "batch" && resource == "jobs")) {
    return {"spec", "template", "spec"};
  }
  if (group == "batch" && resource == "cronjobs") {
    return {"spec", "jobTemplate", "spec", "template", "spec"};
  }
  return {};
}

void TransformService(json& obj, const EntryRef& e, const TransformContext& ctx,
                      TransformNotes* notes) {
  json* spec = Member(obj, "spec");
  if (spec == nullptr || !spec->is_object()) return;
  const json* cluster_ip = Member(*spec, "clusterIP");
  if (!(cluster_ip != nullptr && cluster_ip->is_string() && *cluster_ip == "None")) {
    spec->erase("clusterIP");
    spec->erase("clusterIPs");
  }
  const std::string service = MapNamespace(e.namespace_name, *ctx.options) + "/" + e.name;
  RestoreNodePorts(*spec, obj, service, ctx.options->preserve_node_ports, ctx.target_node_ports,
                   notes == nullptr ? nullptr : &notes->node_ports);
}

// The spec a conversion rewrote for the object `key` of `specs`, or nullptr.
const json* Converted(const TransformContext& ctx,
                      std::map<std::string, json> ConvertedSpecs::*specs, const std::string& key) {
  if (ctx.converted == nullptr) return nullptr;
  const auto& m = ctx.converted->*specs;
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

// The storage class mapping of an object: the conversion's for an object it rewrote.
const Mapping& ClassMapping(const TransformContext& ctx, const json* converted) {
  return converted != nullptr ? ctx.converted->storage_class_mapping
                              : ctx.options->storage_class_mapping;
}

void TransformPvc(json& obj, const EntryRef& e, const TransformContext& ctx) {
  const RestoreOptions& o = *ctx.options;
  const json* converted = Converted(ctx, &ConvertedSpecs::claims, e.namespace_name + "/" + e.name);
  json* annotations = Path(obj, {"metadata", "annotations"});
  MapString(annotations == nullptr ? nullptr : Member(*annotations, kLegacyStorageClass),
            ClassMapping(ctx, converted));
  if (converted != nullptr) obj["spec"] = *converted;
  json* spec = Member(obj, "spec");
  if (spec == nullptr || !spec->is_object()) return;
  if (converted == nullptr) MapClaimSpec(spec, o);
  const json* volume = Member(*spec, "volumeName");
  const bool pv_restored = volume != nullptr && volume->is_string() &&
                           ctx.restored_pvs.count(volume->get<std::string>()) > 0;
  if (pv_restored) {
    for (std::string_view a : kBindCompletedAnnotations) Erase(annotations, a);
    return;
  }
  spec->erase("volumeName");
  for (std::string_view a : kPvcBindingAnnotations) Erase(annotations, a);
  if (ctx.claim_sources != nullptr) {
    auto source = ctx.claim_sources->find(e.namespace_name + "/" + e.name);
    if (source != ctx.claim_sources->end()) {  // a new volume made from the backup's snapshot
      (*spec)["dataSource"] = source->second;
      (*spec)["dataSourceRef"] = source->second;
    }
  }
}

void TransformPv(json& obj, const EntryRef& e, const TransformContext& ctx) {
  const RestoreOptions& o = *ctx.options;
  const json* converted = Converted(ctx, &ConvertedSpecs::volumes, e.name);
  json* annotations = Path(obj, {"metadata", "annotations"});
  MapString(annotations == nullptr ? nullptr : Member(*annotations, kLegacyStorageClass),
            ClassMapping(ctx, converted));
  for (std::string_view a : kBindCompletedAnnotations) Erase(annotations, a);
  if (converted != nullptr) obj["spec"] = *converted;
  json* spec = Member(obj, "spec");
  if (spec == nullptr || !spec->is_object()) return;
  if (converted == nullptr) MapClaimSpec(spec, o);
  json* claim = Member(*spec, "claimRef");
  if (claim == nullptr || !claim->is_object()) return;
  claim->erase("uid");
  claim->erase("resourceVersion");
  MapNamespaceMember(Member(*claim, "namespace"), o);
}

void TransformStatefulSet(json& obj, const EntryRef& e, const TransformContext& ctx) {
  json* templates = Path(obj, {"spec", "volumeClaimTemplates"});
  if (templates == nullptr || !templates->is_array()) return;
  for (json& t : *templates) {
    const json* name = Path(t, {"metadata", "name"});
    const json* converted = Converted(
        ctx, &ConvertedSpecs::templates,
        ConvertedSpecs::TemplateKey(
            e.namespace_name, e.name,
            name != nullptr && name->is_string() ? name->get<std::string>() : std::string()));
    if (converted != nullptr && t.is_object()) {
      t["spec"] = *converted;
      continue;
    }
    json* spec = Member(t, "spec");
    if (spec != nullptr && spec->is_object()) MapClaimSpec(spec, *ctx.options);
  }
}

// The namespace inside a subject name "<prefix><ns><rest>" (rest empty or ":name"), mapped.
void MapSubjectName(json* name, std::string_view prefix, bool with_name, const RestoreOptions& o) {
  if (name == nullptr || !name->is_string()) return;
  std::string_view v = name->get_ref<const std::string&>();
  if (!v.starts_with(prefix)) return;
  std::string_view ns = v.substr(prefix.size());
  std::string_view rest;
  if (with_name) {
    const size_t colon = ns.find(':');
    if (colon == std::string_view::npos) return;
    rest = ns.substr(colon);
    ns = ns.substr(0, colon);
  }
  if (ns.empty() || ns.find(':') != std::string_view::npos) return;
  *name = std::string(prefix) + MapNamespace(ns, o) + std::string(rest);
}

void TransformBinding(json& obj, const RestoreOptions& o) {
  json* subjects = Member(obj, "subjects");
  if (subjects == nullptr || !subjects->is_array() || o.namespace_mapping.empty()) return;
  for (json& s : *subjects) {
    const json* kind = Member(s, "kind");
    if (kind == nullptr || !kind->is_string()) continue;
    if (*kind == "ServiceAccount") {
      MapNamespaceMember(Member(s, "namespace"), o);
    } else if (*kind == "Group") {  // every service account of a namespace
      MapSubjectName(Member(s, "name"), "system:serviceaccounts:", false, o);
    } else if (*kind == "User") {  // one service account by its user name
      MapSubjectName(Member(s, "name"), "system:serviceaccount:", true, o);
    }
  }
}

void TransformJob(json& obj) {
  json* spec = Member(obj, "spec");
  const json* manual = spec == nullptr ? nullptr : Member(*spec, "manualSelector");
  if (manual != nullptr && manual->is_boolean() && manual->get<bool>()) return;
  json* selector = spec == nullptr ? nullptr : Member(*spec, "selector");
  json* match = selector == nullptr ? nullptr : Member(*selector, "matchLabels");
  Erase(match, "controller-uid");
  Erase(match, "batch.kubernetes.io/controller-uid");
  if (match != nullptr && match->is_object() && match->empty()) selector->erase("matchLabels");
  const json* expressions = selector == nullptr ? nullptr : Member(*selector, "matchExpressions");
  if (selector != nullptr && selector->is_object() &&
      (selector->empty() || (selector->size() == 1 && expressions != nullptr &&
                             expressions->is_array() && expressions->empty()))) {
    spec->erase("selector");
  }
  json* labels = Path(obj, {"spec", "template", "metadata", "labels"});
  // The API server copies the template's labels to a Job without labels of its own.
  json* job_labels = Path(obj, {"metadata", "labels"});
  for (std::string_view l : kJobGeneratedLabels) {
    const json* generated = labels == nullptr ? nullptr : Member(*labels, l);
    const json* copied = job_labels == nullptr ? nullptr : Member(*job_labels, l);
    if (generated != nullptr && copied != nullptr && *generated == *copied) Erase(job_labels, l);
    Erase(labels, l);
  }
}

// --- NetworkPolicy namespaceSelectors --------------------------------------------------------

constexpr std::string_view kNamespaceNameLabel = "kubernetes.io/metadata.name";

// The namespace `name` is mapped to, or nullptr when the mapping leaves it alone.
const std::string* MappedTo(std::string_view name, const RestoreOptions& o) {
  for (const auto& [from, to] : o.namespace_mapping) {
    if (from == name) return &to;
  }
  return nullptr;
}

// Maps the namespace names a namespaceSelector selects by kubernetes.io/metadata.name; notes a
// mapped namespace's name selected under another key (`where` names the selector).
void MapNamespaceSelector(json& selector, const std::string& where, const RestoreOptions& o,
                          TransformNotes* notes) {
  auto check = [&](std::string_view key, json& value, bool mappable) {
    if (!value.is_string()) return;
    const std::string* to = MappedTo(value.get_ref<const std::string&>(), o);
    if (to == nullptr) return;
    if (mappable) {
      value = *to;
    } else if (notes != nullptr) {
      notes->warnings.push_back(where + " selects label '" + std::string(key) + "' = '" +
                                value.get<std::string>() +
                                "', the name of a namespace mapped to '" + *to + "'; only the " +
                                std::string(kNamespaceNameLabel) +
                                " label is mapped, so this selector is restored unchanged");
    }
  };
  if (json* labels = Member(selector, "matchLabels"); labels != nullptr && labels->is_object()) {
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      check(it.key(), *it, it.key() == kNamespaceNameLabel);
    }
  }
  json* expressions = Member(selector, "matchExpressions");
  if (expressions == nullptr || !expressions->is_array()) return;
  for (json& x : *expressions) {
    const json* key = Member(x, "key");
    const json* op = Member(x, "operator");
    json* values = Member(x, "values");
    if (key == nullptr || !key->is_string() || values == nullptr || !values->is_array()) continue;
    const bool mappable =
        *key == kNamespaceNameLabel && op != nullptr && (*op == "In" || *op == "NotIn");
    for (json& v : *values) check(key->get_ref<const std::string&>(), v, mappable);
  }
}

void TransformNetworkPolicy(json& obj, const EntryRef& e, const RestoreOptions& o,
                            TransformNotes* notes) {
  if (o.namespace_mapping.empty()) return;
  const std::string policy =
      "NetworkPolicy '" + MapNamespace(e.namespace_name, o) + "/" + e.name + "': ";
  for (const auto& [rules_key, peers_key] :
       {std::pair<std::string, std::string>{"ingress", "from"}, {"egress", "to"}}) {
    json* rules = Path(obj, {"spec", rules_key});
    if (rules == nullptr || !rules->is_array()) continue;
    for (size_t i = 0; i < rules->size(); ++i) {
      json* peers = Member((*rules)[i], peers_key);
      if (peers == nullptr || !peers->is_array()) continue;
      for (size_t j = 0; j < peers->size(); ++j) {
        json* selector = Member((*peers)[j], "namespaceSelector");
        if (selector == nullptr || !selector->is_object()) continue;
        MapNamespaceSelector(*selector,
                             policy + "the namespaceSelector of spec." + rules_key + "[" +
                                 std::to_string(i) + "]." + peers_key + "[" + std::to_string(j) +
                                 "]",
                             o, notes);
      }
    }
  }
}

// The kind-specific transformations (the header's list), by group and resource.
void TransformKind(const EntryRef& e, json& obj, const TransformContext& ctx,
                   TransformNotes* notes) {
  const RestoreOptions& o = *ctx.options;
  const bool core = e.group.empty();
  if (core && e.resource == "services") {
    TransformService(obj, e, ctx, notes);
  } else if (core && e.resource == "persistentvolumeclaims") {
    TransformPvc(obj, e, ctx);
  } else if (core && e.resource == "persistentvolumes") {
    TransformPv(obj, e, ctx);
  } else if (e.group == "apps" && e.resource == "statefulsets") {
    TransformStatefulSet(obj, e, ctx);
  } else if (e.group == "batch" && e.resource == "jobs") {
    TransformJob(obj);
  } else if (e.group == "networking.k8s.io" && e.resource == "networkpolicies") {
    TransformNetworkPolicy(obj, e, o, notes);
  } else if (e.group == "rbac.authorization.k8s.io" &&
             (e.resource == "rolebindings" || e.resource == "clusterrolebindings")) {
    TransformBinding(obj, o);
  } else if (core && e.resource == "pods") {
    json* spec = Member(obj, "spec");
    Erase(spec, "nodeName");
    Erase(spec, "priority");
  }
  if (std::vector<std::string_view> path = PodSpecPath(e.group, e.resource); !path.empty()) {
    json* at = &obj;
    for (std::string_view k : path) at = at == nullptr ? nullptr : Member(*at, k);
    MapImages(at, o);
  }
}

// --- DiffersFromLive ------------------------------------------------------------------------

bool EmptyOrNull(const json& j) {
  return j.is_null() || ((j.is_object() || j.is_array()) && j.empty());
}

// Whether `live` holds everything `desired` sets (desired ⊆ live, recursively).
bool Covers(const json& desired, const json& live) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    for (auto it = desired.begin(); it != desired.end(); ++it) {
      auto l = live.find(it.key());
      if (l == live.end()) {
        if (!EmptyOrNull(*it)) return false;
      } else if (!Covers(*it, *l)) {
        return false;
      }
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return false;
    for (size_t i = 0; i < desired.size(); ++i) {
      if (!Covers(desired[i], live[i])) return false;
    }
    return true;
  }
  return desired == live;
}

bool IgnoredLabel(std::string_view key) {
  return key == kBackupNameLabel || key == kRestoreNameLabel;
}

bool IgnoredAnnotation(std::string_view key) {
  return std::find(std::begin(kControllerAnnotations), std::end(kControllerAnnotations), key) !=
         std::end(kControllerAnnotations);
}

// metadata.<key> of `obj` (labels or annotations) without the members `ignored` names.
json MetadataMap(const json& obj, std::string_view key, bool (*ignored)(std::string_view)) {
  const json* meta = Member(obj, "metadata");
  const json* map = meta == nullptr ? nullptr : Member(*meta, key);
  json out = json::object();
  if (map == nullptr || !map->is_object()) return out;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!ignored(it.key())) out[it.key()] = *it;
  }
  return out;
}

}  // namespace

std::string MapNamespace(std::string_view ns, const RestoreOptions& o) {
  for (const auto& [from, to] : o.namespace_mapping) {
    if (from == ns) return to;
  }
  return std::string(ns);
}

std::optional<std::string> MapImage(std::string_view image, const RestoreOptions& o) {
  auto longest = [&](std::string_view ref) -> std::optional<std::string> {
    const std::pair<std::string, std::string>* best = nullptr;
    for (const auto& m : o.image_registry_mapping) {
      if (m.first.empty() || !ref.starts_with(m.first)) continue;
      if (best == nullptr || m.first.size() > best->first.size()) best = &m;
    }
    if (best == nullptr) return std::nullopt;
    return best->second + std::string(ref.substr(best->first.size()));
  };
  if (std::optional<std::string> mapped = longest(image)) return mapped;
  // The Docker Hub form of a reference without a registry host.
  const size_t slash = image.find('/');
  const std::string_view first = image.substr(0, slash);
  const bool has_host =
      slash != std::string_view::npos &&
      (first.find_first_of(".:") != std::string_view::npos || first == "localhost");
  if (has_host || image.empty()) return std::nullopt;
  std::string qualified = slash == std::string_view::npos ? "docker.io/library/" : "docker.io/";
  qualified += image;
  return longest(qualified);
}

base::Result<json> Transform(const EntryRef& e, json obj, const TransformContext& ctx,
                             TransformNotes* notes) {
  if (ctx.options == nullptr) {
    return Error(Code::kInvalidArgument,
                 "unable to transform '" + EntryPath(e) + "': no restore options given");
  }
  const RestoreOptions& o = *ctx.options;
  json* meta = Member(obj, "metadata");
  if (meta == nullptr || !meta->is_object()) {
    return Error(Code::kInvalidArgument, "unable to transform '" + EntryPath(e) +
                                             "': not a kubernetes object (no metadata object)");
  }
  if (!(ctx.is_custom_resource && o.restore_status)) obj.erase("status");
  if (!e.namespace_name.empty()) (*meta)["namespace"] = MapNamespace(e.namespace_name, o);
  if (e.group.empty() && e.resource == "namespaces") {
    MapNamespaceMember(Member(*meta, "name"), o);
    json* labels = Member(*meta, "labels");
    if (labels != nullptr) {
      MapNamespaceMember(Member(*labels, "kubernetes.io/metadata.name"), o);
    }
  }

  TransformKind(e, obj, ctx, notes);  // reads managedFields (node_ports.h) before they go
  for (std::string_view key :
       {"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
        "deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences"}) {
    meta->erase(std::string(key));
  }

  if (o.backup_name.empty() && o.restore_name.empty()) return obj;
  json* labels = Member(*meta, "labels");
  if (labels == nullptr || !labels->is_object()) {
    (*meta)["labels"] = json::object();
    labels = Member(*meta, "labels");
  }
  if (!o.backup_name.empty()) (*labels)[std::string(kBackupNameLabel)] = o.backup_name;
  if (!o.restore_name.empty()) (*labels)[std::string(kRestoreNameLabel)] = o.restore_name;
  return obj;
}

std::string ConvertedSpecs::TemplateKey(std::string_view ns, std::string_view statefulset,
                                        std::string_view name) {
  return std::string(ns) + "/" + std::string(statefulset) + "/" + std::string(name);
}

std::vector<std::string> NoteWarnings(const TransformNotes& notes, const json& written) {
  std::vector<std::string> out = notes.warnings;
  for (std::string& w : ReassignedNodePortWarnings(notes.node_ports, written)) {
    out.push_back(std::move(w));
  }
  return out;
}

bool DiffersFromLive(const json& desired, const json& live) {
  if (!desired.is_object() || !live.is_object()) return desired != live;
  for (auto it = desired.begin(); it != desired.end(); ++it) {
    if (it.key() == "metadata" || it.key() == "status") continue;
    auto l = live.find(it.key());
    if (l == live.end() ? !EmptyOrNull(*it) : !Covers(*it, *l)) return true;
  }
  return !Covers(MetadataMap(desired, "labels", IgnoredLabel),
                 MetadataMap(live, "labels", IgnoredLabel)) ||
         !Covers(MetadataMap(desired, "annotations", IgnoredAnnotation),
                 MetadataMap(live, "annotations", IgnoredAnnotation));
}

}  // namespace cairn::ops::restore

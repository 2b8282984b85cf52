#include "content/conversion.h"

#include <algorithm>
#include <tuple>

#include "io/hash.h"
#include "vault/manifest.h"

namespace cairn::content {
namespace {

using base::Code;
using base::Status;
using Json = nlohmann::json;

Json MappingJson(const Mapping& m) {
  Json out = Json::array();
  for (const auto& [from, to] : m) out.push_back({{"from", from}, {"to", to}});
  return out;
}

Json ObjectJson(const ConvertedObject& o) {
  Json j = {{"resource", o.resource},
            {"name", o.name},
            {"sourceClass", o.source_class},
            {"spec", o.spec}};
  if (!o.namespace_name.empty()) j["namespace"] = o.namespace_name;
  if (!o.template_name.empty()) j["template"] = o.template_name;
  return j;
}

// Members read from untrusted text: "" when absent or not a string.
std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Status Bad(std::string_view source, const std::string& why) {
  return base::Error(Code::kDataLoss,
                     "conversion document '" + std::string(source) + "' is invalid: " + why);
}

base::Result<Mapping> ParseMapping(const Json& j, const char* key, std::string_view source) {
  Mapping out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return Bad(source, std::string(key) + " is not an array");
  for (const Json& e : *it) {
    if (!e.is_object()) return Bad(source, std::string(key) + " has an item that is no object");
    out.emplace_back(Str(e, "from"), Str(e, "to"));
  }
  return out;
}

base::Result<std::vector<ConvertedObject>> ParseObjects(const Json& j, std::string_view source) {
  std::vector<ConvertedObject> out;
  auto it = j.find("objects");
  if (it == j.end() || !it->is_array()) return Bad(source, "objects is not an array");
  for (const Json& e : *it) {
    if (!e.is_object() || !e.contains("spec") || !e["spec"].is_object()) {
      return Bad(source, "an object has no spec");
    }
    ConvertedObject o{Str(e, "resource"), Str(e, "namespace"),   Str(e, "name"),
                      Str(e, "template"), Str(e, "sourceClass"), e["spec"]};
    if (o.resource != "persistentvolumeclaims" && o.resource != "persistentvolumes" &&
        o.resource != "statefulsets") {
      return Bad(source, "unknown resource '" + o.resource + "'");
    }
    out.push_back(std::move(o));
  }
  return out;
}

base::Result<vault::Manifest> ReadConversionManifest(store::ObjectStore& store,
                                                     const vault::Layout& layout,
                                                     std::string_view backup,
                                                     std::string_view name) {
  const std::string key = layout.ConversionManifestKey(backup, name);
  ASSIGN_OR_RETURN(std::string bytes, store.GetAll(key));
  ASSIGN_OR_RETURN(vault::Manifest m, vault::ParseManifest(bytes, key));
  if (m.kind != vault::kManifestKindConversion || m.name != name || m.backup != backup) {
    return base::Error(Code::kDataLoss, "manifest '" + key + "' is not the one of conversion '" +
                                            std::string(name) + "' of backup '" +
                                            std::string(backup) + "'");
  }
  return m;
}

}  // namespace

std::string SerializeConversion(const Conversion& c) {
  Json objects = Json::array();
  for (const auto& o : c.objects) objects.push_back(ObjectJson(o));
  Json validation = Json::array();
  for (const auto& v : c.validation) {
    validation.push_back({{"severity", v.severity},
                          {"object", v.object},
                          {"storageClass", v.storage_class},
                          {"message", v.message}});
  }
  Json doc = {{"version", kConversionVersion},
              {"backup", c.backup},
              {"backupChecksum", c.backup_checksum},
              {"name", c.name},
              {"storageClassMapping", MappingJson(c.storage_class_mapping)},
              {"accessModeMapping", MappingJson(c.access_mode_mapping)},
              {"target", c.target.is_null() ? Json::object() : c.target},
              {"objects", std::move(objects)},
              {"validation", std::move(validation)}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

base::Result<Conversion> ParseConversion(std::string_view bytes, std::string_view source) {
  Json j = Json::parse(bytes, nullptr, false);
  if (!j.is_object()) return Bad(source, "not a JSON object");
  if (Str(j, "version") != kConversionVersion) {
    return Bad(source, "unknown version '" + Str(j, "version") + "'");
  }
  Conversion c;
  c.backup = Str(j, "backup");
  c.backup_checksum = Str(j, "backupChecksum");
  c.name = Str(j, "name");
  ASSIGN_OR_RETURN(c.storage_class_mapping, ParseMapping(j, "storageClassMapping", source));
  ASSIGN_OR_RETURN(c.access_mode_mapping, ParseMapping(j, "accessModeMapping", source));
  c.target = j.value("target", Json::object());
  ASSIGN_OR_RETURN(c.objects, ParseObjects(j, source));
  auto v = j.find("validation");
  if (v != j.end() && v->is_array()) {
    for (const Json& e : *v) {
      if (!e.is_object()) continue;
      c.validation.push_back(
          {Str(e, "severity"), Str(e, "object"), Str(e, "storageClass"), Str(e, "message")});
    }
  }
  return c;
}

Status PublishConversion(store::ObjectStore& store, const vault::Layout& layout,
                         const Conversion& c, base::TimePoint created, base::TimePoint completed,
                         const std::string& created_by) {
  const std::string bytes = SerializeConversion(c);
  const std::string key = layout.ConversionObjectKey(c.backup, c.name, kConversionObject);
  store::PutOptions po;
  po.content_type = "application/json";
  RETURN_IF_ERROR(store.Put(key, bytes, po));
  vault::Manifest m;
  m.kind = std::string(vault::kManifestKindConversion);
  m.name = c.name;
  m.backup = c.backup;
  m.created = created;
  m.completed = completed;
  m.created_by = created_by;
  const std::string digest = io::Sha256Hex(bytes);
  vault::StoredObject o;
  o.key = std::string(kConversionObject);
  o.stored_size = o.logical_size = bytes.size();
  o.stored_sha256 = o.logical_sha256 = digest;
  o.compression = "none";
  o.content_type = "application/json";
  m.objects.push_back(std::move(o));
  return vault::PublishManifest(store, layout, m);
}

base::Result<Conversion> ReadConversion(store::ObjectStore& store, const vault::Layout& layout,
                                        std::string_view backup, std::string_view name) {
  ASSIGN_OR_RETURN(vault::Manifest m, ReadConversionManifest(store, layout, backup, name));
  const std::string key = layout.ConversionObjectKey(backup, name, kConversionObject);
  auto listed = std::find_if(m.objects.begin(), m.objects.end(), [](const vault::StoredObject& o) {
    return o.key == kConversionObject;
  });
  if (listed == m.objects.end()) {
    return base::Error(Code::kDataLoss, "the manifest of conversion '" + std::string(name) +
                                            "' does not list " + std::string(kConversionObject));
  }
  auto bytes = store.GetAll(key);
  if (!bytes.ok()) {
    return base::Error(
        bytes.status().code() == Code::kNotFound ? Code::kDataLoss : bytes.status().code(),
        bytes.status().message());
  }
  if (bytes->size() != listed->stored_size || io::Sha256Hex(*bytes) != listed->stored_sha256) {
    return base::Error(Code::kDataLoss, "'" + key +
                                            "' differs from what its manifest records (size or "
                                            "SHA-256): the conversion is corrupt");
  }
  ASSIGN_OR_RETURN(Conversion c, ParseConversion(*bytes, key));
  if (c.backup != backup || c.name != name) {
    return Bad(key, "it names conversion '" + c.name + "' of backup '" + c.backup + "'");
  }
  return c;
}

base::Result<std::string> PublishedConversionDigest(store::ObjectStore& store,
                                                    const vault::Layout& layout,
                                                    std::string_view backup,
                                                    std::string_view name) {
  ASSIGN_OR_RETURN(vault::Manifest m, ReadConversionManifest(store, layout, backup, name));
  for (const auto& o : m.objects) {
    if (o.key == kConversionObject) return o.stored_sha256;
  }
  return std::string();
}

base::Result<std::vector<std::string>> BackupsWithConversion(store::ObjectStore& store,
                                                             const vault::Layout& layout,
                                                             std::string_view name) {
  store::ListOptions lo;
  lo.prefix = layout.ConversionsPrefix();
  lo.delimiter = "/";
  std::vector<std::string> out;
  std::vector<std::string> dirs;
  RETURN_IF_ERROR(store.List(lo, [&](const store::ListPage& page) {
    for (const auto& p : page.common_prefixes) dirs.push_back(p);
    return true;
  }));
  for (const std::string& dir : dirs) {
    std::string backup = dir.substr(lo.prefix.size());
    if (!backup.empty() && backup.back() == '/') backup.pop_back();
    if (vault::ValidateName(backup).ok() &&
        store.Head(layout.ConversionManifestKey(backup, name)).ok()) {
      out.push_back(backup);
    }
  }
  return out;
}

base::Result<std::vector<std::string>> DeleteConversion(store::ObjectStore& store,
                                                        const vault::Layout& layout,
                                                        std::string_view backup,
                                                        std::string_view name) {
  store::ListOptions lo;
  lo.prefix = layout.ConversionDir(backup, name);
  ASSIGN_OR_RETURN(auto objects, store.ListAll(lo));
  const std::string manifest = layout.ConversionManifestKey(backup, name);
  std::vector<std::string> rest, deleted;
  for (const auto& o : objects) {
    if (o.key == manifest) {
      RETURN_IF_ERROR(store.Delete({manifest}));
      deleted.push_back(manifest);
    } else {
      rest.push_back(o.key);
    }
  }
  if (!rest.empty()) RETURN_IF_ERROR(store.Delete(rest));
  deleted.insert(deleted.end(), rest.begin(), rest.end());
  return deleted;
}

}  // namespace cairn::content

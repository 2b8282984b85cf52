#include "ops/restore/conversion.h"

#include "content/conversion.h"

namespace cairn::ops::restore {
namespace {

using base::Code;

base::Status NotFor(store::ObjectStore& store, const vault::Layout& layout,
                    const std::string& backup, const std::string& name) {
  auto others = content::BackupsWithConversion(store, layout, name);
  std::string list;
  if (others.ok()) {
    for (const auto& b : *others) list += (list.empty() ? "'" : ", '") + b + "'";
  }
  if (!list.empty()) {
    return base::Error(Code::kFailedPrecondition, "conversion '" + name + "' was made for backup " +
                                                      list + ", not for '" + backup +
                                                      "'; nothing was applied");
  }
  return base::Error(Code::kFailedPrecondition, "conversion '" + name + "' of backup '" + backup +
                                                    "' not found in vault (run convert-run "
                                                    "first); nothing was applied");
}

// A restore mapping entry that contradicts the conversion's; "" when none does.
std::string Conflict(const content::Mapping& conversion, const content::Mapping& flags,
                     const std::string& flag, const std::string& name) {
  for (const auto& [from, to] : flags) {
    for (const auto& [cfrom, cto] : conversion) {
      if (from == cfrom && to != cto) {
        return "--" + flag + " " + from + "=" + to + " contradicts conversion '" + name +
               "', which maps " + from + " to " + cto +
               "; nothing was applied\nHINT: drop the entry, or make a conversion with it";
      }
    }
  }
  return "";
}

}  // namespace

base::Result<ConvertedSpecs> LoadConversion(store::ObjectStore& store, const vault::Layout& layout,
                                            const std::string& backup_checksum,
                                            const std::string& name, const RestoreOptions& o) {
  const std::string& backup = o.backup_name;
  auto c = content::ReadConversion(store, layout, backup, name);
  if (!c.ok() && c.status().code() == Code::kNotFound) return NotFor(store, layout, backup, name);
  if (!c.ok()) return c.status();
  if (c->backup_checksum != backup_checksum) {
    return base::Error(Code::kFailedPrecondition,
                       "conversion '" + name + "' was made for an earlier backup named '" + backup +
                           "' (its manifest differs); run convert-run again; nothing was applied");
  }
  for (const std::string& why :
       {Conflict(c->storage_class_mapping, o.storage_class_mapping, "storage-class-mapping", name),
        Conflict(c->access_mode_mapping, o.convert_to_access_modes, "convert-to-access-modes",
                 name)}) {
    if (!why.empty()) return base::Error(Code::kFailedPrecondition, why);
  }
  ConvertedSpecs specs;
  specs.storage_class_mapping = c->storage_class_mapping;
  for (auto& obj : c->objects) {
    if (obj.resource == "persistentvolumeclaims") {
      specs.claims[obj.namespace_name + "/" + obj.name] = std::move(obj.spec);
    } else if (obj.resource == "persistentvolumes") {
      specs.volumes[obj.name] = std::move(obj.spec);
    } else {
      specs
          .templates[ConvertedSpecs::TemplateKey(obj.namespace_name, obj.name, obj.template_name)] =
          std::move(obj.spec);
    }
  }
  return specs;
}

}  // namespace cairn::ops::restore

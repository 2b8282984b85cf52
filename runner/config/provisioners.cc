// [provisioners."NAME"] (config/provisioners.h): the field list the config loader binds.
#include "config/provisioners.h"

#include <algorithm>
#include <cctype>

#include "config/provisioners_fields.h"
#include "config/quantity.h"

namespace cairn::config {

base::Status ValidateProvisionerName(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
               c == '/';
      });
  if (ok) return base::Status::Ok();
  return base::Error(base::Code::kInvalidArgument,
                     "invalid provisioner name '" + std::string(name) +
                         "': must be 1 to 253 characters of [A-Za-z0-9._/-] (e.g. "
                         "\"ebs.csi.aws.com\")");
}

namespace internal {

const std::vector<Field<ProvisionerConfig>>& ProvisionerFields() {
  using P = ProvisionerConfig;
  static const auto* fields = new std::vector<Field<P>>{
      OptionalBoolField("zonal", &P::zonal),
      OptionalBoolField("multi_node", &P::multi_node),
      OptionalBoolField("block_multi_attach", &P::block_multi_attach),
      {"min_size",
       [](const toml::node& n, P& out, Binder&, const std::string&) {
         const auto* v = n.as_string();
         if (v == nullptr) return TypeError("a string such as \"20Gi\"", n);
         ASSIGN_OR_RETURN(uint64_t bytes, ParseQuantity(v->get()));
         out.min_size = bytes;
         return base::Status::Ok();
       }},
  };
  return *fields;
}

void FinishProvisioner(const NamedEntry& entry, ProvisionerConfig& p, Binder& b) {
  p.name = entry.name;
  p.origin = b.Origin(entry.pos);
}

}  // namespace internal
}  // namespace cairn::config

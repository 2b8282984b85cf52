#include "config/provisioners.h"

#include <algorithm>
#include <cctype>
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

}  // namespace cairn::config

// kube/base64: standard base64 (RFC 4648 §4), as kubeconfig *-data fields and the
// KUBERNETES_EXEC_INFO cluster CA use it. Decoding accepts missing padding and ignores
// whitespace (YAML block scalars wrap long values).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cairn::kube {

std::string Base64Encode(std::string_view data);
// nullopt when `text` holds a character outside the alphabet or is truncated mid-group.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace cairn::kube

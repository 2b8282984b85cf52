// config/quantity: Kubernetes resource quantities of storage ("20Gi", "500M", "1.5Ti", "1e9"),
// the language of a PVC's spec.resources.requests.storage and of [provisioners."x"] min_size.
//
// ParseQuantity follows k8s.io/apimachinery/pkg/api/resource: a decimal number (optional sign,
// digits, optional fraction) followed by a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix
// (k M G T P E, and m for milli), a decimal exponent (e3, E-2) or nothing. A storage quantity
// is bytes: fractions of a byte are rounded up, as the apiserver rounds a quantity up to its
// scale; negative values and values past 2^63 are refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cairn::config {

// Bytes of a storage quantity; kInvalidArgument "invalid quantity '...': ..." otherwise.
[[nodiscard]] base::Result<uint64_t> ParseQuantity(std::string_view s);

// The canonical form Kubernetes would print: the largest binary suffix that divides `bytes`
// exactly ("20Gi", "1536Mi"), else the decimal suffix that does ("500M"), else plain bytes.
std::string FormatQuantity(uint64_t bytes);

}  // namespace cairn::config
